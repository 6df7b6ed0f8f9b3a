"""The app images: build one variant at this commit, and record what was built.

`build/images.json` is the record: the sessions after `nox -s build` (scan,
bench, publish) read it rather than guess.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from typing import Any

from tools import engine
from tools.builders import Builder, BuildRequest
from tools.process import Runner, capture, rfc3339, tree_is_clean
from tools.project import (
    CREATED_LABEL,
    IMAGES_JSON,
    PYTHON_VERSION,
    ROOT,
    VARIANTS,
    VERSION,
    Variant,
    machine_arch,
)
from tools.tables import human_size


@dataclasses.dataclass(frozen=True)
class Built:
    """One app image as built: its variant, tags, base and ID."""

    variant: str
    tags: list[str]
    base: str
    image_id: str


@dataclasses.dataclass(frozen=True)
class Commit:
    """What every image of one build shares: the commit and its time."""

    revision: str
    epoch: int

    @property
    def created(self) -> str:
        return rfc3339(self.epoch)


def build_request(
    variant: Variant, bases: Mapping[str, str], commit: Commit, *, no_cache: bool
) -> BuildRequest:
    """Everything a builder needs for one variant at one commit."""
    tags = [variant.tag(), variant.tag(VERSION), variant.tag(commit.revision[:12])]
    build_args = {arg: bases[base_name] for arg, base_name in variant.base_args.items()}
    build_args |= {
        "SOURCE_DATE_EPOCH": str(commit.epoch),
        "PYTHON_VERSION": PYTHON_VERSION,
        "VERSION": VERSION,
        "REVISION": commit.revision,
        "CREATED": commit.created,
    }
    # The same values again as --label: buildah 1.28's layer cache reuses a
    # LABEL step even when the build arg it expands has changed.
    labels = {
        "org.opencontainers.image.version": VERSION,
        "org.opencontainers.image.revision": commit.revision,
        CREATED_LABEL: commit.created,
        "org.opencontainers.image.base.name": build_args[variant.runtime_arg],
    }
    return BuildRequest(
        containerfile=ROOT / variant.dockerfile,
        context=ROOT,
        tags=tags,
        build_args=build_args,
        labels=labels,
        timestamp=commit.epoch,
        no_cache=no_cache,
    )


def build_variant(
    run: Runner,
    builder: Builder,
    variant: Variant,
    bases: Mapping[str, str],
    commit: Commit,
    *,
    no_cache: bool = False,
    load: bool = True,
) -> Built:
    """Build one app image; with `load`, make it runnable in Docker under its tags."""
    request = build_request(variant, bases, commit, no_cache=no_cache)
    image_id = builder.build(run, request)
    if load:
        builder.load_into_docker(run, [builder.local_name(tag) for tag in request.tags])
    base = request.build_args[variant.runtime_arg]
    return Built(variant.name, list(request.tags), base, image_id)


def write_images_json(
    built: Sequence[Built], builder: Builder, commit: Commit, *, offline: bool
) -> None:
    """What `nox -s build` made, for the sessions after it and for `nox -s publish`."""
    IMAGES_JSON.parent.mkdir(parents=True, exist_ok=True)
    record = {
        "builder": builder.name,
        "builder_version": builder.version(),
        "reproducible": builder.reproducible,
        "source_date_epoch": commit.epoch,
        "revision": commit.revision,
        # Built from uncommitted changes: the IDs belong to no commit.
        "tree_clean": tree_is_clean(),
        "offline": offline,
        "arch": machine_arch(),
        "images": [dataclasses.asdict(b) for b in built],
    }
    IMAGES_JSON.write_text(json.dumps(record, indent=2) + "\n")


def read_images_json() -> dict[str, Any] | None:
    """The record of the last `nox -s build`, or None if nothing was built."""
    if not IMAGES_JSON.exists():
        return None
    return dict(json.loads(IMAGES_JSON.read_text()))


def built_rows(built: Sequence[Built], builder: Builder) -> list[list[str]]:
    """The table `nox -s build` ends with."""
    rows = [["image", "base", "size", "image ID"]]
    for b in built:
        rows.append([b.tags[0], b.base, human_size(builder.size(b.tags[0])), b.image_id])
    return rows


def why_not_runnable() -> str | None:
    """Why the app images cannot be run with Docker now, and what to do; None if they can."""
    if not engine.docker_running():
        return "these checks run the images with Docker, and no Docker engine answers"
    tags = [variant.tag() for variant in VARIANTS.values()]
    missing = [tag for tag in tags if capture("docker", "images", "-q", tag) == ""]
    if missing:
        return f"{', '.join(missing)} not built: run `nox -s build` first"
    return None
