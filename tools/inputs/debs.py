"""The locked .debs: the cache, the mirror, sha256 checks, and the local repository.

Every .deb of a lock is taken from the cache (~/.cache/moscow-time/debs,
keyed by sha256) or downloaded from a Debian mirror, and checked against its
locked size and sha256 before use. `local_repository` then lays them out as a
flat apt repository that mmdebstrap installs from, so nothing is resolved
against a live index. Mirrors come from the host's apt configuration (no host
name is written in this repository), or from $MOSCOW_TIME_DEBIAN_MIRRORS; a
.deb the mirror no longer has comes from Debian's snapshot archive as of the
lock's time, if $MOSCOW_TIME_DEBIAN_SNAPSHOT names one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import lzma
import os
import re
import shutil
import subprocess
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping
from pathlib import Path

from tools.inputs.aptlock import (
    SUITES,
    Deb,
    Lock,
    debian_lock_paths,
    parse_lock,
    stanzas,
)
from tools.model import SUITE
from tools.paths import ROOT
from tools.process import BuildError, capture, environment
from tools.settings import DEB_CACHE_ENV, MIRRORS_ENV, SNAPSHOT_ENV, user_cache, vendor_dir

RELOCK = "relock with `nox -s lock` (docs/reproducibility.md: updating the lock)"
#: Seconds a mirror may keep silent before it counts as unreachable.
TIMEOUT = 60.0


class DebGoneError(BuildError):
    """A locked .deb that no mirror serves any more; the message says how to relock."""


def cache_dir() -> Path:
    """Where fetched .debs are kept, outside any checkout, so clones share them."""
    if configured := os.environ.get(DEB_CACHE_ENV):
        return Path(configured)
    if vendored := vendor_dir():
        return vendored / "debs"
    return user_cache() / "debs"


def cached_path(deb: Deb) -> Path:
    return cache_dir() / f"{deb.sha256}.deb"


def sha256_of(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def pool_path(deb: Deb) -> str:
    """The locked file's path on a mirror, as Debian names a package's file in its pool."""
    version = deb.version.split(":", 1)[-1]
    return f"{deb.filename.rsplit('/', 1)[0]}/{deb.package}_{version}_{deb.architecture}.deb"


def parse_mirrors(text: str) -> dict[str, str]:
    """`debian=URL debian-security=URL` (spaces or commas) → archive → base URL."""
    pairs = (item.split("=", 1) for item in re.split(r"[\s,]+", text.strip()) if "=" in item)
    return {archive: url.rstrip("/") for archive, url in pairs}


def host_mirrors(index_uris: Iterable[str]) -> dict[str, str]:
    """Archive → base URL, from the URIs of the host's apt indexes (`apt-get indextargets`)."""
    found: dict[str, str] = {}
    for uri in index_uris:
        base = uri.split("/dists/", 1)[0]
        if "/dists/" in uri and base.startswith(("http://", "https://")):
            found.setdefault(base.rsplit("/", 1)[-1], base)
    return found


def mirrors() -> dict[str, str]:
    """Where to download each archive's pool files from."""
    if configured := os.environ.get(MIRRORS_ENV):
        return parse_mirrors(configured)
    uris = capture("apt-get", "indextargets", "--format", "$(URI)", check=False).splitlines()
    return host_mirrors(uris)


def download(url: str, destination: Path) -> bool:
    """Fetch url into destination; False if the mirror has no such file."""
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT) as response, destination.open("wb") as f:  # noqa: S310 -- the mirror's http(s) URL
            shutil.copyfileobj(response, f)
    except urllib.error.HTTPError as error:
        error.close()  # its body is not read; keep no socket open
        if error.code in (403, 404, 410):
            return False
        raise BuildError(f"{url}: HTTP {error.code}; try again later") from error
    except OSError as error:
        raise BuildError(
            f"{url}: {error}. Offline? Fill the cache on a connected machine with "
            f"`nox -s vendor -- DIR`, then set {DEB_CACHE_ENV}=DIR/debs"
        ) from error
    return True


def current_version(deb: Deb, where: Mapping[str, str]) -> str:
    """The version Debian offers now for a package, for the relock message."""
    arch = deb.architecture if deb.architecture != "all" else "amd64"
    for suite in reversed(SUITES):
        archive = "debian-security" if suite.endswith("-security") else "debian"
        if archive not in where:
            continue
        url = f"{where[archive]}/dists/{suite}/main/binary-{arch}/Packages.xz"
        try:
            with urllib.request.urlopen(url, timeout=TIMEOUT) as response:  # noqa: S310
                text = lzma.decompress(response.read()).decode()
        except urllib.error.HTTPError as error:
            error.close()
            continue
        except (OSError, lzma.LZMAError):
            continue
        for fields in stanzas(text):
            if fields.get("Package") == deb.package:
                return fields["Version"]
    return "none"


