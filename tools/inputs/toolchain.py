"""The toolchain: the programs that write image bits, from locked Debian 13 packages.

buildah, podman, mmdebstrap, apt, dpkg and tar write an image's bits, and
their versions show in them (docs/reproducibility.md, "What the host
contributes"). So they are not the host's. `toolchain/packages.txt` names
them; `nox -s lock` locks them as the stand-ins are locked
(`toolchain/toolchain.ARCH.lock`, every .deb by sha256, with the snapshot
fallback); the first build on a machine installs exactly those files into a
root of their own in the user cache, with the host's mmdebstrap. Every
image-writing command then runs through `toolchain/enter.sh`, which mounts that
root's /usr and /etc over the host's in a mount namespace of its own.

Its identity is `Toolchain.digest`, the sha256 of the toolchain folder (the
locks, the package list, the configuration, enter.sh): the build record and
the provenance name it as the builder's version.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import os
import shutil
from pathlib import Path

from tools.cacheroots import is_complete, made_whole, one_maker
from tools.inputs.aptlock import Lock, parse_lock, toolchain_lock_path
from tools.inputs.debs import local_repository
from tools.inputs.recipes import Recipe, listed_packages
from tools.model import Platform, host_platform
from tools.paths import TOOLCHAIN_FOLDER
from tools.process import BuildError, Runner, have
from tools.settings import user_cache

#: The programs a build runs from the toolchain; each gets a wrapper in the root's bin/.
PROGRAMS = ("buildah", "podman", "mmdebstrap")
#: What the version string of a toolchain build starts with.
VERSION_PREFIX = "toolchain sha256:"


def is_toolchain_version(version: str) -> bool:
    """True if a builder version names a toolchain (a commit brings its own), not a host
    tool's version string."""
    return version.startswith(VERSION_PREFIX)


@dataclasses.dataclass(frozen=True)
class Toolchain:
    """The toolchain defined by one folder: its package list, locks, configuration and
    enter.sh."""

    folder: Path = TOOLCHAIN_FOLDER

    @property
    def recipe(self) -> Recipe:
        conf = self.folder / "containers.conf"
        return Recipe(
            variant="minbase",
            packages=tuple(listed_packages(self.folder / "packages.txt")),
            hook=("--customize-hook", f'cp {conf} "$1/etc/containers/containers.conf"'),
        )

    def lock_path(self, platform: Platform) -> Path:
        return toolchain_lock_path(platform, self.folder)

    def read_lock(self, platform: Platform) -> Lock:
        path = self.lock_path(platform)
        if not path.exists():
            raise BuildError(
                f"{path.name} is missing: the toolchain is not locked for {platform.name}; "
                "lock it with `nox -s lock`"
            )
        return parse_lock(path.read_text(), path.name)

    def files(self) -> list[Path]:
        """Every file that defines the toolchain, in a fixed order."""
        return sorted(path for path in self.folder.iterdir() if path.is_file())

    @functools.cached_property
    def digest(self) -> str:
        """sha256 over the folder's files, each as its name and bytes."""
        digest = hashlib.sha256()
        for path in self.files():
            digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
        return digest.hexdigest()

    def version(self, program: str) -> str:
        """What a build with `program` from this toolchain records as its builder version:
        the toolchain's digest, and the program's version as the host's lock has it."""
        locked = {deb.package: deb.version for deb in self.read_lock(host_platform()).debs}
        return f"{VERSION_PREFIX}{self.digest} ({program} {locked.get(program, '?')})"

    @property
    def home(self) -> Path:
        """Where this toolchain is installed: one directory per digest."""
        return user_cache() / "toolchain" / self.digest[:16]

    def program(self, name: str) -> Path:
        """The wrapper that runs `name` from the toolchain (made by `ensure`)."""
        return self.home / "bin" / name

    def command(self, run: Runner, name: str, *args: str) -> list[str]:
        """A command line that runs `name` from the toolchain, installed first if needed."""
        if name not in PROGRAMS:
            raise BuildError(f"{name} is not one of the toolchain's programs ({PROGRAMS})")
        self.ensure(run)
        return [str(self.program(name)), *args]

    def ensure(self, run: Runner) -> Path:
        """The toolchain's home, installing it from its lock first if this cache has none."""
        if is_complete(self.home):
            return self.home
        with one_maker(self.home.parent):
            if not is_complete(self.home):
                self.install(run)
        return self.home

    def install(self, run: Runner) -> None:
        """Install the host platform's lock into a fresh home, then put it in place."""
        platform = host_platform()
        require_host_tools()
        lock = self.read_lock(platform)
        with made_whole(self.home, lambda _: self.digest) as scratch:
            repository = local_repository(lock, self.lock_path(platform).name, scratch / "debs")
            root = scratch / "root"
            run(*self.recipe.mmdebstrap_args(root, platform, repository=repository))
            shutil.rmtree(repository)
            # Mount points for the host's files that enter.sh keeps.
            for name in ("hosts", "resolv.conf"):
                (root / "etc" / name).touch()
            shutil.copy2(self.folder / "enter.sh", scratch / "enter.sh")
            (scratch / "bin").mkdir()
            for name in PROGRAMS:
                wrapper = scratch / "bin" / name
                wrapper.write_text(
                    f'#!/bin/sh\nexec {self.home / "enter.sh"} {self.home / "root"} {name} "$@"\n'
                )
                wrapper.chmod(0o755)


def missing_host_tools() -> str | None:
    """Why this host cannot install and run a toolchain, with what to do; None if it can.

    It needs mmdebstrap, apt-ftparchive (apt-utils) and unshare, and root."""
    needed = [("mmdebstrap", "mmdebstrap"), ("apt-ftparchive", "apt-utils")]
    needed += [("unshare", "util-linux")]
    for program, package in needed:
        if not have(program):
            return (
                f"{program} is not installed ({package}); it installs the locked toolchain: "
                "run `bin/setup`"
            )
    if os.geteuid() != 0:
        return (
            "the locked toolchain runs in a mount namespace of its own, which needs root: "
            "run this as root or with sudo"
        )
    return None


def require_host_tools() -> None:
    if reason := missing_host_tools():
        raise BuildError(reason)


#: The toolchain of this checkout.
TOOLCHAIN = Toolchain()
