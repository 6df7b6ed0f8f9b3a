"""The project model: paths, versions, the two bases, the two app images and the locks.

Everything that names a file, a version or an image variant is defined here,
once, for the noxfile, the tooling, the tests and the benchmark.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import platform
import tomllib
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build"
#: One directory per platform (Debian's name), passed as the WHEELHOUSE build arg.
WHEELHOUSE = BUILD / "wheelhouse"
BASES_DIR = BUILD / "bases"
#: The Debian packages each stand-in was made from, for explaining a drift.
BASES_LOCK = BUILD / "bases.lock"
#: What the last `nox -s build` made, for the sessions after it.
IMAGES_JSON = BUILD / "images.json"
#: The OCI archives that Docker's BuildKit writes, one per image ID.
OCI_ARCHIVES = BUILD / "oci"
SBOM_DIR = BUILD / "sbom"
TRIVY_CACHE = BUILD / "trivy-cache"
#: Where `nox -s verify` checks out the commit whose image IDs were published.
VERIFY_WORKTREE = BUILD / "verify"
RENDERED_MANIFESTS = BUILD / "deploy" / "moscow-time.yaml"
#: The image IDs of one commit, as built here, for other machines to check.
PUBLISHED_IDS = ROOT / "published" / "image-ids.json"
STRUCTURE_TESTS = ROOT / "tests" / "structure"
KUSTOMIZE_BASE = "deploy/kubernetes"
#: The Kubernetes version whose schemas the manifests must satisfy.
KUBERNETES_VERSION = "1.37.0"

VERSION: str = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
#: Debian release of every base, real or stand-in.
SUITE = "trixie"
#: The Python of both images: the wheels and the bytecode are built for it.
PYTHON_VERSION = "3.13"
IMAGE_NAME = "moscow-time"
OFFLINE_ENV = "MOSCOW_TIME_OFFLINE"
#: A directory `nox -s vendor` filled: every .deb and wheel a build needs.
VENDOR_ENV = "MOSCOW_TIME_VENDOR"
BUILDER_ENV = "MOSCOW_TIME_BUILDER"
#: The platforms to build when `--platform` is not given: a comma list, or "all".
PLATFORMS_ENV = "MOSCOW_TIME_PLATFORMS"
CREATED_LABEL = "org.opencontainers.image.created"
#: Digest of what a stand-in base is made from, so an edited hook or
#: package list is noticed before the commit that changes the epoch.
BASE_INPUTS_LABEL = "io.github.moscow-time.base-inputs"

#: Python sources that ruff and mypy check.
LINT_PATHS = ("moscow_time", "image", "tests", "tools", "noxfile.py")
CONTAINERFILES = (
    "Dockerfile",
    "Dockerfile.distroless",
    *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "bases").glob("*.Containerfile")),
)


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


@dataclasses.dataclass(frozen=True)
class Base:
    """A base image: its upstream name and the local stand-in for it."""

    name: str
    upstream: str
    standin: str

    def workdir(self, platform: Platform) -> Path:
        return BASES_DIR / self.name / platform.debian

    def standin_for(self, platform: Platform) -> str:
        """The local stand-in for one platform (see `Platform.suffix`)."""
        return self.standin + platform.suffix

    @property
    def containerfile(self) -> Path:
        return ROOT / "bases" / f"{self.name}.Containerfile"

    def inputs_digest(self, platform: Platform) -> str:
        """sha256 over this base's Containerfile, hook, package list and the platform's lock
        (another platform's lock is not an input: relocking arm64 leaves amd64 as it was)."""
        digest = hashlib.sha256()
        for path in sorted((ROOT / "bases").glob(f"{self.name}*")):
            if path.suffix == ".lock" and path.name != f"{self.name}.{platform.debian}.lock":
                continue
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
        return digest.hexdigest()

    def expected_labels(self, created: str, platform: Platform) -> dict[str, str]:
        return {CREATED_LABEL: created, BASE_INPUTS_LABEL: self.inputs_digest(platform)}


BASES = {
    "slim": Base(
        name="slim",
        # Set these variables to pin an upstream base by digest. Fully
        # qualified: buildah would take the short "python:…" to mean any
        # local image whose name ends so, such as the stand-in.
        upstream=os.environ.get(
            "MOSCOW_TIME_PYTHON_IMAGE", "docker.io/library/python:3.13-slim-trixie"
        ),
        standin="localhost/moscow-time-base/python:3.13-slim-trixie",
    ),
    "distroless": Base(
        name="distroless",
        upstream=os.environ.get(
            "MOSCOW_TIME_DISTROLESS_IMAGE", "gcr.io/distroless/python3-debian13:nonroot"
        ),
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
#: Where `nox -s release` keeps SBOMs, predicates, its record and the pinned deployments.
RELEASE_DIR = BUILD / "release"
#: Where `nox -s keygen` puts the signing key pair unless told otherwise.
DEFAULT_KEY_PREFIX = BUILD / "keys" / "cosign"
#: compose.yaml's image variable.
COMPOSE_IMAGE_ENV = "MOSCOW_TIME_IMAGE"


def user_cache() -> Path:
    """The per-user cache outside any checkout, so clones share it: .debs, unpacked tools."""
    cache_home = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache_home) / "moscow-time"


def vendor_dir() -> Path | None:
    """The air-gapped inputs, if $MOSCOW_TIME_VENDOR names them."""
    configured = os.environ.get(VENDOR_ENV)
    return Path(configured).resolve() if configured else None


def host_platform() -> Platform:
    """The platform of this machine: the default build, and the one Docker runs natively."""
    machine = platform.machine().lower()
    machine = {"amd64": "x86_64", "arm64": "aarch64"}.get(machine, machine)
    for known in PLATFORMS.values():
        if known.machine == machine:
            return known
    # Still a platform: a build for it fails on its missing lock, saying so.
    return Platform(f"linux/{machine}", machine, machine)


def is_offline(flag: bool = False) -> bool:
    """True if the bases are the local stand-ins (the flag, or MOSCOW_TIME_OFFLINE=1)."""
    return flag or os.environ.get(OFFLINE_ENV, "") not in ("", "0")
