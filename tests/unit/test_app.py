"""Route tests: every endpoint, every header, every error page."""

from __future__ import annotations

import json
import logging
import re
import time
from datetime import datetime
from html.parser import HTMLParser

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from moscow_time import create_app
from moscow_time.headers import CONTENT_SECURITY_POLICY

ENDPOINTS = ["/", "/api/time", "/healthz"]
#: Responses that carry a time and so must never be cached.
TIME_ENDPOINTS = ["/", "/api/time"]


class TagCollector(HTMLParser):
    """Collects start tags with their attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def tags(html: str) -> list[tuple[str, dict[str, str | None]]]:
    collector = TagCollector()
    collector.feed(html)
    return collector.tags


def test_config() -> None:
    """create_app without a config is not in testing mode."""
    assert not create_app().testing
    assert create_app({"TESTING": True}).testing


def test_page_shows_the_pinned_moscow_time(client: FlaskClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    # 11:05:09.25 UTC is 14:05:09 in Moscow.
    assert re.search(r'<time id="now" datetime="2026-11-27T14:05:09\.250000\+03:00"', html)
    assert '<span class="clock" id="clock">14:05:09</span>' in html
    assert "Friday, 27 November 2026" in html
    assert "Moscow (MSK, UTC+03:00)" in html
    assert '<html lang="en">' in html


def test_page_seeds_its_script_with_the_server_instant(
    client: FlaskClient, instant: datetime
) -> None:
    (time_tag,) = [
        attrs for tag, attrs in tags(client.get("/").get_data(as_text=True)) if tag == "time"
    ]
    assert float(time_tag["data-epoch"] or "nan") == instant.timestamp()
    assert time_tag["data-offset-seconds"] == "10800"
    assert time_tag["data-utc-offset"] == "+03:00"


def test_page_loads_only_same_origin_files_and_no_inline_script(client: FlaskClient) -> None:
    found = tags(client.get("/").get_data(as_text=True))
    scripts = [attrs for tag, attrs in found if tag == "script"]
    assert scripts, "the clock script is missing"
    for attrs in scripts:
        assert (attrs.get("src") or "").startswith("/static/"), "inline or foreign script"
    for tag, attrs in found:
        for attribute in ("src", "href"):
            url = attrs.get(attribute) or ""
            assert not re.match(r"^(https?:)?//", url), (
                f"<{tag} {attribute}={url}> leaves the origin"
            )
        assert not any(name.startswith("on") for name in attrs), f"inline handler on <{tag}>"


@pytest.mark.parametrize("path", ["/static/clock.js", "/static/style.css", "/static/favicon.svg"])
def test_static_files_are_served(client: FlaskClient, path: str) -> None:
    with client.get(path) as response:
        assert response.status_code == 200
        assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_api_time_returns_the_time_as_json(client: FlaskClient, instant: datetime) -> None:
    response = client.get("/api/time")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    data = json.loads(response.get_data())
    assert data["zone"] == "Europe/Moscow"
    assert data["iso"] == "2026-11-27T14:05:09.250000+03:00"
    assert data["epoch"] == instant.timestamp()
    assert data["utc_offset"] == "+03:00"
    assert data["offset_seconds"] == 10800
    assert data["abbreviation"] == "MSK"
    assert re.fullmatch(r"\d{4}[a-z]", data["tzdb_version"])


def test_default_clock_is_the_real_one() -> None:
    data = create_app().test_client().get("/api/time").get_json()
    assert abs(data["epoch"] - time.time()) < 5


def test_healthz_is_ok(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


#: What the README and docs/docker-best-practices.md promise, written out here rather than
#: read from the module: removing one from the app must fail this test.
PROMISED_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'; object-src 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), geolocation=(), microphone=()",
}


@pytest.mark.parametrize("path", [*ENDPOINTS, "/no/such/page", "/api/no-such"])
def test_every_response_carries_the_security_headers(client: FlaskClient, path: str) -> None:
    headers = client.get(path).headers
    assert {name: headers.get(name) for name in PROMISED_HEADERS} == PROMISED_HEADERS
    assert headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY


def test_csp_allows_nothing_beyond_self() -> None:
    sources = {
        source
        for directive in CONTENT_SECURITY_POLICY.split(";")
        for source in directive.split()[1:]
    }
    assert sources <= {"'self'", "'none'"}


@pytest.mark.parametrize("path", TIME_ENDPOINTS)
def test_time_responses_are_never_cached(client: FlaskClient, path: str) -> None:
    assert client.get(path).headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    ("method", "path", "status", "name"),
    [
        ("GET", "/nope", 404, "Not Found"),
        ("GET", "/api/nope", 404, "Not Found"),
        ("POST", "/", 405, "Method Not Allowed"),
        ("DELETE", "/api/time", 405, "Method Not Allowed"),
        ("PUT", "/healthz", 405, "Method Not Allowed"),
    ],
)
def test_errors_are_short_and_leak_nothing(
    client: FlaskClient, method: str, path: str, status: int, name: str
) -> None:
    response = client.open(path, method=method)
    assert response.status_code == status
    body = response.get_data(as_text=True)
    assert "Traceback" not in body
    assert len(body) < 2000
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    if path.startswith("/api/"):
        assert response.get_json() == {"error": name, "status": status}
    else:
        assert response.mimetype == "text/html"
        assert f"<h1>{status} {name}</h1>" in body


def test_errors_are_logged_at_debug_on_one_line(
    client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, "moscow_time.app"):
        client.get("/nope%0Aforged log line")
    assert "GET '/nope\\nforged log line' -> 404" in caplog.text
    assert "\nforged log line" not in caplog.text


@pytest.fixture
def broken_app() -> Flask:
    """An app with a route that fails, as the real one might one day."""
    # Not TESTING: that would re-raise the error instead of serving a 500.
    app = create_app()

    def explode() -> str:
        raise RuntimeError("secret internals: db password hunter2")

    app.add_url_rule("/explode", view_func=explode)
    app.add_url_rule("/api/explode", endpoint="api_explode", view_func=explode)
    return app


@pytest.mark.parametrize("path", ["/explode", "/api/explode"])
def test_server_errors_hide_the_traceback_but_log_it(
    broken_app: Flask, path: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR):
        response = broken_app.test_client().get(path)
    assert response.status_code == 500
    body = response.get_data(as_text=True)
    assert "Traceback" not in body
    assert "hunter2" not in body
    assert "RuntimeError" not in body
    assert "hunter2" in caplog.text  # ... but the operator sees it


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=st.text())
def test_junk_query_strings_are_ignored(client: FlaskClient, query: str) -> None:
    for path in ENDPOINTS:
        response = client.get(f"{path}?{query}")
        assert response.status_code == 200
        assert "Traceback" not in response.get_data(as_text=True)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.text(alphabet=st.characters(codec="utf-8", exclude_characters="?#")))
def test_unknown_paths_get_a_clean_404(client: FlaskClient, path: str) -> None:
    url = "/x/" + path
    response = client.get(url)
    assert response.status_code in {404, 308}  # 308: werkzeug merging slashes
    assert "Traceback" not in response.get_data(as_text=True)


def test_a_flood_of_bad_requests_is_one_log_line_per_interval(
    client: FlaskClient, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from moscow_time import app as app_module
    from moscow_time.logs import RateLimitedReport

    report = RateLimitedReport(app_module.CLIENT_ERRORS.logger, "client errors: %s", interval=10)
    monkeypatch.setattr(app_module, "CLIENT_ERRORS", report)
    with caplog.at_level(logging.WARNING, "moscow_time.app"):
        for _ in range(50):
            assert client.get("/no/such/page/" + "%" * 3000).status_code == 404
        assert client.post("/api/time").status_code == 405
    assert [r.getMessage() for r in caplog.records] == ["client errors: 1 404 Not Found"]
    assert report.pending == {"404 Not Found": (49, 0), "405 Method Not Allowed": (1, 0)}
