"""moscow_time.limits without the clock: who is waiting, stalled, late or evicted at a given
moment, what the report says, how the backlog is taken and how much unread input is
dropped before a close. Connections are stand-ins with the fields the server reads; the
backlog and the discard use real sockets on loopback."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import socket
import time
from collections.abc import Iterator, Sequence
from typing import Any, cast

import pytest

from moscow_time import create_app, limits
from moscow_time.limits import DISCARD_AT_CLOSE, STALLED_AFTER, GuardedServer
from moscow_time.logs import RateLimitedReport
from moscow_time.server import Server

NOW = 1000.0


@dataclasses.dataclass(eq=False)
class Connection:
    """What GuardedServer reads of a connection; `stalled_for` is DeadlineChannel's own."""

    name: str
    creation_time: float = 900.0
    waiting_since: float = 900.0
    progressed_at: float = 900.0
    total_outbufs_len: int = 0
    requests: list[str] = dataclasses.field(default_factory=list)
    will_close: bool = False
    last_activity: float = NOW
    closed: bool = False

    def stalled_for(self, now: float) -> float:
        return limits.DeadlineChannel.stalled_for(cast(Any, self), now)

    def handle_close(self) -> None:
        self.closed = True

    def __repr__(self) -> str:
        return self.name


def named(found: Sequence[object]) -> list[str]:
    return [repr(connection) for connection in found]


def waiting(name: str, since: float) -> Connection:
    return Connection(name, creation_time=min(since, 900.0), waiting_since=since)


def stalled(name: str, since: float) -> Connection:
    """A connection whose pending response last sent something at `since`."""
    return Connection(name, progressed_at=since, total_outbufs_len=4096, requests=["GET /"])


class Guarded(GuardedServer):
    """A GuardedServer holding stand-in connections, with no socket and no loop."""

    def __init__(self, *connections: Connection, queued: int = 0) -> None:
        self.request_deadline, self.response_deadline, self.max_connections = 10.0, 5.0, 3
        self.report = RateLimitedReport(limits.log, "closed connections: %s", interval=10)
        self.pressure = RateLimitedReport(limits.log, "under load: %s", interval=10)
        self.active_channels: Any = dict(enumerate(connections))
        self.task_dispatcher: Any = type("Dispatcher", (), {"queue": [None] * queued})()
        self.adj: Any = type("Adj", (), {"channel_timeout": 120})()


def test_waiting_means_no_request_in_progress_and_not_closing_longest_first() -> None:
    later, earlier = waiting("later", 950.0), waiting("earlier", 920.0)
    busy = Connection("busy", requests=["GET /"])
    closing = dataclasses.replace(waiting("closing", 910.0), will_close=True)
    assert named(Guarded(later, busy, closing, earlier).waiting()) == ["earlier", "later"]


def test_stalled_means_a_pending_response_that_sent_nothing_for_longer_than_asked() -> None:
    old, recent = stalled("old", 990.0), stalled("recent", 998.0)
    exactly = stalled("exactly", NOW - 5.0)
    sent_all = Connection("sent all", progressed_at=900.0)  # nothing pending: never stalled
    closing = dataclasses.replace(stalled("closing", 900.0), will_close=True)
    server = Guarded(recent, exactly, sent_all, closing, old)
    assert named(server.stalled(NOW, 1.0)) == ["old", "exactly", "recent"]
    assert named(server.stalled(NOW, 5.0)) == ["old"], "at exactly the limit not yet stalled"
    assert old.stalled_for(NOW) == 10.0
    assert sent_all.stalled_for(NOW) == 0.0


def test_eviction_ranks_the_longest_unproductive_first_and_the_newest_last() -> None:
    idle_long, idle_short = waiting("idle 60 s", 940.0), waiting("idle 5 s", 995.0)
    stall_long, stall_short = stalled("stalled 30 s", 970.0), stalled("stalled 0.5 s", 999.5)
    new = Connection("accepted now", creation_time=NOW, waiting_since=NOW)
    newer = Connection("accepted after", creation_time=NOW + 1, waiting_since=NOW + 1)
    server = Guarded(newer, idle_short, stall_short, new, stall_long, idle_long)
    assert named(server.evictable(NOW)) == [
        "idle 60 s",
        "stalled 30 s",
        "idle 5 s",
        "accepted now",
        "accepted after",
    ]
    assert STALLED_AFTER > 0.5, "a response stalled for less is not evictable"


def test_late_and_stalled_connections_are_closed_and_reported(
    caplog: pytest.LogCaptureFixture,
) -> None:
    late, on_time = waiting("late", NOW - 10.5), waiting("on time", NOW - 10.0)
    later = waiting("later", NOW - 30.0)
    stuck, slow = stalled("stuck", NOW - 6.0), stalled("slow", NOW - 4.0)
    stuck_longer = stalled("stuck longer", NOW - 60.0)
    server = Guarded(late, on_time, stuck, slow, later, stuck_longer, queued=3)
    with caplog.at_level(logging.WARNING, logger=limits.log.name):
        server.maintenance(NOW)
    assert (late.will_close, on_time.will_close) == (True, False)
    assert (stuck.closed, stuck.will_close, slow.closed) == (True, True, False)
    assert [r.getMessage() for r in caplog.records] == [
        "under load: 1 second(s) with requests waiting for a worker thread, queue up to 3",
        "closed connections: 2 that sent no complete request in time",
    ]
    assert server.report.pending == {"that read nothing of their response in time": (2, 0)}
    assert (later.will_close, stuck_longer.closed) == (True, True)


