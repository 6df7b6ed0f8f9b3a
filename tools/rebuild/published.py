"""The published image IDs: one commit's IDs, in published/image-ids.json, for others to rebuild.

`nox -s publish` writes a `Publication` from the build record, if
`publish_problems` finds none; `nox -s rebuild-published` rebuilds the
published commit in a worktree with that commit's own noxfile, and
`compare_publication` judges the result. The file is read and written here.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import json
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from tools.builders import Builder, named_builder, pick_builder
from tools.images import contents, standins
from tools.images import record as build_record
from tools.images.identity import input_revision
from tools.images.record import BuildRecord
from tools.inputs import debs
from tools.inputs.toolchain import is_toolchain_version
from tools.model import BASES, PLATFORMS, host_platform
from tools.paths import (
    CONTENT_RECORDS,
    PUBLISHED_IDS,
    PUBLISHED_WORKTREE,
    ROOT,
    STANDIN_PACKAGES,
    STANDIN_PACKAGES_BEFORE,
)
from tools.process import BuildError, capture, checkout_worktree, has_commit, run_shown
from tools.rebuild.comparison import Comparison

SIDES = ("published", "rebuilt")
#: The session that makes the stand-ins, as this checkout's noxfile names it.
STANDINS_SESSION = "standins"


@dataclasses.dataclass(frozen=True)
class Publication:
    """One commit's image IDs on the host's platform, and what they were built with."""

    commit: str
    source_date_epoch: int
    builder: str
    builder_version: str
    offline: bool
    arch: str
    #: Tag → image ID.
    images: dict[str, str]
    #: The stand-ins' package record (build/standin-packages.txt): when IDs differ, it says
    #: whether the Debian mirror moved in between.
    standin_packages: list[str]
    #: The published commit's session that makes stand-ins ("bases" before it was renamed).
    standins_session: str = STANDINS_SESSION

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Publication:
        fields = {f.name for f in dataclasses.fields(cls)}
        # Before the rename, the package record was "bases_lock".
        renamed = {"standin_packages": data["bases_lock"]} if "bases_lock" in data else {}
        known = {key: value for key, value in (dict(data) | renamed).items() if key in fields}
        return cls(**{"standins_session": "bases"} | known)


def read(path: Path = PUBLISHED_IDS) -> Publication:
    return Publication.from_json(json.loads(path.read_text()))


def write(publication: Publication, path: Path = PUBLISHED_IDS) -> None:
    path.write_text(json.dumps(publication.to_json(), indent=2) + "\n")


def publish_problems(built: BuildRecord, inputs_of: str) -> list[str]:
    """Why the images of the last build may not be published, if they may not (`inputs_of`:
    the last commit that changed an image input, at HEAD)."""
    problems = []
    if built.plan.revision != inputs_of:
        problems.append(
            f"the images are of {built.plan.revision[:12]}, not of HEAD's inputs "
            f"({inputs_of[:12]}): build again"
        )
    if not built.tree_clean:
        problems.append("they were built from uncommitted changes")
    if not built.reproducible:
        problems.append(f"{built.plan.builder} did not build them reproducibly")
    if not built.plan.offline:
        problems.append("they are on upstream bases, which CI cannot pull: build with --offline")
    return problems


def publication(
    built: BuildRecord, standin_packages: str, standins_session: str = STANDINS_SESSION
) -> Publication:
    """What a build publishes: its commit, builder, bases and the host's image IDs."""
    return Publication(
        commit=built.plan.revision,
        source_date_epoch=built.plan.epoch,
        builder=built.plan.builder,
        builder_version=built.builder_version,
        offline=built.plan.offline,
        arch=built.arch,
        images=build_record.images_by_tag(built.host_images),
        standin_packages=standin_packages.splitlines() if built.plan.offline else [],
        standins_session=standins_session,
    )


def why_incomparable(
    published: Publication, host_version: Callable[[], str], has_commit: Callable[[str], bool]
) -> str | None:
    """Why a rebuild here could not be compared with the publication, before trying.

    A commit built with the locked toolchain brings its own to any host; one built with
    the host's builder (before the toolchain) needs `host_version()` to be the same."""
    with_host_tools = not is_toolchain_version(published.builder_version)
    if with_host_tools and (builder_version := host_version()) != published.builder_version:
        return (
            f"published with {published.builder_version!r}, this machine has "
            f"{builder_version!r}: IDs are only comparable for the same builder version"
        )
    if not has_commit(published.commit):
        return f"commit {published.commit[:12]} is not in this clone (a shallow clone?)"
    return None


def rebuilt(published: Publication, worktree: Path) -> Publication:
    """What a rebuild in a worktree of the published commit would publish."""
    built = build_record.require(build_record.in_checkout(worktree))
    record = worktree / STANDIN_PACKAGES.relative_to(ROOT)
    if not record.exists():  # a commit from before the rename
        record = record.with_name(STANDIN_PACKAGES_BEFORE)
    lock = record.read_text()
    return publication(built, lock, published.standins_session)


