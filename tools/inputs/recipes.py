"""The stand-ins' recipes: what mmdebstrap installs for each, and what it resolves live.

A stand-in base is a `Recipe` (mmdebstrap's variant, the packages, a hook in
standins/ that shapes the root filesystem as the upstream image is shaped).
`nox -s lock` resolves each recipe against Debian's live indexes
(`resolve_live`); `tools.images.standins` builds it from the lock.
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Sequence
from pathlib import Path

from tools.inputs.aptlock import Lock, now, resolve, used_packages
from tools.model import SUITE, Platform, host_platform
from tools.paths import STANDIN_RECIPES
from tools.process import BuildError, Runner, have

HOOKS = STANDIN_RECIPES
DISTROLESS_PACKAGES = HOOKS / "distroless-packages.txt"


def listed_packages(path: Path) -> list[str]:
    """The package names in a list file: one a line, # comments."""
    return [
        line.strip()
        for line in path.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]


@dataclasses.dataclass(frozen=True)
class Recipe:
    """How mmdebstrap makes one stand-in's root filesystem."""

    variant: str
    packages: tuple[str, ...]
    #: mmdebstrap's hook option and its command; "$1" is the root.
    hook: tuple[str, str]
    #: Hooks of other stages, in the same form.
    earlier_hooks: tuple[tuple[str, str], ...] = ()
    #: Paths deleted from the tarball afterwards: mmdebstrap cleans up after
    #: itself only once its hooks have run.
    leftovers: tuple[str, ...] = ()

    def mmdebstrap_args(
        self,
        tarball: Path,
        platform: Platform,
        *extra: str,
        repository: Path | None = None,
        program: Sequence[str] = ("mmdebstrap",),
    ) -> list[str]:
        """mmdebstrap (`program`: the host's, or the toolchain's command line) from the local
        repository of the lock, or (no repository) live."""
        args = [*program, "--quiet", f"--variant={self.variant}", f"--arch={platform.debian}"]
        args += [f"--include={','.join(self.packages)}"]
        args += [f"{option}={command}" for option, command in (*self.earlier_hooks, self.hook)]
        args += extra
        args += [SUITE, str(tarball)]
        # Live, no mirror is named: mmdebstrap picks Debian's default (trixie,
        # -updates, -security), and no host name goes into this repository.
        if repository is not None:
            args.append(f"deb [trusted=yes] copy://{repository} ./")
        return args


RECIPES = {
    "slim": Recipe(
        variant="minbase",
        packages=("python3",),
        hook=("--customize-hook", f'{HOOKS / "slim-hook.sh"} "$1"'),
        earlier_hooks=(("--essential-hook", f'{HOOKS / "slim-essential-hook.sh"} "$1"'),),
    ),
    "distroless": Recipe(
        variant="extract",
        packages=tuple(listed_packages(DISTROLESS_PACKAGES)),
        hook=("--extract-hook", f'{HOOKS / "distroless-hook.sh"} "$1" {DISTROLESS_PACKAGES}'),
        # apt's and dpkg's own state, which distroless does not carry.
        leftovers=(
            "./etc/apt",
            "./etc/hostname",
            "./etc/resolv.conf",
            "./var/cache/apt",
            "./var/cache/debconf",
            "./var/cache/ldconfig",
            "./var/lib/apt",
            "./var/lib/dpkg/alternatives",
            "./var/lib/dpkg/arch",
            "./var/lib/dpkg/info",
            "./var/lib/dpkg/status",
            "./var/lib/dpkg/triggers",
            "./var/lib/dpkg/updates",
            "./var/log/apt",
        ),
    ),
}


def require_mmdebstrap(platform: Platform) -> None:
    needed = [("mmdebstrap", "mmdebstrap"), ("apt-ftparchive", "apt-utils")]
    # mmdebstrap asks arch-test whether a foreign architecture's binaries run.
    needed += [("arch-test", "arch-test")] if platform != host_platform() else []
    # arch-test comes with the arm64 work: `bin/setup --for test`.
    setup = "bin/setup" if platform == host_platform() else "bin/setup --for test"
    for program, package in needed:
        if not have(program):
            raise BuildError(f"{program} is not installed ({package}): run `{setup}`")


def resolve_live(run: Runner, recipe: Recipe, platform: Platform) -> Lock:
    """What the host's mmdebstrap resolves for a recipe (a stand-in's, the toolchain's) today,
    against Debian's live indexes. The host's: resolving names versions, whose files the lock
    then pins, and it must work before there is a toolchain to run."""
    require_mmdebstrap(platform)
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch)
        # Before mmdebstrap cleans up: its apt indexes, dpkg's status (minbase)
        # and the .debs it fetched (extract installs none).
        keep = (
            f'mkdir -p {out}/lists && cp -a "$1/var/lib/apt/lists/." {out}/lists/ && '
            f'ls "$1/var/cache/apt/archives" > {out}/archives.txt && '
            f'{{ cat "$1/var/lib/dpkg/status" > {out}/status 2>/dev/null || true; }}'
        )
        # The recipe's own hook stage: extract runs no customize hooks.
        run(*recipe.mmdebstrap_args(out / "rootfs.tar", platform, f"{recipe.hook[0]}={keep}"))
        lists = {p.name: p.read_text() for p in (out / "lists").glob("*_Packages")}
        status = (out / "status").read_text() if (out / "status").exists() else ""
        used = used_packages(status, (out / "archives.txt").read_text())
    return resolve(used, lists, now())
