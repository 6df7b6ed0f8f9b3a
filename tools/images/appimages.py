"""The app images: one variant for one platform, as a plan says, and each variant's index.

`build_request` is everything a builder needs for one image; the release's
provenance records the same build args, so it is made from the plan alone.
"""

from __future__ import annotations

from collections.abc import Sequence

from tools.builders import BuildRequest
from tools.images.context import Build
from tools.images.plan import BuildPlan
from tools.images.record import Built, Index
from tools.model import (
    BUILDER_ARG,
    BUILDER_BASE,
    CREATED_LABEL,
    PYTHON_VERSION,
    VERSION,
    Platform,
    Variant,
)
from tools.paths import ROOT


def image_tags(plan: BuildPlan, variant: Variant, platform: Platform) -> list[str]:
    """The host's platform gets the usual tags, the one `docker run` takes; another
    platform one tag naming its architecture (moscow-time:arm64-distroless)."""
    if platform == plan.host:
        return [variant.tag(), variant.tag(VERSION), variant.tag(plan.revision[:12])]
    return [variant.tag(platform.debian)]


def build_request(plan: BuildPlan, variant: Variant, platform: Platform) -> BuildRequest:
    """Everything a builder needs for one variant on one platform, from the plan.

    The builder stage takes the host's base (it runs natively), the runtime
    stage the target platform's.
    """
    build_args = {arg: plan.base(platform, base) for arg, base in variant.base_args.items()}
    build_args |= {
        BUILDER_ARG: plan.base(plan.host, BUILDER_BASE),
        "BUILDER_PLATFORM": plan.host.name,
        "IMAGE_PLATFORM": platform.name,
        "WHEEL_MACHINE": platform.machine,
        "WHEELHOUSE": str(platform.wheelhouse.relative_to(ROOT)),
        "SOURCE_DATE_EPOCH": str(plan.epoch),
        "PYTHON_VERSION": PYTHON_VERSION,
        "VERSION": VERSION,
        "REVISION": plan.revision,
        "CREATED": plan.created,
    }
    # The same values again as --label: buildah 1.28's layer cache reuses a
    # LABEL step even when the build arg it expands has changed.
    labels = {
        "org.opencontainers.image.version": VERSION,
        "org.opencontainers.image.revision": plan.revision,
        CREATED_LABEL: plan.created,
        "org.opencontainers.image.base.name": build_args[variant.runtime_arg],
    }
    return BuildRequest(
        containerfile=ROOT / variant.dockerfile,
        context=ROOT,
        tags=image_tags(plan, variant, platform),
        build_args=build_args,
        labels=labels,
        timestamp=plan.epoch,
        no_cache=plan.no_cache,
        platform=platform.name,
    )


def build_variant(
    build: Build, variant: Variant, platform: Platform, *, load: bool = True
) -> Built:
    """Build one app image; with `load`, make it runnable in Docker under its tags."""
    request = build_request(build.plan, variant, platform)
    image_id = build.builder.build(build.run, request)
    if load:
        build.builder.load_into_docker(
            build.run, [build.builder.local_name(tag) for tag in request.tags]
        )
    base = request.build_args[variant.runtime_arg]
    return Built(variant.name, platform.name, list(request.tags), base, image_id)


def build_index(build: Build, variant: Variant, built: Sequence[Built]) -> Index:
    """One image index of a variant's platforms, in the builder's store; its digest."""
    images = {b.platform: b.image_id for b in built if b.variant == variant.name}
    name = build.builder.local_name(variant.tag("index"))
    digest = build.builder.make_index(build.run, name, list(images.values()))
    return Index(variant.name, name, digest, images)
