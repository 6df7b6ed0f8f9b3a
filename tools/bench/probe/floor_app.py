"""The server floor: our Waitress settings serving a hello-world WSGI app, in the app's image.

`nox -s bench` runs it in place of the app (mounted read-only, as the entry
point), so the difference between the two is what the app costs.
"""

from collections.abc import Callable, Iterable
from typing import Any

from moscow_time.__main__ import DEFAULT_THREADS, configure_logging
from moscow_time.server import Server

BODY = b'{"status":"ok"}\n'


def hello(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", "16")])
    return [BODY]


if __name__ == "__main__":
    configure_logging()
    server = Server(hello, host="0.0.0.0", port=5000, threads=DEFAULT_THREADS)  # noqa: S104
    server.install_signal_handlers()
    server.serve_forever()
