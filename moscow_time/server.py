"""Run a WSGI app under Waitress, and stop cleanly on SIGTERM or SIGINT.

Waitress installs no SIGTERM handler, and Python running as PID 1 in a
container ignores SIGTERM unless it handles it: ``docker stop`` would wait
10 s and then kill the server mid-request. ``Server`` handles both signals by
closing the listening socket, letting the requests it has already accepted
finish (for up to ``DRAIN_SECONDS``), and only then returning.
"""

from __future__ import annotations

import logging
import signal
import time
import warnings
from types import FrameType
from typing import Any

from waitress import wasyncore
from waitress.adjustments import Adjustments
from waitress.task import ThreadedTaskDispatcher

from moscow_time.limits import GuardedServer

log = logging.getLogger(__name__)

#: How long accepted requests get to finish after a stop signal. It keeps the
#: whole stop under 2 s, well inside Docker's and Kubernetes' grace periods.
DRAIN_SECONDS = 1.5

#: A connection must deliver a complete request this many seconds after it
#: was accepted or got its last response, or it is closed (moscow_time/limits.py).
REQUEST_DEADLINE = 10.0
#: A pending response that sends nothing for this many seconds (its client reads
#: nothing) is closed. A phone on a 2G line reads a page of ours in about 2 s.
RESPONSE_DEADLINE = 30.0
#: Connections held at once; past this, the longest-waiting one is evicted.
#: 1,000 trickling half-open connections are the stress test's attack.
MAX_CONNECTIONS = 1000

#: Waitress settings for an app that serves small GET responses.
#: What a worker may buffer before it sends itself; see "send_bytes" below.
RESPONSE_BUFFER_BYTES = 64 * 1024

WAITRESS_SETTINGS: dict[str, Any] = {
    # The Server header names the service, not the server software's version.
    "ident": "moscow-time",
    # No endpoint takes a body, and no honest client sends 16 KiB of headers.
    "max_request_body_size": 64 * 1024,
    "max_request_header_size": 16 * 1024,
    # Idle keep-alive connections are cheap, but not free; the request
    # deadline closes them sooner, checked every second.
    "channel_timeout": 30,
    "cleanup_interval": 1,
    # poll(), not select(): select() cannot watch a descriptor above 1023,
    # and a flood opens more connections than that.
    "asyncore_use_poll": True,
    "expose_tracebacks": False,
    # Behind Docker's port mapping every client would look like the gateway;
    # no proxy headers are trusted, because none is configured.
    "clear_untrusted_proxy_headers": True,
    # Workers hand every response to the I/O thread instead of sending it
    # themselves, which stalled them on the GIL (docs/benchmarks.md, send_bytes).
    # Larger than any response the app sends. Waitress calls it deprecated.
    "send_bytes": RESPONSE_BUFFER_BYTES,
}


def _is_busy(channel: Any) -> bool:
    """True while a connection has a request being read, run or sent."""
    return bool(channel.requests or channel.request or channel.total_outbufs_len)


class Server:
    """A Waitress server with a graceful stop."""

    def __init__(
        self,
        app: Any,
        *,
        host: str,
        port: int,
        threads: int,
        request_deadline: float = REQUEST_DEADLINE,
        response_deadline: float = RESPONSE_DEADLINE,
        max_connections: int = MAX_CONNECTIONS,
    ) -> None:
        with warnings.catch_warnings():
            # Deprecated, not removed (waitress 3.0); a test fails if it goes.
            warnings.filterwarnings("ignore", "send_bytes", DeprecationWarning)
            adj = Adjustments(
                host=host,
                port=port,
                threads=threads,
                # Waitress's own limit stops accepting; ours, lower, evicts instead.
                connection_limit=2 * max_connections,
                **WAITRESS_SETTINGS,
            )
        dispatcher = ThreadedTaskDispatcher()
        dispatcher.set_thread_count(threads)
        # Any: the drain uses parts of waitress (the socket map, the channels
        # and their buffers) that its published stubs leave out or mistype.
        self._server: Any = GuardedServer(
            app,
            {},
            dispatcher=dispatcher,
            adj=adj,
            sockinfo=adj.listen[0],
            request_deadline=request_deadline,
            response_deadline=response_deadline,
            max_connections=max_connections,
        )
        self._stop_requested = False

    @property
    def address(self) -> tuple[str, int]:
        return self._server.effective_host, int(self._server.effective_port)

    def request_stop(self, signum: int | None = None, frame: FrameType | None = None) -> None:
        """Ask the serving loop to stop; safe to call from a signal handler."""
        if self._stop_requested:
            log.warning("second stop signal: exiting without waiting for requests")
            raise SystemExit(1)
        if signum is not None:
            log.info("received %s, finishing accepted requests", signal.Signals(signum).name)
        self._stop_requested = True
        # Wake the select() loop now rather than at its next timeout.
        self._server.pull_trigger()

    def install_signal_handlers(self) -> None:
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self.request_stop)

    def serve_forever(self) -> None:
        """Serve until ``request_stop``, then drain and close."""
        server = self._server
        host, port = self.address
        log.info("serving on http://%s:%d", host, port)
        while not self._stop_requested:
            wasyncore.loop(
                timeout=server.adj.asyncore_loop_timeout,
                map=server._map,
                use_poll=server.adj.asyncore_use_poll,
                count=1,
            )
        self._drain()
        log.info("stopped")

    def _drain(self) -> None:
        server = self._server
        # Connections the kernel has completed but Waitress not yet accepted
        # would be reset with the listener: take them in, so they are served.
        server.accept_backlog()
        # Stop listening, so new connections are refused at once, while the
        # trigger and the accepted connections stay in the loop. (The
        # server's own close() would shut the trigger too.)
        wasyncore.dispatcher.close(server)
        deadline = time.monotonic() + DRAIN_SECONDS
        while time.monotonic() < deadline and any(
            _is_busy(channel) for channel in list(server.active_channels.values())
        ):
            wasyncore.loop(
                timeout=0.05, map=server._map, use_poll=server.adj.asyncore_use_poll, count=1
            )
        unfinished = sum(map(_is_busy, server.active_channels.values()))
        if unfinished:
            log.warning("closing %d connection(s) with unfinished requests", unfinished)
        server.task_dispatcher.shutdown(timeout=max(0.0, deadline - time.monotonic()))
        wasyncore.close_all(server._map)