def rebuild_sessions(published: Publication, builder: str) -> list[str]:
    """The nox arguments that rebuild a published commit from scratch, as a new machine would,
    with that commit's own session names."""
    offline = published.offline
    sessions = ["--sessions", *([published.standins_session] if offline else []), "build"]
    options = ["--builder", builder, "--no-cache", *(["--offline"] if offline else [])]
    return [*sessions, "--", *options]


def packages(lines: list[str]) -> list[str]:
    """The package lines of a bases record, without its headers (a tarball's sha256 varies)."""
    return [line for line in lines if line and not line.startswith(("#", "["))]


def moved_packages(published: list[str], rebuilt: list[str]) -> list[str]:
    """The package lines that changed between two bases records, as -old and +new."""
    return [
        line
        for line in difflib.unified_diff(published, rebuilt, "published", "rebuilt", lineterm="")
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]


def compare_publication(published: Publication, rebuilt: Publication) -> Comparison:
    """Compare a rebuild of the published commit with the published IDs."""
    comparison = Comparison(sides=SIDES)
    for key in ("builder_version", "arch"):
        before, after = getattr(published, key), getattr(rebuilt, key)
        if before != after:
            comparison.incomparable = f"published with {key} {before!r}, rebuilt with {after!r}"
            comparison.notes.append(comparison.incomparable)
            return comparison
    for tag, image_id in published.images.items():
        comparison.compare(tag, image_id, rebuilt.images.get(tag, "(not built)"))
    if comparison.passed:
        return comparison
    if moved := moved_packages(
        packages(published.standin_packages), packages(rebuilt.standin_packages)
    ):
        comparison.incomparable = "the Debian mirror moved since publication"
        comparison.differences += [f"{comparison.incomparable}:", *moved]
    return comparison


def write_publication(built: BuildRecord) -> str:
    """Publish the last build's IDs for this commit, if they may be; what was written."""
    if problems := publish_problems(built, input_revision()):
        raise BuildError("cannot publish: " + "; ".join(problems))
    platforms = [PLATFORMS[name] for name in built.plan.platforms]
    write(publication(built, standins.recorded_packages(platforms) if built.plan.offline else ""))
    records = write_contents(built, named_builder(built.plan.builder))
    written = ", ".join(str(p.relative_to(ROOT)) for p in [PUBLISHED_IDS, *records])
    return (
        f"wrote {written} for {built.plan.revision[:12]}; commit them, and `nox -s "
        "rebuild-published` on another machine rebuilds that commit and names what differs"
    )


def write_contents(built: BuildRecord, builder: Builder) -> list[Path]:
    """The content record of each platform the build made: its images and stand-ins."""
    written = []
    for name in built.plan.platforms:
        platform = PLATFORMS[name]
        images = {b.tag: b.image_id for b in built.images if b.platform == name}
        for base in BASES.values():
            if image_id := builder.image_id(base.standin_for(platform)):
                images[base.standin_for(platform)] = image_id
        with tempfile.TemporaryDirectory() as scratch:
            record = contents.record_of(builder, images, Path(scratch), built.plan.revision)
        written.append(contents.write(record, platform.debian))
    return written


def explain_from_record(builder: Builder, comparison: Comparison, arch: str) -> list[str]:
    """For each published image that rebuilt otherwise, the files that differ from the
    content record: no bits of the publisher's are needed."""
    record = contents.read(arch)
    if record is None:
        return [f"no content record for {arch} ({CONTENT_RECORDS.relative_to(ROOT)}/)"]
    lines = []
    for tag in comparison.mismatches:
        row = next(r for r in comparison.rows if r[0] == tag)
        if tag not in record.images or not row[2].startswith("sha256:"):
            continue
        lines += [f"{tag}, against the content record:"]
        lines += contents.explain(
            record, record.images[tag][1], contents.image_layers(builder, row[2])
        )
    return lines


def rebuild_published(nox: Sequence[str], worktree: Path = PUBLISHED_WORKTREE) -> Comparison:
    """Rebuild the published commit from scratch in a worktree, with its own noxfile, by the
    `nox` command line given (the one running: `nox` need not be on PATH)."""
    published = read()
    builder = pick_builder(published.builder, reproducible=True)
    host_version = functools.partial(capture, builder.name, "--version")
    if reason := why_incomparable(published, host_version, has_commit):
        return Comparison(sides=SIDES, incomparable=reason, notes=[reason])
    checkout_worktree(run_shown, published.commit, worktree)
    try:  # that commit's locked .debs: the mirror, the cache, else Debian's snapshot archive
        debs.fetch_locked(worktree)
    except debs.DebGoneError as gone:
        # Not a skip: a publication nobody can rebuild any more is a failure to say so.
        raise BuildError(f"cannot rebuild {published.commit[:12]}: {gone}") from gone
    # That commit's own noxfile builds it, as a new machine would: stand-ins too.
    noxfile = str(worktree / "noxfile.py")
    run_shown(*nox, "--noxfile", noxfile, *rebuild_sessions(published, builder.name))
    comparison = compare_publication(published, rebuilt(published, worktree))
    comparison.notes.insert(0, f"{published.commit[:12]} rebuilt with {builder.name}:")
    if comparison.mismatches:
        arch = host_platform().debian  # a rebuild is of the host's images, as published
        comparison.differences += explain_from_record(builder, comparison, arch)
    return comparison
