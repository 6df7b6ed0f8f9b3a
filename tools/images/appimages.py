"""The app images: one variant for one platform, as a plan says.

`build_request` is everything a builder needs for one image; the release's
provenance records the same build args, so it is made from the plan alone.
"""

from __future__ import annotations

from collections.abc import Mapping

from tools.builders import BuildRequest
from tools.images import identity
from tools.images.context import Build
from tools.images.plan import BuildPlan
from tools.images.record import BuildRecord, Built
from tools.model import (
    BASE_INPUTS_LABEL,
    BASES,
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
    }
    # What names this build, set on the finished image: as Dockerfile steps
    # they would follow the app and be rebuilt with every change.
    labels = {
        "org.opencontainers.image.version": VERSION,
        "org.opencontainers.image.revision": plan.revision,
        CREATED_LABEL: plan.created,
        "org.opencontainers.image.base.name": build_args[variant.runtime_arg],
    }
    if plan.offline:
        # A stand-in's own label, set again: buildah 1.28's layer cache reuses a step made
        # FROM an earlier stand-in with the same layers, and would keep that one's label.
        runtime_base = BASES[variant.base_args[variant.runtime_arg]]
        labels[BASE_INPUTS_LABEL] = runtime_base.inputs_digest(platform)
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


def base_image_ids(build: Build) -> dict[str, str | None]:
    """Each base image the plan names, once, with its ID in the builder's store."""
    references = {ref for refs in build.plan.bases.values() for ref in refs.values()}
    return {ref: build.builder.image_id(ref) for ref in sorted(references)}


def build_variant(
    build: Build,
    variant: Variant,
    platform: Platform,
    bases: Mapping[str, str | None],
    *,
    load: bool = True,
    previous: BuildRecord | None = None,
) -> Built:
    """Build one app image on these bases (reference → ID); with `load`, make it runnable in
    Docker under its tags.

    An image `previous` made from exactly these inputs (`identity.inputs_digest`)
    is reused if the store still has it, and not built again.
    """
    request = build_request(build.plan, variant, platform)
    used = {arg: bases.get(request.build_args[arg]) for arg in [*variant.base_args, BUILDER_ARG]}
    inputs = identity.inputs_digest(build.builder, request, used, platform.wheelhouse)
    made = previous.made_from(variant.name, platform.name, inputs) if previous else None
    if made is not None and build.builder.holds(made.image_id):
        build.say(f"{request.tags[0]} ({platform.name}): inputs unchanged, reused {made.image_id}")
        image_id = made.image_id
        build.builder.tag(build.run, image_id, request.tags)
    else:
        image_id = build.builder.build(build.run, request)
    if load:
        names = [build.builder.local_name(tag) for tag in request.tags]
        build.builder.load_into_docker(build.run, names, image_id=image_id)
    base = request.build_args[variant.runtime_arg]
    return Built(variant.name, platform.name, list(request.tags), base, image_id, inputs)
