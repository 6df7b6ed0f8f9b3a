"""Bad input against a running container: clean 4xx answers, no crash."""

from __future__ import annotations

import contextlib
import socket
import time
import urllib.parse

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tools import loopback

from .conftest import Container, Runner, docker

#: Fewer examples than the unit tests: each one is a real HTTP round trip.
REAL_HTTP = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def raw_request(container: Container, data: bytes, *, byte_by_byte: bool = False) -> bytes:
    with socket.create_connection(("127.0.0.1", container.port), timeout=10) as client:
        if byte_by_byte:
            for byte in data:
                client.sendall(bytes([byte]))
                time.sleep(0.005)
        else:
            client.sendall(data)
        return loopback.read_until_closed(client)


def status_of(reply: bytes) -> int:
    return int(reply.split(b" ", 2)[1])


def assert_still_fine(container: Container) -> None:
    assert container.get("/healthz")[0] == 200
    assert container.health() == "healthy"
    logs = container.logs()
    assert "Traceback" not in logs, logs


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"GET /no/such/page HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 404),
        (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", 405),
        (b"DELETE /api/time HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 405),
        (b"BREW /coffee HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 404),
        (b"GET / HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * 20_000 + b"\r\n\r\n", 431),
        (b"POST /api/time HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999\r\n\r\n", 413),
        (b"GARBAGE\r\n\r\n", 400),
    ],
)
def test_bad_requests_get_a_clean_4xx(
    container: Container, request_bytes: bytes, status: int
) -> None:
    reply = raw_request(container, request_bytes)
    assert status_of(reply) == status
    assert b"Traceback" not in reply
    assert_still_fine(container)


def test_slow_client_sending_byte_by_byte_is_served(container: Container) -> None:
    reply = raw_request(
        container,
        b"GET /api/time HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        byte_by_byte=True,
    )
    assert status_of(reply) == 200
    assert_still_fine(container)


@REAL_HTTP
@given(query=st.text())
def test_generated_query_strings_are_ignored(container: Container, query: str) -> None:
    status, _, body = container.get("/api/time?" + urllib.parse.quote(query, safe="=&"))
    assert status == 200
    assert "Traceback" not in body


@REAL_HTTP
@given(path=st.text(min_size=1))
def test_generated_paths_get_a_clean_answer(container: Container, path: str) -> None:
    status, _, body = container.get("/x/" + urllib.parse.quote(path))
    assert 400 <= status < 500 or status == 308
    assert "Traceback" not in body


def test_container_survives_all_of_it(start: Runner) -> None:
    container = start()
    for request_bytes in (b"\x00\xff" * 100, b"GET /" + b"%" * 5000 + b" HTTP/1.1\r\n\r\n"):
        # The server may hang up on garbage; it must not fall over.
        with contextlib.suppress(OSError):
            raw_request(container, request_bytes + b"\r\n\r\n")
    assert_still_fine(container)
    assert docker("inspect", "--format", "{{.RestartCount}}", container.name) == "0"
