"""The Debian lock of each stand-in base: standins/NAME.ARCH.lock: requirements.txt for .debs.

`nox -s lock` resolves each stand-in live, as mmdebstrap does (trixie,
trixie-updates, trixie-security), and writes every package it used: name,
version, architecture, suite, archive, size, sha256 and pool path, with the
time of locking. `nox -s bases` then installs exactly those files
(tools/debs.py). `drift` compares two locks package by package.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import re
import urllib.parse
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path, PurePosixPath

from tools.model import BASES, PLATFORMS, SUITE, Platform
from tools.paths import ROOT, STANDIN_RECIPES, TOOLCHAIN_FOLDER
from tools.process import BuildError

LOCKED_AT = "# locked-at: "
COLUMNS = "# package version architecture suite archive size sha256 filename"
#: Where mmdebstrap resolves a stable suite, in the order a version is looked up.
SUITES = (SUITE, f"{SUITE}-updates", f"{SUITE}-security")
SECURITY_SUITE = f"{SUITE}-security"


def lock_path(base_name: str, platform: Platform) -> Path:
    """standins/NAME.ARCH.lock: a lock holds one architecture's files."""
    return STANDIN_RECIPES / f"{base_name}.{platform.debian}.lock"


def toolchain_lock_path(platform: Platform, folder: Path = TOOLCHAIN_FOLDER) -> Path:
    """toolchain/toolchain.ARCH.lock: the toolchain's files for a host of that architecture."""
    return folder / f"toolchain.{platform.debian}.lock"


def debian_lock_paths() -> list[Path]:
    """Every Debian lock: each stand-in's on each platform, then the toolchain's."""
    stand_ins = [lock_path(name, p) for name, p in itertools.product(BASES, PLATFORMS.values())]
    return stand_ins + [toolchain_lock_path(p) for p in PLATFORMS.values()]


@dataclasses.dataclass(frozen=True, order=True)
class Deb:
    """One locked Debian package: what it is, where it came from, and its bytes' digest."""

    package: str
    version: str
    architecture: str
    suite: str
    #: The archive's path on a mirror: "debian" or "debian-security".
    archive: str
    size: int
    sha256: str
    #: The pool path below the archive, as the Packages index gives it.
    filename: str

    @property
    def key(self) -> tuple[str, str]:
        return self.package, self.architecture

    @property
    def basename(self) -> str:
        return PurePosixPath(self.filename).name

    def line(self) -> str:
        return (
            f"{self.package} {self.version} {self.architecture} {self.suite} {self.archive} "
            f"{self.size} {self.sha256} {self.filename}"
        )


@dataclasses.dataclass(frozen=True)
class Lock:
    """The packages of one stand-in, and when they were resolved."""

    locked_at: str
    debs: tuple[Deb, ...]

    def text(self, what: str, *, installer: str = "`nox -s bases`") -> str:
        """The lock file of `what` ("the slim stand-in", "the toolchain")."""
        header = [
            f"# Debian packages of {what}: {installer} installs exactly",
            "# these files. Written by `nox -s lock`; review a change as you would a new pin.",
            f"{LOCKED_AT}{self.locked_at}",
            COLUMNS,
        ]
        return "\n".join([*header, *(deb.line() for deb in sorted(self.debs))]) + "\n"


def parse_lock(text: str, source: str) -> Lock:
    """A lock file's packages; a malformed line is an error naming the line."""
    locked_at, debs = "", []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.startswith(LOCKED_AT):
            locked_at = line.removeprefix(LOCKED_AT).strip()
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split()
        if (
            len(fields) != 8
            or not fields[5].isdigit()
            or not re.fullmatch(r"[0-9a-f]{64}", fields[6])
        ):
            raise BuildError(f"{source}:{number}: not a lock line: {line!r} (relock: nox -s lock)")
        name, version, arch, suite, archive, size, sha256, filename = fields
        debs.append(Deb(name, version, arch, suite, archive, int(size), sha256, filename))
    return Lock(locked_at, tuple(debs))


def read_lock(base_name: str, platform: Platform) -> Lock:
    path = lock_path(base_name, platform)
    if not path.exists():
        raise BuildError(
            f"{path.relative_to(ROOT)} is missing: write it (and every platform's) with "
            "`nox -s lock`"
        )
    return parse_lock(path.read_text(), str(path.relative_to(ROOT)))


