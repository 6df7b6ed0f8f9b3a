"""What Waitress lacks against hostile clients: a deadline for requests, and room for newcomers.

Waitress closes a connection only after ``channel_timeout`` seconds of
*silence*, and every byte restarts that clock: a client that trickles one
header line every few seconds holds its connection for ever. At
``connection_limit`` Waitress stops accepting, so 100 such connections from
one laptop shut everybody out. Here:

- ``DeadlineChannel`` remembers since when a connection has been waiting for
  a complete request: since it was accepted, or since its last response.
- ``GuardedServer.maintenance`` (run every ``cleanup_interval``) closes a
  connection that has waited longer than ``request_deadline``, however slowly
  it trickles. Idle keep-alive connections go the same way.
- At ``max_connections``, ``GuardedServer`` still accepts, and evicts the
  connection that has waited longest, so a new client is answered at once.
- ``RateLimitedReport`` turns Waitress's per-request "Task queue depth"
  warning into one summary line per interval.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from waitress.channel import HTTPChannel
from waitress.server import TcpWSGIServer

log = logging.getLogger(__name__)


class DeadlineChannel(HTTPChannel):
    """An HTTP connection that knows since when it has been waiting for a request."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.waiting_since = self.creation_time

    def service(self) -> None:
        super().service()
        if not self.requests:  # the last response is out: the wait starts again
            self.waiting_since = time.time()


class GuardedServer(TcpWSGIServer):
    """A Waitress TCP server with a request deadline and eviction at the connection limit."""

    channel_class = DeadlineChannel

    def __init__(
        self, *args: Any, request_deadline: float, max_connections: int, **kwargs: Any
    ) -> None:
        self.request_deadline = request_deadline
        self.max_connections = max_connections
        self.report = RateLimitedReport(log, "closed connections: %s", interval=10.0)
        super().__init__(*args, **kwargs)

    def channels(self) -> list[DeadlineChannel]:
        # Any: waitress's published stubs type active_channels as one channel.
        active: Any = self.active_channels
        return list(active.values())

    def waiting(self) -> list[DeadlineChannel]:
        """Connections with no request in progress, longest-waiting first."""
        idle = [c for c in self.channels() if not c.requests and not c.will_close]
        return sorted(idle, key=lambda channel: channel.waiting_since)

    def maintenance(self, now: float) -> None:
        """Close every connection that has waited for a complete request too long."""
        super().maintenance(now)  # type: ignore[arg-type]  # stubs say int; it is time.time()
        late = [c for c in self.waiting() if now - c.waiting_since > self.request_deadline]
        for channel in late:
            channel.will_close = True
        if late:
            self.report.add("that sent no complete request in time", len(late))

    def handle_accept(self) -> None:
        """Accept, then make room: evict the longest-waiting connections over the limit."""
        super().handle_accept()
        excess = len(self.channels()) - self.max_connections
        if excess > 0:
            evicted = self.waiting()[:excess]
            for channel in evicted:
                channel.will_close = True
            self.report.add("evicted at the connection limit", len(evicted))

    def accept_backlog(self) -> int:
        """Accept every connection waiting in the listen backlog; how many."""
        accepted = 0
        while accepted < self.max_connections:
            before = len(self.channels())
            super().handle_accept()
            if len(self.channels()) == before:
                break
            accepted += 1
        return accepted


class RateLimitedReport:
    """At most one log line per interval, summing up what happened in between."""

    def __init__(self, logger: logging.Logger, template: str, *, interval: float) -> None:
        self.logger, self.template, self.interval = logger, template, interval
        self.lock = threading.Lock()
        self.pending: dict[str, int] = {}
        self.next_report = 0.0

    def add(self, what: str, count: int = 1) -> None:
        with self.lock:
            self.pending[what] = self.pending.get(what, 0) + count
            now = time.monotonic()
            if now < self.next_report:
                return
            summary = "; ".join(f"{n} {what}" for what, n in self.pending.items())
            self.pending.clear()
            self.next_report = now + self.interval
        self.logger.warning(self.template, summary)


class QueueDepthSummary(logging.Filter):
    """Waitress warns "Task queue depth is N" on every request that waits for a thread.

    Under a steady load that is one line per request (5,233 in 5 s, measured):
    it fills disks and buries the warnings that matter. This filter lets one
    line through per interval, rewritten to say how often the queue was deep
    and how deep it got since the last line.
    """

    def __init__(self, interval: float = 10.0) -> None:
        super().__init__("waitress.queue")
        self.interval = interval
        self.lock = threading.Lock()
        self.count = 0
        self.deepest = 0
        self.next_report = 0.0

    def filter(self, record: logging.LogRecord) -> bool:
        depth = record.args[0] if isinstance(record.args, tuple) and record.args else 0
        with self.lock:
            self.count += 1
            self.deepest = max(self.deepest, int(depth) if isinstance(depth, int) else 0)
            now = time.monotonic()
            if now < self.next_report:
                return False
            record.msg = (
                "requests waited for a worker thread %d time(s) since the last report; "
                "deepest queue %d"
            )
            record.args = (self.count, self.deepest)
            self.count = self.deepest = 0
            self.next_report = now + self.interval
        return True
