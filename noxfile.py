"""Sessions for moscow-time. `nox -l` lists them; `nox` runs the default set."""

from __future__ import annotations

import filecmp
import os
import tempfile
from pathlib import Path

import nox

nox.needs_version = ">=2025.02.09"
nox.options.default_venv_backend = "venv"
nox.options.error_on_missing_interpreters = True

ROOT = Path(__file__).resolve().parent
PYPROJECT = nox.project.load_toml(ROOT / "pyproject.toml")
VERSION: str = PYPROJECT["project"]["version"]

LINT_PATHS = ["moscow_time", "tests", "noxfile.py"]
UNIT_TESTS = ["tests", "--ignore=tests/integration"]

RUNTIME_LOCK = "requirements.txt"
DEV_LOCK = "requirements-dev.txt"
#: Each lock and the file it is compiled from. Order matters: the dev lock is
#: constrained by the runtime lock, so that one is compiled first.
LOCKS = {
    "requirements.txt": "requirements.in",
    "requirements-build.txt": "requirements-build.in",
    "requirements-dev.txt": "requirements-dev.in",
}
#: The Python the locks are compiled with: pip-compile evaluates markers for
#: the interpreter it runs on, so a lock is only stable for one of them.
LOCK_PYTHON = "3.11"
PIP_COMPILE_ARGS = [
    "--quiet",
    "--generate-hashes",
    # Pin pip and setuptools too: in hash-checking mode everything needs a hash.
    "--allow-unsafe",
    "--strip-extras",
    # Never write this machine's index or wheel directories into a lock.
    "--no-emit-index-url",
    "--no-emit-find-links",
]
PIP_COMPILE_ENV = {
    "CUSTOM_COMPILE_COMMAND": "nox -s lock",
    # Resolve against PyPI alone: a machine's pip.conf (extra indexes, local
    # wheel directories) must not change what gets pinned.
    "PIP_CONFIG_FILE": os.devnull,
    "PIP_FIND_LINKS": "",
    "PIP_EXTRA_INDEX_URL": "",
}


def install_locked(session: nox.Session, *locks: str) -> None:
    """Install from hash-pinned locks only; an unpinned package is an error."""
    args = [arg for lock in locks for arg in ("-r", lock)]
    session.install("--require-hashes", "--no-deps", *args)


# ---- Development -----------------------------------------------------------


@nox.session(python=LOCK_PYTHON, default=False)
def lock(session: nox.Session) -> None:
    """Compile the hash-pinned locks (`-- --check` fails if one is stale)."""
    check = "--check" in session.posargs
    extra = [arg for arg in session.posargs if arg != "--check"]
    install_locked(session, DEV_LOCK)
    with tempfile.TemporaryDirectory() as scratch:
        stale = []
        for lock_file, source in LOCKS.items():
            output = ROOT / lock_file
            if check:
                # Compile over a copy: pip-compile keeps existing pins, so the
                # copy changes only if the .in file asks for something else.
                output = Path(scratch) / lock_file
                output.write_bytes((ROOT / lock_file).read_bytes())
            session.run(
                "pip-compile",
                *PIP_COMPILE_ARGS,
                *extra,
                "--output-file",
                str(output),
                source,
                env=PIP_COMPILE_ENV,
            )
            if check and not filecmp.cmp(output, ROOT / lock_file, shallow=False):
                stale.append(lock_file)
        if stale:
            session.error(f"stale lock(s): {', '.join(stale)}; run `nox -s lock`")


@nox.session
def lint(session: nox.Session) -> None:
    """Lint and type-check: ruff check, ruff format --check, mypy."""
    install_locked(session, RUNTIME_LOCK, DEV_LOCK)
    paths = session.posargs or LINT_PATHS
    session.run("ruff", "check", *paths)
    session.run("ruff", "format", "--check", *paths)
    session.run("mypy")


@nox.session
def tests(session: nox.Session) -> None:
    """Run the unit, property, route and process tests with coverage."""
    install_locked(session, RUNTIME_LOCK, DEV_LOCK)
    session.run(
        "pytest",
        "--cov",
        "--cov-report=term",
        *(session.posargs or UNIT_TESTS),
        env={"HYPOTHESIS_PROFILE": os.environ.get("HYPOTHESIS_PROFILE", "ci")},
    )


@nox.session(default=False)
def serve(session: nox.Session) -> None:
    """Serve the app locally on http://127.0.0.1:5000 (args go to the server)."""
    install_locked(session, RUNTIME_LOCK)
    session.run("python", "-m", "moscow_time", *session.posargs)
