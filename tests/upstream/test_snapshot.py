"""A day the mirror has moved on: a stand-in made while the mirror lacks one locked .deb,
which comes from a loopback server laid out as Debian's snapshot archive."""

from __future__ import annotations

import functools
import http.server
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tools.builders.libpod import Buildah
from tools.images.standins import build_base, build_rootfs, standin_epoch
from tools.inputs import debs
from tools.inputs.aptlock import Deb, read_lock
from tools.model import BASES, host_platform
from tools.process import BuildError, run_shown
from tools.settings import DEB_CACHE_ENV, MIRRORS_ENV, SNAPSHOT_ENV

BASE = BASES["distroless"]


class Logged(http.server.SimpleHTTPRequestHandler):
    """Serves a directory and remembers every path asked for, quietly."""

    asked: list[str]

    def log_message(self, format: str, *args: object) -> None:
        type(self).asked.append(self.path)


@pytest.fixture
def serve() -> Iterator[functools.partial[str]]:
    servers: list[http.server.ThreadingHTTPServer] = []

    def start(root: Path, asked: list[str]) -> str:
        handler = type("Handler", (Logged,), {"asked": asked})
        bound = functools.partial(handler, directory=str(root))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), bound)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}"

    yield functools.partial(start)
    for server in servers:
        server.shutdown()
        server.server_close()


def place(deb: Deb, source: Path, destination: Path) -> None:
    destination.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, destination)


def test_a_standin_made_through_the_snapshot_has_the_mirror_built_id(
    builder: Buildah,
    serve: functools.partial[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    platform = host_platform()
    expected = builder.image_id(BASE.standin_for(platform))
    if expected is None:
        pytest.fail("no distroless stand-in here: run `nox -s standins` first")
    lock = read_lock(BASE.name, platform)
    lock_name = f"{BASE.name}.{platform.debian}.lock"
    # Every locked file, from this machine's cache (or its mirror, which fills the cache).
    sources = {deb: debs.fetch(deb, lock_name, locked_at=lock.locked_at) for deb in lock.debs}
    gone = lock.debs[0]
    mirror, snapshot = tmp_path / "mirror", tmp_path / "snapshot"
    for deb, source in sources.items():
        if deb != gone:
            place(deb, source, mirror / deb.archive / debs.pool_path(deb))
    at_lock_time = debs.snapshot_url("", gone, lock.locked_at).lstrip("/")
    place(gone, sources[gone], snapshot / at_lock_time)
    mirror_asked: list[str] = []
    snapshot_asked: list[str] = []
    mirror_url = serve(mirror, mirror_asked)
    monkeypatch.setenv(DEB_CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.setenv(
        MIRRORS_ENV, f"debian={mirror_url}/debian debian-security={mirror_url}/debian-security"
    )
    monkeypatch.setenv(SNAPSHOT_ENV, serve(snapshot, snapshot_asked) + "/")

    epoch = standin_epoch(BASE, platform)
    with builder.separate_store(tmp_path / "store"):
        build_rootfs(run_shown, BASE, platform, epoch=epoch)
        made = build_base(run_shown, builder, BASE, platform, epoch=epoch)
    print(
        f"{gone.package} {gone.version} from the snapshot ({snapshot_asked}); "
        f"{len(lock.debs) - 1} from the mirror; stand-in {made}, mirror-built {expected}"
    )
    assert snapshot_asked == ["/" + at_lock_time]
    assert f"/{gone.archive}/{debs.pool_path(gone)}" in mirror_asked, "the mirror was asked first"
    assert made == expected

    # A wrong file at that place is refused by its hash, whatever served it.
    (snapshot / at_lock_time).write_bytes(b"!<arch>\nnot the locked bytes\n")
    (tmp_path / "cache" / f"{gone.sha256}.deb").unlink()
    with pytest.raises(BuildError, match=f"is not the {gone.sha256}"):
        debs.fetch(gone, lock_name, debs.mirrors(), locked_at=lock.locked_at)
