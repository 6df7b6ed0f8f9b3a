"""What differs between two images, file by file: the answer a failed comparison owes.

Both `nox -s reproduce` (two builds) and `nox -s rebuild` (a release and its
rebuild) say, for each layer whose digest differs, every file whose mode,
owner, size, time or content differs, or that one side lacks: the questions
diffoci asks.
"""

from __future__ import annotations

import hashlib
import tarfile
import tempfile
from collections.abc import Sequence
from pathlib import Path

from tools.builders import Builder
from tools.builders.archives import archive_layers, extract_all

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
