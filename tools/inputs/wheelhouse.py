"""The wheelhouse: the locked wheels for the images' Python and CPU, downloaded on the host.

Builds run with no network; pip inside them installs from build/wheelhouse/.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from tools.model import BUILD_LOCK, PYTHON_VERSION, RUNTIME_LOCK, Platform
from tools.paths import ROOT
from tools.process import Runner
from tools.settings import vendor_dir

#: Every manylinux tag a cp313 wheel of ours may carry.
MANYLINUX = (
    "manylinux_2_17",
    "manylinux_2_28",
    "manylinux_2_34",
    "manylinux_2_39",
    "manylinux2014",
)


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


def download_wheelhouse(run: Runner, *, python: str, platform: Platform) -> None:
    """Fetch exactly the locked wheels for one platform, into its emptied wheelhouse."""
    if platform.wheelhouse.exists():
        shutil.rmtree(platform.wheelhouse)
    platform.wheelhouse.mkdir(parents=True)
    run(*download_args(python=python, arch=platform.machine, dest=platform.wheelhouse))
