"""The attacks and faults of `nox -s stress`, and the normal client that watches them.

Every socket goes to 127.0.0.1, every attack is bounded in connections and
seconds, and each one stops by itself.
"""

from __future__ import annotations

import contextlib
import dataclasses
import socket
import statistics
import threading
import time
from collections.abc import Iterator

from tools.loopback import get


@dataclasses.dataclass
class Watch:
    """What a normal client saw: one GET /healthz at a time, with a 5 s timeout."""

    latencies: list[float] = dataclasses.field(default_factory=list)
    errors: int = 0

    def percentile(self, share: float) -> float | None:
        if not self.latencies:
            return None
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))]

    @property
    def p50(self) -> float | None:
        return statistics.median(self.latencies) if self.latencies else None

    @property
    def p99(self) -> float | None:
        return self.percentile(0.99)


def ms(seconds: float | None) -> str:
    """A latency the watching client measured, as the tables show it."""
    return "-" if seconds is None else f"{seconds * 1000:.0f} ms"


@contextlib.contextmanager
def watched(port: int, *, every: float = 0.1) -> Iterator[Watch]:
    """A normal client asking /healthz every `every` seconds while the block runs."""
    watch, stop = Watch(), threading.Event()

    def ask() -> None:
        while not stop.is_set():
            started = time.perf_counter()
            try:
                status = get(f"http://127.0.0.1:{port}/healthz", timeout=5)[0]
            except OSError:
                status = 0
            if status == 200:
                watch.latencies.append(time.perf_counter() - started)
            else:
                watch.errors += 1
            stop.wait(every)

    thread = threading.Thread(target=ask, daemon=True)
    thread.start()
    try:
        yield watch
    finally:
        stop.set()
        thread.join(timeout=10)


@dataclasses.dataclass
class Flood:
    """What an attack did: connections opened, and how many the server closed."""

    opened: int = 0
    closed_by_server: int = 0


def open_connections(port: int, count: int) -> list[socket.socket]:
    """Up to `count` connections to 127.0.0.1:port, opened as fast as they are accepted."""
    sockets = []
    for _ in range(count):
        try:
            sockets.append(socket.create_connection(("127.0.0.1", port), timeout=5))
        except OSError:
            break
    return sockets


def server_closed(sock: socket.socket) -> bool:
    """True if the server has closed this connection (a read returns EOF or an error)."""
    sock.setblocking(False)
    try:
        return sock.recv(1, socket.MSG_PEEK) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True
    finally:
        sock.setblocking(True)


def slow_headers(port: int, *, connections: int, seconds: float, trickle: float) -> Flood:
    """Half-open requests: a request line, then one header line every `trickle` seconds."""
    flood = Flood()
    sockets = open_connections(port, connections)
    flood.opened = len(sockets)
    alive = []
    for sock in sockets:
        try:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n")
            alive.append(sock)
        except OSError:
            flood.closed_by_server += 1
    deadline = time.monotonic() + seconds
    while alive and time.monotonic() < deadline:
        time.sleep(min(trickle, max(0.0, deadline - time.monotonic())))
        still = []
        for sock in alive:
            try:
                if server_closed(sock):
                    raise ConnectionResetError
                sock.sendall(b"X-Trickle: 1\r\n")
                still.append(sock)
            except OSError:
                flood.closed_by_server += 1
                sock.close()
        alive = still
    for sock in alive:
        sock.close()
    return flood


def connection_flood(port: int, *, connections: int) -> Flood:
    """Open `connections` at once, send nothing, then drop them all."""
    sockets = open_connections(port, connections)
    for sock in sockets:
        # An abortive close (RST), as a crashed or hostile client leaves it.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        sock.close()
    return Flood(opened=len(sockets))
