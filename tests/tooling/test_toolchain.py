"""tools.inputs.toolchain and toolchain/enter.sh: the programs that write image bits, from
their lock, installed once per digest into the user cache and run in place of the host's."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tools import cacheroots
from tools.inputs import aptlock, toolchain
from tools.inputs.toolchain import TOOLCHAIN, Toolchain
from tools.model import PLATFORMS, host_platform
from tools.paths import TOOLCHAIN_FOLDER
from tools.process import BuildError

ENTER = TOOLCHAIN_FOLDER / "enter.sh"
LOCK_LINE = (
    "buildah 1.39.3+ds1-1+b7 {arch} trixie debian 10 " + "a" * 64 + " pool/main/b/buildah.deb"
)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A toolchain folder as the repository's is laid out, with small locks."""
    made = tmp_path / "toolchain"
    made.mkdir()
    (made / "packages.txt").write_text("# the builder\nbuildah\nmmdebstrap\n")
    (made / "containers.conf").write_text('[engine]\nruntime = "runc"\n')
    shutil.copy(ENTER, made / "enter.sh")
    for platform in PLATFORMS.values():
        text = f"# locked-at: 2026-12-04T18:10:09Z\n{LOCK_LINE.format(arch=platform.debian)}\n"
        (made / f"toolchain.{platform.debian}.lock").write_text(text)
    return made


@pytest.fixture
def cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache" / "moscow-time" / "toolchain"


def test_the_digest_is_of_every_file_in_the_folder_and_moves_with_any_of_them(
    folder: Path,
) -> None:
    digests = {Toolchain(folder).digest}
    for name in ["packages.txt", "containers.conf", "enter.sh", "toolchain.arm64.lock"]:
        with (folder / name).open("a") as f:
            f.write("\n# changed\n")
        digests.add(Toolchain(folder).digest)
    assert len(digests) == 5
    (folder / "README").write_text("a new file is part of it too\n")
    assert Toolchain(folder).digest not in digests
    assert len(Toolchain(folder).digest) == 64


def test_the_digest_is_what_a_rebuilder_computes_by_hand(tmp_path: Path) -> None:
    made = tmp_path / "toolchain"
    (made / "folder").mkdir(parents=True)  # not a file: not part of it
    (made / "b.lock").write_bytes(b"B\n")
    (made / "a.txt").write_bytes(b"A")
    by_hand = hashlib.sha256(b"a.txt\0A\0" + b"b.lock\0B\n\0").hexdigest()
    assert Toolchain(made).digest == by_hand, "each file by name: its name, NUL, its bytes, NUL"


def test_the_version_names_the_digest_and_the_locked_program(folder: Path) -> None:
    chain = Toolchain(folder)
    assert chain.version("buildah") == f"toolchain sha256:{chain.digest} (buildah 1.39.3+ds1-1+b7)"
    assert chain.version("podman").endswith("(podman ?)"), "podman is not in this lock"
    assert toolchain.is_toolchain_version(chain.version("buildah"))
    assert not toolchain.is_toolchain_version("buildah version 1.28.2 (image-spec 1.1.0-rc2)")


def test_the_committed_toolchain_is_locked_for_every_platform_with_every_listed_package() -> None:
    for platform in PLATFORMS.values():
        lock = TOOLCHAIN.read_lock(platform)
        written = TOOLCHAIN.lock_path(platform).read_text()
        assert lock.text("the toolchain", installer="the first build") == written, "unedited"
        assert set(TOOLCHAIN.recipe.packages) <= {deb.package for deb in lock.debs}
        assert {deb.architecture for deb in lock.debs} <= {platform.debian, "all"}
    assert {"buildah", "podman", "runc", "mmdebstrap"} <= set(TOOLCHAIN.recipe.packages)
    assert set(toolchain.PROGRAMS) <= set(TOOLCHAIN.recipe.packages)


def test_a_missing_lock_says_how_to_write_it(folder: Path) -> None:
    (folder / "toolchain.arm64.lock").unlink()
    with pytest.raises(BuildError) as missing:
        Toolchain(folder).read_lock(PLATFORMS["linux/arm64"])
    assert str(missing.value) == (
        "toolchain.arm64.lock is missing: the toolchain is not locked for linux/arm64; "
        "lock it with `nox -s lock`"
    )


