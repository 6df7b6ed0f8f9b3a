"""The measurements of one subject: cold start, start-up inside, throughput, memory, stop.

A `Subject` is an image and how to run it: the seed-style baseline, our two
images, and the server floor (our Waitress settings serving hello-world in
the distroless image). Every container is published on 127.0.0.1 only, and
every load is bounded in time (wrk -d).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import re
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from tools.builders import BuildRequest, pick_builder
from tools.loopback import free_port, wait_for
from tools.process import capture, source_date_epoch
from tools.project import BUILD, host_platform

OUT = BUILD / "bench"
HERE = Path(__file__).resolve().parent
BASELINE = HERE / "baseline"
PROBE = HERE / "probe"
BASELINE_TAG = "moscow-time-bench:baseline"
CONCURRENCIES = (1, 16, 64)
WRK_THREADS = 2


@dataclasses.dataclass(frozen=True)
class Mode:
    rounds: int
    cold_starts: int
    warmup_s: int
    load_s: int


FULL = Mode(rounds=3, cold_starts=3, warmup_s=2, load_s=8)
QUICK = Mode(rounds=1, cold_starts=1, warmup_s=1, load_s=2)


@dataclasses.dataclass(frozen=True)
class Subject:
    """An image and how the bench runs it."""

    name: str
    image: str
    #: The image it is built on, for "over base".
    base: str
    #: `docker run` options before the image, and arguments after it.
    options: tuple[str, ...] = ()
    command: tuple[str, ...] = ()
    #: Whether its entry point is `python -m moscow_time` (start-up inside is measured).
    is_app: bool = False

    @classmethod
    def floor(cls, image: str, base: str) -> Subject:
        """Our Waitress settings serving hello-world, in that image: what the server costs."""
        mount = f"{PROBE}:/opt/bench:ro"
        return cls(
            "server floor",
            image,
            base,
            ("--volume", mount, "--entrypoint", "python3"),
            ("/opt/bench/floor_app.py",),
        )


def build_baseline(base: str) -> None:
    """The seed-style image, on the same base and wheelhouse, offline."""
    context = OUT / "baseline-context"
    if context.exists():
        shutil.rmtree(context)
    shutil.copytree(host_platform().wheelhouse, context / "wheelhouse")
    shutil.copy(BASELINE / "seed_app.py", context / "seed_app.py")
    request = BuildRequest(
        containerfile=BASELINE / "Dockerfile",
        context=context,
        tags=[BASELINE_TAG],
        build_args={"PYTHON_IMAGE": base},
        timestamp=source_date_epoch(),
    )
    # Docker's own builder: the baseline is run, never published.
    pick_builder("docker").build(lambda *args, **_: capture(*args), request)


def start_container(subject: Subject, port: int, *extra: str) -> str:
    """`docker run` of the subject, published on 127.0.0.1 only; its container ID."""
    publish = ("--publish", f"127.0.0.1:{port}:5000")
    run = ("docker", "run", "--detach", *publish, *extra, *subject.options, subject.image)
    return capture(*run, *subject.command)


@contextlib.contextmanager
def serving(subject: Subject, *extra: str) -> Iterator[tuple[str, int]]:
    """A container of the subject that answers on /healthz, and its port; removed afterwards."""
    port = free_port()
    container = start_container(subject, port, *extra)
    try:
        if not wait_for(f"http://127.0.0.1:{port}/healthz", within=30, poll=0.05):
            raise SystemExit(f"bench: {subject.name} did not start")
        yield container, port
    finally:
        capture("docker", "rm", "--force", container, check=False)


def cold_start(subject: Subject) -> float:
    """Seconds from `docker run` to the first 200 from /healthz."""
    port = free_port()
    started = time.perf_counter()
    container = start_container(subject, port)
    try:
        if not wait_for(f"http://127.0.0.1:{port}/healthz", within=30, poll=0.005):
            raise SystemExit(f"bench: {subject.name} did not answer within 30 s")
        return time.perf_counter() - started
    finally:
        capture("docker", "rm", "--force", container)


def floor_start(base: str) -> float:
    """Seconds for `docker run` of a bare `python3 -c pass`: the start-up floor."""
    started = time.perf_counter()
    capture("docker", "run", "--rm", "--entrypoint", "python3", base, "-c", "pass")
    return time.perf_counter() - started


def startup_inside(subject: Subject, rounds: int) -> dict[str, list[float]]:
    """exec → listening inside the container, and a bare `python3 -c pass` there."""
    mount = ("--volume", f"{PROBE}:/opt/bench:ro")
    with serving(subject, *mount) as (container, _):
        probe = ("python3", "/opt/bench/startup.py", str(rounds))
        return dict(json.loads(capture("docker", "exec", container, *probe)))


def memory_mb(container: str) -> float:
    usage = capture("docker", "stats", "--no-stream", "--format", "{{.MemUsage}}", container)
    amount = re.match(r"([\d.]+)\s*([KMG]i?B)", usage)
    if not amount:
        raise SystemExit(f"bench: cannot read memory from {usage!r}")
    factor = {"KiB": 1 / 1024, "MiB": 1, "GiB": 1024, "kB": 1 / 1000, "MB": 1, "GB": 1000}
    return float(amount[1]) * factor.get(amount[2], 1)


@dataclasses.dataclass
class Load:
    rps: float
    p50_ms: float
    p99_ms: float
    rss_loaded_mb: float | None = None


def wrk_figure(pattern: str, output: str) -> tuple[str, ...]:
    """The groups of one figure in wrk's output; a clear error if wrk printed none."""
    match = re.search(pattern, output, re.MULTILINE)
    if match is None:
        raise SystemExit(f"bench: no {pattern!r} in wrk's output:\n{output}")
    return match.groups()


def wrk(
    url: str, seconds: int, connections: int, during: Callable[[], float] | None = None
) -> Load:
    threads = min(WRK_THREADS, connections)
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    sampled: list[float] = []
    sampler = None
    if during is not None:
        sampler = threading.Timer(seconds / 2, lambda: sampled.append(during()))
        sampler.start()
    out = capture(*command)
    if sampler is not None:
        sampler.join()
    rps = float(wrk_figure(r"Requests/sec:\s+([\d.]+)", out)[0])

    def percentile(label: str) -> float:
        value, unit = wrk_figure(rf"^\s+{label}\s+([\d.]+)(us|ms|s)\s*$", out)
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    return Load(rps, percentile("50%"), percentile("99%"), sampled[0] if sampled else None)


def running(subject: Subject, mode: Mode) -> dict[str, float]:
    """Throughput and latency at each concurrency, and memory, of one running container."""
    figures: dict[str, float] = {}
    with serving(subject) as (container, port):
        time.sleep(1)
        figures["rss_idle_mb"] = memory_mb(container)
        url = f"http://127.0.0.1:{port}/api/time"
        for connections in CONCURRENCIES:
            wrk(url, mode.warmup_s, connections)
            load = wrk(url, mode.load_s, connections, during=lambda: memory_mb(container))
            figures[f"rps_c{connections}"] = load.rps
            figures[f"p50_ms_c{connections}"] = load.p50_ms
            figures[f"p99_ms_c{connections}"] = load.p99_ms
            if connections == 16 and load.rss_loaded_mb is not None:
                figures["rss_load_mb"] = load.rss_loaded_mb
    return figures


def stop_time(subject: Subject) -> float:
    """Seconds `docker stop` takes (Docker's default grace: 10 s, then SIGKILL)."""
    with serving(subject) as (container, _):
        started = time.perf_counter()
        capture("docker", "stop", container)
        return time.perf_counter() - started
