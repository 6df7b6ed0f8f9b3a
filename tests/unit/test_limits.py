"""moscow_time.limits: the request deadline, eviction at the limit, and quiet logs.

The server runs in this process on 127.0.0.1, with a short deadline and a
small connection limit so that each attack stays small and quick.
"""

from __future__ import annotations

import contextlib
import http.client
import logging
import socket
import threading
import time
from collections.abc import Iterator

import pytest
from waitress.channel import HTTPChannel

from moscow_time import create_app
from moscow_time.limits import STALLED_AFTER, quiet_waitress_queue
from moscow_time.logs import RateLimitedReport
from moscow_time.server import Server
from tools.loopback import get

DEADLINE = 1.0
LIMIT = 20


@contextlib.contextmanager
def serving(*, deadline: float, limit: int, response_deadline: float = 60.0) -> Iterator[Server]:
    """A server in this process with those deadlines and that connection limit."""
    served = Server(
        create_app(),
        host="127.0.0.1",
        port=0,
        threads=2,
        request_deadline=deadline,
        response_deadline=response_deadline,
        max_connections=limit,
    )
    thread = threading.Thread(target=served.serve_forever, daemon=True)
    thread.start()
    try:
        yield served
    finally:
        served.request_stop()
        thread.join(timeout=10)


@pytest.fixture
def server() -> Iterator[Server]:
    """A server with a 1 s request deadline and room for 20 connections."""
    with serving(deadline=DEADLINE, limit=LIMIT) as served:
        yield served


def half_open(port: int, count: int) -> list[socket.socket]:
    sockets = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        sockets.append(sock)
    return sockets


def small_send_buffers(server: Server) -> None:
    """Accepted sockets inherit the listener's send buffer: a small one makes a reader
    that reads nothing stall the server's output after a few pages, not a few megabytes."""
    server._server.socket.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)


def stalled_readers(port: int, count: int, requests: int = 200) -> list[socket.socket]:
    """Connections that ask for many pages at once and never read: a small receive
    buffer, set before connecting, keeps the server's output pending."""
    sockets = []
    for _ in range(count):
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.settimeout(5)
        sock.connect(("127.0.0.1", port))
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" * requests)
        sockets.append(sock)
    return sockets


def open_channels(server: Server) -> int:
    """Connections the server holds (private: the test looks inside its own server)."""
    return len(server._server.active_channels)


def closed_by_server(sock: socket.socket, within: float = 1.0) -> bool:
    """True if the server closed the connection: reading it to its end finds EOF (or the
    server reset it) within `within` seconds. A read that times out is a connection still
    open, not a closed one."""
    sock.settimeout(0.2)
    ends = time.monotonic() + within
    try:
        while time.monotonic() < ends:
            try:
                if sock.recv(65536) == b"":
                    return True
            except TimeoutError:
                continue
    except ConnectionResetError:
        return True
    return False


def test_a_connection_the_server_never_closed_is_not_counted_as_closed(server: Server) -> None:
    (sock,) = half_open(server.address[1], 1)
    with sock:
        assert not closed_by_server(sock, within=0.3)


def healthz_seconds(port: int) -> float:
    started = time.perf_counter()
    status, _, body = get(f"http://127.0.0.1:{port}/healthz", timeout=5)
    assert (status, body) == (200, '{"status":"ok"}\n')
    return time.perf_counter() - started


def test_a_trickling_connection_is_closed_at_the_deadline_however_slowly_it_sends(
    server: Server,
) -> None:
    port = server.address[1]
    (sock,) = half_open(port, 1)
    started = time.monotonic()
    sock.settimeout(0.2)
    closed = False
    with sock:
        while not closed and time.monotonic() - started < 6 * DEADLINE:
            try:
                sock.sendall(b"X-Trickle: 1\r\n")
                closed = sock.recv(1) == b""
            except TimeoutError:
                continue
            except OSError:
                closed = True
    assert closed, "a trickle kept the connection open past the deadline"
    # The deadline, plus one maintenance interval, plus a generous margin.
    assert time.monotonic() - started < DEADLINE + 3


def test_the_request_deadline_counts_from_the_last_response_not_from_the_accept() -> None:
    # Three requests 1.2 s apart on one connection: 2.4 s in all, over a 2 s deadline,
    # but never more than 1.2 s after a response.
    with serving(deadline=2.0, limit=LIMIT) as server:
        connection = http.client.HTTPConnection("127.0.0.1", server.address[1], timeout=5)
        try:
            for number in range(3):
                if number:
                    time.sleep(1.2)
                connection.request("GET", "/healthz")
                response = connection.getresponse()
                assert (response.status, response.read()) == (200, b'{"status":"ok"}\n')
        finally:
            connection.close()


