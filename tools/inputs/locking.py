"""`nox -s lock`: compile the pip locks, resolve the Debian locks and the upstream bases'
digests (or, `check`, report drift and moved tags).

The session installs pip-tools and names its `pip-compile`; everything else
is decided here.
"""

from __future__ import annotations

import itertools
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from tools.inputs import aptlock, baselock, piplocks, recipes
from tools.model import BASES, PIP_LOCKS, PLATFORMS, SUITE, Platform
from tools.paths import ROOT
from tools.process import BuildError, run_shown, say
from tools.tables import table


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
        current = recipes.resolve_live(run_shown, base, each)
        path = aptlock.lock_path(base.name, each)
        if check:
            changes = aptlock.drift(aptlock.read_lock(base.name, each), current)
            lines = "".join(f"\n  {change.line()}" for change in changes)
            report.append(f"{path.name}: {aptlock.summary(changes)}{lines}")
        else:
            path.write_text(current.text(base.name))
    return report


def lock_upstream_bases(path: Path, *, check: bool) -> list[str]:
    """Resolve the upstream bases' tags and write their lock, or (`check`) name the moved
    ones; where no registry answers, say so in one line and leave the lock as it is."""
    try:
        resolver = baselock.skopeo_resolver(run_shown)
        if check:
            lock = baselock.BaseLock.read(path)
            if not lock.bases:
                return [f"{path.name}: no upstream base is locked yet (`nox -s lock` locks them)"]
            moved = baselock.moved(lock, resolver, time.time())
            return moved or [f"{path.name}: every locked tag still names its locked index"]
        lock = baselock.lock_upstream(path, resolver)
    except BuildError as error:
        return [f"{path.name} left as it is: {error}; lock it where a registry answers"]
    return [f"{path.name}:\n" + table(baselock.lock_rows(lock, time.time()))]


def lock_all(
    pip_compile: str, bases_lock: Path, *, check: bool, extra: Sequence[str] = ()
) -> list[str]:
    """`nox -s lock`: the wheels, the stand-ins' .debs, the upstream bases; their lines said,
    the stale pip locks returned."""
    stale = lock_wheels(pip_compile, check=check, extra=extra)
    for line in [
        *lock_debs(list(PLATFORMS.values()), check=check),
        *lock_upstream_bases(bases_lock, check=check),
    ]:
        say(line)
    return stale
