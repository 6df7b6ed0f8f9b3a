"""What differs between two images, file by file: the answer a failed comparison owes.

Both `nox -s reproduce` (two builds) and `nox -s rebuild` (a release and its
rebuild) say, for each layer whose digest differs, every file whose mode,
owner, size, time or content differs, or that one side lacks: the questions
diffoci asks.
"""

from __future__ import annotations

import hashlib
import json
import tarfile
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from tools.builders import Builder
from tools.builders.archives import (
    archive_layers,
    archive_paths,
    directory_reader,
    extract_all,
)
from tools.images.record import BuildRecord

#: How the two sides are named in a report, first then second.
Sides = tuple[str, str]
TWO_BUILDS: Sides = ("first", "second")


def layer_listing(layer: tarfile.TarFile) -> dict[str, str]:
    """Every entry of a layer tarball, with what makes it differ."""
    listing = {}
    for member in layer:
        content = ""
        if member.isfile():
            extracted = layer.extractfile(member)
            if extracted is not None:
                content = hashlib.sha256(extracted.read()).hexdigest()[:16]
        listing[member.name] = (
            f"{member.mode:o} {member.uid}:{member.gid} {member.size} mtime={member.mtime} "
            f"{member.linkname or content}"
        )
    return listing


def listing_of(layer: Path) -> dict[str, str]:
    """`layer_listing` of a layer tarball on disk."""
    with tarfile.open(layer) as tar:
        return layer_listing(tar)


def listing_difference(
    number: int,
    left: dict[str, str],
    right: dict[str, str],
    limit: int,
    sides: Sides = TWO_BUILDS,
) -> list[str]:
    """The lines that say how one layer's two listings differ."""
    lines = []
    changed = sorted(
        name for name in left.keys() | right.keys() if left.get(name) != right.get(name)
    )
    width = max(len(side) for side in sides) + 1
    for name in changed[:limit]:
        lines.append(f"layer {number}: {name}")
        for side, listing in zip(sides, (left, right), strict=True):
            lines.append(f"    {side + ':':<{width}} {listing.get(name, '(absent)')}")
    if len(changed) > limit:
        lines.append(f"layer {number}: ... and {len(changed) - limit} more")
    return lines


def stored_layers(builder: Builder, image_id: str, scratch: Path) -> list[Path]:
    """The layer tarballs of an image in the builder's store, bottom first, under `scratch`."""
    scratch.mkdir(parents=True, exist_ok=True)
    archive = builder.archive(image_id, scratch / "image.tar")
    with tarfile.open(archive) as tar:
        extract_all(tar, scratch / "unpacked")
    return archive_layers(scratch / "unpacked")


def layers_difference(
    left: Sequence[Path], right: Sequence[Path], sides: Sides, limit: int = 40
) -> list[str]:
    """Each pair of layer tarballs compared, bottom first; a different count is a line."""
    lines: list[str] = []
    for number, (a, b) in enumerate(zip(left, right, strict=False), start=1):
        lines += listing_difference(number, listing_of(a), listing_of(b), limit, sides)
    if len(left) != len(right):
        lines.append(f"layer count differs: {len(left)} ({sides[0]}) vs {len(right)} ({sides[1]})")
    return lines


def explain_difference(builder: Builder, first: str, second: str, limit: int = 40) -> list[str]:
    """Say which files differ between the layers of two builds of an image."""
    with tempfile.TemporaryDirectory() as scratch:
        left, right = (
            stored_layers(builder, image, Path(scratch) / str(number))
            for number, image in enumerate((first, second))
        )
        return layers_difference(left, right, TWO_BUILDS, limit)


#: Given an image ID of the machine's store and a tag, the lines that say how that tag's
#: image from another store differs from it.
Explainer = Callable[[str, str], list[str]]


def stored_config(unpacked: Path) -> dict[str, Any]:
    """The config of an image `stored_layers` unpacked under `unpacked`."""
    config_path, _ = archive_paths(directory_reader(unpacked))
    return dict(json.loads((unpacked / config_path).read_text()))


def export_differing(
    builder: Builder, first: BuildRecord, second: BuildRecord, scratch: Path
) -> dict[str, Path]:
    """The second record's images whose IDs differ from the first's, exported from the store
    in use (a `SeparateStore` the second was built in): where each is unpacked, by tag."""
    before = {built.tag: built.image_id for built in first.images}
    exported = {}
    for number, built in enumerate(second.images):
        if before.get(built.tag) != built.image_id:
            stored_layers(builder, built.image_id, scratch / str(number))
            exported[built.tag] = scratch / str(number) / "unpacked"
    return exported


def explainer(builder: Builder, exported: dict[str, Path], limit: int = 40) -> Explainer:
    """How an exported image differs from an image of the machine's store, file by file; its
    config's fields if no layer differs."""
    sides = ("as built", "varied")

    def explain(first_id: str, tag: str) -> list[str]:
        if tag not in exported or not first_id:
            return []
        with tempfile.TemporaryDirectory() as scratch:
            left = stored_layers(builder, first_id, Path(scratch))
            right = archive_layers(exported[tag])
            lines = layers_difference(left, right, sides, limit)
            if not lines:
                lines = config_difference(
                    stored_config(Path(scratch) / "unpacked"), stored_config(exported[tag]), sides
                )
            return [f"{tag}:", *lines]

    return explain


def config_difference(
    released: Mapping[str, Any], rebuilt: Mapping[str, Any], sides: Sides = ("released", "rebuilt")
) -> list[str]:
    """The config's fields that differ (labels, environment, dates), when the layers do not."""

    def flat(document: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
        out: dict[str, str] = {}
        for key, value in document.items():
            if isinstance(value, Mapping):
                out |= flat(value, f"{prefix}{key}.")
            elif key != "diff_ids":
                out[f"{prefix}{key}"] = json.dumps(value)
        return out

    left, right, absent = flat(released), flat(rebuilt), "(absent)"
    return [
        f"config {key}: {sides[0]} {left.get(key, absent)}, {sides[1]} {right.get(key, absent)}"
        for key in sorted(left.keys() | right.keys())
        if left.get(key) != right.get(key)
    ]
