"""The build record: what one `nox -s build` made, in build/images.json, read and written here.

The sessions after a build (scan, bench, publish, release, the release tests)
read the `BuildRecord` rather than guess: its plan, each image's ID and tags.
No other module reads the file's keys. (Records written before image indexes
were left to the release name them too; that key is not read.)
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tools.images.plan import BuildPlan
from tools.model import PLATFORMS
from tools.paths import BUILD_RECORD, ROOT
from tools.process import BuildError

#: 2: the plan, and every platform's images in one list. 1 (no "schema" key): what
#: commits before the plan wrote; still read, as `nox -s rebuild-published` rebuilds them.
SCHEMA = 2


@dataclasses.dataclass(frozen=True)
class Built:
    """One app image as built: its variant, platform, tags, runtime base and ID, and the
    digest of what it was made from (`identity.inputs_digest`; empty in older records)."""

    variant: str
    platform: str
    tags: list[str]
    base: str
    image_id: str
    inputs: str = ""

    @property
    def tag(self) -> str:
        """The Docker tag it was loaded under first (moscow-time:slim, moscow-time:arm64-slim)."""
        return self.tags[0]


@dataclasses.dataclass(frozen=True)
class BuildRecord:
    """What a build made, from which plan, with which builder version."""

    plan: BuildPlan
    builder_version: str
    reproducible: bool
    #: False: built from uncommitted changes, so the IDs belong to no commit.
    tree_clean: bool
    #: The build machine's CPU (`platform.machine()`).
    arch: str
    #: Every image, the host platform's first.
    images: tuple[Built, ...]
    schema: int = SCHEMA

    @property
    def host_images(self) -> list[Built]:
        """The host platform's images, loaded into Docker under the usual tags."""
        return [b for b in self.images if b.platform == self.plan.platforms[0]]

    @property
    def other_images(self) -> list[Built]:
        return [b for b in self.images if b.platform != self.plan.platforms[0]]

    def image(self, variant: str, platform: str) -> Built:
        for built in self.images:
            if (built.variant, built.platform) == (variant, platform):
                return built
        raise BuildError(f"the last build made no {variant} image for {platform}: build it")

    def made_from(self, variant: str, platform: str, inputs: str) -> Built | None:
        """The image of this variant and platform, if it was made from exactly these inputs."""
        return next(
            (
                b
                for b in self.images
                if (b.variant, b.platform, b.inputs) == (variant, platform, inputs) and inputs
            ),
            None,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": self.schema,
            "plan": self.plan.to_json(),
            "builder_version": self.builder_version,
            "reproducible": self.reproducible,
            "tree_clean": self.tree_clean,
            "arch": self.arch,
            "images": [dataclasses.asdict(b) for b in self.images],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> BuildRecord:
        if "schema" not in data:
            return from_schema_1(data)
        if data["schema"] != SCHEMA:
            raise BuildError(
                f"{BUILD_RECORD.name} has schema {data['schema']}, this checkout reads "
                f"{SCHEMA}: run `nox -s build` again"
            )
        return cls(
            plan=BuildPlan.from_json(data["plan"]),
            builder_version=str(data["builder_version"]),
            reproducible=bool(data["reproducible"]),
            tree_clean=bool(data["tree_clean"]),
            arch=str(data["arch"]),
            images=tuple(Built(**b) for b in data["images"]),
        )


def from_schema_1(data: Mapping[str, Any]) -> BuildRecord:
    """A record as commits before the plan wrote it: no plan, so the bases are unknown;
    before arm64 came, its images named no platform: the build machine's (`arch`)."""
    machine = str(data["arch"])
    host = next((p.name for p in PLATFORMS.values() if p.machine == machine), f"linux/{machine}")
    listed = [*data["images"], *data.get("other_platforms", [])]
    images = tuple(Built(**{"platform": host, **b}) for b in listed)
    platforms = tuple(dict.fromkeys(b.platform for b in images))
    plan = BuildPlan(
        builder=str(data["builder"]),
        platforms=platforms,
        bases={platform: {} for platform in platforms},
        revision=str(data["revision"]),
        epoch=int(data["source_date_epoch"]),
        offline=bool(data["offline"]),
    )
    return BuildRecord(
        plan=plan,
        builder_version=str(data["builder_version"]),
        reproducible=bool(data["reproducible"]),
        tree_clean=bool(data["tree_clean"]),
        arch=str(data["arch"]),
        images=images,
        schema=1,
    )


def in_checkout(root: Path) -> Path:
    """Where the build record is in another checkout (a worktree of a published commit)."""
    return root / BUILD_RECORD.relative_to(ROOT)


def write(record: BuildRecord, path: Path = BUILD_RECORD) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record.to_json(), indent=2) + "\n")


def read(path: Path = BUILD_RECORD) -> BuildRecord | None:
    """The record of the last `nox -s build` there, or None if nothing was built."""
    if not path.exists():
        return None
    return BuildRecord.from_json(json.loads(path.read_text()))


def reusable_record(path: Path = BUILD_RECORD) -> BuildRecord | None:
    """The last record, for reusing what it made; None if there is none this checkout reads
    (a build then makes every image)."""
    try:
        return read(path)
    except (BuildError, ValueError, KeyError, TypeError):
        return None


def require(path: Path = BUILD_RECORD) -> BuildRecord:
    """The record, or a BuildError saying to build first."""
    found = read(path)
    if found is None:
        raise BuildError("nothing built yet: run `nox -s build` first")
    return found


def images_by_tag(images: Sequence[Built]) -> dict[str, str]:
    """Tag → image ID: how a publication names the images."""
    return {b.tag: b.image_id for b in images}
