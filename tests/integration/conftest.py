"""Fixtures that run the built images the way users do: `docker run`, via tools.containers."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tools.containers import Container, docker, why_not_runnable
from tools.model import VARIANTS

__all__ = ["Container", "Runner", "docker", "image_for"]


def image_for(variant: str) -> str:
    """The image of a variant on this host's platform; the test fails if it is not built."""
    if problem := why_not_runnable():
        pytest.fail(problem)
    return VARIANTS[variant].tag()


Runner = Callable[..., Container]


@pytest.fixture(params=list(VARIANTS))
def variant(request: pytest.FixtureRequest) -> str:
    """Each test runs against both images."""
    return str(request.param)


@pytest.fixture
def image(variant: str) -> str:
    return image_for(variant)


@pytest.fixture
def start(image: str) -> Iterator[Runner]:
    """Start containers of the image with extra `docker run` options."""
    started: list[Container] = []

    def run(*options: str, wait: bool = True, image_health_timing: bool = False) -> Container:
        # The image checks health every 10 s; tests poll faster with the same
        # command, except where the image's own timing is what is tested.
        timing = [] if image_health_timing else ["--health-interval", "1s"]
        container = Container.start(image, *timing, *options)
        started.append(container)
        if wait:
            container.wait_until("healthy")
        return container

    yield run
    for container in started:
        container.remove()


@pytest.fixture
def container(start: Runner) -> Container:
    """A healthy container run with the hardening flags the docs recommend."""
    return start("--read-only", "--cap-drop", "ALL", "--security-opt", "no-new-privileges")
