"""Directories made once and kept in the cache (the toolchain's home, Debian's tools, the
stand-ins' work): one maker at a time across processes, and a root put in place only whole.

A run can stop anywhere (Ctrl-C, a full disk, a killed CI job). What it was
making is made in a scratch directory beside the root and moved over it only
once it is done, with a `.complete` stamp written last; a root without the
stamp is made again.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

#: Written last, so a root that was being made when a run stopped is made again.
COMPLETE = ".complete"
#: The lock file a maker holds, in the directory the roots are made in.
MAKING = ".making"


def is_complete(root: Path) -> bool:
    """True if `root` was put in place whole."""
    return (root / COMPLETE).exists()


def _one_maker(directory: Path, waiting: Callable[[], object] = lambda: None) -> Iterator[None]:
    """Make things in `directory` one process at a time: a second waits for the first,
    after calling `waiting` (to say so)."""
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / MAKING).open("w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            waiting()
            fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _made_whole(root: Path, stamp: Callable[[Path], str]) -> Iterator[Path]:
    """A scratch directory beside `root` to make it in. When the block ends, `stamp(scratch)`
    goes into its COMPLETE file and the scratch replaces `root`; on an error, the scratch is
    removed and `root` is left as it was."""
    root.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f"making-{root.name}-", dir=root.parent))
    try:
        yield scratch
        (scratch / COMPLETE).write_text(stamp(scratch) + "\n")
        shutil.rmtree(root, ignore_errors=True)
        os.replace(scratch, root)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


# Wrapped here, not decorated: mutmut leaves decorated functions unmutated (docs/testing.md).
one_maker = contextlib.contextmanager(_one_maker)
made_whole = contextlib.contextmanager(_made_whole)
