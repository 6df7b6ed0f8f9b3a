"""deploy/liveness: the outside check notices a dead published port, and recreates after 3."""

from __future__ import annotations

import http.server
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tools.loopback import free_port
from tools.paths import ROOT

CHECK = ROOT / "deploy" / "liveness" / "moscow-time-liveness"


class Healthy(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/healthz" else 404)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def healthy() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Healthy)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def check(port: int, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    if shutil.which("curl") is None:
        pytest.fail("curl is not installed: run `bin/setup`")
    env = {
        "PATH": "/usr/bin:/bin",
        "URL": f"http://127.0.0.1:{port}/healthz",
        "RESTART": f"touch {tmp_path / 'recreated'}",
        "STATE": str(tmp_path / "failures"),
    }
    return subprocess.run([str(CHECK)], env=env, capture_output=True, text=True, check=False)


def test_a_port_that_answers_is_left_alone(healthy: int, tmp_path: Path) -> None:
    assert check(healthy, tmp_path).returncode == 0
    assert not (tmp_path / "recreated").exists()


def test_a_dead_port_is_recreated_after_three_failures_in_a_row(tmp_path: Path) -> None:
    dead = free_port()
    for attempt in (1, 2):
        failed = check(dead, tmp_path)
        assert failed.returncode == 1
        assert f"({attempt} in a row)" in failed.stderr
        assert not (tmp_path / "recreated").exists()
    third = check(dead, tmp_path)
    assert "recreating" in third.stderr
    assert (tmp_path / "recreated").exists()
    assert not (tmp_path / "failures").exists(), "the count starts again"


def test_a_success_resets_the_count(healthy: int, tmp_path: Path) -> None:
    check(free_port(), tmp_path)
    check(healthy, tmp_path)
    assert not (tmp_path / "failures").exists()


def test_it_probes_loopback_only(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "URL": "http://192.0.2.1:5000/healthz"}
    refused = subprocess.run([str(CHECK)], env=env, capture_output=True, text=True, check=False)
    assert refused.returncode == 2
    assert "loopback" in refused.stderr