def test_a_quiet_maintenance_reports_nothing(caplog: pytest.LogCaptureFixture) -> None:
    server = Guarded(waiting("fresh", NOW - 1.0))
    with caplog.at_level(logging.WARNING, logger=limits.log.name):
        server.maintenance(NOW)
    assert caplog.records == []
    assert server.report.pending == {}
    assert server.pressure.pending == {}


def test_over_the_limit_the_excess_is_evicted_and_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    connections = [waiting(f"idle {n}", 900.0 + n) for n in range(5)]
    server = Guarded(*connections)
    taken: list[int | None] = []
    monkeypatch.setattr(Guarded, "accept_backlog", lambda self, most=None: taken.append(most))
    server.handle_accept()
    assert taken == [limits.ACCEPT_BATCH]
    assert [c.closed for c in connections] == [True, True, False, False, False]
    three = [waiting(f"idle {n}", 900.0) for n in range(3)]
    at_limit = Guarded(*three)
    at_limit.handle_accept()
    assert not any(c.closed for c in three)
    assert at_limit.report.pending == {}
    assert at_limit.report.next_report == 0.0, "nothing was reported, not even a zero"


def test_an_eviction_is_reported_with_its_count(caplog: pytest.LogCaptureFixture) -> None:
    server = Guarded(*[waiting(f"idle {n}", 900.0 + n) for n in range(5)])
    server.accept_backlog = lambda most=None: 0  # type: ignore[method-assign]
    with caplog.at_level(logging.WARNING, logger=limits.log.name):
        server.handle_accept()
    assert [r.getMessage() for r in caplog.records] == [
        "closed connections: 2 evicted at the connection limit"
    ]


# ---- the backlog, and the close ---------------------------------------------------------


@contextlib.contextmanager
def listening(max_connections: int) -> Iterator[GuardedServer]:
    """A GuardedServer bound to loopback whose loop does not run: the test accepts."""
    served = Server(create_app(), host="127.0.0.1", port=0, threads=1, request_deadline=10,
                    response_deadline=10, max_connections=max_connections)  # fmt: skip
    server: GuardedServer = served._server
    try:
        yield server
    finally:
        for channel in server.channels():
            channel.close()
        server.close()


def connect(server: GuardedServer, count: int) -> list[socket.socket]:
    address = server.socket.getsockname()[:2]  # type: ignore[union-attr]
    clients = [socket.create_connection(address) for _ in range(count)]
    time.sleep(0.1)  # the kernel completes the handshakes into the backlog
    return clients


def test_the_backlog_is_taken_up_to_the_number_asked_then_until_empty() -> None:
    with listening(max_connections=4) as server:
        clients = connect(server, 6)
        assert server.accept_backlog(2) == 2
        assert server.open_count() == 2
        assert server.accept_backlog() == 4, "at most max_connections by default: all that wait"
        assert server.accept_backlog(10) == 0, "an empty backlog ends the turn"
        assert server.open_count() == 6
        for client in clients:
            client.close()


def tcp_pair() -> tuple[socket.socket, socket.socket]:
    """Two ends of a loopback TCP connection: its buffers hold more than the limit."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        writer = socket.create_connection(listener.getsockname())
        reader, _ = listener.accept()
    return reader, writer


def test_unread_input_is_dropped_up_to_the_limit_before_a_close() -> None:
    reader, writer = tcp_pair()
    with reader, writer:
        writer.setblocking(False)
        sent = 0
        with contextlib.suppress(BlockingIOError):
            while sent < 2 * DISCARD_AT_CLOSE:
                sent += writer.send(b"x" * 4096)
        assert sent > DISCARD_AT_CLOSE + 64 * 1024, "the test needs more than the limit waiting"
        writer.shutdown(socket.SHUT_WR)
        time.sleep(0.2)  # what the buffers hold arrives
        reader.setblocking(False)
        limits.discard_unread(reader)
        reader.setblocking(True)
        left = sum(len(chunk) for chunk in iter(lambda: reader.recv(1 << 20), b""))
        # It reads in chunks of up to 64 KiB, as they arrive: the last may pass the limit.
        assert DISCARD_AT_CLOSE <= sent - left < DISCARD_AT_CLOSE + 64 * 1024


def test_a_socket_already_gone_is_no_error() -> None:
    limits.discard_unread(None)
    reader, writer = socket.socketpair()
    writer.close()
    reader.setblocking(False)
    limits.discard_unread(reader)
    reader.close()
    limits.discard_unread(reader)


def test_the_queue_warning_logger_is_off_after_quieting() -> None:
    queue = logging.getLogger("waitress.queue")
    before = queue.disabled
    try:
        queue.disabled = False
        limits.quiet_waitress_queue()
        assert queue.disabled
    finally:
        queue.disabled = before


def test_a_server_reports_closed_connections_and_load_at_most_every_ten_seconds(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with (
        listening(max_connections=4) as server,
        caplog.at_level(logging.WARNING, logger=limits.log.name),
    ):
        for report, what in ((server.report, "evicted"), (server.pressure, "queued")):
            report.add(what, 2)
            report.add(what, 1)
            assert report.next_report - time.monotonic() == pytest.approx(10.0, abs=0.5)
            assert report.pending == {what: (1, 0)}, "the second waits for the interval"
    assert [r.getMessage() for r in caplog.records] == [
        "closed connections: 2 evicted",
        "under load: 2 queued",
    ]
