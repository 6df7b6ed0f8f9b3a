"""Every platform the last build made runs: natively, or under qemu's emulation.

The platform is read from inside the container (`platform.machine()`), not
from the image's config, so an image labelled arm64 that holds amd64
binaries fails here.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from tools.appimages import runnable_images
from tools.project import PLATFORMS, Variant, host_platform

from .conftest import Container, docker

#: An emulated Python took 6.6 s to start bare here, and a loaded machine is slower.
EMULATED_HEALTHY_WITHIN_SECONDS = 240

IMAGES = runnable_images()


@pytest.fixture(params=IMAGES, ids=[f"{tag}-{platform}" for _, tag, platform in IMAGES])
def started(request: pytest.FixtureRequest) -> Iterator[tuple[Container, str, float]]:
    """A hardened container of one platform's image, healthy; and how long that took."""
    variant, tag, platform = request.param
    assert isinstance(variant, Variant)
    container = Container(f"moscow-time-platform-{uuid.uuid4().hex[:12]}", tag)
    # The image gives its health check 3 s; an emulated Python may need more to start.
    emulated = [] if platform == host_platform().name else ["--health-timeout", "60s"]
    began = time.monotonic()
    docker(
        "run", "--detach", "--name", container.name, "--publish", "127.0.0.1::5000",
        "--health-interval", "1s", *emulated, "--read-only", "--cap-drop", "ALL",
        "--security-opt", "no-new-privileges", tag,
    )  # fmt: skip
    try:
        container.port = int(docker("port", container.name, "5000/tcp").split(":")[-1])
        container.wait_until("healthy", within=EMULATED_HEALTHY_WITHIN_SECONDS)
        yield container, platform, time.monotonic() - began
    finally:
        container.remove()


def test_each_platform_serves_moscow_time_and_runs_its_own_cpu(
    started: tuple[Container, str, float],
) -> None:
    container, platform, seconds = started
    assert container.python("import platform; print(platform.machine())") == (
        PLATFORMS[platform].machine if platform in PLATFORMS else platform.split("/")[1]
    )
    status, _, body = container.get("/healthz")
    assert (status, json.loads(body)) == (200, {"status": "ok"})
    status, _, body = container.get("/api/time")
    data = json.loads(body)
    assert status == 200
    assert data["zone"] == "Europe/Moscow"
    assert data["abbreviation"] == "MSK"
    assert abs(datetime.fromisoformat(data["iso"]) - datetime.now(UTC)).total_seconds() <= 5
    config = json.loads(docker("image", "inspect", container.image))[0]
    assert f"{config['Os']}/{config['Architecture']}" == platform
    print(f"{container.image} ({platform}): run to healthy in {seconds:.1f} s")