def test_the_recipe_installs_the_list_and_the_configuration_with_minbase(folder: Path) -> None:
    recipe = Toolchain(folder).recipe
    assert (recipe.variant, recipe.packages) == ("minbase", ("buildah", "mmdebstrap"))
    conf = folder / "containers.conf"
    assert recipe.hook == ("--customize-hook", f'cp {conf} "$1/etc/containers/containers.conf"')


# ---- installing ---------------------------------------------------------------------------


@pytest.fixture
def installer(
    monkeypatch: pytest.MonkeyPatch, folder: Path, cache: Path
) -> tuple[Toolchain, list[tuple[str, ...]]]:
    """A toolchain whose host tools are here, its .debs a stand-in repository, its
    mmdebstrap recorded (it makes the root's /etc)."""
    monkeypatch.setattr(toolchain, "missing_host_tools", lambda: None)
    repositories: list[tuple[str, ...]] = []

    def local_repository(lock: aptlock.Lock, name: str, directory: Path) -> Path:
        repositories.append((name, *(deb.package for deb in lock.debs)))
        directory.mkdir(parents=True)
        return directory

    monkeypatch.setattr(toolchain, "local_repository", local_repository)
    return Toolchain(folder), repositories


def test_the_first_command_installs_the_host_platforms_lock_and_later_ones_reuse_it(
    installer: tuple[Toolchain, list[tuple[str, ...]]], cache: Path
) -> None:
    chain, repositories = installer
    ran: list[tuple[str, ...]] = []

    def mmdebstrap(*args: str) -> None:
        ran.append(args)
        (Path(args[-2]) / "etc").mkdir(parents=True)

    command = chain.command(mmdebstrap, "buildah", "images", "--json")
    home = cache / chain.digest[:16]
    assert command == [str(home / "bin" / "buildah"), "images", "--json"]
    assert repositories == [(f"toolchain.{host_platform().debian}.lock", "buildah")]
    [args] = ran
    assert args[:5] == (
        "mmdebstrap", "--quiet", "--variant=minbase", f"--arch={host_platform().debian}",
        "--include=buildah,mmdebstrap",
    )  # fmt: skip
    assert args[-3:-1] == ("trixie", str(home.parent / args[-2].split("/")[-2] / "root"))
    assert args[-1].startswith("deb [trusted=yes] copy://")
    assert args[-1].endswith("/debs ./")
    for name in ["hosts", "resolv.conf"]:
        assert (home / "root" / "etc" / name).exists(), "a mount point for the host's file"
    assert (home / cacheroots.COMPLETE).read_text() == chain.digest + "\n"
    for name in toolchain.PROGRAMS:
        wrapper = home / "bin" / name
        assert wrapper.read_text() == (
            f'#!/bin/sh\nexec {home / "enter.sh"} {home / "root"} {name} "$@"\n'
        )
        assert wrapper.stat().st_mode & 0o7777 == 0o755
    assert (home / "enter.sh").read_bytes() == (chain.folder / "enter.sh").read_bytes()
    assert sorted(p.name for p in cache.iterdir()) == [".making", chain.digest[:16]]
    assert chain.command(mmdebstrap, "podman", "version")[0] == str(home / "bin" / "podman")
    assert len(ran) == 1, "installed once"


def test_an_install_that_fails_leaves_nothing_and_is_tried_again(
    installer: tuple[Toolchain, list[tuple[str, ...]]], cache: Path
) -> None:
    chain, _ = installer

    def failing(*args: str) -> None:
        Path(args[-2]).mkdir(parents=True)
        raise BuildError("`mmdebstrap --quiet` failed: its output is above")

    with pytest.raises(BuildError, match="mmdebstrap --quiet"):
        chain.ensure(failing)
    assert [p.name for p in cache.iterdir()] == [".making"], "no home, no scratch left"
    ran: list[str] = []

    def mmdebstrap(*args: str) -> None:
        ran.append(args[0])
        (Path(args[-2]) / "etc").mkdir(parents=True)

    chain.ensure(mmdebstrap)
    assert ran == ["mmdebstrap"]


