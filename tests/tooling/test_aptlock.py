"""tools.inputs.aptlock: the Debian lock's format, its resolution from apt's indexes, and drift."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest

from tools.inputs import aptlock
from tools.inputs.aptlock import Deb, Lock
from tools.model import BASES, PLATFORMS, Platform
from tools.paths import ROOT
from tools.process import BuildError

PASSWD = Deb(
    "passwd",
    "1:4.17.4-2",
    "amd64",
    "trixie",
    "debian",
    1228000,
    "a" * 64,
    "pool/main/s/shadow/passwd_4.17.4-2_amd64.deb",
)
PASSWD_FIX = Deb(
    "passwd",
    "1:4.17.4-2+deb13u1",
    "amd64",
    "trixie-security",
    "debian-security",
    1228272,
    "b" * 64,
    "pool/updates/main/s/shadow/passwd_4.17.4-2+deb13u1_amd64.deb",
)
LOCKED = "# locked-at: 2026-11-27T14:05:51Z"
LIBC = Deb("libc6", "2.41-12", "amd64", "trixie", "debian", 2, "c" * 64, "pool/main/g/glibc/x.deb")


def packages_index(*debs: Deb) -> str:
    return "\n\n".join(
        f"Package: {d.package}\nVersion: {d.version}\nArchitecture: {d.architecture}\n"
        f"Description: a package\n with a continuation line\n"
        f"Filename: {d.filename}\nSize: {d.size}\nSHA256: {d.sha256}"
        for d in debs
    )


def test_a_lock_reads_back_as_it_was_written() -> None:
    lock = Lock("2026-11-27T14:05:51Z", (PASSWD, LIBC))
    again = aptlock.parse_lock(lock.text("the slim stand-in"), "slim.amd64.lock")
    assert again == Lock("2026-11-27T14:05:51Z", (LIBC, PASSWD))
    headless = aptlock.parse_lock(PASSWD.line(), "slim.amd64.lock")
    assert headless == Lock("", (PASSWD,)), "no locked-at line: no time"


def test_a_missing_or_broken_lock_names_its_path_and_how_to_write_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(aptlock, "ROOT", tmp_path)
    monkeypatch.setattr(aptlock, "STANDIN_RECIPES", tmp_path / "standins")
    amd64 = PLATFORMS["linux/amd64"]
    with pytest.raises(BuildError) as missing:
        aptlock.read_lock("slim", amd64)
    assert str(missing.value) == (
        "standins/slim.amd64.lock is missing: write it (and every platform's) with `nox -s lock`"
    )
    (tmp_path / "standins").mkdir()
    (tmp_path / "standins" / "slim.amd64.lock").write_text(f"{LOCKED}\nbroken\n")
    with pytest.raises(BuildError, match=r"^standins/slim\.amd64\.lock:2: not a lock line"):
        aptlock.read_lock("slim", amd64)


@pytest.mark.parametrize(
    "line",
    [
        "passwd 1:4.17.4-2 amd64 trixie debian 12 zzzz pool/x.deb",  # not a sha256
        "passwd 1:4.17.4-2 amd64 trixie debian big " + "a" * 64 + " pool/x.deb",  # size
        "passwd 1:4.17.4-2 amd64",  # too few fields
    ],
)
def test_a_malformed_lock_line_is_an_error_naming_the_line(line: str) -> None:
    with pytest.raises(BuildError, match=r"standins/slim\.amd64\.lock:2: not a lock line"):
        aptlock.parse_lock(f"# header\n{line}\n", "standins/slim.amd64.lock")


@pytest.mark.parametrize(
    ("name", "origin"),
    [
        ("mirror.invalid_debian_dists_trixie_main_binary-amd64_Packages", ("debian", "trixie")),
        (
            "security.mirror.invalid_debian-security_dists_trixie-security_main_binary-amd64_Packages",
            ("debian-security", "trixie-security"),
        ),
        ("mirror.invalid_debian_dists_trixie_InRelease", None),
    ],
)
def test_an_apt_list_names_its_archive_and_suite_but_the_host_is_dropped(
    name: str, origin: tuple[str, str] | None
) -> None:
    assert aptlock.list_origin(name) == origin


def test_a_control_field_is_split_at_its_first_colon_and_continuations_are_no_fields() -> None:
    text = "Package: a\nDescription: note: colons\n see: this\n\tand: that\n\n\nPackage: b\n"
    assert list(aptlock.stanzas(text)) == [
        {"Package": "a", "Description": "note: colons"},
        {"Package": "b"},
    ]


def test_a_nested_archive_path_is_kept() -> None:
    name = "mirror.invalid_pub_debian_dists_trixie_main_binary-arm64_Packages"
    assert aptlock.list_origin(name) == ("pub/debian", "trixie")


def test_a_version_several_suites_offer_is_locked_from_the_first_of_them() -> None:
    elsewhere = dataclasses.replace(LIBC, filename="pool/elsewhere/x.deb")
    lists = {
        "h_debian_dists_sid_main_binary-amd64_Packages": packages_index(elsewhere),
        "h_debian-security_dists_trixie-security_main_binary-amd64_Packages": packages_index(
            dataclasses.replace(PASSWD, filename="pool/updates/p.deb")
        ),
        "h_debian_dists_trixie-updates_main_binary-amd64_Packages": packages_index(
            dataclasses.replace(PASSWD, filename="pool/upd/p.deb")
        ),
        "h_debian_dists_trixie_main_binary-amd64_Packages": packages_index(PASSWD, LIBC),
    }
    used = [("passwd", PASSWD.version, "amd64"), ("libc6", LIBC.version, "amd64")]
    lock = aptlock.resolve(used, lists, "2026-11-27T14:05:51Z")
    assert lock == Lock("2026-11-27T14:05:51Z", (LIBC, PASSWD))
    alone = {"h_debian_dists_sid_main_binary-amd64_Packages": packages_index(elsewhere)}
    assert aptlock.resolve(used[1:], alone, "t").debs == (
        dataclasses.replace(elsewhere, suite="sid"),
    ), "a suite mmdebstrap does not use comes last, yet still counts"


def test_a_version_is_locked_from_the_first_suite_that_offers_it() -> None:
    lists = {
        "h_debian-security_dists_trixie-security_main_binary-amd64_Packages": packages_index(
            PASSWD_FIX
        ),
        "h_debian_dists_trixie_main_binary-amd64_Packages": packages_index(PASSWD, LIBC),
    }
    used = {("passwd", "1:4.17.4-2+deb13u1", "amd64"), ("libc6", "2.41-12", "amd64")}
    lock = aptlock.resolve(used, lists, "2026-11-27T14:05:51Z")
    assert lock.debs == (LIBC, PASSWD_FIX)


def test_a_package_no_index_offers_is_an_error() -> None:
    with pytest.raises(BuildError) as raised:
        aptlock.resolve([("ghost", "1", "all"), ("spook", "2", "arm64")], {}, "now")
    assert str(raised.value) == "not in the apt indexes of the run: ghost 1 all, spook 2 arm64"


def test_what_a_run_used_comes_from_dpkgs_status_and_the_fetched_debs() -> None:
    status = (
        "Package: libc6\nStatus: install ok installed\nVersion: 2.41-12\nArchitecture: amd64\n\n"
        "Package: gone\nStatus: deinstall ok config-files\nVersion: 1\nArchitecture: all\n\n"
        "Package: odd\nVersion: 1\nArchitecture: all\n"
    )
    archives = "lock\npartial\npasswd_1%3a4.17.4-2_amd64.deb\n"
    assert aptlock.used_packages(status, archives) == {
        ("libc6", "2.41-12", "amd64"),
        ("passwd", "1:4.17.4-2", "amd64"),
    }


def test_drift_lists_each_moved_package_and_flags_security_updates() -> None:
    changes = aptlock.drift(Lock("then", (PASSWD, LIBC)), Lock("now", (PASSWD_FIX,)))
    assert [change.line() for change in changes] == [
        "libc6: 2.41-12 → (absent)",
        "passwd: 1:4.17.4-2 → 1:4.17.4-2+deb13u1  (security update)",
    ]
    assert aptlock.summary(changes) == "2 package(s) moved, 1 of them security update(s)"
    unchanged_first = aptlock.drift(Lock("then", (LIBC,)), Lock("now", (LIBC, PASSWD)))
    assert [change.line() for change in unchanged_first] == ["passwd: (absent) → 1:4.17.4-2"]
    same = aptlock.summary(aptlock.drift(Lock("a", (LIBC,)), Lock("b", (LIBC,))))
    assert same == "no drift: Debian resolves exactly the lock"


@pytest.mark.parametrize("platform", list(PLATFORMS.values()), ids=list(PLATFORMS))
@pytest.mark.parametrize("name", list(BASES))
def test_the_committed_lock_holds_every_package_the_stand_in_asks_for(
    name: str, platform: Platform
) -> None:
    from tools.inputs.recipes import RECIPES

    lock = aptlock.read_lock(name, platform)
    assert lock.locked_at
    written = aptlock.lock_path(name, platform).read_text()
    assert lock.text(f"the {name} stand-in") == written, (
        "the lock is as `nox -s lock` writes it, unedited"
    )
    assert set(RECIPES[name].packages) <= {deb.package for deb in lock.debs}
    assert {deb.suite for deb in lock.debs} <= set(aptlock.SUITES)
    assert {deb.architecture for deb in lock.debs} <= {platform.debian, "all"}


@pytest.mark.usefixtures("local_time_not_utc")
def test_a_lock_is_stamped_with_the_utc_time_to_the_second() -> None:
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    stamp = dt.datetime.strptime(aptlock.now(), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
    assert before <= stamp <= dt.datetime.now(dt.UTC)


def test_every_debian_lock_is_each_stand_ins_per_platform_then_the_toolchains() -> None:
    paths = aptlock.debian_lock_paths()
    assert [path.relative_to(ROOT).as_posix() for path in paths] == [
        "standins/slim.amd64.lock", "standins/slim.arm64.lock",
        "standins/distroless.amd64.lock", "standins/distroless.arm64.lock",
        "toolchain/toolchain.amd64.lock", "toolchain/toolchain.arm64.lock",
    ]  # fmt: skip
    assert all(path.is_file() for path in paths), "each is committed"
