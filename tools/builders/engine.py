"""The Docker engine: whether one answers, and whether its BuildKit builds reproducibly.

Docker 26.0 is the first engine to ship BuildKit 0.13, whose OCI exporter can
set the time of every file in the layers (rewrite-timestamp). `DockerEngine`
says, from `docker info` and buildx, why an engine cannot, or None.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import re
from collections.abc import Mapping
from typing import Any

from tools.process import capture, have, succeeds

DOCKER_REWRITE_TIMESTAMP = (26, 0)
BUILDKIT_REWRITE_TIMESTAMP = (0, 13)
CONTAINERD_STORE = "io.containerd.snapshotter.v1"


def version_tuple(text: str) -> tuple[int, ...]:
    """(26, 1, 5) from "26.1.5+dfsg1", (0, 13, 2) from "v0.13.2"; () if there is none."""
    match = re.match(r"v?(\d+(?:\.\d+)*)", text.strip())
    return tuple(int(part) for part in match.group(1).split(".")) if match else ()


def buildkit_version(inspect_output: str) -> str:
    """The BuildKit version that `docker buildx inspect` reports, if any."""
    match = re.search(r"^BuildKit version:\s*(\S+)", inspect_output, re.MULTILINE)
    return match.group(1) if match else ""


@dataclasses.dataclass(frozen=True)
class DockerEngine:
    """What a Docker engine offers for reproducible builds."""

    version: str
    buildx: bool
    #: As buildx reports it. Debian's build says v0.0.0+unknown: then the
    #: engine version tells which BuildKit it ships.
    buildkit: str
    containerd_store: bool

    @classmethod
    def from_info(cls, info: Mapping[str, Any], *, buildx: bool, buildkit: str) -> DockerEngine:
        """From `docker info --format '{{json .}}'` and what buildx said."""
        return cls(
            version=str(info.get("ServerVersion", "")),
            buildx=buildx,
            buildkit=buildkit,
            containerd_store=["driver-type", CONTAINERD_STORE] in (info.get("DriverStatus") or []),
        )

    def why_not_reproducible(self) -> str | None:
        """Why this engine cannot build bit-for-bit, or None if it can."""
        buildkit = version_tuple(self.buildkit)
        if buildkit in ((), (0, 0, 0)):
            too_old = version_tuple(self.version) < DOCKER_REWRITE_TIMESTAMP
        else:
            too_old = buildkit < BUILDKIT_REWRITE_TIMESTAMP
        if too_old:
            return (
                f"Docker {self.version} ships a BuildKit older than 0.13, "
                "which cannot set the time of files in layers"
            )
        if not self.buildx:
            return "the buildx plugin is missing (Debian: apt-get install docker-buildx)"
        if not self.containerd_store:
            # Only the OCI exporter takes rewrite-timestamp, and the default
            # docker driver offers it only on the containerd image store.
            return (
                "BuildKit writes reproducible layers only to an OCI archive, which needs the "
                "containerd image store "
                '(daemon.json: {"features": {"containerd-snapshotter": true}})'
            )
        return None


def docker_running() -> bool:
    return have("docker") and succeeds("docker", "info")


@functools.cache
def docker_engine() -> DockerEngine | None:
    """The running Docker engine, or None if none answers."""
    if not docker_running():
        return None
    info = json.loads(capture("docker", "info", "--format", "{{json .}}"))
    buildx = succeeds("docker", "buildx", "version")
    inspected = capture("docker", "buildx", "inspect", check=False) if buildx else ""
    return DockerEngine.from_info(info, buildx=buildx, buildkit=buildkit_version(inspected))


def image_size(image: str) -> int | None:
    """An image's size in the Docker engine, or None if it has no such image."""
    out = capture("docker", "image", "inspect", "--format", "{{.Size}}", image, check=False)
    return int(out) if out.isdigit() else None


def image_id(image: str) -> str | None:
    """An image's ID in the Docker engine, or None if it has no such image."""
    out = capture("docker", "image", "inspect", "--format", "{{.Id}}", image, check=False)
    return out or None
