"""tools.inputs.debs against a real HTTP mirror on 127.0.0.1: cache, checks, relock message."""

from __future__ import annotations

import hashlib
import lzma
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tooling.debmirror import CONTENT, DEB, a_deb, served
from tools.inputs import debs
from tools.inputs.aptlock import Deb, Lock, stanzas
from tools.process import BuildError
from tools.settings import DEB_CACHE_ENV, MIRRORS_ENV, SNAPSHOT_ENV


@pytest.fixture
def mirror(tmp_path: Path) -> Iterator[dict[str, str]]:
    """A Debian-shaped mirror on loopback holding DEB and an index naming a newer passwd."""
    root = tmp_path / "mirror" / "debian"
    (root / "pool/main/s/shadow").mkdir(parents=True)
    (root / DEB.filename).write_bytes(CONTENT)
    for suite in ("trixie", "trixie-updates"):
        index = root / "dists" / suite / "main" / "binary-amd64"
        index.mkdir(parents=True)
        version = "1:4.17.4-2+deb13u2" if suite == "trixie-updates" else DEB.version
        text = f"Package: passwd\nVersion: {version}\nArchitecture: amd64\n"
        (index / "Packages.xz").write_bytes(lzma.compress(text.encode()))
    with served(root.parent) as url:
        yield {"debian": f"{url}/debian"}


LOCKED_AT = "2026-11-27T14:06:49Z"
OLD_CONTENT = b"!<arch>\nthe version the mirror no longer has\n"
#: A version the mirror has dropped, as a lock taken earlier names it.
SUPERSEDED = Deb(
    **{**DEB.__dict__, "version": "1:4.17.4-1", "size": len(OLD_CONTENT)}
    | {
        "sha256": hashlib.sha256(OLD_CONTENT).hexdigest(),
        "filename": "pool/main/s/shadow/passwd_4.17.4-1_amd64.deb",
    }
)


