"""Hostile clients and starved containers, against the real images (issue: stay up).

Bounds are generous: these tests say that a normal client is answered and
nothing is lost; `nox -s stress` measures how well (docs/reliability.md).
Every attack goes to a port published on 127.0.0.1, and is bounded.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
import time

import pytest

from tools.stress import attacks

from .conftest import Runner, docker, image_for


def test_a_slow_header_flood_does_not_shut_out_a_normal_client(start: Runner) -> None:
    container = start()
    result: list[attacks.Flood] = []
    with attacks.watched(container.port, every=0.2) as watch:
        flood = threading.Thread(
            target=lambda: result.append(
                attacks.slow_headers(container.port, connections=1000, seconds=14, trickle=2)
            )
        )
        flood.start()
        flood.join(timeout=120)
    (done,) = result
    assert done.opened >= 900, "the attack could not open its connections"
    assert watch.errors == 0
    assert watch.p99 is not None
    assert watch.p99 < 3, f"p99 {watch.p99:.2f} s under 1,000 trickling connections"
    # The 10 s request deadline closed them, however slowly they trickled.
    assert done.closed_by_server >= 0.9 * done.opened


def test_it_serves_after_a_thousand_connections_open_and_drop_at_once(start: Runner) -> None:
    container = start()
    assert attacks.connection_flood(container.port, connections=1000).opened >= 900
    status, _, body = container.get("/healthz")
    assert (status, body) == (200, '{"status":"ok"}\n')


def test_it_starts_and_serves_in_48_megabytes(start: Runner) -> None:
    container = start("--memory", "48m", "--memory-swap", "48m")
    for _ in range(200):
        assert container.get("/api/time")[0] == 200
    assert container.inspect()["State"]["OOMKilled"] is False


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed: run `bin/setup`")
def test_the_benchmarks_load_writes_almost_nothing_to_the_log(start: Runner) -> None:
    container = start()
    before = len(container.logs().splitlines())
    subprocess.run(
        ["wrk", "-t2", "-c16", "-d10s", f"http://127.0.0.1:{container.port}/api/time"],
        check=True,
        capture_output=True,
    )
    written = container.logs().splitlines()[before:]
    # One queue summary per 10 s at most, where it was one line per request.
    assert len(written) <= 3, written


def test_starved_of_cpu_the_healthcheck_does_not_flap() -> None:
    """Both images at once, at their own health interval, for three checks and more."""
    names = []
    try:
        for variant in ("slim", "distroless"):
            name = f"moscow-time-cpu-{variant}-{time.monotonic_ns()}"
            docker("run", "--detach", "--name", name, "--cpus", "0.2", image_for(variant))
            names.append(name)
        seen: dict[str, set[str]] = {name: set() for name in names}
        deadline = time.monotonic() + 45
        while time.monotonic() < deadline:
            for name in names:
                seen[name].add(docker("inspect", "--format", "{{.State.Health.Status}}", name))
            time.sleep(1)
        for name in names:
            assert "unhealthy" not in seen[name], f"{name} went unhealthy: {seen[name]}"
            assert docker("inspect", "--format", "{{.State.Health.Status}}", name) == "healthy"
    finally:
        for name in names:
            docker("rm", "--force", name, check=False)
