"""Where the locked .debs come from: the cache's place, the host's mirrors, what a mirror's
answer means, and the version Debian offers now (tools.inputs.debs), on loopback only."""

from __future__ import annotations

import http.server
import lzma
import socket
import stat
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from tools.inputs import debs
from tools.inputs.aptlock import Deb
from tools.process import BuildError
from tools.settings import DEB_CACHE_ENV, MIRRORS_ENV, VENDOR_ENV

PASSWD = Deb(
    "passwd", "1:4.17.4-2", "amd64", "trixie", "debian", 1, "0" * 64,
    "pool/main/s/shadow/passwd_4.17.4-2_amd64.deb",
)  # fmt: skip


class Answering(http.server.BaseHTTPRequestHandler):
    """Answers /status/CODE with CODE, and the files in `indexes` with their bytes."""

    indexes: ClassVar[dict[str, bytes]] = {}

    def do_GET(self) -> None:
        if self.path.startswith("/status/"):
            self.send_error(int(self.path.rsplit("/", 1)[1]))
            return
        body = self.indexes.get(self.path)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Requests are the test's business, not its output."""


@pytest.fixture
def server() -> Iterator[str]:
    Answering.indexes = {}
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Answering)
    threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    httpd.server_close()


def index(*versions: tuple[str, str]) -> bytes:
    """A Packages.xz naming these (package, version) pairs."""
    text = "\n".join(f"Package: {name}\nVersion: {version}\n" for name, version in versions)
    return lzma.compress(text.encode())


@pytest.mark.parametrize("code", [403, 404, 410])
def test_a_file_the_mirror_does_not_have_is_false(server: str, code: int, tmp_path: Path) -> None:
    assert debs.download(f"{server}/status/{code}", tmp_path / "part") is False


def test_a_mirror_in_trouble_says_try_again(server: str, tmp_path: Path) -> None:
    with pytest.raises(BuildError) as failed:
        debs.download(f"{server}/status/503", tmp_path / "part")
    assert str(failed.value) == f"{server}/status/503: HTTP 503; try again later"


def test_no_mirror_at_all_says_how_to_work_offline(tmp_path: Path) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    with pytest.raises(BuildError) as failed:
        debs.download(f"http://127.0.0.1:{port}/x.deb", tmp_path / "part")
    message = str(failed.value)
    assert message.startswith(f"http://127.0.0.1:{port}/x.deb: <urlopen error")
    assert message.endswith(
        ". Offline? Fill the cache on a connected machine with `nox -s vendor -- DIR`, "
        f"then set {DEB_CACHE_ENV}=DIR/debs"
    )


def test_what_debian_offers_now_prefers_security_then_updates(server: str) -> None:
    Answering.indexes = {
        "/debian/dists/trixie/main/binary-amd64/Packages.xz": index(("passwd", "1:4.17.4-2")),
        "/debian-security/dists/trixie-security/main/binary-amd64/Packages.xz": index(
            ("login", "1:1"), ("passwd", "1:4.17.4-2+deb13u3")
        ),
    }
    where = {"debian": f"{server}/debian", "debian-security": f"{server}/debian-security"}
    assert debs.current_version(PASSWD, where) == "1:4.17.4-2+deb13u3"
    assert debs.current_version(PASSWD, {"debian": where["debian"]}) == "1:4.17.4-2", (
        "no security mirror known; trixie-updates has no index here: both passed over"
    )
    assert debs.current_version(Deb(**{**PASSWD.__dict__, "package": "absent"}), where) == "none"
    Answering.indexes["/debian/dists/trixie-updates/main/binary-amd64/Packages.xz"] = b"not xz"
    assert debs.current_version(PASSWD, {"debian": where["debian"]}) == "1:4.17.4-2", (
        "an index that does not decompress is passed over too"
    )