@pytest.fixture
def snapshot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A loopback server laid out as Debian's snapshot archive, holding SUPERSEDED as the
    archive was at LOCKED_AT; $MOSCOW_TIME_DEBIAN_SNAPSHOT names it. Yields the file."""
    root = tmp_path / "snapshot"
    file = root / "archive" / "debian" / "20261127T140649Z" / debs.pool_path(SUPERSEDED)
    file.parent.mkdir(parents=True)
    file.write_bytes(OLD_CONTENT)
    with served(root) as url:
        monkeypatch.setenv(SNAPSHOT_ENV, f"{url}/")
        yield file


@pytest.fixture(autouse=True)
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(DEB_CACHE_ENV, str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_a_fetched_deb_is_checked_and_cached_by_its_sha256(
    mirror: dict[str, str], cache: Path
) -> None:
    fetched = debs.fetch(DEB, "standins/slim.amd64.lock", mirror)
    assert fetched == cache / f"{DEB.sha256}.deb"
    assert fetched.read_bytes() == CONTENT
    cached = debs.fetch(DEB, "standins/slim.amd64.lock", {})
    assert cached == fetched, "a cache hit needs no mirror"


def test_an_edited_hash_stops_the_build_naming_the_file_and_package(
    mirror: dict[str, str], cache: Path
) -> None:
    edited = Deb(**{**DEB.__dict__, "sha256": "0" * 64})
    with pytest.raises(BuildError, match=r"passwd_4\.17\.4-2_amd64\.deb.*passwd 1:4\.17\.4-2"):
        debs.fetch(edited, "standins/slim.amd64.lock", mirror)
    assert not list(cache.glob("*")), "nothing unchecked is kept"


def test_a_version_the_mirror_lacks_says_what_debian_has_and_how_to_relock(
    mirror: dict[str, str],
) -> None:
    gone = Deb(**{**DEB.__dict__, "version": "1:4.17.4-1"})
    with pytest.raises(debs.DebGoneError) as raised:
        debs.fetch(gone, "standins/slim.amd64.lock", mirror)
    message = str(raised.value)
    assert "\n" not in message
    assert "passwd 1:4.17.4-1 (standins/slim.amd64.lock) is no longer on the mirror" in message
    assert "Debian now has 1:4.17.4-2+deb13u2" in message
    assert "nox -s lock" in message
    assert "MOSCOW_TIME_DEBIAN_SNAPSHOT=URL" in message


def test_a_deb_the_mirror_dropped_comes_from_the_snapshot_as_of_the_lock(
    mirror: dict[str, str], snapshot: Path, cache: Path
) -> None:
    fetched = debs.fetch(SUPERSEDED, "standins/slim.amd64.lock", mirror, locked_at=LOCKED_AT)
    assert fetched == cache / f"{SUPERSEDED.sha256}.deb"
    assert fetched.read_bytes() == OLD_CONTENT


def test_a_wrong_file_on_the_snapshot_is_refused_by_its_hash(
    mirror: dict[str, str], snapshot: Path, cache: Path
) -> None:
    snapshot.write_bytes(b"!<arch>\nsomething else entirely\n")
    with pytest.raises(BuildError, match=r"passwd_4\.17\.4-1_amd64\.deb: sha256 .* is not the"):
        debs.fetch(SUPERSEDED, "standins/slim.amd64.lock", mirror, locked_at=LOCKED_AT)
    assert not list(cache.glob("*")), "nothing unchecked is kept"


def test_a_deb_neither_mirror_nor_snapshot_has_says_both(
    mirror: dict[str, str], snapshot: Path
) -> None:
    other_time = "2026-10-01T00:00:00Z"  # no snapshot there
    with pytest.raises(debs.DebGoneError) as gone:
        debs.fetch(SUPERSEDED, "standins/slim.amd64.lock", mirror, locked_at=other_time)
    assert str(gone.value) == (
        "passwd 1:4.17.4-1 (standins/slim.amd64.lock) is no longer on the mirror nor on the "
        f"snapshot archive; Debian now has 1:4.17.4-2+deb13u2: {debs.RELOCK}"
    )


def test_the_snapshot_url_is_the_archives_layout_at_the_locks_time() -> None:
    url = debs.snapshot_url("http://snapshot.invalid/", SUPERSEDED, LOCKED_AT)
    assert url == (
        "http://snapshot.invalid/archive/debian/20261127T140649Z/"
        "pool/main/s/shadow/passwd_4.17.4-1_amd64.deb"
    )


def test_an_archive_with_no_known_mirror_says_how_to_name_one() -> None:
    with pytest.raises(BuildError, match="MOSCOW_TIME_DEBIAN_MIRRORS"):
        debs.fetch(DEB, "standins/slim.amd64.lock", {})


def test_a_corrupt_cached_file_is_refused(cache: Path) -> None:
    cache.mkdir(parents=True)
    (cache / f"{DEB.sha256}.deb").write_bytes(b"tampered")
    with pytest.raises(BuildError) as refused:
        debs.fetch(DEB, "standins/slim.amd64.lock", {})
    assert str(refused.value) == (
        f"{DEB.basename}: sha256 {hashlib.sha256(b'tampered').hexdigest()} is not the "
        f"{DEB.sha256} that standins/slim.amd64.lock locks for passwd 1:4.17.4-2; "
        f"if the lock was edited, {debs.RELOCK}"
    )


def test_with_no_mirrors_given_the_hosts_are_asked(
    mirror: dict[str, str], monkeypatch: pytest.MonkeyPatch, cache: Path
) -> None:
    monkeypatch.setattr(debs, "mirrors", lambda: mirror)
    assert debs.fetch(DEB, "standins/slim.amd64.lock").read_bytes() == CONTENT


def test_without_the_locks_time_the_snapshot_is_not_asked(
    mirror: dict[str, str], snapshot: Path
) -> None:
    with pytest.raises(debs.DebGoneError) as gone:
        debs.fetch(SUPERSEDED, "standins/slim.amd64.lock", mirror, locked_at=None)
    assert "no longer on the mirror nor on the snapshot archive; Debian now has" in str(gone.value)


def test_mirrors_come_from_the_hosts_apt_indexes_or_the_environment() -> None:
    uris = [
        "http://mirror.invalid/debian/dists/bookworm/main/binary-amd64/Packages",
        "http://mirror.invalid/debian-security/dists/bookworm-security/main/binary-amd64/Packages",
        "cdrom://x/dists/y",
    ]
    assert debs.host_mirrors(uris) == {
        "debian": "http://mirror.invalid/debian",
        "debian-security": "http://mirror.invalid/debian-security",
    }
    assert debs.parse_mirrors("debian=http://a/debian/, debian-security=http://b/ds") == {
        "debian": "http://a/debian",
        "debian-security": "http://b/ds",
    }


def test_the_pool_path_follows_the_locked_version() -> None:
    assert debs.pool_path(DEB) == DEB.filename
    edited = Deb(**{**DEB.__dict__, "version": "1:9.9"})
    assert debs.pool_path(edited) == "pool/main/s/shadow/passwd_9.9_amd64.deb"
    no_epoch = Deb(**{**DEB.__dict__, "version": "9.9-1"})
    assert debs.pool_path(no_epoch) == "pool/main/s/shadow/passwd_9.9-1_amd64.deb"


def test_a_download_lands_beside_the_cache_as_a_part_file_first(
    mirror: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    nested = tmp_path / "home" / ".cache" / "debs"
    monkeypatch.setenv(DEB_CACHE_ENV, str(nested))
    partials: list[Path] = []
    download = debs.download

    def recorded(url: str, destination: Path) -> bool:
        partials.append(destination)
        return download(url, destination)

    monkeypatch.setattr(debs, "download", recorded)
    assert debs.fetch(DEB, "slim.lock", mirror).read_bytes() == CONTENT
    [partial] = partials
    assert (partial.parent, partial.suffix) == (nested, ".part"), (
        "renamed into the cache in one step, on the same file system"
    )
    assert sorted(nested.iterdir()) == [nested / f"{DEB.sha256}.deb"]


def a_real_deb(directory: Path, package: str, version: str) -> Path:
    """A minimal .deb, made by dpkg-deb, so apt-ftparchive indexes it as it would Debian's."""
    tree = directory / package
    (tree / "DEBIAN").mkdir(parents=True)
    (tree / "DEBIAN" / "control").write_text(
        f"Package: {package}\nVersion: {version}\nArchitecture: all\n"
        "Maintainer: moscow-time <test@invalid>\nDescription: a test package\n"
    )
    built = directory / f"{package}.deb"
    subprocess.run(
        ["dpkg-deb", "--root-owner-group", "--build", str(tree), str(built)],
        check=True,
        capture_output=True,
    )
    return built


