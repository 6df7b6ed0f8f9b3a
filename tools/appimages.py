"""The app images: build one variant for one platform at this commit, and record it.

Each variant's platforms then go into one image index (`build_index`).
`build/images.json` is the record: the sessions after `nox -s build` (scan,
bench, publish, release) read it rather than guess.
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
    BUILDER_ARG,
    BUILDER_BASE,
    CREATED_LABEL,
    IMAGES_JSON,
    PYTHON_VERSION,
    ROOT,
    VARIANTS,
    VERSION,
    Platform,
    Variant,
    host_platform,
)
from tools.tables import human_size


@dataclasses.dataclass(frozen=True)
class Built:
    """One app image as built: its variant, platform, tags, base and ID."""

    variant: str
    platform: str
    tags: list[str]
    base: str
    image_id: str


@dataclasses.dataclass(frozen=True)
class Index:
    """One variant's image index: each platform's image under one name and digest."""

    variant: str
    name: str
    #: The digest the index gets when pushed as a release pushes it.
    digest: str
    #: Platform → image ID.
    images: dict[str, str]


@dataclasses.dataclass(frozen=True)
class Commit:
    """What every image of one build shares: the commit and its time."""

    revision: str
    epoch: int

    @property
    def created(self) -> str:
        return rfc3339(self.epoch)


def image_tags(variant: Variant, platform: Platform, commit: Commit) -> list[str]:
    """The host's platform gets the usual tags, the one `docker run` takes; another
    platform one tag naming its architecture (moscow-time:arm64-distroless)."""
    if platform == host_platform():
        return [variant.tag(), variant.tag(VERSION), variant.tag(commit.revision[:12])]
    return [variant.tag(platform.debian)]


def build_request(
    variant: Variant,
    bases: Mapping[str, Mapping[str, str]],
    commit: Commit,
    platform: Platform,
    *,
    no_cache: bool,
) -> BuildRequest:
    """Everything a builder needs for one variant on one platform at one commit.

    `bases`: for each platform, which image each base is (the builder stage
    takes the host's, the runtime stage the target's).
    """
    tags = image_tags(variant, platform, commit)
    target, host = bases[platform.name], bases[host_platform().name]
    build_args = {arg: target[base_name] for arg, base_name in variant.base_args.items()}
    build_args |= {
        BUILDER_ARG: host[BUILDER_BASE],
        "BUILDER_PLATFORM": host_platform().name,
        "IMAGE_PLATFORM": platform.name,
        "WHEEL_MACHINE": platform.machine,
        "WHEELHOUSE": str(platform.wheelhouse.relative_to(ROOT)),
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
        platform=platform.name,
    )


def build_variant(
    run: Runner,
    builder: Builder,
    variant: Variant,
    bases: Mapping[str, Mapping[str, str]],
    commit: Commit,
    *,
    platform: Platform,
    no_cache: bool = False,
    load: bool = True,
) -> Built:
    """Build one app image; with `load`, make it runnable in Docker under its tags."""
    request = build_request(variant, bases, commit, platform, no_cache=no_cache)
    image_id = builder.build(run, request)
    if load:
        builder.load_into_docker(run, [builder.local_name(tag) for tag in request.tags])
    base = request.build_args[variant.runtime_arg]
    return Built(variant.name, platform.name, list(request.tags), base, image_id)


def build_index(run: Runner, builder: Builder, variant: Variant, built: Sequence[Built]) -> Index:
    """One image index of a variant's platforms, in the builder's store; its digest."""
    images = {b.platform: b.image_id for b in built if b.variant == variant.name}
    name = builder.local_name(variant.tag("index"))
    digest = builder.make_index(run, name, list(images.values()))
    return Index(variant.name, name, digest, images)


def write_images_json(
    built: Sequence[Built],
    indexes: Sequence[Index],
    builder: Builder,
    commit: Commit,
    *,
    offline: bool,
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
        "arch": host_platform().machine,
        # The host's platform, loaded into Docker under the usual tags.
        "images": [dataclasses.asdict(b) for b in built if b.platform == host_platform().name],
        "other_platforms": [
            dataclasses.asdict(b) for b in built if b.platform != host_platform().name
        ],
        "indexes": [dataclasses.asdict(index) for index in indexes],
    }
    IMAGES_JSON.write_text(json.dumps(record, indent=2) + "\n")


def read_images_json() -> dict[str, Any] | None:
    """The record of the last `nox -s build`, or None if nothing was built."""
    if not IMAGES_JSON.exists():
        return None
    return dict(json.loads(IMAGES_JSON.read_text()))


def built_rows(built: Sequence[Built], builder: Builder) -> list[list[str]]:
    """The table `nox -s build` ends with."""
    rows = [["image", "platform", "base", "size", "image ID"]]
    for b in built:
        size = human_size(builder.size(b.tags[0]))
        rows.append([b.tags[0], b.platform, b.base, size, b.image_id])
    return rows


def index_rows(indexes: Sequence[Index]) -> list[list[str]]:
    """The indexes `nox -s build` made, and the digest each would be pushed under."""
    rows = [["index", "platforms", "digest"]]
    for index in indexes:
        rows.append([index.name, ", ".join(index.images), index.digest])
    return rows


def runnable_images() -> list[tuple[Variant, str, str]]:
    """(variant, Docker tag, platform) of every image the last build loaded: the host's
    platform under the usual tags first, then the others'."""
    found = [(variant, variant.tag(), host_platform().name) for variant in VARIANTS.values()]
    record = read_images_json() or {}
    for other in record.get("other_platforms", []):
        found.append((VARIANTS[other["variant"]], other["tags"][0], other["platform"]))
    return found


def recorded_tag(variant: str, platform: str) -> str:
    """The Docker tag the last build loaded one variant's image of one platform under."""
    tags = {(v.name, p): tag for v, tag, p in runnable_images()}
    return tags[variant, platform]


def why_not_runnable() -> str | None:
    """Why the app images cannot be run with Docker now, and what to do; None if they can."""
    if not engine.docker_running():
        return "these checks run the images with Docker, and no Docker engine answers"
    tags = [variant.tag() for variant in VARIANTS.values()]
    missing = [tag for tag in tags if capture("docker", "images", "-q", tag) == ""]
    if missing:
        return f"{', '.join(missing)} not built: run `nox -s build` first"
    return None
