"""Every platform the last build made runs: natively, or under qemu's emulation.

The platform is read from inside the container (`platform.machine()`), not
from the image's config, so an image labelled arm64 that holds amd64
binaries fails here.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from tools.containers import Container, Runnable, docker, runnable_images
from tools.model import PLATFORMS, host_platform

#: An emulated Python took 6.6 s to start bare here, and a loaded machine is slower.
EMULATED_HEALTHY_WITHIN_SECONDS = 240

IMAGES = runnable_images()


#: Run by the image's own Python: every standard-library module that serving loads must
#: come with bytecode for that Python (image/precompile.py compiled it in the builder,
#: for this CPU's runtime, on the build machine's CPU).
UNCOMPILED_STDLIB_MODULES = """
import importlib.util, os, sys
import moscow_time.__main__, moscow_time.healthcheck
from moscow_time import create_app
client = create_app().test_client()
for path in ("/", "/api/time", "/healthz", "/missing"):
    client.get(path)
stdlib = os.path.dirname(os.__file__) + "/"
loaded = [getattr(m, "__file__", None) or "" for m in list(sys.modules.values())]
loaded = [f for f in loaded if f.startswith(stdlib) and f.endswith(".py")]
def compiled(source):
    cached = importlib.util.cache_from_source(source)
    if not os.path.exists(cached):
        return False
    with open(cached, "rb") as pyc:
        return pyc.read(4) == importlib.util.MAGIC_NUMBER
print(len(loaded), *sorted(f for f in loaded if not compiled(f)))
"""


@pytest.fixture(scope="module", params=IMAGES, ids=[f"{i.tag}-{i.platform}" for i in IMAGES])
def started(request: pytest.FixtureRequest) -> Iterator[tuple[Container, str, float]]:
    """A hardened container of one platform's image, healthy; and how long that took."""
    image: Runnable = request.param
    if image.skip_reason:
        pytest.skip(f"{image.tag} ({image.platform}): {image.skip_reason}")
    platform = image.platform
    # The image gives its health check 3 s; an emulated Python may need more to start.
    emulated = [] if platform == host_platform().name else ["--health-timeout", "60s"]
    began = time.monotonic()
    container = Container.start(
        image.tag, "--health-interval", "1s", *emulated, "--read-only", "--cap-drop", "ALL",
        "--security-opt", "no-new-privileges",
    )  # fmt: skip
    try:
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


def test_each_platform_has_bytecode_for_the_library_modules_it_loads(
    started: tuple[Container, str, float],
) -> None:
    container, _, _ = started
    loaded, *uncompiled = container.python(UNCOMPILED_STDLIB_MODULES).split()
    assert int(loaded) > 50
    assert uncompiled == []