def test_a_new_client_is_served_at_once_when_the_limit_is_full_of_half_open_requests() -> None:
    # A long deadline: only eviction can make room in time.
    with serving(deadline=60, limit=LIMIT) as server:
        port = server.address[1]
        attackers = half_open(port, 3 * LIMIT)
        try:
            assert healthz_seconds(port) < 2
            time.sleep(0.5)  # evictions are closed on the next turn of the loop
            # The oldest are evicted, and the newest kept: the order is seen from outside.
            assert all(closed_by_server(s, within=0.3) for s in attackers[:LIMIT])
            assert not any(closed_by_server(s, within=0.1) for s in attackers[-(LIMIT // 2) :])
        finally:
            for sock in attackers:
                sock.close()


def test_a_stalled_reader_is_closed_at_the_response_deadline_while_others_are_served() -> None:
    with serving(deadline=60, limit=LIMIT, response_deadline=DEADLINE) as server:
        small_send_buffers(server)
        port = server.address[1]
        readers = stalled_readers(port, 3)
        try:
            time.sleep(0.5)
            assert open_channels(server) == 3, "the readers are connected, their output pending"
            assert all(c.stalled_for(time.time()) > 0 for c in server._server.channels())
            started = time.monotonic()
            while open_channels(server) and time.monotonic() - started < DEADLINE + 4:
                assert healthz_seconds(port) < 1
                time.sleep(0.2)
            assert open_channels(server) == 0, "a stalled reader outlived the response deadline"
            assert time.monotonic() - started >= DEADLINE / 2, "closed before any deadline"
        finally:
            for sock in readers:
                sock.close()


def test_stalled_readers_make_room_for_a_new_client_at_the_limit() -> None:
    # Long deadlines: only eviction can make room in time.
    with serving(deadline=60, limit=LIMIT, response_deadline=60) as server:
        small_send_buffers(server)
        port = server.address[1]
        readers = stalled_readers(port, LIMIT)
        try:
            started = time.monotonic()  # every reader's output pending, and stalled
            while (
                time.monotonic() - started < 15
                and len(server._server.stalled(time.time(), STALLED_AFTER)) < LIMIT
            ):
                time.sleep(0.2)
            assert open_channels(server) == LIMIT
            # Longest stalled first (private: the test asks its own server for the order).
            ranked = server._server.stalled(time.time(), STALLED_AFTER)
            by_port = {sock.getsockname()[1]: sock for sock in readers}
            longest, shortest = by_port[ranked[0].addr[1]], by_port[ranked[-1].addr[1]]
            assert healthz_seconds(port) < 2
            time.sleep(0.5)
            assert open_channels(server) <= LIMIT, "the new client evicted a stalled reader"
            # The one evicted is the longest stalled: it reads to EOF; the shortest still
            # reads pages.
            assert closed_by_server(longest, within=3)
            assert not closed_by_server(shortest, within=0.5)
        finally:
            for sock in readers:
                sock.close()


def test_a_kept_alive_client_under_the_limit_is_left_alone(server: Server) -> None:
    keeper = http.client.HTTPConnection("127.0.0.1", server.address[1], timeout=5)
    try:
        keeper.request("GET", "/healthz")
        assert keeper.getresponse().read() == b'{"status":"ok"}\n'
        attackers = half_open(server.address[1], LIMIT // 2)
        try:
            keeper.request("GET", "/healthz")
            assert keeper.getresponse().status == 200
        finally:
            for sock in attackers:
                sock.close()
    finally:
        keeper.close()


def test_waitress_per_request_queue_warning_is_silenced(
    caplog: pytest.LogCaptureFixture,
) -> None:
    quiet_waitress_queue()
    with caplog.at_level(logging.WARNING, "waitress.queue"):
        logging.getLogger("waitress.queue").warning("Task queue depth is %d", 3)
    assert caplog.records == []


def test_a_rate_limited_report_sums_up_what_happened_in_between(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    clock = [0.0]
    monkeypatch.setattr(time, "monotonic", lambda: clock[0])
    report = RateLimitedReport(logging.getLogger("test"), "closed: %s", interval=10)
    with caplog.at_level(logging.WARNING, "test"):
        report.add("late", 2)
        report.add("late", 3)
        report.add("evicted", 1)
        report.add("queued", peak=3)
        report.add("queued", peak=7)
        clock[0] = 10
        report.add("late", 1)
    assert [r.getMessage() for r in caplog.records] == [
        "closed: 2 late",
        "closed: 4 late; 1 evicted; 2 queued, queue up to 7",
    ]


def test_workers_leave_sending_to_the_io_thread(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker that sends holds the output lock while the I/O thread spins (benchmarks.md)."""
    senders: list[str] = []
    flush = vars(HTTPChannel)["_flush_some"]  # private: the stubs leave it out

    def recorded(channel: HTTPChannel, do_close: bool = True) -> bool:
        senders.append(threading.current_thread().name)
        return bool(flush(channel, do_close=do_close))

    monkeypatch.setattr(HTTPChannel, "_flush_some", recorded)
    for _ in range(5):
        assert get(f"http://127.0.0.1:{server.address[1]}/api/time")[0] == 200
    assert senders, "the responses were sent"
    assert not [name for name in senders if name.startswith("waitress-")], senders


def test_an_error_answer_reaches_a_client_whose_request_was_not_read_to_the_end(
    server: Server,
) -> None:
    """Closing with unread input sends a reset, which would discard the 431 (no proxy here)."""
    oversized = b"GET / HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * 20_000 + b"\r\n\r\n"
    for _ in range(10):
        with socket.create_connection(("127.0.0.1", server.address[1]), timeout=5) as client:
            client.sendall(oversized)
            reply = b""
            while chunk := client.recv(65536):
                reply += chunk
        assert reply.startswith(b"HTTP/1.0 431 ")
