"""Compile, in the builder, the runtime base's standard-library modules the app imports.

The bases' standard library has no usable bytecode (none at all in
python:3.13-slim and distroless; Debian's is stamped with mtimes that the
image's fixed dates invalidate), and a non-root process cannot write it, so
every start would compile the same modules again.

Two steps, in two stages of the Dockerfiles, so that the second is cached
while the list stays the same:

  python3 precompile.py list MODULES.json
      with the app and its locked dependencies on PYTHONPATH: imports the app,
      serves each endpoint once through Flask's test client, and writes which
      standard-library modules are then loaded (the same for both variants);
  python3 precompile.py compile EXPORTED MODULES.json OUT
      compiles exactly those: not this Python's copies but the runtime
      base's, which image/export_stdlib.py put in EXPORTED. The bytecode is
      unchecked-hash (no mtimes, so the same bytes on every build) and names
      the runtime's paths; OUT gets it under those paths, for the runtime
      stage to copy onto `/`.

The builder runs on the build machine's CPU, whatever the image's: bytecode
is the same on every CPU, and both stages run Python 3.13 (check_python.py),
so it has the same magic number. Compiling here instead of in the runtime
stage saved a minute per image built under emulation.
"""

import importlib.util
import json
import os
import sys

#: Every endpoint, and a 404, so their code paths are loaded.
PATHS = ("/", "/api/time", "/healthz", "/missing", "/static/clock.js")


def load_what_serving_loads() -> None:
    import moscow_time.__main__  # noqa: PLC0415 -- loaded for its imports
    import moscow_time.healthcheck  # noqa: F401, PLC0415
    from moscow_time import create_app  # noqa: PLC0415

    client = create_app().test_client()
    for path in PATHS:
        client.get(path)


def loaded_stdlib_modules() -> list[str]:
    """The .py files of this Python's standard library that are loaded, relative to it."""
    stdlib = os.path.dirname(os.__file__) + "/"
    found = set()
    for module in list(sys.modules.values()):
        source = getattr(module, "__file__", None) or ""
        if source.startswith(stdlib) and source.endswith(".py"):
            found.add(source.removeprefix(stdlib))
    return sorted(found)


def compile_for_runtime(exported: str, out: str, modules: list[str], ours: str) -> list[str]:
    """Compile the runtime's copy of each module into OUT; the ones it does not have.

    `ours` is the CPU name (multiarch) of the Python that listed them."""
    import py_compile  # noqa: PLC0415 -- after the modules to compile were listed

    with open(os.path.join(exported, "runtime.json"), encoding="utf-8") as described:
        runtime = json.load(described)
    theirs = runtime["multiarch"]
    missing = []
    for loaded in modules:
        # The runtime's name for a module named for the CPU (zoneinfo loads sysconfig's data).
        module = loaded.replace(ours, theirs) if ours and theirs else loaded
        installed = os.path.join(runtime["stdlib"], module)
        source = os.path.join(exported, "root", installed.lstrip("/"))
        if not os.path.isfile(source):
            missing.append(module)
            continue
        cached = importlib.util.cache_from_source(installed)
        py_compile.compile(
            source,
            cfile=os.path.join(out, cached.lstrip("/")),
            dfile=installed,
            doraise=True,
            invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
        )
    return missing


def write_list(path: str) -> None:
    """What serving loads, as `compile` reads it: this Python's CPU name, and the modules."""
    load_what_serving_loads()
    listed = {"multiarch": getattr(sys.implementation, "_multiarch", ""),
              "modules": loaded_stdlib_modules()}  # fmt: skip
    with open(path, "w", encoding="utf-8") as out:
        json.dump(listed, out, indent=1, sort_keys=True)
    print(f"serving loads {len(listed['modules'])} standard-library modules")


def compile_listed(exported: str, listed_path: str, out: str) -> None:
    with open(listed_path, encoding="utf-8") as listed_file:
        listed = json.load(listed_file)
    modules = listed["modules"]
    missing = compile_for_runtime(exported, out, modules, listed["multiarch"])
    print(f"compiled {len(modules) - len(missing)} standard-library modules for the runtime")
    if missing:
        # Not an error: the runtime's Python compiles these itself at each start.
        print(f"not in the runtime's standard library: {', '.join(missing)}")


USAGE = "usage: precompile.py list MODULES.json | compile EXPORTED MODULES.json OUT"

if __name__ == "__main__":
    match sys.argv[1:]:
        case ["list", listed_path]:
            write_list(listed_path)
        case ["compile", exported, listed_path, out]:
            compile_listed(exported, listed_path, out)
        case _:
            sys.exit(USAGE)
