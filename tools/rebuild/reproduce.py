"""Reproducibility: compare two builds layer by layer, and say which files differ.

`nox -s reproduce` builds everything as `nox -s build` does (cached), then
twice from scratch; a `Comparison` collects the IDs side by side, and
`layerdiff.explain_difference` lists, for a mismatch, every file whose mode,
owner, size, time or content differs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

from tools.buildenv import hermetic
from tools.images.appimages import base_image_ids, build_variant, image_tags
from tools.images.context import Build
from tools.images.pipeline import prepare_bases, standins_twice
from tools.images.record import reusable_record
from tools.inputs.wheelhouse import download_wheelhouse
from tools.model import VARIANTS, Platform, Variant
from tools.rebuild.comparison import Comparison
from tools.rebuild.layerdiff import explain_difference


def reproduce_plan(platforms: Sequence[Platform]) -> list[tuple[Variant, Platform]]:
    """Every variant on every platform, the host's first (`platforms.parse` puts it first).

    Only the runtime stage's few steps run under emulation (the builder runs
    natively and compiles all bytecode), so an arm64 image costs about a
    minute: both variants are built twice on every platform.
    """
    return [(variant, each) for each in platforms for variant in VARIANTS.values()]


def build_twice(
    build: Build, variant: Variant, platform: Platform, bases: Mapping[str, str | None]
) -> tuple[str, str]:
    """Two clean builds of one variant, left unloaded: a fresh wheelhouse and no cache each."""
    clean = dataclasses.replace(build, plan=build.plan.replace(no_cache=True))
    ids = []
    for _ in range(2):
        download_wheelhouse(build.run, python=build.python, platform=platform, fresh=True)
        ids.append(build_variant(clean, variant, platform, bases, load=False).image_id)
    return ids[0], ids[1]


def reproduce_images(
    build: Build, builds: Sequence[tuple[Variant, Platform]], comparison: Comparison
) -> dict[str, dict[str, tuple[str, str]]]:
    """Build each image as `nox -s build` does, then twice from scratch, and compare; the
    clean builds' IDs, by variant and platform.

    What differs between the clean builds is said file by file; the second is loaded
    into Docker. What the clean builds leave beside their images is removed after them,
    and after the indexes made of them (`Builder.no_leftovers`).
    """
    bases, previous = base_image_ids(build), reusable_record()
    cached = {}
    for variant, platform in builds:
        # First, as `nox -s build` makes it: from the layer cache of earlier builds, or
        # the image of the last build if its inputs are the same.
        download_wheelhouse(build.run, python=build.python, platform=platform)
        made = build_variant(build, variant, platform, bases, load=False, previous=previous)
        cached[variant.name, platform.name] = made.image_id
    twice: dict[str, dict[str, tuple[str, str]]] = {}
    with build.builder.no_leftovers(build.run, build.say):
        for variant, platform in builds:
            tag = image_tags(build.plan, variant, platform)[0]
            ids = build_twice(build, variant, platform, bases)
            twice.setdefault(variant.name, {})[platform.name] = ids
            label = f"{tag} ({platform.name}): cached and clean"
            comparison.compare(label, cached[variant.name, platform.name], ids[0])
            if not comparison.compare(f"{tag} ({platform.name})", *ids):
                build.say(
                    f"{tag}: what differs\n" + "\n".join(explain_difference(build.builder, *ids))
                )
            comparison.compare_layers(*(build.builder.diff_ids(image_id) for image_id in ids))
            build.builder.load_into_docker(build.run, [build.builder.local_name(tag)])
        compare_indexes(build, comparison, twice)
    return twice


def compare_indexes(
    build: Build, comparison: Comparison, twice: Mapping[str, Mapping[str, tuple[str, str]]]
) -> None:
    """For each variant built twice on every platform: an index of each build's images,
    and their digests compared (as a release would push them)."""
    builder = build.builder
    for variant_name, by_platform in twice.items():
        if len(by_platform) != len(build.plan.platforms) or not builder.multi_platform:
            continue
        # Not the build's own index name, which the build record's digest describes.
        name = builder.local_name(VARIANTS[variant_name].tag("reproduce-index"))
        first, second = (
            builder.make_index(build.run, name, [ids[which] for ids in by_platform.values()])
            for which in (0, 1)
        )
        comparison.compare(f"{name} ({', '.join(by_platform)})", first, second)


@hermetic
def reproduce(build: Build) -> Comparison:
    """Everything the plan builds, twice from scratch, compared; with stand-ins, those too
    (the host's: two makes from the same mirror content must agree)."""
    comparison = Comparison()
    if build.plan.offline:
        with build.builder.no_leftovers(build.run, build.say):
            first, second = standins_twice(build, build.plan.targets[:1])
        for name in first:
            comparison.compare(f"base {name}", first[name], second[name])
    prepare_bases(build)
    reproduce_images(build, reproduce_plan(build.plan.targets), comparison)
    return comparison
