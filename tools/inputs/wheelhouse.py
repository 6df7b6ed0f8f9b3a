"""The wheelhouse: the locked wheels for the images' Python and CPU, downloaded on the host.

Builds run with no network; pip inside them installs from build/wheelhouse/.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from tools.model import BUILD_LOCK, PYTHON_VERSION, RUNTIME_LOCK, Platform
from tools.paths import ROOT
from tools.process import Runner, say, sha256_file
from tools.settings import vendor_dir

#: Every manylinux tag a cp313 wheel of ours may carry.
MANYLINUX = (
    "manylinux_2_17",
    "manylinux_2_28",
    "manylinux_2_34",
    "manylinux_2_39",
    "manylinux2014",
)


PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==")
HASH = re.compile(r"--hash=sha256:([0-9a-f]{64})")


def download_args(*, python: str, arch: str, dest: Path) -> list[str]:
    """`pip download` of the runtime and build locks, hash-checked, for that CPU."""
    abi = f"cp{PYTHON_VERSION.replace('.', '')}"
    args = [python, "-m", "pip", "download", "--quiet", "--require-hashes", "--no-deps"]
    args += ["--only-binary=:all:", "--implementation", "cp", "--python-version", PYTHON_VERSION]
    args += ["--abi", abi, "--abi", "abi3", "--abi", "none"]
    for tag in MANYLINUX:
        args += ["--platform", f"{tag}_{arch}"]
    args += ["--dest", str(dest)]
    args += ["-r", str(ROOT / RUNTIME_LOCK.lock), "-r", str(ROOT / BUILD_LOCK.lock)]
    return args + offline_index()


def offline_index() -> list[str]:
    """pip's options to take wheels only from the vendored directory, if there is one."""
    vendored = vendor_dir()
    return ["--no-index", "--find-links", str(vendored / "wheels")] if vendored else []


def locked_wheels(*locks: Path) -> dict[str, str]:
    """sha256 → package, for every file the locks allow."""
    allowed: dict[str, str] = {}
    package = ""
    for lock in locks:
        for line in lock.read_text().splitlines():
            if pin := PIN.match(line):
                package = pin.group(1).lower()
            allowed |= dict.fromkeys(HASH.findall(line), package)
    return allowed


def holds_the_locks(wheelhouse: Path, machine: str) -> bool:
    """True if a wheelhouse holds one locked file of every package, each a wheel for this
    CPU (`platform.machine()`'s name) or for any, and nothing else."""
    if not wheelhouse.is_dir():
        return False
    allowed = locked_wheels(ROOT / RUNTIME_LOCK.lock, ROOT / BUILD_LOCK.lock)
    found: list[str] = []
    for wheel in wheelhouse.iterdir():
        fits = wheel.name.endswith(("-any.whl", f"_{machine}.whl"))
        package = allowed.get(sha256_file(wheel)) if wheel.is_file() and fits else None
        if package is None:
            return False
        found.append(package)
    return sorted(found) == sorted(set(allowed.values()))


def download_wheelhouse(
    run: Runner, *, python: str, platform: Platform, fresh: bool = False
) -> None:
    """Fetch exactly the locked wheels for one platform, into its emptied wheelhouse, unless
    it holds them already (checked against the locks' hashes); `fresh`: fetch anyway."""
    if not fresh and holds_the_locks(platform.wheelhouse, platform.machine):
        say(f"{platform.wheelhouse.relative_to(ROOT)} holds exactly the locked wheels")
        return
    if platform.wheelhouse.exists():
        shutil.rmtree(platform.wheelhouse)
    platform.wheelhouse.mkdir(parents=True)
    run(*download_args(python=python, arch=platform.machine, dest=platform.wheelhouse))