# ---- resolving from a live mmdebstrap run -----------------------------------------


def stanzas(text: str) -> Iterable[dict[str, str]]:
    """The paragraphs of a Debian control file (a Packages index, dpkg's status)."""
    for paragraph in text.split("\n\n"):
        fields: dict[str, str] = {}
        for line in paragraph.splitlines():
            if line[:1] not in (" ", "\t") and ": " in line:
                key, value = line.split(": ", 1)
                fields[key] = value.strip()
        if fields:
            yield fields


def list_origin(list_name: str) -> tuple[str, str] | None:
    """(archive, suite) from an apt list file's name; None if it is no Packages index.

    apt names them HOST_ARCHIVE_dists_SUITE_COMPONENT_binary-ARCH_Packages; the
    host stays out of the lock.
    """
    match = re.fullmatch(r"[^_]+_(.+)_dists_([^_]+)_[^_]+_binary-[^_]+_Packages", list_name)
    return (match[1].replace("_", "/"), match[2]) if match else None


def used_packages(status: str, archives: str) -> set[tuple[str, str, str]]:
    """(name, version, arch) of what a run installed (dpkg's status) or fetched (.deb names)."""
    used = {
        (f["Package"], f["Version"], f["Architecture"])
        for f in stanzas(status)
        if f.get("Status", "").endswith(" installed")
    }
    for name in archives.split():
        if name.endswith(".deb"):
            package, version, arch = urllib.parse.unquote(name.removesuffix(".deb")).split("_")
            used.add((package, version, arch))
    return used


def index_entries(lists: Mapping[str, str]) -> dict[tuple[str, str, str], Deb]:
    """Every package version the indexes offer, first suite first: (name, version, arch) → Deb."""
    offered: dict[tuple[str, str, str], Deb] = {}
    ordered = sorted(
        ((origin, text) for name, text in lists.items() if (origin := list_origin(name))),
        key=lambda item: SUITES.index(item[0][1]) if item[0][1] in SUITES else len(SUITES),
    )
    for (archive, suite), text in ordered:
        for fields in stanzas(text):
            key = (fields["Package"], fields["Version"], fields["Architecture"])
            if key not in offered:
                offered[key] = Deb(
                    package=key[0],
                    version=key[1],
                    architecture=key[2],
                    suite=suite,
                    archive=archive,
                    size=int(fields["Size"]),
                    sha256=fields["SHA256"],
                    filename=fields["Filename"],
                )
    return offered


def resolve(
    used: Iterable[tuple[str, str, str]], lists: Mapping[str, str], locked_at: str
) -> Lock:
    """The lock of the packages a live run used, from the indexes it used them from."""
    offered = index_entries(lists)
    missing = [" ".join(key) for key in used if key not in offered]
    if missing:
        raise BuildError(f"not in the apt indexes of the run: {', '.join(missing)}")
    return Lock(locked_at, tuple(sorted(offered[key] for key in set(used))))


def now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# ---- drift ------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Change:
    """One package whose locked version differs from what Debian resolves now."""

    package: str
    old: str | None
    new: str | None
    security: bool

    def line(self) -> str:
        note = "  (security update)" if self.security else ""
        return f"{self.package}: {self.old or '(absent)'} → {self.new or '(absent)'}{note}"


def drift(locked: Lock, current: Lock) -> list[Change]:
    """Package by package, what changed between the lock and a fresh resolution."""
    old = {deb.key: deb for deb in locked.debs}
    new = {deb.key: deb for deb in current.debs}
    changes = []
    for key in sorted(old.keys() | new.keys()):
        before, after = old.get(key), new.get(key)
        if before and after and before.version == after.version:
            continue
        changes.append(
            Change(
                package=key[0],
                old=before.version if before else None,
                new=after.version if after else None,
                security=bool(after and after.suite == SECURITY_SUITE),
            )
        )
    return changes


def summary(changes: Sequence[Change]) -> str:
    if not changes:
        return "no drift: Debian resolves exactly the lock"
    security = sum(change.security for change in changes)
    return f"{len(changes)} package(s) moved, {security} of them security update(s)"
