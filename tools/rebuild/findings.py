"""A released image and its rebuild, compared: what `nox -s rebuild` found, and how.

A `Target` is one platform's released image with what its verified provenance
says it came from; a `Finding` is that image beside its rebuild: the config
digest (the image ID) and every layer's diff_id on both sides, and, where they
differ, every file that differs and how (`layerdiff`, from the registry's layer
blob and the rebuilt layer), or the config's fields when no layer does. The
registry is read over its API, every byte checked against its digest.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tools.builders import Builder
from tools.builders.archives import archive_paths, directory_reader
from tools.model import VARIANTS
from tools.process import BuildError
from tools.rebuild import layerdiff
from tools.rebuild.comparison import Comparison
from tools.release import manifests, vsa
from tools.release.provenance import BuildInputs
from tools.release.references import Pinned

SIDES: tuple[str, str] = ("released", "rebuilt")


@dataclasses.dataclass(frozen=True)
class Target:
    """One platform's released image, and what its verified provenance says it came from."""

    image: Pinned
    #: The reference the user gave: this manifest, or the index that lists it.
    given: str
    inputs: BuildInputs
    provenance: dict[str, Any]

    @property
    def variant(self) -> str:
        for variant in VARIANTS.values():
            if variant.dockerfile == self.inputs.dockerfile:
                return variant.name
        raise BuildError(f"{self.image}: no variant is built from {self.inputs.dockerfile}")


@dataclasses.dataclass(frozen=True)
class Finding:
    """One platform's image as released and as rebuilt, compared."""

    target: Target
    released_id: str
    rebuilt_id: str
    #: The image ID, then each layer's diff_id, on both sides; for a failure, the files that
    #: differ, layer by layer.
    comparison: Comparison
    #: The commit's build (shared by every image of it) and this comparison, in seconds.
    build_seconds: float
    compare_seconds: float

    @property
    def passed(self) -> bool:
        return self.comparison.passed

    @property
    def differences(self) -> list[str]:
        return self.comparison.differences

    @property
    def verdict(self) -> str:
        return vsa.PASSED if self.passed else vsa.FAILED

    def report(self) -> str:
        target = self.target
        head = (
            f"{target.image} ({target.inputs.platform}, {target.variant}) rebuilt from "
            f"{target.inputs.commit[:12]}: {self.verdict} (build {self.build_seconds:.0f} s, "
            f"shared by the commit's images; comparison {self.compare_seconds:.1f} s)"
        )
        return "\n".join([head, *self.comparison.lines()])


def released_layers(
    image: Pinned, manifest: Mapping[str, Any], numbers: Sequence[int], scratch: Path
) -> dict[int, Path]:
    """The registry's layers with these numbers (1 = bottom), uncompressed, under `scratch`."""
    scratch.mkdir(parents=True, exist_ok=True)
    found = {}
    for number in numbers:
        layer = manifest["layers"][number - 1]
        data = manifests.blob(image.repository, layer["digest"])
        media_type = layer.get("mediaType", "(no mediaType)")
        if media_type.endswith("gzip"):
            data = gzip.decompress(data)
        elif not media_type.endswith("tar"):  # OCI's ….layer.v1.tar, Docker's ….diff.tar
            raise BuildError(
                f"layer {number} of {image} is {media_type}: only tar and gzip are read"
            )
        found[number] = scratch / f"{number}.tar"
        found[number].write_bytes(data)
    return found


def compared(
    released_id: str, rebuilt_id: str, released: Sequence[str], rebuilt: Sequence[str]
) -> Comparison:
    """The image ID, then each layer's diff_id (bottom first), on both sides: any row that
    differs fails the comparison."""
    comparison = Comparison(sides=SIDES)
    comparison.compare("image ID (config)", released_id, rebuilt_id)
    comparison.compare_layers(released, rebuilt, indent="", counted=True)
    return comparison


def explain(
    builder: Builder,
    image: Pinned,
    manifest: Mapping[str, Any],
    config: Mapping[str, Any],
    *,
    rebuilt_id: str,
    rebuilt: Sequence[str],
) -> list[str]:
    """The files that differ in each differing layer (`rebuilt`: the rebuild's diff_ids);
    the config's fields if no layer does."""
    released = config["rootfs"]["diff_ids"]
    differing = [
        number
        for number in range(1, max(len(released), len(rebuilt)) + 1)
        if released[number - 1 : number] != rebuilt[number - 1 : number]
    ]
    lines: list[str] = []
    with tempfile.TemporaryDirectory() as scratch:
        ours = layerdiff.stored_layers(builder, rebuilt_id, Path(scratch) / "rebuilt")
        in_registry = [n for n in differing if n <= len(released)]
        theirs = released_layers(image, manifest, in_registry, Path(scratch) / "released")
        for number in differing:
            left = layerdiff.listing_of(theirs[number]) if number in theirs else {}
            right = layerdiff.listing_of(ours[number - 1]) if number <= len(ours) else {}
            lines += layerdiff.listing_difference(number, left, right, 40, SIDES)
        if not differing:
            unpacked = Path(scratch) / "rebuilt" / "unpacked"
            config_path, _ = archive_paths(directory_reader(unpacked))
            lines += layerdiff.config_difference(
                config, json.loads((unpacked / config_path).read_text())
            )
    return lines


def compare(builder: Builder, target: Target, rebuilt_id: str, build_seconds: float) -> Finding:
    """The released image against its rebuild: IDs and layers; the files if they differ."""
    started = time.monotonic()
    manifest = manifests.fetch(target.image)
    released_id = manifest["config"]["digest"]
    config = json.loads(manifests.blob(target.image.repository, released_id))
    rebuilt = builder.diff_ids(rebuilt_id)
    comparison = compared(released_id, rebuilt_id, config["rootfs"]["diff_ids"], rebuilt)
    if released_id != rebuilt_id:
        comparison.differences = explain(
            builder, target.image, manifest, config, rebuilt_id=rebuilt_id, rebuilt=rebuilt
        )
    seconds = time.monotonic() - started
    return Finding(target, released_id, rebuilt_id, comparison, build_seconds, seconds)
