"""Process tests: ``python -m moscow_time`` as a user runs it."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from moscow_time.__main__ import parse_args
from tools import loopback
from tools.paths import ROOT

STOP_BUDGET_SECONDS = 2.0


class Served:
    """A running ``python -m moscow_time`` and the URL it serves."""

    def __init__(self, process: subprocess.Popen[str], url: str) -> None:
        self.process = process
        self.url = url
        self.port = int(url.rsplit(":", 1)[1])

    def get(self, path: str, **headers: str) -> tuple[int, dict[str, str], str]:
        return loopback.get(self.url + path, headers, timeout=5)

    def stop(self, signum: int = signal.SIGTERM) -> tuple[int, float, str]:
        """Send ``signum``; return the exit code, the seconds it took and stderr."""
        started = time.monotonic()
        self.process.send_signal(signum)
        try:
            _, stderr = self.process.communicate(timeout=10)
        finally:
            self.process.kill()
        return self.process.returncode, time.monotonic() - started, stderr


def start(*args: str, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "moscow_time", *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), "HOST": "127.0.0.1", "PORT": "0", **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture
def served() -> Iterator[Served]:
    """A fresh server on a free port, up and answering /healthz."""
    process = start()
    assert process.stderr is not None
    # The server logs the address it bound; with PORT=0 that is the only way
    # to learn the port without racing another process for it.
    for line in process.stderr:
        if match := re.search(r"serving on (http://\S+)", line):
            break
    else:
        pytest.fail(f"server exited with {process.wait()} before serving")
    instance = Served(process, match.group(1))
    assert instance.get("/healthz")[0] == 200
    yield instance
    process.kill()
    process.communicate()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_stop_signal_ends_the_server_with_status_zero_within_two_seconds(
    served: Served, signum: int
) -> None:
    code, seconds, stderr = served.stop(signum)
    assert code == 0, stderr
    assert seconds < STOP_BUDGET_SECONDS
    assert "Traceback" not in stderr


def test_request_in_flight_when_the_stop_arrives_still_completes(served: Served) -> None:
    with socket.create_connection(("127.0.0.1", served.port), timeout=5) as client:
        # Half a request: the server has accepted the connection and is reading.
        client.sendall(b"GET /api/time HTTP/1.1\r\nHost: localhost\r\n")
        time.sleep(0.2)
        served.process.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        # Draining: the listener is closed, so newcomers are turned away ...
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", served.port), timeout=1).close()
        # ... while the request already under way is answered in full.
        client.sendall(b"Connection: close\r\n\r\n")
        reply = loopback.read_until_closed(client)
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK")
    assert json.loads(body)["zone"] == "Europe/Moscow"
    assert served.process.wait(timeout=STOP_BUDGET_SECONDS) == 0


def test_client_that_never_finishes_cannot_hold_up_the_stop(served: Served) -> None:
    with socket.create_connection(("127.0.0.1", served.port), timeout=5) as client:
        client.sendall(b"GET / HTTP/1.1\r\n")
        time.sleep(0.2)
        code, seconds, stderr = served.stop()
    assert code == 0
    assert seconds < STOP_BUDGET_SECONDS
    assert "closing 1 connection(s) with unfinished requests" in stderr


def test_second_stop_signal_exits_at_once(served: Served) -> None:
    with socket.create_connection(("127.0.0.1", served.port), timeout=5) as client:
        client.sendall(b"GET / HTTP/1.1\r\n")
        time.sleep(0.2)
        served.process.send_signal(signal.SIGTERM)
        time.sleep(0.2)
        code, seconds, stderr = served.stop(signal.SIGINT)
    assert code == 1
    assert seconds < 0.5
    assert "second stop signal" in stderr


def test_page_agrees_with_an_independent_moscow_clock(served: Served) -> None:
    status, _, html = served.get("/")
    expected = datetime.now(UTC).astimezone(ZoneInfo("Europe/Moscow"))
    assert status == 200
    match = re.search(r'<span class="clock" id="clock">(\d\d):(\d\d):(\d\d)</span>', html)
    assert match, html
    shown = expected.replace(hour=int(match[1]), minute=int(match[2]), second=int(match[3]))
    assert abs((shown - expected).total_seconds()) <= 1.5
    _, _, body = served.get("/api/time")
    assert abs(json.loads(body)["epoch"] - time.time()) < 1


def test_server_header_names_no_version(served: Served) -> None:
    _, headers, _ = served.get("/healthz")
    assert headers["Server"] == "moscow-time"


@pytest.mark.parametrize(
    ("method", "path", "headers", "statuses"),
    [
        ("GET", "/no/such/page", {}, {404}),
        ("POST", "/", {}, {405}),
        ("GET", "/", {"X-Padding": "x" * 20_000}, {431}),
        ("GET", "/?%ff%00=&&;;==%zz" + "&a=b" * 500, {}, {200}),
        ("GET", "/api/time?" + "%" * 100, {}, {200}),
    ],
)
def test_bad_requests_get_clean_answers_and_the_server_keeps_serving(
    served: Served, method: str, path: str, headers: dict[str, str], statuses: set[int]
) -> None:
    request = urllib.request.Request(served.url + path, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            status, body = response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        status, body = error.code, error.read().decode()
    assert status in statuses
    assert "Traceback" not in body
    assert served.get("/healthz")[0] == 200
    code, _, stderr = served.stop()
    assert code == 0
    assert "Traceback" not in stderr


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        ((), {"PORT": "http"}, "not a port number: 'http'"),
        (("--port", "70000"), {}, "port out of range"),
        (("--threads", "0"), {}, "need at least 1 thread"),
        (("--threads", "many"), {}, "not a whole number: 'many'"),
        ((), {"REQUEST_DEADLINE": "soon"}, "not a number of seconds: 'soon'"),
        (("--request-deadline", "0"), {}, "seconds out of range"),
    ],
)
def test_bad_settings_are_refused_with_a_clear_message(
    args: tuple[str, ...], env: dict[str, str], message: str
) -> None:
    _, stderr = start(*args, **env).communicate(timeout=10)
    assert message in stderr
    assert "Traceback" not in stderr


def test_busy_port_is_reported_in_one_line(served: Served) -> None:
    process = start(PORT=str(served.port))
    _, stderr = process.communicate(timeout=10)
    assert process.returncode == 1
    assert f"cannot listen on 127.0.0.1:{served.port}" in stderr
    assert "Traceback" not in stderr


def healthcheck(port: int) -> subprocess.CompletedProcess[str]:
    """Run the images' HEALTHCHECK command against a local port."""
    return subprocess.run(
        [sys.executable, "-m", "moscow_time.healthcheck"],
        cwd=ROOT,
        env={**os.environ, "PORT": str(port)},
        capture_output=True,
        text=True,
        check=False,
    )


def test_healthcheck_passes_against_a_healthy_server(served: Served) -> None:
    result = healthcheck(served.port)
    assert result.returncode == 0, result.stderr


def test_healthcheck_fails_when_nothing_answers(served: Served) -> None:
    served.stop()
    result = healthcheck(served.port)
    assert result.returncode == 1
    assert "unhealthy:" in result.stderr


def documented_seconds(setting: str) -> float:
    """The default docs/reliability.md gives for a setting: '**N s** (`SETTING`'."""
    text = (ROOT / "docs" / "reliability.md").read_text()
    found = re.search(rf"\*\*(\d+) s\*\*\s+\(`{setting}`", text)
    assert found, f"docs/reliability.md no longer gives {setting}'s default"
    return float(found.group(1))


def test_the_deadlines_default_to_what_the_docs_promise() -> None:
    args = parse_args([], environ={})
    assert args.request_deadline == documented_seconds("REQUEST_DEADLINE")
    assert args.response_deadline == documented_seconds("RESPONSE_DEADLINE")