def test_a_home_an_interrupted_install_left_is_replaced(
    installer: tuple[Toolchain, list[tuple[str, ...]]], cache: Path
) -> None:
    chain, _ = installer
    (chain.home / "root").mkdir(parents=True)
    (chain.home / "root" / "half-made").write_text("no .complete beside it\n")
    chain.ensure(lambda *args: (Path(args[-2]) / "etc").mkdir(parents=True))
    assert not (chain.home / "root" / "half-made").exists()
    assert (chain.home / cacheroots.COMPLETE).exists()


def test_a_broken_lock_line_names_the_lock(folder: Path) -> None:
    (folder / "toolchain.amd64.lock").write_text("# locked-at: 2026-12-04T18:10:09Z\nbroken\n")
    with pytest.raises(BuildError, match=r"^toolchain\.amd64\.lock:2: not a lock line"):
        Toolchain(folder).read_lock(PLATFORMS["linux/amd64"])


def test_only_the_toolchains_programs_are_run_from_it(
    installer: tuple[Toolchain, list[tuple[str, ...]]],
) -> None:
    chain, _ = installer
    with pytest.raises(BuildError, match=r"^docker is not one of the toolchain's programs"):
        chain.command(lambda *args: None, "docker", "build")


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        ("mmdebstrap", "mmdebstrap is not installed (mmdebstrap)"),
        ("apt-ftparchive", "apt-ftparchive is not installed (apt-utils)"),
        ("unshare", "unshare is not installed (util-linux)"),
    ],
)
def test_a_host_without_what_installs_the_toolchain_is_told_what_to_run(
    monkeypatch: pytest.MonkeyPatch, missing: str, message: str
) -> None:
    monkeypatch.setattr(toolchain, "have", lambda program: program != missing)
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    assert toolchain.missing_host_tools() == (
        f"{message}; it installs the locked toolchain: run `bin/setup`"
    )
    with pytest.raises(BuildError, match=r"run `bin/setup`$"):
        toolchain.require_host_tools()


def test_a_user_who_is_not_root_is_told_to_be(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(toolchain, "have", lambda program: True)
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert toolchain.missing_host_tools() == (
        "the locked toolchain runs in a mount namespace of its own, which needs root: "
        "run this as root or with sudo"
    )
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    assert toolchain.missing_host_tools() is None


# ---- enter.sh -----------------------------------------------------------------------------


def enter(root: Path, *command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(ENTER), str(root), *command], capture_output=True, text=True, check=False
    )


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A root whose /usr is the host's (so its programs run) and whose /etc is its own."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("enter.sh mounts in a namespace of its own: it needs root and unshare")
    made = tmp_path / "root"
    (made / "etc" / "ssl" / "certs").mkdir(parents=True)
    (made / "usr").symlink_to("/usr")
    (made / "etc" / "toolchain-marker").write_text("the toolchain's /etc\n")
    for name in ["hosts", "resolv.conf", "ssl/certs/ca-certificates.crt"]:
        (made / "etc" / name).write_text("the toolchain's placeholder\n")
    return made


def test_a_command_sees_the_roots_etc_but_the_hosts_network_and_cas(root: Path) -> None:
    ran = enter(root, "sh", "-c", "cat /etc/toolchain-marker; cat /etc/hosts; pwd")
    assert ran.returncode == 0, ran.stderr
    hosts = Path("/etc/hosts").read_text()
    assert ran.stdout == f"the toolchain's /etc\n{hosts}{os.getcwd()}\n"
    if Path("/etc/ssl/certs/ca-certificates.crt").is_file():
        cas = enter(root, "cat", "/etc/ssl/certs/ca-certificates.crt")
        assert cas.stdout == Path("/etc/ssl/certs/ca-certificates.crt").read_text()
    assert not Path("/etc/toolchain-marker").exists(), "the mounts end with the command"


def test_the_commands_exit_status_and_arguments_pass_through(root: Path) -> None:
    ran = enter(root, "sh", "-c", 'printf "%s|" "$@"; exit 7', "sh", "a b", "", "c")
    assert (ran.returncode, ran.stdout) == (7, "a b||c|")


@pytest.mark.parametrize("args", [[], ["/only-a-root"]])
def test_enter_without_a_root_and_a_command_says_how_it_is_called(args: list[str]) -> None:
    ran = subprocess.run([str(ENTER), *args], capture_output=True, text=True, check=False)
    assert (ran.returncode, ran.stderr) == (2, "usage: enter.sh ROOT COMMAND [ARG...]\n")