def test_the_local_repository_holds_exactly_the_locked_debs_for_mmdebstrap(
    tmp_path: Path, cache: Path, mirror: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(MIRRORS_ENV, f"debian={mirror['debian']}")
    built = a_real_deb(tmp_path, "hello-moscow", "1.0-1")
    content = built.read_bytes()
    deb = Deb(
        "hello-moscow", "1.0-1", "all", "trixie", "debian", len(content),
        hashlib.sha256(content).hexdigest(), "pool/main/h/hello-moscow/hello-moscow_1.0-1_all.deb",
    )  # fmt: skip
    cache.mkdir()
    (cache / f"{deb.sha256}.deb").write_bytes(content)
    repository = tmp_path / "repository"
    repository.mkdir()
    (repository / "left-over.deb").write_bytes(b"from an earlier build")
    lock = Lock("2026-11-27T14:06:49Z", (deb, DEB))
    made = debs.local_repository(lock, "standins/slim.amd64.lock", repository)
    assert made == repository
    assert sorted(path.name for path in made.iterdir()) == sorted(
        [deb.basename, DEB.basename, "Packages", "Release"]
    ), "the earlier build's file is gone; the mirror's DEB was fetched"
    assert (made / DEB.basename).read_bytes() == CONTENT
    [indexed] = [s for s in stanzas((made / "Packages").read_text()) if s.get("Package")]
    assert (indexed["Package"], indexed["Version"], indexed["SHA256"]) == (
        "hello-moscow", "1.0-1", deb.sha256,
    )  # fmt: skip
    [release, *_] = stanzas((made / "Release").read_text())
    assert (release["Suite"], release["Codename"]) == ("trixie", "trixie")


def test_an_index_apt_ftparchive_cannot_write_stops_the_build_saying_why(
    tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tools = tmp_path / "bin"
    tools.mkdir()
    (tools / "apt-ftparchive").write_text("#!/bin/sh\necho 'E: out of disk' >&2\nexit 100\n")
    (tools / "apt-ftparchive").chmod(0o755)
    monkeypatch.setenv("PATH", f"{tools}:/usr/bin:/bin")
    with pytest.raises(BuildError) as failed:
        debs.local_repository(Lock(LOCKED_AT, ()), "slim.lock", tmp_path / "repo")
    assert str(failed.value) == (
        f"apt-ftparchive packages failed in {tmp_path / 'repo'}: E: out of disk "
        "(it comes with apt-utils: bin/setup installs it)"
    )


def test_the_local_repository_asks_for_mirrors_only_when_the_cache_lacks_a_deb(
    tmp_path: Path, cache: Path, mirror: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[str] = []

    def mirrors() -> dict[str, str]:
        asked.append("mirrors")
        return mirror

    monkeypatch.setattr(debs, "mirrors", mirrors)
    login = a_deb("login", b"!<arch>\nlogin's own bytes\n")
    (tmp_path / "mirror" / "debian" / login.filename).write_bytes(b"!<arch>\nlogin's own bytes\n")
    lock = Lock(LOCKED_AT, (DEB, login))
    debs.local_repository(lock, "standins/slim.amd64.lock", tmp_path / "first" / "repo")
    assert asked == ["mirrors"], "asked once for both"
    debs.local_repository(lock, "standins/slim.amd64.lock", tmp_path / "second")
    assert asked == ["mirrors"], "the second time, the cache has them"
    assert (tmp_path / "second" / DEB.basename).read_bytes() == CONTENT


def test_the_local_repository_takes_a_dropped_deb_from_the_snapshot_and_names_its_lock(
    tmp_path: Path, mirror: dict[str, str], snapshot: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(debs, "mirrors", lambda: mirror)
    made = debs.local_repository(Lock(LOCKED_AT, (SUPERSEDED,)), "slim.lock", tmp_path / "r")
    assert (made / SUPERSEDED.basename).read_bytes() == OLD_CONTENT
    snapshot.write_bytes(b"!<arch>\nsomething else\n")
    edited = Deb(**{**SUPERSEDED.__dict__, "sha256": "1" * 64})
    with pytest.raises(BuildError, match=r" that standins/x\.lock locks for passwd"):
        debs.local_repository(Lock(LOCKED_AT, (edited,)), "standins/x.lock", tmp_path / "r")
