"""The stand-in bases: Debian packages unpacked by mmdebstrap, built into images.

With no registry in reach, `python:3.13-slim-trixie` and distroless
`python3-debian13` are made locally (`nox -s standins`). Each stand-in is a
`Recipe`: mmdebstrap's variant, the packages, and a hook in standins/ that
shapes the root filesystem as the upstream image is shaped.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import io
import shutil
import tarfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path

from tools.builders import Builder, BuildRequest
from tools.cacheroots import one_maker
from tools.images.context import Build
from tools.inputs.aptlock import lock_path, read_lock
from tools.inputs.debs import local_repository
from tools.inputs.recipes import RECIPES
from tools.inputs.toolchain import TOOLCHAIN
from tools.model import BASES, PLATFORMS, Base, Platform
from tools.paths import STANDIN_PACKAGES, STANDIN_WORKDIR
from tools.process import BuildError, Runner, rfc3339, sha256_file


def build_rootfs(run: Runner, base: Base, platform: Platform, *, epoch: int) -> Path:
    """Install exactly the locked Debian packages into the base's workdir, as rootfs.tar,
    with the toolchain's mmdebstrap (its apt, dpkg, tar, and the hooks' tools)."""
    recipe, lock_name = RECIPES[base.name], lock_path(base.name, platform).name
    workdir = base.workdir(platform)
    workdir.mkdir(parents=True, exist_ok=True)
    lock = read_lock(base.name, platform)
    if missing := sorted(set(recipe.packages) - {deb.package for deb in lock.debs}):
        raise BuildError(
            f"{lock_name} has no {', '.join(missing)}: the stand-in's packages changed "
            "since it was locked; relock with `nox -s lock`"
        )
    repository = local_repository(lock, lock_name, workdir / "debs")
    tarball = workdir / "rootfs.tar"
    mmdebstrap = TOOLCHAIN.command(run, "mmdebstrap")
    args = recipe.mmdebstrap_args(tarball, platform, repository=repository, program=mmdebstrap)
    run(*args, env={"SOURCE_DATE_EPOCH": str(epoch)})
    if recipe.leftovers:
        drop_members(tarball, recipe.leftovers)
    return tarball


def drop_members(tarball: Path, doomed: Sequence[str]) -> None:
    """Rewrite a tarball without the doomed paths and everything under them.

    Not `tar --delete`: GNU tar 1.34's in-place delete corrupted mmdebstrap's
    pax archive here. It left status.d/tzdata.md5sums holding NULs and the
    next member's header, build time included, so the stand-in differed on
    every build.
    """
    rewritten = tarball.with_name(tarball.name + ".new")
    with (
        tarfile.open(tarball) as source,
        tarfile.open(rewritten, "w", format=tarfile.PAX_FORMAT) as target,
    ):
        for member in source:
            name = member.name.rstrip("/")
            if any(name == path or name.startswith(path + "/") for path in doomed):
                continue
            target.addfile(member, source.extractfile(member) if member.isreg() else None)
    rewritten.replace(tarball)


def package_versions(tarball: Path) -> list[str]:
    """`name version` for every Debian package in a rootfs tarball."""
    found: list[str] = []
    with tarfile.open(tarball) as tar:
        for member in tar:
            name = member.name
            is_status = name == "./var/lib/dpkg/status"
            is_statusd = name.startswith("./var/lib/dpkg/status.d/") and not name.endswith(
                ".md5sums"
            )
            extracted = tar.extractfile(member) if is_status or is_statusd else None
            if extracted is None:
                continue
            text = io.TextIOWrapper(extracted, encoding="utf-8").read()
            for stanza in text.split("\n\n"):
                fields = dict(line.split(": ", 1) for line in stanza.splitlines() if ": " in line)
                if "Package" in fields and "Version" in fields:
                    found.append(f"{fields['Package']} {fields['Version']}")
    return sorted(found)


RECORD_HEADER = "# Debian packages in each stand-in base, written by `nox -s standins`."


def record_sections(text: str) -> dict[str, list[str]]:
    """A package record's sections by stand-in: its `[name] rootfs.tar sha256:…` line, then
    its packages."""
    sections: dict[str, list[str]] = {}
    section: list[str] | None = None
    for line in text.splitlines():
        if line.startswith("["):
            section = sections.setdefault(line[1 : line.index("]")], [])
        if section is not None and line:
            section.append(line)
    return sections


def every_standin(platforms: Iterable[Platform]) -> list[str]:
    """The stand-ins of these platforms, in the record's order: by platform, then base."""
    return [base.standin_for(platform) for platform in platforms for base in BASES.values()]


def write_standin_packages(tarballs: Mapping[str, Path], record: Path = STANDIN_PACKAGES) -> None:
    """Record the exact package set of each stand-in made, so a drift can be explained; one
    not made this time keeps its section (CI makes arm64's in a session of its own)."""
    sections = record_sections(record.read_text()) if record.exists() else {}
    for standin, tarball in tarballs.items():
        sections[standin] = [
            f"[{standin}] rootfs.tar sha256:{sha256_file(tarball)}",
            *package_versions(tarball),
        ]
    kept = [name for name in every_standin(PLATFORMS.values()) if name in sections]
    record.write_text(package_record([sections[name] for name in kept]))


