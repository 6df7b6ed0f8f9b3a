"""The benchmark's measurements: cold start, throughput, memory and stop time of one image.

Every container is published on 127.0.0.1 only, and every load is bounded in
time (wrk -d).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import re
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from tools.builders import BuildRequest, pick_builder
from tools.loopback import free_port, wait_for
from tools.process import capture, source_date_epoch
from tools.project import BUILD, WHEELHOUSE

OUT = BUILD / "bench"
BASELINE = Path(__file__).resolve().parent / "baseline"
BASELINE_TAG = "moscow-time-bench:baseline"
CONCURRENCY = 16
WRK_THREADS = 2


@dataclasses.dataclass(frozen=True)
class Mode:
    cold_starts: int
    stops: int
    warmup_s: int
    load_s: int


FULL = Mode(cold_starts=10, stops=3, warmup_s=3, load_s=15)
QUICK = Mode(cold_starts=3, stops=1, warmup_s=1, load_s=3)


def median_spread(values: Sequence[float]) -> tuple[float, float]:
    """Median, and half the range around it: noisy machines need both."""
    return statistics.median(values), (max(values) - min(values)) / 2


# ---- the images ------------------------------------------------------------------


def build_baseline(base: str) -> None:
    """The seed-style image, on the same base and wheelhouse, offline."""
    context = OUT / "baseline-context"
    if context.exists():
        shutil.rmtree(context)
    shutil.copytree(WHEELHOUSE, context / "wheelhouse")
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


# ---- measurements -------------------------------------------------------------------


def start_container(image: str, port: int, *options: str) -> str:
    """`docker run` of the image, published on 127.0.0.1 only; its container ID."""
    return capture(
        "docker", "run", "--detach", "--publish", f"127.0.0.1:{port}:5000", *options, image
    )


def cold_start(image: str) -> float:
    """Seconds from `docker run` to the first 200 from /healthz."""
    port = free_port()
    started = time.perf_counter()
    container = start_container(image, port)
    try:
        if not wait_for(f"http://127.0.0.1:{port}/healthz", within=30, poll=0.005):
            raise SystemExit(f"bench: {image} did not answer within 30 s")
        return time.perf_counter() - started
    finally:
        capture("docker", "rm", "--force", container)


@contextlib.contextmanager
def serving(image: str, *options: str) -> Iterator[tuple[str, int]]:
    """A container of `image` that answers on /healthz, and its port; removed afterwards."""
    port = free_port()
    container = start_container(image, port, *options)
    try:
        if not wait_for(f"http://127.0.0.1:{port}/healthz", within=30, poll=0.05):
            raise SystemExit(f"bench: {image} did not start")
        yield container, port
    finally:
        capture("docker", "rm", "--force", container, check=False)


def floor_start(base: str) -> float:
    """Seconds for `docker run` of a bare `python3 -c pass`: the start-up floor."""
    started = time.perf_counter()
    capture("docker", "run", "--rm", "--entrypoint", "python3", base, "-c", "pass")
    return time.perf_counter() - started


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


def wrk(url: str, seconds: int, during: Callable[[], float] | None = None) -> Load:
    command = ["wrk", f"-t{WRK_THREADS}", f"-c{CONCURRENCY}", f"-d{seconds}s", "--latency", url]
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


def measure_running(image: str, mode: Mode) -> dict[str, float | None]:
    """Throughput, latency and memory of one running container."""
    with serving(image) as (container, port):
        time.sleep(1)
        idle = memory_mb(container)
        url = f"http://127.0.0.1:{port}/api/time"
        wrk(url, mode.warmup_s)
        load = wrk(url, mode.load_s, during=lambda: memory_mb(container))
        return {
            "rps": load.rps,
            "p50_ms": load.p50_ms,
            "p99_ms": load.p99_ms,
            "rss_idle_mb": idle,
            "rss_load_mb": load.rss_loaded_mb,
        }


def stop_time(image: str) -> float:
    """Seconds `docker stop` takes (Docker's default grace: 10 s, then SIGKILL)."""
    with serving(image) as (container, _):
        started = time.perf_counter()
        capture("docker", "stop", container)
        return time.perf_counter() - started


NGINX_CONF = """
daemon off;
worker_processes 2;
pid {dir}/nginx.pid;
error_log {dir}/error.log;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {dir}/tmp; proxy_temp_path {dir}/tmp; fastcgi_temp_path {dir}/tmp;
  uwsgi_temp_path {dir}/tmp; scgi_temp_path {dir}/tmp;
  server {{
    listen 127.0.0.1:{port};
    location / {{ root {dir}/www; }}
  }}
}}
"""


def nginx_ceiling(mode: Mode) -> dict[str, float] | None:
    """wrk against nginx serving a small static file on loopback."""
    nginx = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    if nginx is None:
        print("bench: nginx is not installed, so there is no throughput ceiling in this run")
        return None
    with tempfile.TemporaryDirectory() as scratch:
        port = free_port()
        # nginx's workers drop to an unprivileged user, which must read these.
        Path(scratch).chmod(0o755)
        (Path(scratch) / "www").mkdir()
        (Path(scratch) / "tmp").mkdir()
        body = json.dumps({"iso": dt.datetime.now(dt.UTC).isoformat(), "zone": "Europe/Moscow"})
        (Path(scratch) / "www" / "time.json").write_text(body)
        conf = Path(scratch) / "nginx.conf"
        conf.write_text(NGINX_CONF.format(dir=scratch, port=port))
        server = subprocess.Popen([nginx, "-c", str(conf)], stderr=subprocess.DEVNULL)
        try:
            url = f"http://127.0.0.1:{port}/time.json"
            if not wait_for(url, within=10, poll=0.05):
                return None
            wrk(url, mode.warmup_s)
            load = wrk(url, mode.load_s)
            return {"rps": load.rps, "p50_ms": load.p50_ms, "p99_ms": load.p99_ms}
        finally:
            server.terminate()
            server.wait(timeout=10)
