"""Running and probing containers of the built images with Docker, as users run them.

One `docker` call, one `Container` (published on 127.0.0.1 only: health,
logs, memory, Python inside), `serving` for a container that answers, and
which built images Docker can run now. The benchmark, the stress run and the
integration tests all start containers here.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import platform as host
import re
import subprocess
import time
import uuid
from collections.abc import Iterator
from typing import Any

from tools import loopback
from tools.builders import engine
from tools.images import record
from tools.model import VARIANTS, Variant, host_platform
from tools.process import BuildError, capture, have

#: Seconds a container may take to answer /healthz natively (arm64 under qemu takes ~14).
ANSWERS_WITHIN = 30


def docker(*args: str, check: bool = True, timeout: float = 120) -> str:
    """A docker command's stripped stdout; failing (with `check`) is a BuildError."""
    result = subprocess.run(
        ["docker", *args], capture_output=True, text=True, check=False, timeout=timeout
    )
    if check and result.returncode != 0:
        raise BuildError(f"docker {' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout.strip()


@dataclasses.dataclass
class Container:
    """A running container of one image, its port 5000 published on 127.0.0.1."""

    name: str
    image: str
    port: int = 0
    removed: bool = False

    @classmethod
    def start(
        cls, image: str, *options: str, command: tuple[str, ...] = (), port: int = 0
    ) -> Container:
        """`docker run --detach` of the image: `port` 0 lets Docker choose a free one."""
        container = cls(f"moscow-time-{uuid.uuid4().hex[:12]}", image)
        publish = f"127.0.0.1:{port}:5000" if port else "127.0.0.1::5000"
        docker("run", "--detach", "--name", container.name, "--publish", publish, *options,
               image, *command)  # fmt: skip
        host_port = docker("port", container.name, "5000/tcp").splitlines()[0]
        container.port = int(host_port.rsplit(":", 1)[1])
        return container

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def get(self, path: str, **headers: str) -> tuple[int, dict[str, str], str]:
        return loopback.get(self.url + path, headers)

    def answers(self, within: float = ANSWERS_WITHIN, poll: float = 0.05) -> bool:
        """True once /healthz answers 200 on the published port."""
        return loopback.wait_for(f"{self.url}/healthz", within=within, poll=poll)

    def inspect(self) -> dict[str, Any]:
        return dict(json.loads(docker("inspect", self.name))[0])

    def running(self) -> bool:
        return (
            docker("inspect", "--format", "{{.State.Running}}", self.name, check=False) == "true"
        )

    def health(self) -> str:
        return str(self.inspect()["State"].get("Health", {}).get("Status", "none"))

    def wait_until(self, status: str, within: float = ANSWERS_WITHIN) -> float:
        """Wait for a health status; return the seconds it took."""
        started = time.monotonic()
        while time.monotonic() - started < within:
            state = self.inspect()["State"]
            if not state["Running"]:
                raise BuildError(f"{self.name} exited: {self.logs()}")
            if state.get("Health", {}).get("Status") == status:
                return time.monotonic() - started
            time.sleep(0.25)
        raise BuildError(f"{self.name} not {status} within {within} s: {self.logs()}")

    def logs(self) -> str:
        """stdout and stderr together, in one `docker logs`."""
        result = subprocess.run(
            ["docker", "logs", self.name], capture_output=True, text=True, check=False
        )
        return result.stdout + result.stderr

    def memory_mb(self) -> float:
        """The container's memory now, as `docker stats` reads it; 0 once it has stopped."""
        if not self.running():
            return 0.0
        return memory_mb(docker("stats", "--no-stream", "--format", "{{.MemUsage}}", self.name))

    def python(self, code: str) -> str:
        """Run Python inside the container: neither image has a shell."""
        config = json.loads(docker("image", "inspect", self.image))[0]["Config"]
        return docker("exec", self.name, config["Entrypoint"][0], "-c", code)

    def remove(self) -> None:
        if not self.removed:
            docker("rm", "--force", self.name, check=False)
            self.removed = True


def memory_mb(usage: str) -> float:
    """MiB from `docker stats`' MemUsage column ("12.5MiB / 23.4GiB"; "0B / 0B" for a
    container that stopped between the check and the read)."""
    amount = re.match(r"([\d.]+)\s*([KMG]?i?B)", usage)
    if not amount:
        raise BuildError(f"cannot read memory from {usage!r}")
    factor = {"B": 1 / 1024**2, "KiB": 1 / 1024, "MiB": 1, "GiB": 1024, "kB": 1 / 1000,
              "MB": 1, "GB": 1000}  # fmt: skip
    return float(amount[1]) * factor.get(amount[2], 1)


@contextlib.contextmanager
def serving(
    image: str, *options: str, command: tuple[str, ...] = (), port: int = 0
) -> Iterator[Container]:
    """A container that answers on /healthz; removed afterwards, whatever happened."""
    container = Container.start(image, *options, command=command, port=port)
    try:
        if not container.answers():
            raise BuildError(
                f"{image} did not answer within {ANSWERS_WITHIN} s: {container.logs()}"
            )
        yield container
    finally:
        container.remove()


#: How the docs run an image: read-only, no capabilities, no privilege escalation.
HARDENED = ("--read-only", "--cap-drop", "ALL", "--security-opt", "no-new-privileges")


def foreground(image: str, *, port: int) -> list[str]:
    """The command that runs an image in the foreground, hardened, on 127.0.0.1:PORT:
    with Docker if an engine answers, else with podman (whose store buildah builds into)."""
    runner = "docker" if engine.docker_running() or not have("podman") else "podman"
    if runner == "docker" and not have("docker"):
        raise BuildError("neither Docker nor podman is installed: run `bin/setup --for serve`")
    return [runner, "run", "--rm", "--publish", f"127.0.0.1:{port}:5000", *HARDENED, image]


def machine() -> str:
    """This machine, as results are labelled: cores, CPU, kernel, Docker."""
    cpu = "unknown CPU"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    server = docker("version", "--format", "{{.Server.Version}}", check=False)
    return f"{os.cpu_count()} × {cpu}, {host.system()} {host.release()}, Docker {server}"  # noqa: RUF001


@dataclasses.dataclass(frozen=True)
class Runnable:
    """A built image Docker can run: its variant, tag and platform."""

    variant: Variant
    tag: str
    platform: str
    #: Why it is not tested here, if it is not (another engine than the build loaded).
    skip_reason: str = ""


def runnable_images() -> list[Runnable]:
    """Every image the last build loaded: the host's platform under the usual tags first,
    then the other platforms' from the build record."""
    found = [Runnable(v, v.tag(), host_platform().name) for v in VARIANTS.values()]
    built = record.read()
    for other in built.other_images if built else []:
        # Another engine than the one `nox -s build` loaded (CI's BuildKit check)
        # holds the host's images only.
        missing = engine.image_size(other.tag) is None
        reason = "not in this Docker engine: not tested here" if missing else ""
        found.append(Runnable(VARIANTS[other.variant], other.tag, other.platform, reason))
    return found


def why_not_runnable() -> str | None:
    """Why the app images cannot be run with Docker now, and what to do; None if they can."""
    if not engine.docker_running():
        return (
            "these checks run the images with Docker, and no Docker engine answers: "
            "`bin/setup` starts one"
        )
    tags = [variant.tag() for variant in VARIANTS.values()]
    missing = [tag for tag in tags if capture("docker", "images", "-q", tag) == ""]
    if missing:
        return f"{', '.join(missing)} not built: run `nox -s build` first"
    return None
