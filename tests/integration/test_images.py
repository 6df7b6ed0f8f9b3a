"""Every promise of both images, checked by running them as users do."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import tarfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tools import loopback
from tools.images.identity import IMAGE_EPOCH, IMAGE_INPUTS

from .conftest import HARDENED, Container, Runner, docker

ROOT_PROCESS_STATUS = "print(open('/proc/1/status').read())"


def moscow_seconds(text: str) -> int:
    hours, minutes, seconds = map(int, text.split(":"))
    return hours * 3600 + minutes * 60 + seconds


# ---- time --------------------------------------------------------------------


def test_page_and_api_show_moscow_time_within_two_seconds(container: Container) -> None:
    _, _, html = container.get("/")
    _, _, body = container.get("/api/time")
    expected = datetime.now(UTC).astimezone(ZoneInfo("Europe/Moscow"))
    shown = re.search(r'id="clock">(\d\d:\d\d:\d\d)<', html)
    assert shown, html
    difference = abs(moscow_seconds(shown[1]) - moscow_seconds(f"{expected:%H:%M:%S}"))
    assert min(difference, 86400 - difference) <= 2
    data = json.loads(body)
    assert abs(datetime.fromisoformat(data["iso"]) - expected).total_seconds() <= 2
    assert data["zone"] == "Europe/Moscow"


@pytest.mark.parametrize(
    "options",
    [
        ("--env", "TZ=America/New_York"),
        ("--env", "TZ=:/nonexistent/zone"),  # a zone that cannot be read
        # The host's zone as the container's clock zone, as some deployments mount it.
        ("--volume", "/usr/share/zoneinfo/America/New_York:/etc/localtime:ro"),
    ],
)
def test_clock_ignores_the_containers_own_time_zone(
    start: Runner, options: tuple[str, ...]
) -> None:
    if "--volume" in options and not Path(options[1].split(":")[0]).exists():
        pytest.skip("this host has no /usr/share/zoneinfo/America/New_York to mount")
    container = start(*options)
    data = json.loads(container.get("/api/time")[2])
    expected = datetime.now(UTC).astimezone(ZoneInfo("Europe/Moscow"))
    offset = expected.utcoffset()
    assert offset is not None
    assert data["offset_seconds"] == offset.total_seconds()
    assert abs(datetime.fromisoformat(data["iso"]) - expected).total_seconds() <= 2


# ---- health ------------------------------------------------------------------


def test_healthcheck_reports_healthy_within_thirty_seconds(start: Runner) -> None:
    container = start(wait=False, image_health_timing=True)
    assert container.wait_until("healthy", within=30) <= 30


def test_healthcheck_reports_unhealthy_when_the_app_stops_answering(start: Runner) -> None:
    container = start("--health-retries", "2", "--health-timeout", "1s")
    docker("kill", "--signal", "STOP", container.name)  # frozen, not exited
    container.wait_until("unhealthy", within=30)
    docker("kill", "--signal", "CONT", container.name)


# ---- users ---------------------------------------------------------------------


def test_image_and_process_run_as_non_root(container: Container, variant: str) -> None:
    user = container.inspect()["Config"]["User"]
    assert user == {"slim": "10001:10001", "distroless": "65532:65532"}[variant]
    status = container.python(ROOT_PROCESS_STATUS)
    uids = re.search(r"^Uid:\s+(.*)$", status, re.MULTILINE)
    assert uids is not None, status
    real, effective, *_ = uids[1].split()
    assert int(real) != 0
    assert int(effective) != 0


def test_user_name_matches(container: Container, variant: str) -> None:
    name = container.python("import pwd, os; print(pwd.getpwuid(os.getuid()).pw_name)")
    assert name == {"slim": "appuser", "distroless": "nonroot"}[variant]


def test_image_serves_under_an_arbitrary_uid(start: Runner) -> None:
    container = start("--user", "12345:0", "--read-only")
    assert container.get("/healthz")[0] == 200


# ---- hardened run --------------------------------------------------------------


def test_serves_read_only_without_capabilities_and_writes_nothing(
    container: Container,
) -> None:
    assert container.get("/")[0] == 200
    assert container.get("/api/time")[0] == 200
    host_config = container.inspect()["HostConfig"]
    assert host_config["ReadonlyRootfs"] is True
    assert host_config["CapDrop"] == ["ALL"]
    assert host_config.get("Tmpfs") in (None, {})
    assert docker("diff", container.name) == ""


# ---- stop --------------------------------------------------------------------------


def test_docker_stop_returns_within_three_seconds(start: Runner) -> None:
    container = start(*HARDENED)
    started = time.monotonic()
    docker("stop", container.name)
    assert time.monotonic() - started < 3
    assert container.inspect()["State"]["ExitCode"] == 0


def test_request_in_flight_when_docker_stop_arrives_completes(start: Runner) -> None:
    container = start(*HARDENED)
    with socket.create_connection(("127.0.0.1", container.port), timeout=10) as client:
        client.sendall(b"GET /api/time HTTP/1.1\r\nHost: localhost\r\n")
        time.sleep(0.3)
        stopper = threading.Thread(target=docker, args=("stop", container.name))
        stopper.start()
        time.sleep(0.5)
        client.sendall(b"Connection: close\r\n\r\n")
        reply = loopback.read_until_closed(client)
        stopper.join(timeout=10)
    assert reply.startswith(b"HTTP/1.1 200 OK"), reply
    assert b'"zone":"Europe/Moscow"' in reply
    assert container.inspect()["State"]["ExitCode"] == 0


# ---- surface ---------------------------------------------------------------------


def test_only_port_5000_is_exposed(image: str) -> None:
    config = json.loads(docker("image", "inspect", image))[0]["Config"]
    assert list(config["ExposedPorts"]) == ["5000/tcp"]


def test_distroless_has_no_shell(image: str, variant: str) -> None:
    if variant != "distroless":
        pytest.skip("the slim image keeps Debian's shell by design")
    result = subprocess.run(
        ["docker", "run", "--rm", "--entrypoint", "/bin/sh", image, "-c", "true"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "no such file or directory" in result.stderr.lower()


@pytest.fixture(scope="module")
def exported(image: str, tmp_path_factory: pytest.TempPathFactory) -> list[tarfile.TarInfo]:
    """Every entry of the image's filesystem, from `docker export`."""
    name = docker("create", image)
    try:
        archive = tmp_path_factory.mktemp("export") / "rootfs.tar"
        docker("export", "--output", str(archive), name)
    finally:
        docker("rm", name)
    with tarfile.open(archive) as tar:
        return tar.getmembers()


