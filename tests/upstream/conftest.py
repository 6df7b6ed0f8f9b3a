"""A loopback registry that serves the stand-ins under the upstream names, reached as a
`registries.conf` mirror for docker.io and gcr.io, so that the exact upstream references
are used; builds run in a store of their own.

Everything is real: Debian's docker-registry, Debian 13's skopeo, buildah.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest

from tools.builders.libpod import Buildah
from tools.debtools import REGISTRIES_CONF_ENV
from tools.model import BASES, PLATFORMS
from tools.process import run_shown
from tools.release.registry import LoopbackRegistry

#: Pushes images as one index to a path in the loopback registry; the digest it got.
Push = Callable[[str, list[str]], str]


def mirror_path(base_name: str) -> str:
    """Where a base's upstream tag is in the mirror (docker.io's `library/` included)."""
    return BASES[base_name].upstream.split("/", 1)[1]


def registries_conf(address: str) -> str:
    """docker.io and gcr.io, each mirrored by the loopback registry over plain HTTP."""
    return "".join(
        f'[[registry]]\nprefix = "{host}"\nlocation = "{host}"\n'
        f'[[registry.mirror]]\nlocation = "{address}"\ninsecure = true\n\n'
        for host in ("docker.io", "gcr.io")
    )


@pytest.fixture(scope="session")
def builder() -> Buildah:
    if os.geteuid() != 0:
        pytest.skip("Debian 13's skopeo resolves the digests through chroot, which needs root")
    return Buildah()


@pytest.fixture(scope="session")
def registry(
    builder: Buildah, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LoopbackRegistry]:
    """The loopback registry, reached as the mirror of docker.io and gcr.io."""
    workdir = tmp_path_factory.mktemp("upstream")
    with LoopbackRegistry(workdir / "storage") as running:
        conf = workdir / "registries.conf"
        conf.write_text(registries_conf(running.address))
        before = os.environ.get(REGISTRIES_CONF_ENV)
        os.environ[REGISTRIES_CONF_ENV] = str(conf)
        try:
            yield running
        finally:
            os.environ.pop(REGISTRIES_CONF_ENV, None)
            if before is not None:
                os.environ[REGISTRIES_CONF_ENV] = before


@pytest.fixture(scope="session")
def push(builder: Buildah, registry: LoopbackRegistry) -> Push:
    def push_index(path: str, image_ids: list[str]) -> str:
        index = "localhost/upstream-check:index"
        builder.make_index(run_shown, index, image_ids)
        destination = f"{registry.address}/{path}"
        return builder.push_index(run_shown, index, destination, tls_verify=False)

    return push_index


@pytest.fixture(scope="session")
def upstream(builder: Buildah, push: Push) -> dict[str, str]:
    """Each base's stand-ins, every platform made here, as its upstream tag: the digests."""
    found = {
        name: [i for i in (builder.image_id(base.standin_for(p)) for p in PLATFORMS.values()) if i]
        for name, base in BASES.items()
    }
    if not all(found.values()):
        pytest.fail("no stand-in bases here: run `nox -s standins` (or `nox -s build`) first")
    return {name: push(mirror_path(name), ids) for name, ids in found.items()}
