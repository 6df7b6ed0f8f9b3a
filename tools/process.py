"""Running commands and asking git: output capture, the commit and its time.

Commands whose output a user reads run through a `Runner` (`run_shown`);
the tooling's own questions (an ID, a version, a label) go through `capture`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from tools.paths import ROOT

#: Runs a command with its output shown, and raises if it fails (`run_shown`).
Runner = Callable[..., object]


class BuildError(RuntimeError):
    """A build step failed in a way the user can act on; the message says how."""


def environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """What a child gets: `os.environ` (the declared one inside `tools.buildenv.entered`) and
    `extra`, passed whole, so that nothing set beside `os.environ` (a library's C-level
    setenv, as of LINES and COLUMNS) reaches it."""
    return dict(os.environ) | dict(extra or {})


def capture(*args: str, check: bool = True) -> str:
    """Run a command and return its stripped stdout."""
    result = subprocess.run(args, capture_output=True, text=True, env=environment(), check=False)
    if check and result.returncode != 0:
        raise BuildError(f"`{' '.join(args)}` failed: {result.stderr.strip()}")
    return result.stdout.strip()


def run_shown(
    *args: str,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    success_codes: Sequence[int] = (0,),
) -> None:
    """The `Runner` of the tooling: the command is echoed, its output shown; an exit code
    outside `success_codes` is a BuildError."""
    print("$", " ".join(args), flush=True)
    result = subprocess.run(args, env=environment(env), cwd=cwd, check=False)
    if result.returncode not in success_codes:
        raise BuildError(f"`{' '.join(args[:2])}` failed: its output is above")


def say(message: str) -> None:
    """A line of the tooling's progress, beside the commands' own output."""
    print(f"moscow-time: {message}", file=sys.stderr, flush=True)


def have(program: str) -> bool:
    return shutil.which(program) is not None


def succeeds(*args: str) -> bool:
    """True if the command exits 0; its output is dropped."""
    return (
        subprocess.run(args, capture_output=True, env=environment(), check=False).returncode == 0
    )


def rfc3339(epoch: int) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def git(*args: str, check: bool = True) -> str:
    """A git command in this repository; its stripped stdout."""
    return capture("git", "-C", str(ROOT), *args, check=check)


def git_revision() -> str:
    return git("rev-parse", "HEAD")


def tree_is_clean() -> bool:
    """True if no tracked file differs from the last commit."""
    return git("status", "--porcelain", "--untracked-files=no") == ""


def has_commit(commit: str) -> bool:
    """True if this clone holds the commit (a shallow clone may not)."""
    return git("cat-file", "-t", commit, check=False) == "commit"


def checkout_worktree(run: Runner, commit: str, worktree: Path) -> None:
    """A fresh detached worktree of `commit` at `worktree`, replacing any earlier one."""
    run(
        "git",
        "-C",
        str(ROOT),
        "worktree",
        "remove",
        "--force",
        str(worktree),
        success_codes=[0, 128],
    )
    shutil.rmtree(worktree, ignore_errors=True)
    run("git", "-C", str(ROOT), "worktree", "prune")
    run("git", "-C", str(ROOT), "worktree", "add", "--detach", str(worktree), commit)


def sha256_file(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()
