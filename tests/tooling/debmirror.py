"""A Debian-shaped mirror on loopback, and the locked .debs it serves, for the tests of
tools.inputs.debs: the same bytes whichever test asks."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

from tools.inputs.aptlock import Deb

CONTENT = b"!<arch>\nnot really a deb, but bytes with a digest\n"
DEB = Deb(
    "passwd",
    "1:4.17.4-2",
    "amd64",
    "trixie",
    "debian",
    len(CONTENT),
    hashlib.sha256(CONTENT).hexdigest(),
    "pool/main/s/shadow/passwd_4.17.4-2_amd64.deb",
)


def a_deb(package: str, content: bytes, architecture: str = "amd64") -> Deb:
    """Another locked package with its own bytes, in DEB's pool directory."""
    return Deb(
        package, "1.0-1", architecture, "trixie", "debian", len(content),
        hashlib.sha256(content).hexdigest(),
        f"pool/main/s/shadow/{package}_1.0-1_{architecture}.deb",
    )  # fmt: skip


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        """Requests are the test's business, not its output."""


@contextlib.contextmanager
def served(directory: Path) -> Iterator[str]:
    """`directory` over HTTP on 127.0.0.1 while entered: its URL."""
    handler = functools.partial(QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    # A short poll, so that shutdown() does not wait half a second per test.
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
