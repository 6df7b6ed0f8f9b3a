"""The security-header middleware, on its own: what it adds, and what it leaves alone."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING

from hypothesis import given
from hypothesis import strategies as st

from moscow_time.headers import SECURITY_HEADERS, SecurityHeaders, with_security_headers

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

NAMES = [name for name, _ in SECURITY_HEADERS]


def test_every_security_header_is_added_once() -> None:
    headers = with_security_headers([("Content-Type", "text/plain")])
    assert headers[0] == ("Content-Type", "text/plain")
    assert [name for name, _ in headers[1:]] == NAMES


@given(st.sampled_from(NAMES), st.sampled_from([str.lower, str.upper, str]))
def test_a_header_the_app_set_is_kept(name: str, case: object) -> None:
    spelled = case(name)  # type: ignore[operator]
    headers = with_security_headers([(spelled, "the app's own")])
    assert [value for n, value in headers if n.lower() == name.lower()] == ["the app's own"]
    assert len(headers) == len(SECURITY_HEADERS)


def test_the_middleware_adds_them_to_any_wsgi_response() -> None:
    seen: list[tuple[str, list[tuple[str, str]]]] = []

    def bare(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        start_response("418 I'm a teapot", [("Content-Type", "text/plain")])
        return [b"short and stout"]

    def start_response(
        status: str, headers: list[tuple[str, str]], exc_info: object = None
    ) -> object:
        seen.append((status, headers))
        return lambda data: None

    body = SecurityHeaders(bare)({}, start_response)  # type: ignore[arg-type]
    assert list(body) == [b"short and stout"]
    ((status, headers),) = seen
    assert status == "418 I'm a teapot"
    assert {name for name, _ in headers} == {"Content-Type", *NAMES}


def test_an_error_response_keeps_its_exc_info_for_the_server() -> None:
    """PEP 3333: an app that fails after starting a response calls start_response again with
    exc_info, and only then may the server replace the headers; the middleware must pass
    it on, or the server raises instead of sending the error page."""
    passed: list[object] = []

    def failing(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        try:
            raise RuntimeError("after the headers")
        except RuntimeError:
            error = sys.exc_info()
            start_response("500 Internal Server Error", [("Content-Type", "text/plain")], error)
            return [b"an error page"]

    def start_response(
        status: str, headers: list[tuple[str, str]], exc_info: object = None
    ) -> object:
        passed.append(exc_info)
        return lambda data: None

    SecurityHeaders(failing)({}, start_response)  # type: ignore[arg-type]
    assert passed[0] is None
    assert isinstance(passed[1], tuple)
    assert isinstance(passed[1][1], RuntimeError)