def test_no_pip_compiler_or_apt_leftovers(exported: list[tarfile.TarInfo]) -> None:
    forbidden = re.compile(
        r"(^|/)(pip|pip3|pip-[^/]*\.dist-info|setuptools|wheel)(/|$)"
        r"|(^|/)bin/(gcc|cc|c\+\+|g\+\+)(-[\d.]+)?$"
        r"|^var/lib/apt/lists/[^/]+$(?<!lock)"
        r"|^var/cache/apt/.*\.(deb|bin)$"
        r"|/__pycache__/.*\.cpython-3\d+\.opt"  # no -O leftovers either
    )
    offending = [m.name for m in exported if m.isfile() and forbidden.search(m.name)]
    assert offending == []


def test_no_setuid_or_setgid_files(exported: list[tarfile.TarInfo]) -> None:
    offending = [m.name for m in exported if m.isfile() and m.mode & 0o6000]
    assert offending == []


def test_app_bytecode_is_precompiled(exported: list[tarfile.TarInfo]) -> None:
    names = {m.name for m in exported}
    for module in ("app", "clock", "server", "__main__"):
        assert f"opt/moscow-time/app/moscow_time/__pycache__/{module}.cpython-313.pyc" in names
    assert any(n.startswith("opt/moscow-time/lib/flask/__pycache__/") for n in names)


def test_labels_name_the_commit_of_the_inputs_and_the_constant_epoch(image: str) -> None:
    labels = json.loads(docker("image", "inspect", image))[0]["Config"]["Labels"]
    last_input_change = subprocess.run(
        ["git", "log", "-1", "--format=%H", "HEAD", "--", *IMAGE_INPUTS],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert labels["org.opencontainers.image.revision"] == last_input_change
    for key in ("title", "description", "source", "version", "created", "base.name"):
        assert labels[f"org.opencontainers.image.{key}"], key
    created = datetime.fromisoformat(labels["org.opencontainers.image.created"])
    assert created.timestamp() == IMAGE_EPOCH


def test_bytecode_is_unchecked_hash_for_the_app_its_libraries_and_the_stdlib(
    container: Container,
) -> None:
    # PEP 552: the pyc flags word is 1 for hash-based bytecode that is never
    # checked against its source; timestamp-based bytecode has 0.
    flags = container.python(
        "import importlib.util, json, flask, moscow_time.clock\n"
        "for m in (json, flask, moscow_time.clock):\n"
        "    with open(importlib.util.cache_from_source(m.__file__), 'rb') as f:\n"
        "        print(m.__name__, int.from_bytes(f.read(8)[4:], 'little'))"
    )
    assert flags.split("\n") == ["json 1", "flask 1", "moscow_time.clock 1"]
