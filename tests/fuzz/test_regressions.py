"""Cases the fuzzer found, kept as plain examples so they never come back."""

from __future__ import annotations

import json

import pytest

from lamroute import App, HTTPError, Response
from lamroute.testing import TestClient, make_event
from lamroute.testing.rules import check_proxy_response


def test_an_unparsable_alb_event_is_answered_in_its_header_mode() -> None:
    event = make_event("alb-multi", "GET", "/")
    del event["httpMethod"]
    answer = App()(event, None)
    assert answer["statusCode"] == 400
    assert check_proxy_response("alb-multi", answer) == []
    assert "multiValueHeaders" in answer and "headers" not in answer


class Unprintable(Exception):
    def __str__(self) -> str:
        raise RuntimeError("__str__ failed")


@pytest.mark.parametrize("debug", [True, False])
def test_an_exception_whose_str_fails_still_gets_a_problem(debug: bool) -> None:
    app = App(debug=debug)

    @app.get("/")
    def index() -> None:
        raise Unprintable()

    answer = app(make_event("http", "GET", "/"), None)
    assert answer["statusCode"] == 500 and check_proxy_response("http", answer) == []
    if debug:
        assert json.loads(answer["body"])["detail"] == "Unprintable: <str() failed>"


def test_an_http_error_with_a_junk_status_still_gets_a_problem() -> None:
    app = App()

    @app.get("/")
    def index() -> None:
        raise HTTPError("teapot")  # type: ignore[arg-type]

    answer = app(make_event("rest", "GET", "/"), None)
    assert answer["statusCode"] == 500 and check_proxy_response("rest", answer) == []


def test_a_head_request_does_not_empty_a_shared_response() -> None:
    shared = Response("hello", media_type="text/plain")
    app = App()
    app.get("/")(lambda: shared)
    client = TestClient(app)
    assert client.head("/").text == ""
    assert client.get("/").text == "hello" and shared.body == b"hello"


@pytest.mark.parametrize("fmt", ["rest", "http", "alb-multi"])
def test_lone_surrogates_in_headers_or_cookies_give_a_500_not_a_runtime_failure(fmt: str) -> None:
    app = App()
    app.get("/h")(lambda: Response("x", headers={"X-Echo": "\ud800"}))
    app.get("/c")(lambda: Response("x", cookies=["a=\udc80"]))
    for path in ("/h", "/c"):
        answer = app(make_event(fmt, "GET", path), None)
        assert answer["statusCode"] == 500 and check_proxy_response(fmt, answer) == []
        json.dumps(answer, ensure_ascii=False).encode("utf-8")