def package_record(sections: Iterable[list[str]]) -> str:
    """The record's text: its header, then each section after a blank line."""
    lines = [RECORD_HEADER]
    for section in sections:
        lines += ["", *section]
    return "\n".join(lines) + "\n"


def recorded_packages(platforms: Sequence[Platform], record: Path = STANDIN_PACKAGES) -> str:
    """The record of these platforms' stand-ins only, as a publication names them."""
    sections = record_sections(record.read_text()) if record.exists() else {}
    unrecorded = [
        platform.name
        for platform in platforms
        if any(name not in sections for name in every_standin([platform]))
    ]
    if unrecorded:
        remake = " and ".join(
            f"`nox -s standins -- --no-cache --platform {name}`" for name in unrecorded
        )
        raise BuildError(
            f"{record.name} has no packages for the {', '.join(unrecorded)} stand-ins (it is "
            f"written only when they are made): remake them with {remake}, which gives the "
            "same stand-ins, then try again"
        )
    return package_record(sections[name] for name in every_standin(platforms))


def build_base(
    run: Runner, builder: Builder, base: Base, platform: Platform, *, epoch: int
) -> str:
    """The stand-in image from its rootfs tarball; its ID."""
    workdir = base.workdir(platform)
    shutil.copy(base.containerfile, workdir / "Containerfile")
    request = BuildRequest(
        containerfile=workdir / "Containerfile",
        context=workdir,
        tags=[base.standin_for(platform)],
        platform=platform.name,
        labels=base.expected_labels(rfc3339(epoch), platform),
        timestamp=epoch,
        # buildah's cache ignores --timestamp; a base is one quick ADD anyway.
        no_cache=True,
    )
    image_id = builder.build(run, request)
    builder.load_into_docker(run, [base.standin_for(platform)])
    return image_id


@dataclasses.dataclass(frozen=True)
class MadeBases:
    """What `make_bases` made: each stand-in's image ID and rootfs tarball, by its name."""

    ids: dict[str, str]
    tarballs: dict[str, Path]

    def rows(self) -> list[list[str]]:
        rows = [["stand-in", "rootfs.tar sha256", "image ID"]]
        for standin, image_id in self.ids.items():
            digest = sha256_file(self.tarballs[standin])[:16]
            rows.append([standin, digest, image_id[:19]])
        return rows


@contextlib.contextmanager
def exclusive(say: Callable[[str], object]) -> Iterator[None]:
    """One maker of stand-ins at a time, across processes: a second waits for the first.

    CI makes the arm64 stand-ins in the background while the unit tests
    run; the build session then waits here instead of making them again.
    """
    with one_maker(
        STANDIN_WORKDIR,
        lambda: say("another session is making the stand-in bases: waiting for it to finish"),
    ):
        yield


def standin_epoch(base: Base, platform: Platform) -> int:
    """A stand-in's SOURCE_DATE_EPOCH: when its packages were locked, which moves only with
    its inputs (as a snapshot of Debian's archive is dated), never with a commit."""
    locked_at = read_lock(base.name, platform).locked_at
    try:
        return int(dt.datetime.fromisoformat(locked_at).timestamp())
    except ValueError:
        raise BuildError(
            f"{lock_path(base.name, platform).name} has no valid locked-at time "
            f"({locked_at!r}): relock with `nox -s lock`"
        ) from None


def make_bases(build: Build, platforms: Sequence[Platform]) -> MadeBases:
    """Make both stand-in bases for each platform from Debian packages; record their packages."""
    made = MadeBases({}, {})
    for platform in platforms:
        for base in BASES.values():
            standin, epoch = base.standin_for(platform), standin_epoch(base, platform)
            made.tarballs[standin] = build_rootfs(build.run, base, platform, epoch=epoch)
            made.ids[standin] = build_base(build.run, build.builder, base, platform, epoch=epoch)
    write_standin_packages(made.tarballs)
    return made


def stale_bases(build: Build, platforms: Sequence[Platform]) -> list[str]:
    """Stand-ins missing, or made for another epoch or from other recipes."""
    return [
        base.standin_for(platform)
        for platform in platforms
        for base in BASES.values()
        if not base.expected_labels(rfc3339(standin_epoch(base, platform)), platform).items()
        <= build.builder.labels(base.standin_for(platform)).items()
    ]


def standin_ids(builder: Builder, platforms: Sequence[Platform]) -> dict[str, str]:
    """Each stand-in's ID as the builder's store has it, by name: one kind of ID for every
    builder (Docker's containerd store names a manifest where a build names its config)."""
    return {
        base.standin_for(platform): builder.image_id(base.standin_for(platform)) or "(missing)"
        for platform in platforms
        for base in BASES.values()
    }
