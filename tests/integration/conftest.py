"""Fixtures that run the built images the way users do: `docker run`, via tools.containers."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tools.containers import Container, docker, why_not_runnable
from tools.model import VARIANTS

__all__ = ["HARDENED", "Container", "Runner", "docker", "image_for"]

#: The `docker run` options the docs recommend.
HARDENED = ("--read-only", "--cap-drop", "ALL", "--security-opt", "no-new-privileges")
#: Tests poll health faster than the image's 10 s, with the same command.
FAST_HEALTH = ("--health-interval", "1s")


def image_for(variant: str) -> str:
    """The image of a variant on this host's platform; the test fails if it is not built."""
    if problem := why_not_runnable():
        pytest.fail(problem)
    return VARIANTS[variant].tag()


Runner = Callable[..., Container]


@pytest.fixture(scope="module", params=list(VARIANTS))
def variant(request: pytest.FixtureRequest) -> str:
    """Each test runs against both images (a module's tests of one image, then the other's)."""
    return str(request.param)


@pytest.fixture(scope="module")
def image(variant: str) -> str:
    return image_for(variant)


@pytest.fixture
def start(image: str) -> Iterator[Runner]:
    """Start containers of the image with extra `docker run` options."""
    started: list[Container] = []

    def run(*options: str, wait: bool = True, image_health_timing: bool = False) -> Container:
        # The image checks health every 10 s; tests poll faster with the same
        # command, except where the image's own timing is what is tested.
        timing = [] if image_health_timing else list(FAST_HEALTH)
        container = Container.start(image, *timing, *options)
        started.append(container)
        if wait:
            container.wait_until("healthy")
        return container

    yield run
    for container in started:
        container.remove()


@pytest.fixture(scope="module")
def container(image: str) -> Iterator[Container]:
    """A healthy container run with the hardening flags the docs recommend, shared by the
    module's tests of this image: none changes it (a test that stops or freezes one starts
    its own), and what the bad-input tests send it, it must survive anyway."""
    container = Container.start(image, *FAST_HEALTH, *HARDENED)
    try:
        container.wait_until("healthy")
        yield container
    finally:
        container.remove()
