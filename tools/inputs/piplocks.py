"""The pip locks: how `nox -s lock` compiles them, how `--check` finds a stale one, and one pin.

`python3 -m tools.inputs.piplocks LOCK NAME` prints one package's pin with its hashes:
CI installs uv that way, hash-checked, before anything else.
"""

from __future__ import annotations

import filecmp
import os
import sys
from pathlib import Path

from tools.inputs.wheelhouse import offline_index
from tools.model import PipLock
from tools.paths import ROOT
from tools.process import BuildError

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


def pinned(lock: Path, name: str) -> str:
    """One package's pin in a lock, hashes and all: a requirements file of its own."""
    lines = lock.read_text().splitlines()
    starts = [i for i, line in enumerate(lines) if line.lower().startswith(f"{name.lower()}==")]
    if not starts:
        raise BuildError(f"{lock.name} pins no {name}: add it to its .in file, run `nox -s lock`")
    block = [lines[starts[0]]]
    for line in lines[starts[0] + 1 :]:
        if not block[-1].endswith("\\"):
            break
        block.append(line)
    return "\n".join(block) + "\n"


if __name__ == "__main__":
    try:
        sys.stdout.write(pinned(Path(sys.argv[1]), sys.argv[2]))
    except BuildError as error:
        sys.exit(str(error))
