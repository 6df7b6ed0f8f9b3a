"""Slow clients with Debian's slowhttptest, a tool nobody here wrote, in its three modes.

slow headers (`-H`), slow body (`-B`) and slow read (`-X`: pipelined
requests, a tiny TCP window, a few bytes read every few seconds), each with
thousands of connections against one target: the app on this host
(`python -m moscow_time`), or a container of an image published on
127.0.0.1 as docs/deploy.md tells users to run it. A normal client asks
/healthz twice a second with a 5 s timeout meanwhile. Every URL is on
127.0.0.1, every attack stops by itself after its length.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from tools.containers import HARDENED, serving
from tools.loopback import free_port, wait_for
from tools.process import BuildError
from tools.stress.attacks import Watch, ms, watched

#: slowhttptest's options per mode; the URL, count, rate and length are added.
MODES = {
    "slow headers": ("-H", "-i", "5", "-x", "24"),
    "slow body": ("-B", "-i", "5", "-x", "24", "-s", "8192"),
    "slow read": ("-X", "-k", "3", "-n", "3", "-w", "1", "-y", "32", "-z", "8"),
}
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


#: Seconds over which an attack opens its connections. Faster, each slow reader's
#: pipelined requests add up to a plain request flood: at 1,000 new connections a
#: second, 3,000 page requests a second, twice what 2 cores render (docs/reliability.md).
RAMP_SECONDS = 30


@dataclasses.dataclass(frozen=True)
class Size:
    connections: int
    #: The attack's length: the ramp, then 10 s with every connection open.
    seconds: int = RAMP_SECONDS + 10

    @property
    def rate(self) -> int:
        """Connections opened per second: every one open by the end of the ramp."""
        return max(1, -(-self.connections // min(RAMP_SECONDS, self.seconds)))


@dataclasses.dataclass
class Outcome:
    """One attack on one target, and what the watching client saw."""

    target: str
    mode: str
    size: Size
    watch: Watch
    peak_rss_mb: float = 0.0
    #: The most connections slowhttptest held open at once.
    peak_connected: int = 0

    def cells(self) -> list[str]:
        asked = len(self.watch.latencies) + self.watch.errors
        return [
            self.target,
            self.mode,
            f"{self.size.connections:,}",
            f"{self.peak_connected:,}",
            f"{self.watch.errors} of {asked}",
            ms(self.watch.p50),
            ms(self.watch.p99),
            f"{self.peak_rss_mb:.1f} MB",
        ]


HEADER = [
    "target",
    "attack",
    "connections",
    "held at once",
    "/healthz failures",
    "p50",
    "p99",
    "peak RSS",
]


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident set (VmHWM), in MiB; 0 if it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    found = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
    return int(found[1]) / 1024 if found else 0.0


def peak_connected(output: str) -> int:
    """The highest `connected:` count in slowhttptest's status lines."""
    counts = re.findall(r"connected:\s+(\d+)", ANSI.sub("", output))
    return max(map(int, counts), default=0)


def raise_open_files() -> None:
    """slowhttptest and the server need a descriptor per connection: this process's soft
    limit up to the hard one, which the children started after it inherit."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def attack(port: int, mode: str, size: Size) -> str:
    """slowhttptest against 127.0.0.1:PORT; its output."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if size.connections + 64 > hard:
        raise BuildError(
            f"{size.connections} connections need as many descriptors; this shell allows "
            f"{hard}: raise it (ulimit -Hn) and run again"
        )
    command = ["slowhttptest", *MODES[mode], "-c", str(size.connections)]
    command += ["-r", str(size.rate), "-l", str(size.seconds), "-p", "5"]
    command += ["-u", f"http://127.0.0.1:{port}/"]
    finished = subprocess.run(
        command,
        capture_output=True,
        text=True,
        check=False,
        timeout=size.seconds + 120,
    )
    return finished.stdout + finished.stderr


@contextlib.contextmanager
def host_app() -> Iterator[tuple[int, int]]:
    """The app on this host, as the images run it: its port and PID."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "moscow_time", "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        if not wait_for(f"http://127.0.0.1:{port}/healthz", within=30, poll=0.1):
            raise BuildError("the app did not answer on the host within 30 s")
        yield port, server.pid
    finally:
        server.terminate()
        server.wait(timeout=10)


@contextlib.contextmanager
def container(image: str) -> Iterator[tuple[int, int]]:
    """A container of the image, hardened and published on 127.0.0.1: its port and PID."""
    with serving(image, *HARDENED) as running:
        pid = int(running.inspect()["State"]["Pid"])
        yield running.port, pid


def run(target: str, mode: str, size: Size) -> Outcome:
    """One attack on a fresh target ("host", or an image's tag)."""
    raise_open_files()
    started = host_app() if target == "host" else container(target)
    with started as (port, pid), watched(port, every=0.5) as watch:
        output = attack(port, mode, size)
        time.sleep(1)  # the last probes, after the attack
        rss = peak_rss_mb(pid)
    return Outcome(target, mode, size, watch, rss, peak_connected(output))


#: What `nox -s stress` runs: every mode at 1,000 and 10,000 connections, 40 s each;
#: CI's quick mode, the slow read alone at 1,000 for 10 s.
FULL = tuple((mode, Size(n)) for mode in MODES for n in (1000, 10000))
QUICK = (("slow read", Size(1000, 10)),)
