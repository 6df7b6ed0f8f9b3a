"""Compile the standard-library modules the app imports, deterministically, in the runtime stage.

The bases' standard library has no usable bytecode (none at all in
python:3.13-slim and distroless; Debian's is stamped with mtimes that the
image's fixed dates invalidate), and a non-root process cannot write it, so
every start would compile the same modules again. This imports the app,
serves each endpoint once through Flask's test client, and compiles exactly
the standard-library modules that are then loaded, with unchecked-hash
bytecode (no mtimes, so the same bytes on every build).

It imports nothing the app does not, besides what the compiling needs, so
the set of modules, and so the image, stays the same.
"""

import importlib.util
import py_compile
import sys
import sysconfig

#: Every endpoint, and a 404, so their code paths are loaded.
PATHS = ("/", "/api/time", "/healthz", "/missing", "/static/clock.js")


def load_what_serving_loads() -> None:
    import moscow_time.__main__  # noqa: PLC0415 -- loaded for its imports
    import moscow_time.healthcheck  # noqa: F401, PLC0415
    from moscow_time import create_app  # noqa: PLC0415

    client = create_app().test_client()
    for path in PATHS:
        client.get(path)


def compile_loaded_stdlib() -> None:
    stdlib = sysconfig.get_paths()["stdlib"] + "/"
    for module in list(sys.modules.values()):
        source = getattr(module, "__file__", None) or ""
        if source.startswith(stdlib) and source.endswith(".py"):
            py_compile.compile(
                source,
                importlib.util.cache_from_source(source),
                doraise=True,
                invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
            )


if __name__ == "__main__":
    load_what_serving_loads()
    compile_loaded_stdlib()
