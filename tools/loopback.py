"""HTTP on loopback, for the benchmark and the tests: a free port, a GET, a wait, a raw read.

Every target is 127.0.0.1: nothing here sends traffic to another host.
"""

from __future__ import annotations

import socket
import time
import urllib.error
import urllib.request
from collections.abc import Mapping


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def get(
    url: str, headers: Mapping[str, str] | None = None, *, timeout: float = 10
) -> tuple[int, dict[str, str], str]:
    """Status, headers and body of a GET; an HTTP error status is an answer, not an error."""
    request = urllib.request.Request(url, headers=dict(headers or {}))
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


def answers(url: str) -> bool:
    """True if `url` answers 200 within a second."""
    try:
        return get(url, timeout=1)[0] == 200
    except OSError:
        return False


def wait_for(url: str, *, within: float, poll: float) -> bool:
    """Poll `url` until it answers 200; False if it did not within `within` seconds."""
    deadline = time.monotonic() + within
    while not answers(url):
        if time.monotonic() > deadline:
            return False
        time.sleep(poll)
    return True


def read_until_closed(client: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    received = b""
    while chunk := client.recv(65536):
        received += chunk
    return received
