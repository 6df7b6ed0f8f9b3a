"""The upstream bases' lock: each base's tag, the index digest it named, each platform's
manifest in that index, and when it was resolved; read, written and checked here.

`bases.lock.json` sits beside the pip locks. `nox -s lock` resolves it with a
real registry client, Debian 13's skopeo (`skopeo inspect --raw`, whose bytes
hash to the digest), honouring the `registries.conf` that
`CONTAINERS_REGISTRIES_CONF` names, mirrors included, as buildah and podman do.
An online build takes each base as `NAME:TAG@sha256:INDEX`: the tag for people
and update bots, the digest for the builder. A base with no entry is resolved
and written on first use, and the build says to commit the file, as uv and npm
create a missing lockfile; `MOSCOW_TIME_FROZEN=1` (CI) refuses instead. No
digest is ever written that a tool did not resolve.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from tools.debtools import ChrootSkopeo
from tools.model import BASES
from tools.process import BuildError, Runner, environment, rfc3339

HEADER = "Written by `nox -s lock` (or a first online build): the upstream bases, by digest."


@dataclasses.dataclass(frozen=True)
class LockedBase:
    """One base as a registry named it: the tag, its index, each platform's manifest."""

    reference: str
    index: str
    #: Platform (`linux/amd64`) → its manifest's digest in the index.
    platforms: dict[str, str]
    resolved_at: str

    @property
    def pinned(self) -> str:
        """`NAME:TAG@sha256:…`: what a build pulls."""
        return f"{self.reference}@{self.index}"

    def age_days(self, now: float) -> int:
        resolved = datetime.strptime(self.resolved_at, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        return int((now - resolved.timestamp()) // 86400)


@dataclasses.dataclass(frozen=True)
class BaseLock:
    """Every locked upstream base, by base name (`slim`, `distroless`)."""

    bases: dict[str, LockedBase] = dataclasses.field(default_factory=dict)

    @classmethod
    def read(cls, path: Path) -> BaseLock:
        """The lock at `path`; empty if there is none yet."""
        if not path.exists():
            return cls()
        try:
            data = json.loads(path.read_text())
            return cls({name: LockedBase(**entry) for name, entry in data["bases"].items()})
        except (ValueError, KeyError, TypeError) as error:
            raise BuildError(
                f"{path} is not a base lock ({error}): restore it from git, or delete it and "
                "run `nox -s lock` where a registry answers"
            ) from error

    def write(self, path: Path) -> None:
        document = {
            "comment": HEADER,
            "bases": {
                name: dataclasses.asdict(entry) for name, entry in sorted(self.bases.items())
            },
        }
        path.write_text(json.dumps(document, indent=2) + "\n")

    def entry(self, name: str, reference: str) -> LockedBase | None:
        """The entry of this base, if it locks this reference (another tag is no entry)."""
        found = self.bases.get(name)
        return found if found is not None and found.reference == reference else None

    def with_entry(self, name: str, entry: LockedBase) -> BaseLock:
        return BaseLock(self.bases | {name: entry})


class Resolver(Protocol):
    def resolve(self, reference: str) -> LockedBase:
        """What the registry names by this tag now; BuildError if it cannot be asked."""
        ...


def locked_from_raw(reference: str, raw: bytes, now: float) -> LockedBase:
    """An entry from the raw bytes a registry served for the tag."""
    document = json.loads(raw)
    platforms: dict[str, str] = {}
    for entry in document.get("manifests", []):  # an index; a single manifest has none
        platform = entry.get("platform")
        if not platform or platform.get("os") == "unknown":  # attestations, not images
            continue
        platforms.setdefault(f"{platform['os']}/{platform['architecture']}", entry["digest"])
    digest = "sha256:" + hashlib.sha256(raw).hexdigest()
    return LockedBase(reference, digest, platforms, rfc3339(int(now)))


class SkopeoResolver:
    """`skopeo inspect --raw`: `command` makes skopeo's command line (Debian 13's, in its
    chroot), `options` go before the subcommand."""

    def __init__(self, command: Callable[..., list[str]], options: Sequence[str] = ()) -> None:
        self.command, self.options = command, list(options)

    def resolve(self, reference: str) -> LockedBase:
        result = subprocess.run(
            self.command(*self.options, "inspect", "--raw", f"docker://{reference}"),
            capture_output=True,
            env=environment(),
            check=False,
        )
        if result.returncode != 0:
            detail = result.stderr.decode(errors="replace").strip().splitlines()
            raise BuildError(
                f"no registry answers for {reference} ({detail[-1] if detail else 'no message'})"
            )
        return locked_from_raw(reference, result.stdout, time.time())


def skopeo_resolver(run: Runner) -> SkopeoResolver:
    """Debian 13's skopeo, in its chroot (root), as the releases use it."""
    skopeo = ChrootSkopeo(run)
    return SkopeoResolver(skopeo.command, skopeo.registries_args())


def moved(lock: BaseLock, resolver: Resolver, now: float) -> list[str]:
    """Each locked tag that names another index now, a line each (`nox -s lock -- --check`)."""
    lines = []
    for entry in lock.bases.values():
        current = resolver.resolve(entry.reference)
        if current.index != entry.index:
            lines.append(
                f"{entry.reference} moved: {entry.index} → {current.index}, resolved "
                f"{entry.age_days(now)} days ago"
            )
    return lines


def lock_upstream(path: Path, resolver: Resolver) -> BaseLock:
    """Resolve every base's upstream tag now and write the lock (`nox -s lock`)."""
    lock = BaseLock.read(path)
    for name, base in BASES.items():
        lock = lock.with_entry(name, resolver.resolve(base.upstream))
    lock.write(path)
    return lock


def pinned_upstream(
    references: Mapping[str, str],
    *,
    path: Path,
    frozen: bool,
    resolver: Callable[[], Resolver],
    say: Callable[[str], None],
) -> dict[str, str]:
    """Each base's reference as an online build pulls it: `NAME:TAG@sha256:INDEX` from the
    lock; a reference that already names a digest as it is. A base the lock lacks is
    resolved and written (`frozen`: refused)."""
    lock = BaseLock.read(path)
    pinned, added = {}, []
    for name, reference in references.items():
        if "@" in reference:
            pinned[name] = reference
            continue
        entry = lock.entry(name, reference)
        if entry is None:
            if frozen:
                raise BuildError(
                    f"{path.name} locks no digest for {reference}, and frozen builds "
                    f"(MOSCOW_TIME_FROZEN=1) resolve none: run `nox -s lock` where a registry "
                    f"answers, and commit {path.name}"
                )
            entry = resolver().resolve(reference)
            lock = lock.with_entry(name, entry)
            added.append(entry)
        pinned[name] = entry.pinned
    if added:
        lock.write(path)
        names = ", ".join(f"{entry.reference} = {entry.index}" for entry in added)
        say(f"locked {names} in {path.name}: commit it, so that every build takes these")
    return pinned


def lock_rows(lock: BaseLock, now: float) -> list[list[str]]:
    """The lock as table rows, for `nox -s lock`'s report."""
    rows = [["base", "tag", "index", "platforms", "resolved"]]
    for name, entry in sorted(lock.bases.items()):
        age = f"{entry.resolved_at} ({entry.age_days(now)} days ago)"
        rows.append([name, entry.reference, entry.index, ", ".join(entry.platforms), age])
    return rows