def test_an_architecture_all_package_is_looked_up_in_amd64s_index(server: str) -> None:
    Answering.indexes = {
        "/debian/dists/trixie/main/binary-amd64/Packages.xz": index(("tzdata", "2026a-1")),
        "/debian/dists/trixie/main/binary-arm64/Packages.xz": index(("tzdata", "wrong")),
    }
    tzdata = Deb(**{**PASSWD.__dict__, "package": "tzdata", "architecture": "all"})
    assert debs.current_version(tzdata, {"debian": f"{server}/debian"}) == "2026a-1"
    arm64 = Deb(**{**PASSWD.__dict__, "package": "tzdata", "architecture": "arm64"})
    assert debs.current_version(arm64, {"debian": f"{server}/debian"}) == "wrong"


def fake_apt_get(directory: Path, answer: str, status: int = 0) -> None:
    """An apt-get on PATH that answers only `apt-get indextargets --format $(URI)`."""
    script = directory / "apt-get"
    script.write_text(
        "#!/bin/sh\n"
        f'[ "$*" = "indextargets --format \\$(URI)" ] || exit 64\n'
        f"printf '%s' '{answer}'\nexit {status}\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)


def test_mirrors_are_the_hosts_unless_the_environment_names_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(MIRRORS_ENV, raising=False)
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    fake_apt_get(tmp_path, "https://m.invalid/debian/dists/trixie/InRelease\ncdrom://d/dists/x")
    assert debs.mirrors() == {"debian": "https://m.invalid/debian"}
    fake_apt_get(tmp_path, "https://m.invalid/debian/dists/trixie/InRelease", status=100)
    assert debs.mirrors() == {"debian": "https://m.invalid/debian"}, "its exit status aside"
    monkeypatch.setenv(MIRRORS_ENV, "debian=http://own.invalid/debian/")
    assert debs.mirrors() == {"debian": "http://own.invalid/debian"}


def test_a_mirror_url_may_carry_an_equals_sign() -> None:
    assert debs.parse_mirrors("debian=http://m.invalid/get?path=debian") == {
        "debian": "http://m.invalid/get?path=debian"
    }


def test_only_the_slashes_ending_a_mirror_url_go() -> None:
    assert debs.parse_mirrors("debian=http://m.invalid/DEBIAN-X//") == {
        "debian": "http://m.invalid/DEBIAN-X"
    }
    url = debs.snapshot_url("http://s.invalid/SNAPSHOT-X/", PASSWD, "2026-11-27T11:06:49Z")
    assert url.startswith("http://s.invalid/SNAPSHOT-X/archive/debian/20261127T110649Z/")


def test_the_cache_is_named_vendored_or_the_users(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(DEB_CACHE_ENV, raising=False)
    monkeypatch.delenv(VENDOR_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert debs.cache_dir() == tmp_path / "xdg" / "moscow-time" / "debs"
    monkeypatch.setenv(VENDOR_ENV, str(tmp_path / "vendor"))
    assert debs.cache_dir() == tmp_path / "vendor" / "debs"
    assert debs.cached_path(PASSWD) == tmp_path / "vendor" / "debs" / f"{'0' * 64}.deb"


def test_an_upstream_version_with_a_colon_keeps_it_in_the_pool_path() -> None:
    odd = Deb(**{**PASSWD.__dict__, "version": "2:1.0:3-1"})
    assert debs.pool_path(odd) == "pool/main/s/shadow/passwd_1.0:3-1_amd64.deb"


@pytest.mark.usefixtures("local_time_not_utc")
def test_the_snapshot_time_is_utc_whatever_the_local_zone() -> None:
    url = debs.snapshot_url("http://s.invalid", PASSWD, "2026-11-27T14:06:49+03:00")
    assert url.startswith("http://s.invalid/archive/debian/20261127T110649Z/pool/")
    assert debs.snapshot_url("http://s.invalid/", PASSWD, "2026-11-27T11:06:49Z") == url


def test_a_mirror_that_accepts_and_stays_silent_is_unreachable_after_the_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(debs, "TIMEOUT", 0.2)
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()  # the kernel accepts; nobody ever answers
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/debian"
        with pytest.raises(BuildError, match=r"timed out\. Offline\?"):
            debs.download(f"{url}/x.deb", tmp_path / "part")
        assert debs.current_version(PASSWD, {"debian": url}) == "none"
