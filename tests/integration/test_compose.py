"""compose.yaml, brought up with the compose tool this machine has."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Iterator

import pytest

from tools.checks import compose
from tools.loopback import free_port, wait_for
from tools.paths import COMPOSE_FILE

from .conftest import docker, image_for


@pytest.fixture
def project() -> Iterator[tuple[list[str], dict[str, str]]]:
    """A compose project of compose.yaml on a free port, taken down afterwards."""
    command = compose.command()
    if command is None:
        pytest.skip(compose.MISSING)
    image_for("distroless")
    base = [
        *command,
        "--project-name",
        f"mt{uuid.uuid4().hex[:8]}",
        "--file",
        str(COMPOSE_FILE),
    ]
    env = {**os.environ, "MOSCOW_TIME_PORT": str(free_port())}
    subprocess.run([*base, "up", "--detach"], env=env, check=True, capture_output=True)
    try:
        yield base, env
    finally:
        subprocess.run(
            [*base, "down", "--timeout", "5"], env=env, check=False, capture_output=True
        )


def service_container(project: tuple[list[str], dict[str, str]]) -> str:
    """The one container of the compose project's service."""
    base, env = project
    (container,) = subprocess.run(
        [*base, "ps", "--quiet"], env=env, check=True, capture_output=True, text=True
    ).stdout.split()
    return container


def test_compose_serves_the_page_with_the_hardening(
    project: tuple[list[str], dict[str, str]],
) -> None:
    _, env = project
    container = service_container(project)
    deadline = time.monotonic() + 60
    while docker("inspect", "--format", "{{.State.Health.Status}}", container) != "healthy":
        assert time.monotonic() < deadline, "the compose service never became healthy"
        time.sleep(1)
    url = f"http://127.0.0.1:{env['MOSCOW_TIME_PORT']}/"
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.status == 200
        assert "Moscow" in response.read().decode()
    host = docker(
        "inspect",
        "--format",
        "{{.HostConfig.ReadonlyRootfs}} {{.HostConfig.CapDrop}} {{.HostConfig.PidsLimit}}",
        container,
    )
    assert host == "true [ALL] 64"
    bindings = docker("port", container, "5000/tcp")
    assert bindings.startswith("127.0.0.1:")


def test_a_killed_server_is_brought_back_by_compose(
    project: tuple[list[str], dict[str, str]],
) -> None:
    _, env = project
    container = service_container(project)
    url = f"http://127.0.0.1:{env['MOSCOW_TIME_PORT']}/healthz"
    assert wait_for(url, within=60, poll=0.5)
    pid = int(docker("inspect", "--format", "{{.State.Pid}}", container))
    # A crash, as Docker sees one: `docker kill` would count as stopping it by hand.
    try:
        os.kill(pid, signal.SIGKILL)
    except PermissionError:
        pytest.skip("killing the container's process needs root, as CI runs")
    # restart: unless-stopped, not the health check, brings it back.
    assert wait_for(url, within=60, poll=0.5), "compose did not restart the killed server"
    assert int(docker("inspect", "--format", "{{.RestartCount}}", container)) >= 1


def test_compose_rotates_the_logs() -> None:
    text = COMPOSE_FILE.read_text()
    assert 'max-size: "10m"' in text
    assert 'max-file: "3"' in text
