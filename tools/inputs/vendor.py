"""`nox -s vendor DIR`: every input a build downloads, in one directory for an air-gapped machine.

The locked .debs (as the cache names them), both platforms' wheels, and pip
itself for the host; a build there takes them with MOSCOW_TIME_VENDOR=DIR.
"""

from __future__ import annotations

from pathlib import Path

from tools.inputs import debs, piplocks
from tools.inputs.wheelhouse import download_args
from tools.model import BUILD_LOCK, PLATFORMS
from tools.process import run_shown
from tools.settings import VENDOR_ENV


def vendor(target: Path, python: str) -> str:
    """Fill `target` with the .debs and wheels; what it holds, and how to build there."""
    target = target.resolve()
    count = debs.vendor(target / "debs")
    wheels = target / "wheels"
    for platform in PLATFORMS.values():  # either may be built there
        run_shown(*download_args(python=python, arch=platform.machine, dest=wheels))
    # And pip itself for this host, which the build session installs first.
    pip = [python, "-m", "pip", "download", "--quiet", "--dest", str(wheels)]
    run_shown(*pip, *piplocks.install_args(BUILD_LOCK))
    return f"{target}: {count} .debs and the wheels; build there with {VENDOR_ENV}={target}"
