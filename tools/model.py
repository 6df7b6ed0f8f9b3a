"""The project's domain: its platforms, base images, app image variants and pip locks.

Each is a frozen dataclass, defined once here for the noxfile, the tooling,
the tests and the benchmark. Nothing here reads the environment: a build's
choices (which platforms, which upstream reference) are made in its plan
(`tools.images.plan`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import platform
import tomllib
from collections.abc import Mapping
from pathlib import Path

from tools.paths import (
    ROOT,
    STANDIN_RECIPES,
    STANDIN_TOOLING,
    STANDIN_WORKDIR,
    STRUCTURE_TESTS,
    WHEELHOUSE,
)

VERSION: str = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
#: Debian release of every base, upstream or stand-in.
SUITE = "trixie"
#: The Python of both images: the wheels and the bytecode are built for it.
PYTHON_VERSION = "3.13"
IMAGE_NAME = "moscow-time"
#: The Kubernetes version whose schemas the manifests must satisfy.
KUBERNETES_VERSION = "1.37.0"
CREATED_LABEL = "org.opencontainers.image.created"
#: Digest of what a stand-in base is made from, so an edited hook or
#: package list is noticed before the commit that changes the epoch.
BASE_INPUTS_LABEL = "io.github.moscow-time.base-inputs"


@dataclasses.dataclass(frozen=True)
class PipLock:
    """A hash-pinned lock and the file it is compiled from."""

    lock: str
    source: str


RUNTIME_LOCK = PipLock("requirements.txt", "requirements.in")
BUILD_LOCK = PipLock("requirements-build.txt", "requirements-build.in")
DEV_LOCK = PipLock("requirements-dev.txt", "requirements-dev.in")
#: Order matters: the dev lock is constrained by the runtime lock, so that
#: one is compiled first.
PIP_LOCKS = (RUNTIME_LOCK, BUILD_LOCK, DEV_LOCK)
#: The Python the locks are compiled with: pip-compile evaluates markers for
#: the interpreter it runs on, so a lock is only stable for one of them.
LOCK_PYTHON = "3.11"


@dataclasses.dataclass(frozen=True)
class Platform:
    """A CPU the images are built for, under each of its names."""

    #: OCI's name, as `--platform` takes it.
    name: str
    #: Debian's name: the locks, the .debs, `mmdebstrap --arch`.
    debian: str
    #: The kernel's name (`platform.machine()`), which manylinux wheel tags use too.
    machine: str

    @property
    def wheelhouse(self) -> Path:
        """The locked wheels of this platform, downloaded on the host."""
        return WHEELHOUSE / self.debian

    @property
    def suffix(self) -> str:
        """What this platform's stand-in names add: nothing for amd64, so its IDs stay as
        published before arm64 came; the same on every host, because a base's name is in
        the app image's labels and so in its ID."""
        return "" if self.name == PRIMARY_PLATFORM else f"-{self.debian}"


PLATFORMS = {
    each.name: each
    for each in (
        Platform("linux/amd64", "amd64", "x86_64"),
        Platform("linux/arm64", "arm64", "aarch64"),
    )
}
PRIMARY_PLATFORM = "linux/amd64"


def host_platform() -> Platform:
    """The platform of this machine: the default build, and the one Docker runs natively."""
    machine = platform.machine().lower()
    machine = {"amd64": "x86_64", "arm64": "aarch64"}.get(machine, machine)
    for known in PLATFORMS.values():
        if known.machine == machine:
            return known
    # Still a platform: a build for it fails on its missing lock, saying so.
    return Platform(f"linux/{machine}", machine, machine)


@dataclasses.dataclass(frozen=True)
class Base:
    """A base image: its upstream reference and the local stand-in made from Debian packages."""

    name: str
    #: Fully qualified: buildah would take a short "python:…" to mean any local
    #: image whose name ends so, such as the stand-in.
    upstream: str
    standin: str

    def workdir(self, platform: Platform) -> Path:
        return STANDIN_WORKDIR / self.name / platform.debian

    def standin_for(self, platform: Platform) -> str:
        """The local stand-in for one platform (see `Platform.suffix`)."""
        return self.standin + platform.suffix

    @property
    def containerfile(self) -> Path:
        return STANDIN_RECIPES / f"{self.name}.Containerfile"

    def inputs_digest(self, platform: Platform) -> str:
        """sha256 over this stand-in's Containerfile, hooks, package list and the platform's
        lock (another platform's lock is not an input: relocking arm64 leaves amd64 as it was),
        and the tooling that makes the image of them."""
        digest = hashlib.sha256()
        for path in sorted(STANDIN_RECIPES.glob(f"{self.name}*")):
            if path.suffix == ".lock" and path.name != f"{self.name}.{platform.debian}.lock":
                continue
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
        for tool in STANDIN_TOOLING:
            for path in sorted(tool.rglob("*.py")) if tool.is_dir() else [tool]:
                name = str(path.relative_to(ROOT)).encode()
                digest.update(name + b"\0" + path.read_bytes())
        return digest.hexdigest()

    def expected_labels(self, created: str, platform: Platform) -> dict[str, str]:
        return {CREATED_LABEL: created, BASE_INPUTS_LABEL: self.inputs_digest(platform)}


BASES = {
    "slim": Base(
        name="slim",
        upstream="docker.io/library/python:3.13-slim-trixie",
        standin="localhost/moscow-time-base/python:3.13-slim-trixie",
    ),
    "distroless": Base(
        name="distroless",
        upstream="gcr.io/distroless/python3-debian13:nonroot",
        standin="localhost/moscow-time-base/distroless-python3-debian13:nonroot",
    ),
}


@dataclasses.dataclass(frozen=True)
class Variant:
    """One of the two app images."""

    name: str
    dockerfile: str
    #: Build args naming base images, and which base each one takes.
    base_args: Mapping[str, str]
    #: The build arg whose base the runtime stage starts from.
    runtime_arg: str

    def tag(self, suffix: str = "") -> str:
        return f"{IMAGE_NAME}:{suffix + '-' if suffix else ''}{self.name}"

    @property
    def structure_tests(self) -> Path:
        return STRUCTURE_TESTS / f"{self.name}.yaml"


#: The build arg naming the builder stage's base, and which base that is: the
#: build machine's own platform's, whatever platform the image is for.
BUILDER_ARG = "BUILDER_IMAGE"
BUILDER_BASE = "slim"

VARIANTS = {
    "slim": Variant("slim", "Dockerfile", {"PYTHON_IMAGE": "slim"}, "PYTHON_IMAGE"),
    "distroless": Variant(
        "distroless",
        "Dockerfile.distroless",
        {"PYTHON_IMAGE": "slim", "DISTROLESS_IMAGE": "distroless"},
        "DISTROLESS_IMAGE",
    ),
}

#: The variant compose.yaml and the Kubernetes manifests run.
DEPLOYED_VARIANT = "distroless"
