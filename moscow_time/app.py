"""The Flask application: the clock page, the JSON API and the health probe."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from flask import Flask, Response, current_app, jsonify, render_template, request
from werkzeug.exceptions import HTTPException, InternalServerError

from moscow_time.clock import MoscowTime, moscow_time
from moscow_time.headers import SecurityHeaders
from moscow_time.logs import RateLimitedReport

# A time is stale the moment it is sent; no cache may keep it.
NO_STORE = "no-store"
#: 404s, 405s and the like, one summary line per 10 s (moscow_time/logs.py).
CLIENT_ERRORS = RateLimitedReport(
    logging.getLogger("moscow_time.app"), "client errors: %s", interval=10.0
)


def utc_now() -> datetime:
    return datetime.now(UTC)


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Create and configure an instance of the app.

    ``config`` overrides the defaults; tests pass ``CLOCK`` to pin the time.
    """
    app = Flask(__name__)
    app.config.from_mapping(CLOCK=utc_now)
    if config is not None:
        app.config.update(config)

    app.add_url_rule("/", view_func=index)
    app.add_url_rule("/api/time", view_func=api_time)
    app.add_url_rule("/healthz", view_func=healthz)
    app.register_error_handler(HTTPException, http_error)
    # Flask's documented way to wrap the app in WSGI middleware.
    app.wsgi_app = SecurityHeaders(app.wsgi_app)  # type: ignore[method-assign]
    return app


def now() -> MoscowTime:
    clock: Callable[[], datetime] = current_app.config["CLOCK"]
    return moscow_time(clock())


def index() -> Response:
    response = Response(render_template("index.html", t=now()))
    response.headers["Cache-Control"] = NO_STORE
    return response


def api_time() -> Response:
    response = jsonify(now().as_dict())
    response.headers["Cache-Control"] = NO_STORE
    return response


def healthz() -> Response:
    # Cheap on purpose: probes call it every few seconds.
    response = jsonify(status="ok")
    response.headers["Cache-Control"] = NO_STORE
    return response


def http_error(error: HTTPException) -> tuple[Response | str, int]:
    code = error.code or 500
    if not isinstance(error, InternalServerError):
        # Flask has already logged a 500 with its traceback. The rest are the
        # clients' errors: summed up, one line per interval, so that a flood of
        # bad requests is not a flood of log lines. %r keeps a path with
        # control characters on one line, at debug level.
        current_app.logger.debug("%s %r -> %d", request.method, request.path[:200], code)
        CLIENT_ERRORS.add(f"{code} {error.name}")
    if request.path.startswith("/api/"):
        return jsonify(error=error.name, status=code), code
    return render_template("error.html", code=code, name=error.name), code
