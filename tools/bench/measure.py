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
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

from tools import containers
from tools.builders import BuildRequest, pick_builder
from tools.containers import Container
from tools.images.identity import IMAGE_EPOCH
from tools.model import host_platform
from tools.paths import BUILD
from tools.process import capture
from tools.wrk import wrk

OUT = BUILD / "bench"
HERE = Path(__file__).resolve().parent
BASELINE = HERE / "baseline"
PROBE = HERE / "probe"
BASELINE_TAG = "moscow-time-bench:baseline"
CONCURRENCIES = (1, 16, 64)


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
        timestamp=IMAGE_EPOCH,
    )
    # Docker's own builder: the baseline is run, never published.
    pick_builder("docker").build(lambda *args, **_: capture(*args), request)


@contextlib.contextmanager
def serving(subject: Subject, *extra: str) -> Iterator[Container]:
    """A container of the subject that answers on /healthz; removed afterwards."""
    with containers.serving(
        subject.image, *extra, *subject.options, command=subject.command
    ) as container:
        yield container


def cold_start(subject: Subject) -> float:
    """Seconds from `docker run` to the first 200 from /healthz."""
    started = time.perf_counter()
    container = Container.start(subject.image, *subject.options, command=subject.command)
    try:
        if not container.answers(poll=0.005):
            raise SystemExit(f"bench: {subject.name} did not answer within 30 s")
        return time.perf_counter() - started
    finally:
        container.remove()


def floor_start(base: str) -> float:
    """Seconds for `docker run` of a bare `python3 -c pass`: the start-up floor."""
    started = time.perf_counter()
    capture("docker", "run", "--rm", "--entrypoint", "python3", base, "-c", "pass")
    return time.perf_counter() - started


def startup_inside(subject: Subject, rounds: int) -> dict[str, list[float]]:
    """exec → listening inside the container, and a bare `python3 -c pass` there."""
    mount = ("--volume", f"{PROBE}:/opt/bench:ro")
    with serving(subject, *mount) as container:
        probe = ("python3", "/opt/bench/startup.py", str(rounds))
        return dict(json.loads(capture("docker", "exec", container.name, *probe)))


def running(subject: Subject, mode: Mode) -> dict[str, float]:
    """Throughput and latency at each concurrency, and memory, of one running container."""
    figures: dict[str, float] = {}
    with serving(subject) as container:
        time.sleep(1)
        figures["rss_idle_mb"] = container.memory_mb()
        url = f"{container.url}/api/time"
        for connections in CONCURRENCIES:
            wrk(url, mode.warmup_s, connections)
            load = wrk(url, mode.load_s, connections, during=container.memory_mb)
            figures[f"rps_c{connections}"] = load.rps
            figures[f"p50_ms_c{connections}"] = load.p50_ms
            figures[f"p99_ms_c{connections}"] = load.p99_ms
            if connections == 16 and load.sampled is not None:
                figures["rss_load_mb"] = load.sampled
    return figures


def stop_time(subject: Subject) -> float:
    """Seconds `docker stop` takes (Docker's default grace: 10 s, then SIGKILL)."""
    with serving(subject) as container:
        started = time.perf_counter()
        capture("docker", "stop", container.name)
        return time.perf_counter() - started
