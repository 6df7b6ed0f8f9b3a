"""What the nox sessions share: locked installs, the builder, the bases, one-line errors.

The glue between nox and the rest of `tools/`: every function here takes the
running `nox.Session`, so the sessions in noxfile.py stay one short verb each.
This is the one module of `tools/` that imports nox.
"""

from __future__ import annotations

import functools
import itertools
import tempfile
from collections.abc import Callable
from pathlib import Path

import nox

from tools import appimages, aptlock, builders, engine, piplocks, platforms, trivy
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


def platforms_for(builder: builders.Builder, requested: str | None) -> list[p.Platform]:
    """The platforms to build, checked against what the builder and this host can do."""
    chosen = platforms.parse(requested)
    if len(chosen) > 1 and not builder.multi_platform:
        raise BuildError(
            f"{builder.name} builds this machine's platform only here: build "
            f"{', '.join(each.name for each in chosen[1:])} with buildah or podman "
            "(-- --builder buildah)"
        )
    if problem := platforms.missing_emulation(chosen):
        raise BuildError(problem)
    return chosen


def make_bases(
    session: nox.Session,
    builder: builders.Builder,
    chosen: list[p.Platform],
    *,
    only_stale: bool = False,
) -> dict[str, str]:
    """Make both stand-in bases for each platform from Debian packages; their IDs by name.

    `only_stale`: the platforms whose stand-ins are missing or out of date, once no other
    session is making them.
    """
    epoch = source_date_epoch()
    with standins.exclusive(session.log):
        if only_stale:
            chosen = [
                each for each in chosen if standins.stale_bases(builder, [each], epoch=epoch)
            ]
        if not chosen:
            return {}
        names = ", ".join(each.name for each in chosen)
        session.log(f"making the stand-ins for {names} from Debian {p.SUITE} packages")
        made = standins.make_bases(runner(session), builder, chosen, epoch=epoch)
    session.log("stand-in bases (package versions in build/bases.lock):\n" + table(made.rows()))
    return made.ids


def standins_twice(
    session: nox.Session, builder: builders.Builder, chosen: list[p.Platform]
) -> tuple[dict[str, str], dict[str, str]]:
    """Two makes of these platforms' stand-ins: their IDs as they are (made first if missing
    or out of date), and after one more make.

    Every make starts from scratch, from mmdebstrap to a build with no cache, so the
    stand-ins an earlier session made (CI makes them in the background) count as the
    first. Both sides are read from the builder's store (`bases.standin_ids`).
    """
    make_bases(session, builder, chosen, only_stale=True)
    first = standins.standin_ids(builder, chosen)
    make_bases(session, builder, chosen)
    return first, standins.standin_ids(builder, chosen)


def base_images(
    session: nox.Session, builder: builders.Builder, offline: bool, chosen: list[p.Platform]
) -> dict[str, dict[str, str]]:
    """Per platform, which image each base build arg names, making or pulling it as needed."""
    if not offline:
        if unpulled := standins.unpullable_upstreams(runner(session), builder):
            session.error(
                f"cannot pull {', '.join(unpulled)}. Without a registry, build on stand-ins "
                f"made from Debian packages: {p.OFFLINE_ENV}=1 nox -s build"
            )
        # Upstream's bases are indexes: the builder picks each platform's image.
        upstream = {name: base.upstream for name, base in p.BASES.items()}
        return {each.name: upstream for each in chosen}
    make_bases(session, builder, chosen, only_stale=True)
    return {
        each.name: {name: base.standin_for(each) for name, base in p.BASES.items()}
        for each in chosen
    }


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


def lock_debs(session: nox.Session, chosen: list[p.Platform], *, check: bool) -> None:
    """Resolve each stand-in live; write its lock, or (`check`) report the drift."""
    for each, base in itertools.product(chosen, p.BASES.values()):
        session.log(f"resolving the {base.name} stand-in for {each.name}, Debian {p.SUITE}, live")
        current = standins.resolve_live(runner(session), base, each)
        path = aptlock.lock_path(base.name, each)
        if check:
            changes = aptlock.drift(aptlock.read_lock(base.name, each), current)
            lines = "".join(f"\n  {change.line()}" for change in changes)
            session.log(f"{path.name}: {aptlock.summary(changes)}{lines}")
        else:
            path.write_text(current.text(base.name))


def require_images(session: nox.Session) -> list[str]:
    """The app images, which must already be built; say how if they are not."""
    if problem := appimages.why_not_runnable():
        session.error(problem)
    return [variant.tag() for variant in p.VARIANTS.values()]


def structure_tests(session: nox.Session) -> None:
    """container-structure-test on each image of every platform built, with its config in
    tests/structure/; another platform's commands run under emulation."""
    for variant, tag, platform in appimages.runnable_images():
        if platform != p.host_platform().name and engine.image_size(tag) is None:
            # Another engine than the one `nox -s build` loaded (CI's BuildKit
            # check): it holds the host's images only.
            session.log(f"{tag} ({platform}) is not in this Docker engine: not tested here")
            continue
        session.log(f"structure tests of {tag} ({platform})")
        session.run(
            "container-structure-test",
            "test",
            "--image",
            tag,
            "--platform",
            platform,
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
