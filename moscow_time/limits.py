"""What Waitress lacks against hostile clients: deadlines for requests and responses, and room.

Waitress closes a connection only after ``channel_timeout`` seconds of
*silence*, and every byte restarts that clock: a client that trickles one
header line every few seconds holds its connection for ever, and so does one
that reads its response a few bytes at a time. At ``connection_limit``
Waitress stops accepting, so 100 such connections from one laptop shut
everybody out. Here:

- ``DeadlineChannel`` remembers since when a connection has been waiting for
  a complete request (since it was accepted, or since its last response),
  and since when its pending response last made progress.
- ``GuardedServer.maintenance`` (run every ``cleanup_interval``) closes a
  connection that has waited longer than ``request_deadline``, however slowly
  it trickles, and one whose response has sent nothing for
  ``response_deadline`` (a write stall, as nginx's ``send_timeout`` counts it:
  between two writes, not over the whole response). Idle keep-alive
  connections go the same way.
- At ``max_connections``, ``GuardedServer`` still accepts, and evicts the
  connection that has waited longest for a request, then the one whose
  response has been stalled longest, so a new client is answered at once.
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


#: Connections taken from the listen backlog in one turn of the loop. One a turn, as
#: Waitress takes them, left a new client queued behind a flood of thousands for seconds.
ACCEPT_BATCH = 128
#: A response that has sent nothing for this long is stalled: its connection may be
#: evicted at the limit (the response deadline closes it later in any case).
STALLED_AFTER = 1.0


class DeadlineChannel(HTTPChannel):
    """An HTTP connection that knows since when it has waited for a request, and since
    when its pending response last made progress."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.waiting_since = self.creation_time
        #: When output was last sent, or became pending after none was.
        self.progressed_at = self.creation_time

    def service(self) -> None:
        super().service()
        if not self.requests:  # the last response is out: the wait starts again
            self.waiting_since = time.time()

    def write_soon(self, data: bytes) -> int:
        if not self.total_outbufs_len:  # a response starts: its clock starts now
            self.progressed_at = time.time()
        return int(super().write_soon(data))

    def _flush_some(self, *args: Any, **kwargs: Any) -> bool:
        # Private in waitress (its stubs leave it out): the one place that sends. Its
        # arguments pass through as waitress gives them, defaults included.
        sent = bool(super()._flush_some(*args, **kwargs))  # type: ignore[misc]
        if sent:
            self.progressed_at = time.time()
        return sent

    def handle_close(self) -> None:
        """Close after reading what the client already sent: closing a socket with unread
        input sends a reset, and a reset discards the client's unread answer (a 431 for
        oversized headers was lost so whenever no proxy stood in between)."""
        discard_unread(self.socket)
        super().handle_close()

    def stalled_for(self, now: float) -> float:
        """Seconds the pending response has sent nothing; 0 if none is pending."""
        return now - self.progressed_at if self.total_outbufs_len else 0.0


class GuardedServer(TcpWSGIServer):
    """A Waitress TCP server with a request deadline and eviction at the connection limit."""

    channel_class = DeadlineChannel

    def __init__(
        self,
        *args: Any,
        request_deadline: float,
        response_deadline: float,
        max_connections: int,
        **kwargs: Any,
    ) -> None:
        self.request_deadline = request_deadline
        self.response_deadline = response_deadline
        self.max_connections = max_connections
        self.report = RateLimitedReport(log, "closed connections: %s", interval=10.0)
        self.pressure = RateLimitedReport(log, "under load: %s", interval=10.0)
        super().__init__(*args, **kwargs)

    def channels(self) -> list[DeadlineChannel]:
        # Any: waitress's published stubs type active_channels as one channel.
        active: Any = self.active_channels
        return list(active.values())

    def open_count(self) -> int:
        """How many connections are open, without listing them."""
        active: Any = self.active_channels
        return len(active)

    def waiting(self) -> list[DeadlineChannel]:
        """Connections with no request in progress, longest-waiting first."""
        idle = [c for c in self.channels() if not c.requests and not c.will_close]
        return sorted(idle, key=lambda channel: channel.waiting_since)

    def stalled(self, now: float, longer_than: float) -> list[DeadlineChannel]:
        """Connections whose response has sent nothing for a while, longest-stalled first."""
        stalled = [
            c for c in self.channels() if not c.will_close and c.stalled_for(now) > longer_than
        ]
        return sorted(stalled, key=lambda channel: channel.progressed_at)

    def evictable(self, now: float) -> list[DeadlineChannel]:
        """Who makes room at the limit, longest unproductive first: connections waiting
        for a request (for how long), and those whose response is stalled (for how long).
        Those accepted at `now` or later come last, in the order they came."""
        waiting = self.waiting()
        idle = {c: now - c.waiting_since for c in waiting if c.creation_time < now}
        stalled = {c: c.stalled_for(now) for c in self.stalled(now, STALLED_AFTER)}
        unproductive = idle | stalled  # a stalled response counts from its last progress
        ranked = sorted(unproductive, key=lambda channel: -unproductive[channel])
        return ranked + [c for c in waiting if c.creation_time >= now and c not in stalled]

    def maintenance(self, now: float) -> None:
        """Close connections that waited too long for a request or stalled too long reading
        their response; note queue pressure."""
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
        stalled = self.stalled(now, self.response_deadline)
        for channel in stalled:
            close_now(channel)
        if stalled:
            self.report.add("that read nothing of their response in time", len(stalled))

    def handle_accept(self) -> None:
        """Accept what waits in the listen backlog, then make room: evict the longest
        unproductive connections over the limit, all in one pass."""
        started = time.time()
        self.accept_backlog(ACCEPT_BATCH)
        excess = self.open_count() - self.max_connections
        if excess > 0:
            evicted = self.evictable(started)[:excess]
            for channel in evicted:
                close_now(channel)
            self.report.add("evicted at the connection limit", len(evicted))

    def accept_backlog(self, most: int | None = None) -> int:
        """Accept the connections waiting in the listen backlog (`most` of them); how many."""
        accepted, most = 0, self.max_connections if most is None else most
        while accepted < most:
            before = self.open_count()
            super().handle_accept()
            if self.open_count() == before:
                break
            accepted += 1
        return accepted


#: The most input read and thrown away before a close: a client still sending gets its reset.
DISCARD_AT_CLOSE = 256 * 1024


def discard_unread(sock: Any) -> None:
    """Read and drop what is waiting in a non-blocking socket, up to DISCARD_AT_CLOSE bytes."""
    discarded = 0
    try:
        while discarded < DISCARD_AT_CLOSE and (chunk := sock.recv(64 * 1024)):
            discarded += len(chunk)
    except (OSError, AttributeError):  # nothing more now, or the socket is already gone
        return


def close_now(channel: DeadlineChannel) -> None:
    """Close a connection in this turn of the loop. Marking it `will_close` is not enough
    for a stalled reader: Waitress acts on that when the socket is writable, and a
    stalled reader's never is."""
    channel.will_close = True
    channel.handle_close()


def quiet_waitress_queue() -> None:
    """Silence Waitress's "Task queue depth is N", logged for every request that waits.

    At the benchmark's load that was 5,233 lines in 5 s. Filtering them is not
    enough: building each record, under the dispatcher's lock, cost throughput
    (163 to 455 rps against 1,136 with the logger off, measured). So the
    logger is turned off, and ``GuardedServer.maintenance`` samples the queue.
    """
    logging.getLogger("waitress.queue").disabled = True
