"""The build's steps in order, for one `Build`: bases, wheelhouses, images, record.

What `nox -s standins` and `nox -s build` do, start to end: the sessions make
the plan and call one function here; nothing here calls back into nox.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence

from tools.buildenv import hermetic
from tools.images import appimages, contents, identity, standins
from tools.images.context import Build
from tools.images.plan import unavailable
from tools.images.record import BuildRecord, reusable_record, write
from tools.inputs.wheelhouse import download_wheelhouse
from tools.model import PLATFORMS, SUITE, VARIANTS, Platform
from tools.process import BuildError, tree_is_clean
from tools.settings import OFFLINE_ENV
from tools.tables import human_size, table


@hermetic
def make_standins(
    build: Build, platforms: Sequence[Platform], *, only_stale: bool = False
) -> dict[str, str]:
    """Make both stand-in bases for each platform from Debian packages; their IDs by name.

    `only_stale`: the platforms whose stand-ins are missing or out of date, once no
    other session is making them (CI makes them in the background).
    """
    with standins.exclusive(build.say):
        chosen = [
            each for each in platforms if not only_stale or standins.stale_bases(build, [each])
        ]
        if not chosen:
            return {}
        names = ", ".join(each.name for each in chosen)
        build.say(f"making the stand-ins for {names} from Debian {SUITE} packages")
        # A stand-in is always made with no cache: its steps are never reused.
        with build.builder.no_leftovers(build.run, build.say):
            made = standins.make_bases(build, chosen)
    build.say(
        "stand-in bases (package versions in build/standin-packages.txt):\n" + table(made.rows())
    )
    return made.ids


def standins_twice(
    build: Build, platforms: Sequence[Platform]
) -> tuple[dict[str, str], dict[str, str]]:
    """Two makes of these platforms' stand-ins: their IDs as they are (made first if
    missing or out of date), and after one more make.

    Every make starts from scratch, from mmdebstrap to a build with no cache, so the
    stand-ins an earlier session made count as the first. Both sides are read from
    the builder's store (`standins.standin_ids`).
    """
    make_standins(build, platforms, only_stale=True)
    first = standins.standin_ids(build.builder, platforms)
    make_standins(build, platforms)
    return first, standins.standin_ids(build.builder, platforms)


def prepare_bases(build: Build) -> None:
    """Every base the plan names, made (stand-ins) or pulled (upstream) if it is missing."""
    if build.plan.offline:
        make_standins(build, build.plan.targets, only_stale=True)
    elif missing := list(unavailable(build.builder, build.plan.bases, build.run)):
        raise BuildError(unpullable(build.plan.bases, missing))


def unpullable(bases: Mapping[str, Mapping[str, str]], missing: Sequence[str]) -> str:
    """What to do about upstream bases that cannot be pulled, naming each base."""
    names = {ref: name for refs in bases.values() for name, ref in refs.items()}
    listed = ", ".join(f"the {names.get(ref, '?')} base {ref}" for ref in missing)
    if any("@" in ref for ref in missing):
        return (
            f"cannot pull {listed}: the registry lacks that locked digest or cannot be reached; "
            f"`nox -s lock` locks what the tags name now ({OFFLINE_ENV}=1 builds on stand-ins)"
        )
    return (
        f"cannot pull {listed}. Without a registry, build on stand-ins made from Debian "
        f"packages: {OFFLINE_ENV}=1 nox -s build"
    )


@hermetic
def build_images(build: Build) -> BuildRecord:
    """Every variant on every platform of the plan, and the record.

    No image index: the release makes one where it pushes (its digest needs every
    layer compressed, seconds a variant, which the edit-build loop does not need);
    `nox -s reproduce` makes and compares them.
    """
    plan = build.plan
    for platform in plan.targets:
        download_wheelhouse(build.run, python=build.python, platform=platform)
    prepare_bases(build)
    bases = appimages.base_image_ids(build)
    previous = None if plan.no_cache else reusable_record()
    built = tuple(
        appimages.build_variant(build, variant, platform, bases, previous=previous)
        for platform, variant in itertools.product(plan.targets, VARIANTS.values())
    )
    record = BuildRecord(
        plan=plan,
        builder_version=build.builder.version(),
        reproducible=build.builder.reproducible,
        tree_clean=tree_is_clean(),
        arch=plan.host.machine,
        images=built,
    )
    write(record)
    return record


def report(build: Build, record: BuildRecord) -> str:
    """The table `nox -s build` ends with: each image."""
    rows = [["image", "platform", "base", "size", "image ID"]]
    for b in record.images:
        size = human_size(build.builder.size(b.tag))
        rows.append([b.tag, b.platform, b.base, size, b.image_id])
    plan = record.plan
    text = f"built with {build.builder.name}: the images of {plan.revision[:12]}, the last commit "
    text += "that changed their inputs"
    if changed := identity.inputs_changed_since_commit():
        text += f", and uncommitted changes to {', '.join(changed)}"
    text += f" (SOURCE_DATE_EPOCH={plan.epoch}):\n" + table(rows)
    for name in plan.platforms:
        built = {b.tag: b.image_id for b in record.images if b.platform == name}
        if lines := contents.against_record(
            build.builder, built, plan.revision, PLATFORMS[name].debian
        ):
            text += "\nNOT the published bits (published/contents/), file by file:\n"
            text += "\n".join(lines)
    return text
