"""`nox -s lock`: compile the pip locks and resolve the Debian locks (or, `check`, report drift).

The session installs pip-tools and names its `pip-compile`; everything else
is decided here.
"""

from __future__ import annotations

import itertools
import tempfile
from collections.abc import Sequence
from pathlib import Path

from tools.images import standins
from tools.inputs import aptlock, piplocks
from tools.model import BASES, PIP_LOCKS, SUITE, Platform
from tools.paths import ROOT
from tools.process import run_shown


def lock_wheels(pip_compile: str, *, check: bool, extra: Sequence[str] = ()) -> list[str]:
    """Compile each pip lock (over a copy, with `check`); the stale ones."""
    stale = []
    with tempfile.TemporaryDirectory() as scratch:
        for pip_lock in PIP_LOCKS:
            output = ROOT / pip_lock.lock
            if check:
                output = piplocks.check_copy(pip_lock, Path(scratch))
            command = piplocks.compile_command(pip_lock, output, *extra)
            run_shown(pip_compile, *command[1:], env=piplocks.PIP_COMPILE_ENV, cwd=ROOT)
            if check and piplocks.is_stale(pip_lock, output):
                stale.append(pip_lock.lock)
    return stale


def lock_debs(platforms: Sequence[Platform], *, check: bool) -> list[str]:
    """Resolve each stand-in live; write its lock, or (`check`) the drift, a line each."""
    report = []
    for each, base in itertools.product(platforms, BASES.values()):
        print(f"resolving the {base.name} stand-in for {each.name}, Debian {SUITE}, live")
        current = standins.resolve_live(run_shown, base, each)
        path = aptlock.lock_path(base.name, each)
        if check:
            changes = aptlock.drift(aptlock.read_lock(base.name, each), current)
            lines = "".join(f"\n  {change.line()}" for change in changes)
            report.append(f"{path.name}: {aptlock.summary(changes)}{lines}")
        else:
            path.write_text(current.text(base.name))
    return report
