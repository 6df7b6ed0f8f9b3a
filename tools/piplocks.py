"""The pip locks: how `nox -s lock` compiles them, and how `--check` finds a stale one."""

from __future__ import annotations

import filecmp
import os
from pathlib import Path

from tools.project import ROOT, PipLock
from tools.wheelhouse import offline_index

PIP_COMPILE_ARGS = (
    "--quiet",
    "--generate-hashes",
    # Pin pip and setuptools too: in hash-checking mode everything needs a hash.
    "--allow-unsafe",
    "--strip-extras",
    # Never write this machine's index or wheel directories into a lock.
    "--no-emit-index-url",
    "--no-emit-find-links",
)
PIP_COMPILE_ENV = {
    "CUSTOM_COMPILE_COMMAND": "nox -s lock",
    # Resolve against PyPI alone: a machine's pip.conf (extra indexes, local
    # wheel directories) must not change what gets pinned.
    "PIP_CONFIG_FILE": os.devnull,
    "PIP_FIND_LINKS": "",
    "PIP_EXTRA_INDEX_URL": "",
}


def compile_command(lock: PipLock, output: Path, *extra: str) -> list[str]:
    return ["pip-compile", *PIP_COMPILE_ARGS, *extra, "--output-file", str(output), lock.source]


def check_copy(lock: PipLock, scratch: Path) -> Path:
    """A copy of the lock to compile over: pip-compile keeps existing pins, so the
    copy changes only if the .in file asks for something else."""
    copy = scratch / lock.lock
    copy.write_bytes((ROOT / lock.lock).read_bytes())
    return copy


def is_stale(lock: PipLock, compiled: Path) -> bool:
    return not filecmp.cmp(compiled, ROOT / lock.lock, shallow=False)


def install_args(*locks: PipLock) -> list[str]:
    """pip install arguments for hash-pinned locks only; an unpinned package is an error."""
    args = ["--require-hashes", "--no-deps", *(a for lock in locks for a in ("-r", lock.lock))]
    return args + offline_index()
