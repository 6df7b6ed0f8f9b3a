"""`nox -s lock`: compile the pip locks, resolve the Debian locks and the upstream bases'
digests (or, `check`, report drift and moved tags).

The session installs pip-tools and names its `pip-compile`; everything else
is decided here.
"""

from __future__ import annotations

import dataclasses
import itertools
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from tools.inputs import aptlock, baselock, piplocks, recipes
from tools.inputs.toolchain import TOOLCHAIN
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


@dataclasses.dataclass
class LockReport:
    """What a lock step says, a line each, and the locks it found out of date (`check`)."""

    lines: list[str] = dataclasses.field(default_factory=list)
    out_of_date: list[str] = dataclasses.field(default_factory=list)

    def __iadd__(self, other: LockReport) -> LockReport:
        self.lines += other.lines
        self.out_of_date += other.out_of_date
        return self


def lock_debs(platforms: Sequence[Platform], *, check: bool) -> LockReport:
    """Resolve each stand-in and the toolchain live; write each lock, or (`check`) the
    drift, a line each."""
    report = LockReport()
    for each, base in itertools.product(platforms, BASES.values()):
        print(f"resolving the {base.name} stand-in for {each.name}, Debian {SUITE}, live")
        current = recipes.resolve_live(run_shown, recipes.RECIPES[base.name], each)
        path = aptlock.lock_path(base.name, each)
        if check:
            report += drift_report(path, aptlock.read_lock(base.name, each), current)
        else:
            path.write_text(current.text(f"the {base.name} stand-in"))
    for each in platforms:
        print(f"resolving the toolchain for {each.name}, Debian {SUITE}, live")
        current = recipes.resolve_live(run_shown, TOOLCHAIN.recipe, each)
        path = TOOLCHAIN.lock_path(each)
        if check:
            report += drift_report(path, TOOLCHAIN.read_lock(each), current)
        else:
            path.write_text(current.text("the toolchain", installer="the first build"))
    return report


def drift_report(path: Path, locked: aptlock.Lock, current: aptlock.Lock) -> LockReport:
    """A lock's drift from what resolves today, in a line; out of date if it moved."""
    changes = aptlock.drift(locked, current)
    lines = "".join(f"\n  {change.line()}" for change in changes)
    return LockReport(
        [f"{path.name}: {aptlock.summary(changes)}{lines}"], [path.name] * bool(changes)
    )


def lock_upstream_bases(path: Path, *, check: bool) -> LockReport:
    """Resolve the upstream bases' tags and write their lock, or (`check`) name the moved
    ones; where no registry answers, say so in one line and leave the lock as it is."""
    try:
        resolver = baselock.skopeo_resolver(run_shown)
        if check:
            lock = baselock.BaseLock.read(path)
            if not lock.bases:
                return LockReport([f"{path.name}: no upstream base is locked yet "
                                   "(`nox -s lock` locks them)"])  # fmt: skip
            if moved := baselock.moved(lock, resolver, time.time()):
                return LockReport(moved, [path.name])
            return LockReport([f"{path.name}: every locked tag still names its locked index"])
        lock = baselock.lock_upstream(path, resolver)
    except BuildError as error:
        return LockReport(
            [f"{path.name} left as it is: {error}; lock it where a registry answers"]
        )
    return LockReport([f"{path.name}:\n" + table(baselock.lock_rows(lock, time.time()))])


def lock_all(
    pip_compile: str, bases_lock: Path, *, check: bool, extra: Sequence[str] = ()
) -> list[str]:
    """`nox -s lock`: the wheels, the stand-ins' .debs, the upstream bases; their lines said.
    The locks out of date are returned: with `check`, a stale pip lock, a Debian lock that
    drifted, a moved base (a scheduled job acts on the session's exit status)."""
    report = LockReport(out_of_date=lock_wheels(pip_compile, check=check, extra=extra))
    report += lock_debs(list(PLATFORMS.values()), check=check)
    report += lock_upstream_bases(bases_lock, check=check)
    for line in report.lines:
        say(line)
    return report.out_of_date
