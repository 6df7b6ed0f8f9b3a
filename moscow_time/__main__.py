"""``python -m moscow_time``: serve the app with Waitress.

HOST and PORT come from the environment (the images set HOST=0.0.0.0), and
command-line options override them. There is no debug mode.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Mapping, Sequence

from moscow_time.app import create_app
from moscow_time.limits import quiet_waitress_queue
from moscow_time.server import REQUEST_DEADLINE, RESPONSE_DEADLINE, Server

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 5000
#: Measured in docs/benchmarks.md.
DEFAULT_THREADS = 16


def port_number(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port out of range 0-65535: {port}")
    return port


def thread_count(text: str) -> int:
    try:
        threads = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if threads < 1:
        raise argparse.ArgumentTypeError(f"need at least 1 thread, got {threads}")
    return threads


def seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0 < value <= 3600:
        raise argparse.ArgumentTypeError(f"seconds out of range (0, 3600]: {value}")
    return value


def parse_args(argv: Sequence[str] | None, environ: Mapping[str, str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m moscow_time",
        description="Serve the Moscow time page, /api/time and /healthz with Waitress.",
    )
    parser.add_argument(
        "--host",
        default=environ.get("HOST", DEFAULT_HOST),
        help="address to listen on (env HOST, default %(default)s)",
    )
    parser.add_argument(
        "--port",
        type=port_number,
        # argparse runs string defaults through type=, so a bad PORT is
        # reported like a bad --port.
        default=environ.get("PORT", str(DEFAULT_PORT)),
        help="TCP port; 0 picks a free one (env PORT, default %(default)s)",
    )
    parser.add_argument(
        "--threads",
        type=thread_count,
        default=DEFAULT_THREADS,
        help="worker threads (default %(default)s)",
    )
    parser.add_argument(
        "--request-deadline",
        type=seconds,
        default=environ.get("REQUEST_DEADLINE", str(REQUEST_DEADLINE)),
        help="seconds a connection gets to send a complete request "
        "(env REQUEST_DEADLINE, default %(default)s)",
    )
    parser.add_argument(
        "--response-deadline",
        type=seconds,
        default=environ.get("RESPONSE_DEADLINE", str(RESPONSE_DEADLINE)),
        help="seconds a pending response may send nothing before its connection is closed "
        "(env RESPONSE_DEADLINE, default %(default)s)",
    )
    return parser.parse_args(argv)


def configure_logging() -> None:
    """Everything to stderr, one line per event; queue pressure as one line per interval."""
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    quiet_waitress_queue()


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv, os.environ)
    configure_logging()
    try:
        server = Server(
            create_app(),
            host=args.host,
            port=args.port,
            threads=args.threads,
            request_deadline=args.request_deadline,
            response_deadline=args.response_deadline,
        )
    except (OSError, ValueError) as error:
        # A busy port or an unresolvable host: one clear line, no traceback.
        logging.getLogger("moscow_time").error(
            "cannot listen on %s:%d: %s", args.host, args.port, error
        )
        return 1
    server.install_signal_handlers()
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
