"""Each attack or fault of `nox -s stress`, run against one fresh container of one image.

A scenario starts the container (with its limits), lets a normal client ask
/healthz throughout, runs the attack, and returns a `Row`: what the normal
client saw and what the attack cost (peak RSS, log lines written).
"""

from __future__ import annotations

import dataclasses
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from tools.containers import serving
from tools.process import BuildError, capture
from tools.stress import attacks
from tools.stress.attacks import Watch, ms, watched
from tools.wrk import wrk


@dataclasses.dataclass(frozen=True)
class Size:
    """How hard to push: the full run, or CI's short one."""

    connections: int
    seconds: float


FULL = Size(connections=1000, seconds=25)
QUICK = Size(connections=300, seconds=8)


@dataclasses.dataclass
class Row:
    attack: str
    size: str
    watch: Watch
    rss_mb: float = 0.0
    log_lines: int = 0
    note: str = ""

    def cells(self) -> list[str]:
        return [
            self.attack,
            self.size,
            ms(self.watch.p50),
            ms(self.watch.p99),
            f"{self.watch.errors} of {len(self.watch.latencies) + self.watch.errors}",
            f"{self.rss_mb:.1f} MB",
            str(self.log_lines),
            self.note,
        ]


HEADER = ["attack", "size", "p50", "p99", "errors", "peak RSS", "log lines", "note"]


@contextmanager
def observed(image: str, attack: str, size: str, *options: str) -> Iterator[tuple[int, Row]]:
    """A fresh container under watch; the row fills in as the block runs."""
    with serving(image, *options) as container:
        before, peak = len(container.logs().splitlines()), [0.0]
        stop = threading.Event()

        def sample() -> None:
            while not stop.wait(1):
                peak[0] = max(peak[0], container.memory_mb())

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        with watched(container.port) as watch:
            row = Row(attack, size, watch)
            yield container.port, row
        stop.set()
        sampler.join(timeout=5)
        row.rss_mb = max(peak[0], container.memory_mb())
        row.log_lines = len(container.logs().splitlines()) - before
        row.note = row.note or f"health: {container.health()}"


def slow_headers(image: str, size: Size) -> Row:
    label = f"{size.connections} half-open, a header line every 2 s, {size.seconds:.0f} s"
    with observed(image, "slow-header flood", label) as (port, row):
        flood = attacks.slow_headers(
            port, connections=size.connections, seconds=size.seconds, trickle=2
        )
        row.note = f"{flood.closed_by_server} of {flood.opened} closed by the server"
    return row


def connection_flood(image: str, size: Size) -> Row:
    with observed(image, "connection flood", f"{size.connections} opened and reset") as (
        port,
        row,
    ):
        opened = attacks.connection_flood(port, connections=size.connections)
        time.sleep(size.seconds / 2)
        row.note = f"{opened.opened} opened; served afterwards"
    return row


BAD_REQUESTS = (
    b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20_000 + b"\r\n\r\n",
    b"\x00\xff junk \r\n\r\n",
    b"POST /api/time HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    b"GET /" + b"%" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
)


def malformed(image: str, size: Size) -> Row:
    with observed(image, "oversized and malformed requests", "5 kinds, in a loop") as (
        port,
        row,
    ):
        sent, deadline = 0, time.monotonic() + size.seconds
        while time.monotonic() < deadline:
            for request in BAD_REQUESTS:
                with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
                    try:
                        sock.sendall(request)
                        sock.recv(4096)
                    except OSError:
                        pass
                sent += 1
        row.note = f"{sent} sent"
    return row


def wrk_load(port: int, seconds: float, connections: int = 16) -> str:
    try:
        return f"{wrk(f'http://127.0.0.1:{port}/api/time', seconds, connections).rps:.0f} rps"
    except BuildError as failed:
        return f"wrk failed: {str(failed).splitlines()[0]}"


def under_load(image: str, size: Size, attack: str, *options: str) -> Row:
    with observed(image, attack, f"wrk -c16, {size.seconds:.0f} s", *options) as (port, row):
        row.note = wrk_load(port, size.seconds)
    return row


def starved_cpu(image: str, size: Size) -> Row:
    seconds = max(size.seconds, 30)  # three health checks at the images' 10 s interval
    with observed(image, "CPU limit", f"--cpus 0.2, {seconds:.0f} s", "--cpus", "0.2") as (
        _,
        row,
    ):
        time.sleep(seconds)
    return row


def stop_under_load(image: str, size: Size) -> Row:
    with observed(image, "docker stop under load", "8 clients, stop after 2 s") as (port, row):
        outcomes = {"answered": 0, "cut off": 0, "turned away": 0}
        stop = threading.Event()
        client = make_client(port, stop, outcomes)
        threads = [threading.Thread(target=client, daemon=True) for _ in range(8)]
        for thread in threads:
            thread.start()
        time.sleep(2)
        container = capture("docker", "ps", "--quiet", "--filter", f"publish={port}")
        capture("docker", "stop", container)
        stop.set()
        for thread in threads:
            thread.join(timeout=10)
        logs = capture("sh", "-c", f"docker logs {container} 2>&1")
        unfinished = re.search(r"closing (\d+) connection\(s\) with unfinished", logs)
        row.note = (
            f"{outcomes['answered']} answered, {outcomes['cut off']} cut off mid-response, "
            f"{unfinished[1] if unfinished else 0} accepted and unanswered"
        )
    return row


def make_client(port: int, stop: threading.Event, outcomes: dict[str, int]) -> Callable[[], None]:
    request = b"GET /api/time HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"

    def client() -> None:
        while not stop.is_set():
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
                    sock.sendall(request)
                    reply = b""
                    while chunk := sock.recv(65536):
                        reply += chunk
            except OSError:
                reply = b""
            if reply.startswith(b"HTTP/1.1 200") and reply.rstrip().endswith(b"}"):
                outcomes["answered"] += 1
            elif reply:
                outcomes["cut off"] += 1
            else:
                outcomes["turned away"] += 1
                time.sleep(0.05)

    return client


SCENARIOS: dict[str, Callable[[str, Size], Row]] = {
    "slow-headers": slow_headers,
    "connection-flood": connection_flood,
    "malformed": malformed,
    "load": lambda image, size: under_load(image, size, "load (the benchmark's)"),
    "memory": lambda image, size: under_load(
        image, size, "memory limit", "--memory", "48m", "--memory-swap", "48m"
    ),
    "cpu": starved_cpu,
    "stop": stop_under_load,
}

#: Left out of quick mode: each takes 30 s whatever the size.
SLOW_SCENARIOS = frozenset({"cpu"})
