"""Measure what the images cost: size, cold start, throughput, memory, stop time.

Run by `nox -s bench` (`-- --quick` for CI). Every figure is taken in one run
on one machine, next to a seed-style baseline, a start-up floor and an nginx
ceiling, so the report can give ratios rather than absolute numbers from a
shared, noisy machine.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import json
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tools import images

ROOT = images.ROOT
OUT = ROOT / "build" / "bench"
DOCS = ROOT / "docs"
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


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return response.status == 200
    except (OSError, urllib.error.URLError):
        return False


def wait_for(url: str, *, within: float, poll: float) -> bool:
    """Poll `url` until it answers 200; False if it did not within `within` seconds."""
    deadline = time.monotonic() + within
    while not answers(url):
        if time.monotonic() > deadline:
            return False
        time.sleep(poll)
    return True


def median_spread(values: Sequence[float]) -> tuple[float, float]:
    """Median, and half the range around it: noisy machines need both."""
    return statistics.median(values), (max(values) - min(values)) / 2


# ---- the images ------------------------------------------------------------------


def build_baseline(base: str) -> None:
    """The seed-style image, on the same base and wheelhouse, offline."""
    context = OUT / "baseline-context"
    if context.exists():
        shutil.rmtree(context)
    shutil.copytree(images.WHEELHOUSE, context / "wheelhouse")
    shutil.copy(ROOT / "bench" / "seed_app.py", context / "seed_app.py")
    builder = images.Builder("docker")
    builder.build(
        lambda *args, **_: images.capture(*args),
        containerfile=ROOT / "bench" / "Dockerfile.baseline",
        context=context,
        tags=[BASELINE_TAG],
        build_args={"PYTHON_IMAGE": base},
        timestamp=images.source_date_epoch(),
    )


def image_size(image: str) -> int:
    return int(images.capture("docker", "image", "inspect", "--format", "{{.Size}}", image))


# ---- measurements -------------------------------------------------------------------


def start_container(image: str, port: int, *command: str) -> str:
    return images.capture(
        "docker", "run", "--detach", "--publish", f"127.0.0.1:{port}:5000", image, *command
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
        images.capture("docker", "rm", "--force", container)


@contextlib.contextmanager
def serving(image: str) -> Iterator[tuple[str, int]]:
    """A container of `image` that answers on /healthz, and its port; removed afterwards."""
    port = free_port()
    container = start_container(image, port)
    try:
        if not wait_for(f"http://127.0.0.1:{port}/healthz", within=30, poll=0.05):
            raise SystemExit(f"bench: {image} did not start")
        yield container, port
    finally:
        images.capture("docker", "rm", "--force", container, check=False)


def floor_start(base: str) -> float:
    """Seconds for `docker run` of a bare `python3 -c pass`: the start-up floor."""
    started = time.perf_counter()
    images.capture("docker", "run", "--rm", "--entrypoint", "python3", base, "-c", "pass")
    return time.perf_counter() - started


def memory_mb(container: str) -> float:
    usage = images.capture(
        "docker", "stats", "--no-stream", "--format", "{{.MemUsage}}", container
    )
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


def wrk(url: str, seconds: int, during: Callable[[], float] | None = None) -> Load:
    command = ["wrk", f"-t{WRK_THREADS}", f"-c{CONCURRENCY}", f"-d{seconds}s", "--latency", url]
    sampled: list[float] = []
    sampler = None
    if during is not None:
        sampler = threading.Timer(seconds / 2, lambda: sampled.append(during()))
        sampler.start()
    out = images.capture(*command)
    if sampler is not None:
        sampler.join()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])  # type: ignore[index]

    def percentile(label: str) -> float:
        pattern = rf"^\s+{label}\s+([\d.]+)(us|ms|s)\s*$"
        value, unit = re.search(pattern, out, re.MULTILINE).groups()  # type: ignore[union-attr]
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
        images.capture("docker", "stop", container)
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


# ---- report -----------------------------------------------------------------------------


def machine() -> str:
    cpu = "unknown CPU"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    docker = images.capture("docker", "version", "--format", "{{.Server.Version}}", check=False)
    return f"{os.cpu_count()} × {cpu}, {platform.system()} {platform.release()}, Docker {docker}"


COLUMNS = [
    "image",
    "size",
    "over base",
    "cold start",
    "× floor",
    "rps",
    "× baseline",
    "p50",
    "p99",
    "p99 × baseline",
    "RSS idle",
    "RSS load",
    "docker stop",
    "× baseline",
]


def report(results: dict, quick: bool) -> str:  # type: ignore[type-arg]
    rows = results["images"]
    base = rows["baseline"]
    floor = results["floor_s"][0]
    ceiling = results["ceiling"]
    lines = [
        f"Measured {results['when']} on {results['machine']}"
        + (" (quick mode: short runs, indicative only)." if quick else "."),
        f"Load: wrk -t{WRK_THREADS} -c{CONCURRENCY} on /api/time over loopback, after a warm-up."
        " Times are medians ± half the range.",
        "",
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "---|" * len(COLUMNS),
    ]
    for name, r in rows.items():
        lines.append(
            f"| {name} | {r['size_mb']:.1f} MB | {r['over_base_mb']:.1f} MB "
            f"| {r['cold_start_s'][0]:.2f} ± {r['cold_start_s'][1]:.2f} s "
            f"| {r['cold_start_s'][0] / floor:.2f} "
            f"| {r['rps']:.0f} | {r['rps'] / base['rps']:.2f} "
            f"| {r['p50_ms']:.1f} ms | {r['p99_ms']:.1f} ms | {r['p99_ms'] / base['p99_ms']:.2f} "
            f"| {r['rss_idle_mb']:.1f} MB | {r['rss_load_mb']:.1f} MB "
            f"| {r['stop_s'][0]:.2f} s | {r['stop_s'][0] / base['stop_s'][0]:.2f} |"
        )
    lines += [
        "",
        f"Floor: `docker run` of `python3 -c pass` on the slim base, "
        f"{floor:.2f} ± {results['floor_s'][1]:.2f} s.",
    ]
    if ceiling:
        lines.append(
            f"Ceiling: nginx serving a static file on loopback, {ceiling['rps']:.0f} rps "
            f"(p99 {ceiling['p99_ms']:.1f} ms); distroless reaches "
            f"{rows['distroless']['rps'] / ceiling['rps']:.1%} of it."
        )
    return "\n".join(lines) + "\n"


def chart(results: dict, path: Path) -> None:  # type: ignore[type-arg]
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(results["images"])
    rows = [results["images"][n] for n in names]
    panels = [
        ("Image size (MB)", [r["size_mb"] for r in rows], None),
        ("Cold start (s)", [r["cold_start_s"][0] for r in rows], results["floor_s"][0]),
        ("Throughput on /api/time (rps)", [r["rps"] for r in rows], None),
        ("p99 latency (ms)", [r["p99_ms"] for r in rows], None),
        ("RSS under load (MB)", [r["rss_load_mb"] for r in rows], None),
        ("docker stop (s)", [r["stop_s"][0] for r in rows], None),
    ]
    figure, axes = plt.subplots(2, 3, figsize=(12, 6.5))
    colours = ["#8a8580", "#2f6f9f", "#a3122a"]
    for axis, (title, values, reference) in zip(axes.flat, panels, strict=True):
        axis.bar(names, values, color=colours)
        axis.set_title(title, fontsize=11)
        for index, value in enumerate(values):
            label = f"{value:.3g}" if value < 1000 else f"{value:,.0f}"
            axis.annotate(label, (index, value), ha="center", va="bottom", fontsize=9)
        if reference is not None:
            axis.axhline(reference, color="black", linestyle="--", linewidth=1)
            axis.annotate("python3 -c pass", (2.4, reference), ha="right", va="bottom", fontsize=8)
        axis.spines[["top", "right"]].set_visible(False)
    figure.suptitle("moscow-time: seed-style baseline vs. slim vs. distroless (one run, medians)")
    figure.tight_layout()
    figure.savefig(path, dpi=100)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="nox -s bench --")
    parser.add_argument("--quick", action="store_true", help="a few seconds per image, for CI")
    args = parser.parse_args(argv)
    mode = QUICK if args.quick else FULL
    for tool in ("docker", "wrk"):
        if not shutil.which(tool):
            raise SystemExit(f"bench: {tool} is not installed (apt-get install {tool})")
    built = json.loads(images.IMAGES_JSON.read_text()) if images.IMAGES_JSON.exists() else None
    if not built:
        raise SystemExit("bench: no images recorded: run `nox -s build` first")
    by_variant = {image["variant"]: image for image in built["images"]}
    slim_base = by_variant["slim"]["base"]
    distroless_base = by_variant["distroless"]["base"]
    OUT.mkdir(parents=True, exist_ok=True)
    print("bench: building the seed-style baseline")
    build_baseline(slim_base)
    subjects = {
        "baseline": (BASELINE_TAG, slim_base),
        "slim": ("moscow-time:slim", slim_base),
        "distroless": ("moscow-time:distroless", distroless_base),
    }
    results: dict = {  # type: ignore[type-arg]
        "when": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "quick": args.quick,
        "images": {},
    }
    print("bench: start-up floor")
    results["floor_s"] = median_spread([floor_start(slim_base) for _ in range(mode.cold_starts)])
    for name, (image, base) in subjects.items():
        print(f"bench: {name}")
        row: dict = {  # type: ignore[type-arg]
            "size_mb": image_size(image) / 1e6,
            "over_base_mb": (image_size(image) - image_size(base)) / 1e6,
            "cold_start_s": median_spread([cold_start(image) for _ in range(mode.cold_starts)]),
        }
        row |= measure_running(image, mode)
        row["stop_s"] = median_spread([stop_time(image) for _ in range(mode.stops)])
        results["images"][name] = row
    print("bench: nginx ceiling")
    results["ceiling"] = nginx_ceiling(mode)
    (OUT / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    table = report(results, args.quick)
    (OUT / "results.md").write_text(table)
    chart(results, OUT / "chart.png")
    print(table)
    if not args.quick:
        shutil.copy(OUT / "chart.png", DOCS / "benchmarks.png")
        update_docs(table)
        print("bench: wrote docs/benchmarks.md and docs/benchmarks.png")
    return 0


def update_docs(table: str) -> None:
    """Replace the figures between the markers in docs/benchmarks.md."""
    doc = DOCS / "benchmarks.md"
    text = doc.read_text()
    start, end = "<!-- bench:start -->", "<!-- bench:end -->"
    before, rest = text.split(start, 1)
    _, after = rest.split(end, 1)
    doc.write_text(f"{before}{start}\n{table}{end}{after}")


if __name__ == "__main__":
    try:
        sys.exit(main())
    except images.BuildError as error:
        sys.exit(f"bench: {error}")
