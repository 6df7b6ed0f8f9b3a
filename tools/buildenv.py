"""The declared build environment: what every tool that writes image bits runs with.

mmdebstrap (and the hooks and maintainer scripts it runs), apt-ftparchive,
buildah, podman, docker, pip's download of the wheelhouse: each inherits its
environment, and a variable in the caller's shell can change what it writes
(`PYTHONDONTWRITEBYTECODE` decided whether Debian's python3 maintainer scripts
left five .pyc files in the slim stand-in). So the image-writing steps run
inside `declared()`: the process environment is replaced by one built from
this allowlist, and the umask is set, until the step ends.

- `FIXED`: values of our own, whatever the caller's are.
- `PASSED`: names taken from the caller because they say *where* to reach
  something (a proxy, a CA bundle, an index, an engine's socket, a store's or a
  registry's config, the project's own `MOSCOW_TIME_*` settings), never *what*
  goes into an image: every .deb, wheel and base is checked against a hash or
  a digest, so they cannot change the bits.
- Everything else (`PYTHON*`, `LANG`/`LC_*`, `TZ`, `TMPDIR`, `SOURCE_DATE_EPOCH`,
  `BUILDAH_*`, any `DOCKER_*` but the two below, …) is dropped. `HOME` is the
  user's home from the password database, not the caller's `HOME`.

docs/reproducibility.md ("The build environment") lists the same, with why.
"""

from __future__ import annotations

import contextlib
import functools
import os
import pwd
from collections.abc import Callable, Iterator, Mapping
from typing import ParamSpec, TypeVar

#: Set to these values, whatever the caller's are.
FIXED = {
    # Debian's default for root: the tools are the system's, not a venv's or pyenv's.
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "LANG": "C.UTF-8",
    "LC_ALL": "C.UTF-8",
    "TZ": "UTC",
    # Debian's maintainer scripts write no stray bytecode (python:3.13-slim carries none of
    # Debian's), and the published IDs were made so.
    "PYTHONDONTWRITEBYTECODE": "1",
}
#: Taken from the caller when set: where to reach things, never what to build.
PASSED = (
    "http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY",
    "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "PIP_CERT",
    "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS", "PIP_TRUSTED_HOST",
    "PIP_DEFAULT_TIMEOUT",
    "DOCKER_HOST", "DOCKER_CONFIG",
    "CONTAINERS_STORAGE_CONF", "CONTAINERS_REGISTRIES_CONF", "CONTAINERS_CONF",
    "XDG_CACHE_HOME",
)  # fmt: skip
#: Every variable whose name starts so: the project's settings, already in the build plan.
PASSED_PREFIXES = ("MOSCOW_TIME_",)
#: Files the tools create are rw-r--r--, directories rwxr-xr-x, whatever the caller's umask.
UMASK = 0o022

P = ParamSpec("P")
R = TypeVar("R")


def home() -> str:
    """The user's home directory as the password database has it."""
    return pwd.getpwuid(os.getuid()).pw_dir


def declared(environ: Mapping[str, str]) -> dict[str, str]:
    """The environment an image-writing step runs with, given the caller's."""
    passed = {
        name: value
        for name, value in environ.items()
        if name in PASSED or name.startswith(PASSED_PREFIXES)
    }
    return dict(sorted((passed | FIXED | {"HOME": home()}).items()))


@contextlib.contextmanager
def entered() -> Iterator[dict[str, str]]:
    """Run what is inside with the declared environment and umask, then restore the caller's.

    The process's own environment is replaced, so that every child, whichever
    helper starts it (`run_shown`, `capture`, `subprocess.run`), inherits the
    declared one; nested entries are harmless.
    """
    saved, mask = dict(os.environ), os.umask(UMASK)
    environment = declared(saved)
    os.environ.clear()
    os.environ.update(environment)
    try:
        yield environment
    finally:
        os.environ.clear()
        os.environ.update(saved)
        os.umask(mask)


def hermetic(function: Callable[P, R]) -> Callable[P, R]:
    """Decorate a step that writes image bits: it runs inside `entered()`."""

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with entered():
            return function(*args, **kwargs)

    return wrapper
