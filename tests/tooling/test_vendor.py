"""tools.inputs.debs.fetch_locked and vendor: every .deb a checkout's locks name, fetched
once through a loopback mirror, and the vendored copy an offline machine is filled from."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from tooling.debmirror import CONTENT, DEB, a_deb, served
from tools.inputs import debs
from tools.inputs.aptlock import Deb, Lock
from tools.process import BuildError
from tools.settings import DEB_CACHE_ENV, SNAPSHOT_ENV

LOGIN_BYTES = b"!<arch>\nlogin, for arm64\n"
LOGIN = a_deb("login", LOGIN_BYTES, "arm64")


@pytest.fixture
def mirror(tmp_path: Path) -> Iterator[dict[str, str]]:
    """A loopback mirror holding DEB and LOGIN."""
    root = tmp_path / "mirror" / "debian"
    for deb, content in ((DEB, CONTENT), (LOGIN, LOGIN_BYTES)):
        (root / deb.filename).parent.mkdir(parents=True, exist_ok=True)
        (root / deb.filename).write_bytes(content)
    with served(root.parent) as url:
        yield {"debian": f"{url}/debian"}


@pytest.fixture
def asked(monkeypatch: pytest.MonkeyPatch, mirror: dict[str, str]) -> list[str]:
    """Each time the host's mirrors are looked up."""
    calls: list[str] = []

    def mirrors() -> dict[str, str]:
        calls.append("mirrors")
        return mirror

    monkeypatch.setattr(debs, "mirrors", mirrors)
    return calls


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(DEB_CACHE_ENV, str(tmp_path / "cache"))
    return tmp_path / "cache"


def a_checkout(root: Path, locks: dict[str, tuple[Deb, ...]]) -> Path:
    """A checkout holding these locks, by path under it."""
    for name, locked in locks.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(Lock("2026-11-27T14:06:49Z", locked).text("slim"))
    return root


def test_every_lock_of_a_checkout_is_fetched_asking_for_mirrors_once(
    tmp_path: Path, cache: Path, asked: list[str]
) -> None:
    checkout = a_checkout(
        tmp_path / "checkout",
        {"standins/slim.amd64.lock": (DEB,), "standins/distroless.arm64.lock": (LOGIN,)},
    )
    fetched = debs.fetch_locked(checkout)
    assert sorted(fetched) == sorted([cache / f"{DEB.sha256}.deb", cache / f"{LOGIN.sha256}.deb"])
    assert [path.read_bytes() for path in sorted(fetched)] == [
        content for _, content in sorted([(DEB.sha256, CONTENT), (LOGIN.sha256, LOGIN_BYTES)])
    ]
    assert asked == ["mirrors"], "once for the run, not once per lock or per .deb"
    assert debs.fetch_locked(checkout) == fetched
    assert asked == ["mirrors"], "the cache has them all: no mirror is needed"


def test_an_older_commits_locks_are_found_where_it_kept_them(
    tmp_path: Path, cache: Path, asked: list[str]
) -> None:
    older = a_checkout(tmp_path / "older", {"bases/slim.amd64.lock": (DEB,)})
    assert debs.fetch_locked(older) == [cache / f"{DEB.sha256}.deb"]
    assert debs.fetch_locked(tmp_path / "empty") == [], "no locks, nothing fetched"


def test_a_lock_that_does_not_parse_is_named_by_its_file(
    tmp_path: Path, cache: Path, asked: list[str]
) -> None:
    checkout = tmp_path / "checkout"
    (checkout / "standins").mkdir(parents=True)
    (checkout / "standins" / "slim.arm64.lock").write_text("not a lock\n")
    with pytest.raises(BuildError, match=r"^slim\.arm64\.lock:1: not a lock line"):
        debs.fetch_locked(checkout)


def test_vendoring_copies_each_deb_once_by_its_cache_name(
    tmp_path: Path, cache: Path, asked: list[str]
) -> None:
    checkout = a_checkout(
        tmp_path / "checkout",
        {"standins/slim.amd64.lock": (DEB,), "standins/slim.arm64.lock": (DEB, LOGIN)},
    )
    vendored = tmp_path / "usb" / "debs"
    assert debs.vendor(vendored, checkout) == 2, "the bases share DEB: it counts once"
    assert sorted(path.name for path in vendored.iterdir()) == sorted(
        [f"{DEB.sha256}.deb", f"{LOGIN.sha256}.deb"]
    )
    assert (vendored / f"{LOGIN.sha256}.deb").read_bytes() == LOGIN_BYTES
    assert debs.vendor(vendored, checkout) == 2, "again: the same, nothing added"
    assert len(list(vendored.iterdir())) == 2


def test_each_deb_is_checked_against_its_own_lock_and_taken_from_the_snapshot_as_of_it(
    tmp_path: Path, cache: Path, asked: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    dropped = a_deb("dropped", b"!<arch>\nonly the snapshot keeps this\n")
    kept = tmp_path / "snapshot" / "archive" / "debian" / "20261127T140649Z" / dropped.filename
    kept.parent.mkdir(parents=True)
    kept.write_bytes(b"!<arch>\nonly the snapshot keeps this\n")
    checkout = a_checkout(tmp_path / "checkout", {"standins/slim.arm64.lock": (dropped,)})
    with served(tmp_path / "snapshot") as url:
        monkeypatch.setenv(SNAPSHOT_ENV, url)
        assert debs.fetch_locked(checkout) == [cache / f"{dropped.sha256}.deb"]
    edited = dataclasses.replace(DEB, sha256="0" * 64)
    checkout = a_checkout(tmp_path / "edited", {"standins/distroless.amd64.lock": (edited,)})
    with pytest.raises(BuildError, match=r" that distroless\.amd64\.lock locks for passwd "):
        debs.fetch_locked(checkout)
