"""Which platforms a build covers (`--platform`) and whether this host can run their binaries.

A platform other than the host's is built and run under qemu's user-mode
emulation, which the kernel starts through binfmt_misc: `missing_emulation`
says what to install or mount when it cannot.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from tools.model import PLATFORMS, Platform, host_platform
from tools.process import BuildError

BINFMT = Path("/proc/sys/fs/binfmt_misc")


def parse(requested: str | None) -> list[Platform]:
    """`linux/amd64,linux/arm64`, `all`, or nothing (the host's). The host's platform is
    always in, and first: it is the one loaded under the usual tags, which the sessions
    after a build run."""
    text = (requested or "").strip()
    if not text:
        return [host_platform()]
    names = list(PLATFORMS) if text == "all" else [n.strip() for n in text.split(",") if n]
    unknown = [name for name in names if name not in PLATFORMS]
    if unknown:
        raise BuildError(
            f"unknown platform {', '.join(unknown)}: use `all` or a comma list of "
            f"{', '.join(PLATFORMS)}"
        )
    chosen = [host_platform()] + [PLATFORMS[name] for name in names]
    return list(dict.fromkeys(chosen))


def missing_emulation(platforms: Sequence[Platform]) -> str | None:
    """Why this host cannot run the foreign platforms' binaries, and what to do; None if it can."""
    foreign = [each for each in platforms if each != host_platform()]
    if not foreign:
        return None
    if not (BINFMT / "status").exists():
        return (
            f"building {', '.join(each.name for each in foreign)} runs its binaries under "
            f"qemu, and {BINFMT} is not mounted: run `bin/setup --for test`, which mounts it "
            "and registers qemu"
        )
    unregistered = [each for each in foreign if not (BINFMT / f"qemu-{each.machine}").exists()]
    if unregistered:
        return (
            f"no qemu emulator is registered for {', '.join(e.name for e in unregistered)}: "
            "run `bin/setup --for test`, which installs qemu and registers it from Debian's "
            f"binfmt.d line (/usr/lib/binfmt.d/qemu-{unregistered[0].machine}.conf)"
        )
    return None
