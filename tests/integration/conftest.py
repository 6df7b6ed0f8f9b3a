"""Fixtures that run the built images the way users do: `docker run`."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from tools import loopback

VARIANTS = ["slim", "distroless"]
HEALTHY_WITHIN_SECONDS = 30


def docker(*args: str, check: bool = True, timeout: float = 120) -> str:
    result = subprocess.run(
        ["docker", *args], capture_output=True, text=True, check=False, timeout=timeout
    )
    if check and result.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout.strip()


@dataclass
class Container:
    """A running container of one of our images, published on a free host port."""

    name: str
    image: str
    port: int = 0
    removed: bool = field(default=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def get(self, path: str, **headers: str) -> tuple[int, dict[str, str], str]:
        return loopback.get(self.url + path, headers)

    def inspect(self) -> dict[str, Any]:
        return dict(json.loads(docker("inspect", self.name))[0])

    def health(self) -> str:
        return str(self.inspect()["State"].get("Health", {}).get("Status", "none"))

    def wait_until(self, status: str, within: float = HEALTHY_WITHIN_SECONDS) -> float:
        """Wait for a health status; return the seconds it took."""
        started = time.monotonic()
        while time.monotonic() - started < within:
            state = self.inspect()["State"]
            if not state["Running"]:
                raise AssertionError(f"{self.name} exited: {self.logs()}")
            if state.get("Health", {}).get("Status") == status:
                return time.monotonic() - started
            time.sleep(0.25)
        raise AssertionError(f"{self.name} not {status} within {within} s: {self.logs()}")

    def logs(self) -> str:
        result = subprocess.run(
            ["docker", "logs", self.name], capture_output=True, text=True, check=False
        )
        return result.stdout + result.stderr

    def python(self, code: str) -> str:
        """Run Python inside the container: neither image has a shell."""
        config = json.loads(docker("image", "inspect", self.image))[0]["Config"]
        return docker("exec", self.name, config["Entrypoint"][0], "-c", code)

    def remove(self) -> None:
        if not self.removed:
            docker("rm", "--force", self.name, check=False)
            self.removed = True


def image_for(variant: str) -> str:
    image = f"moscow-time:{variant}"
    if not shutil.which("docker"):
        pytest.fail("docker is not installed: the integration tests run the images with it")
    inspected = subprocess.run(
        ["docker", "image", "inspect", image], capture_output=True, check=False
    )
    if inspected.returncode != 0:
        pytest.fail(f"{image} is not built: run `nox -s build` first")
    return image


Runner = Callable[..., Container]


@pytest.fixture(params=VARIANTS)
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
        container = Container(f"moscow-time-test-{uuid.uuid4().hex[:12]}", image)
        # The image checks health every 10 s; tests poll faster with the same
        # command, except where the image's own timing is what is tested.
        timing = [] if image_health_timing else ["--health-interval", "1s"]
        docker(
            "run",
            "--detach",
            "--name",
            container.name,
            "--publish",
            "127.0.0.1::5000",
            *timing,
            *options,
            image,
        )
        started.append(container)
        host_port = docker("port", container.name, "5000/tcp").splitlines()[0]
        container.port = int(host_port.rsplit(":", 1)[1])
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
