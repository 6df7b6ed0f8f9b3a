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
- Waitress's per-request "Task queue depth" warning is silenced at its
  logger (``quiet_waitress_queue``); ``maintenance`` samples the queue once
  a second instead, and writes one summary line per interval (``logs.py``).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from waitress.channel import HTTPChannel
from waitress.server import TcpWSGIServer

from moscow_time.logs import RateLimitedReport

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
        self.pressure = RateLimitedReport(log, "under load: %s", interval=10.0)
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
        """Close connections that waited too long for a request; note queue pressure."""
        super().maintenance(now)  # type: ignore[arg-type]  # stubs say int; it is time.time()
        # Any: the stubs leave the dispatcher's queue out.
        dispatcher: Any = self.task_dispatcher
        if queued := len(dispatcher.queue):
            self.pressure.add("second(s) with requests waiting for a worker thread", peak=queued)
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


def quiet_waitress_queue() -> None:
    """Silence Waitress's "Task queue depth is N", logged for every request that waits.

    At the benchmark's load that was 5,233 lines in 5 s. Filtering them is not
    enough: building each record, under the dispatcher's lock, cost throughput
    (163 to 455 rps against 1,136 with the logger off, measured). So the
    logger is turned off, and ``GuardedServer.maintenance`` samples the queue.
    """
    logging.getLogger("waitress.queue").disabled = True
