"""Copy this Python's standard-library sources out, for the builder to compile.

Run as `python3 export_stdlib.py DEST` in the `runtime-python` stage of both
Dockerfiles: on the image's own base, and so, for another CPU, under qemu's
emulation. It does there the one thing only that Python can do, say where its
standard library is, and leaves the compiling to the builder, which runs
natively (image/precompile.py): under emulation the compiling took a minute
per image.

DEST gets two things:
  DEST/runtime.json  the library's directory, as this Python has it, and
                     the multiarch tuple (aarch64-linux-gnu) some names carry
  DEST/root/...      its .py files at that path under root/, and nothing else
Standard library only: it runs on the bare bases.
"""

import json
import os
import shutil
import sys

#: Directories no app imports from, and bytecode the builder makes afresh.
SKIPPED_DIRS = {"__pycache__", "site-packages", "dist-packages", "test", "idlelib", "tkinter"}


def sources_only(directory: str, names: list[str]) -> set[str]:
    """shutil.copytree's `ignore`: everything but .py files and the directories holding them."""
    return {
        name
        for name in names
        if name in SKIPPED_DIRS
        or not (name.endswith(".py") or os.path.isdir(os.path.join(directory, name)))
    }


def export(dest: str) -> str:
    """Copy the sources to DEST/root and describe them in DEST/runtime.json; the library."""
    # The directory os.py is in: the landmark CPython itself finds its library by.
    stdlib = os.path.dirname(os.__file__)
    shutil.copytree(
        stdlib,
        os.path.join(dest, "root", stdlib.lstrip("/")),
        ignore=sources_only,
        # Debian's sitecustomize.py links to /etc, which distroless leaves out.
        ignore_dangling_symlinks=True,
    )
    # sysconfig's data module is named for the CPU: _sysconfigdata__linux_aarch64-linux-gnu.
    multiarch = getattr(sys.implementation, "_multiarch", "")
    with open(os.path.join(dest, "runtime.json"), "w", encoding="utf-8") as described:
        json.dump({"stdlib": stdlib, "multiarch": multiarch}, described)
    return stdlib


if __name__ == "__main__":
    print(f"exported the sources of {export(sys.argv[1])}")