def check(deb: Deb, path: Path, lock_name: str) -> None:
    """The file must be the locked one: its size and sha256, or the build stops."""
    digest = sha256_of(path)
    if path.stat().st_size != deb.size or digest != deb.sha256:
        raise BuildError(
            f"{deb.basename}: sha256 {digest} is not the {deb.sha256} that {lock_name} locks "
            f"for {deb.package} {deb.version}; if the lock was edited, {RELOCK}"
        )


def snapshot_url(base: str, deb: Deb, locked_at: str) -> str:
    """Where Debian's snapshot archive serves the locked file, as the archive was when the
    lock was taken (the archive's URL layout: /archive/ARCHIVE/YYYYMMDDTHHMMSSZ/pool/…)."""
    moment = dt.datetime.fromisoformat(locked_at)
    stamp = moment.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{base.rstrip('/')}/archive/{deb.archive}/{stamp}/{pool_path(deb)}"


def from_snapshot(deb: Deb, locked_at: str | None, partial: Path) -> bool:
    """Fetch a .deb the mirror lacks from the snapshot archive, if one is configured."""
    base = os.environ.get(SNAPSHOT_ENV)
    if not base or not locked_at:
        return False
    return download(snapshot_url(base, deb, locked_at), partial)


def fetch(
    deb: Deb,
    lock_name: str,
    where: Mapping[str, str] | None = None,
    *,
    locked_at: str | None = None,
) -> Path:
    """The locked .deb, from the cache, a mirror or (once the mirror has moved on) Debian's
    snapshot archive as of `locked_at`, checked against the lock whichever it came from."""
    cached = cached_path(deb)
    if cached.exists():
        check(deb, cached, lock_name)
        return cached
    where = mirrors() if where is None else where
    if deb.archive not in where:
        raise BuildError(
            f"no mirror known for the {deb.archive!r} archive: set {MIRRORS_ENV}="
            f"'{deb.archive}=http://…/{deb.archive}'"
        )
    cached.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=cached.parent, suffix=".part", delete=False) as part:
        partial = Path(part.name)
    try:
        mirrored = download(f"{where[deb.archive]}/{pool_path(deb)}", partial)
        if not mirrored and not from_snapshot(deb, locked_at, partial):
            elsewhere = (
                "nor on the snapshot archive"
                if os.environ.get(SNAPSHOT_ENV)
                else f"(Debian's snapshot archive keeps it: set {SNAPSHOT_ENV}=URL)"
            )
            raise DebGoneError(
                f"{deb.package} {deb.version} ({lock_name}) is no longer on the mirror "
                f"{elsewhere}; Debian now has {current_version(deb, where)}: {RELOCK}"
            )
        check(deb, partial, lock_name)
        partial.replace(cached)
    finally:
        partial.unlink(missing_ok=True)
    return cached


def fetch_locked(root: Path = ROOT) -> list[Path]:
    """Every .deb the locks of a checkout name (the stand-ins', the toolchain's), fetched and
    checked; stops at the first gone.

    `root` may be an older commit's worktree, whose locks are in bases/ (as they were
    before the folder was named standins/).
    """
    fetched, where = [], None
    for locked in (path.relative_to(ROOT) for path in debian_lock_paths()):
        path = next((p for p in (root / locked, root / "bases" / locked.name) if p.exists()), None)
        if path is None:
            continue
        lock = parse_lock(path.read_text(), path.name)
        for deb in lock.debs:
            if not cached_path(deb).exists() and where is None:
                where = mirrors()
            fetched.append(fetch(deb, path.name, where, locked_at=lock.locked_at))
    return fetched


def vendor(directory: Path, root: Path = ROOT) -> int:
    """Copy every locked .deb of the checkout at `root` into directory, named as the cache
    names them; how many."""
    directory.mkdir(parents=True, exist_ok=True)
    fetched = set(fetch_locked(root))  # the bases share some packages
    for path in fetched:
        if not (directory / path.name).exists():
            shutil.copyfile(path, directory / path.name)
    return len(fetched)


def local_repository(lock: Lock, lock_name: str, directory: Path) -> Path:
    """A flat apt repository of exactly the locked .debs, for mmdebstrap to install from."""
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    where: dict[str, str] | None = None
    for deb in lock.debs:
        if not cached_path(deb).exists() and where is None:
            where = mirrors()
        fetched = fetch(deb, lock_name, where, locked_at=lock.locked_at)
        shutil.copyfile(fetched, directory / deb.basename)
    ftparchive = ["apt-ftparchive", "-o", f"APT::FTPArchive::Release::Suite={SUITE}"]
    ftparchive += ["-o", f"APT::FTPArchive::Release::Codename={SUITE}"]
    for index, command in (("Packages", "packages"), ("Release", "release")):
        # A Release naming the suite: mmdebstrap finds the essential set by it.
        made = subprocess.run(
            [*ftparchive, command, "."],
            cwd=directory,
            capture_output=True,
            text=True,
            env=environment(),
            check=False,
        )
        if made.returncode != 0:
            raise BuildError(
                f"apt-ftparchive {command} failed in {directory}: {made.stderr.strip()} "
                "(it comes with apt-utils: bin/setup installs it)"
            )
        (directory / index).write_text(made.stdout)
    return directory
