"""Hostile events of every payload format: every answer is one the gateway accepts."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from lamroute import App, BadRequest, Request, Timeout
from lamroute.testing import FakeContext

from .strategies import CASES, base_events, check_answer, fuzz_settings, hostile_events, not_events

ALL = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


def probe_app(**options: Any) -> App:
    """Routes that read every part of the request, returning only a summary of it."""
    app = App(timeout=Timeout(margin_s=0.05), **options)

    def probe(request: Request) -> dict[str, Any]:
        summary = {
            "method": len(request.method), "path": len(request.path),
            "url": len(request.url_path), "headers": len(request.headers.multi_items()),
            "query": len(request.query.multi_items()), "cookies": len(request.cookies),
            "body": len(request.body), "text": len(request.text),
            "ip": request.source_ip is None, "auth": len(request.authorizer),
            "agent": request.user_agent is None, "type": request.content_type is None,
            "params": len(request.path_params), "stage": request.stage is None,
        }
        if request.content_type == "application/json":
            try:
                summary["json"] = type(request.json()).__name__
            except BadRequest:
                summary["json"] = "invalid"
        return summary

    app.route("/", methods=ALL)(probe)
    app.route("/{proxy+}", methods=ALL)(lambda request, proxy: probe(request))
    app.route("/small", methods=ALL, max_body_size=8)(probe)
    return app


def assert_client_error_at_worst(answer: dict[str, Any]) -> None:
    """A 4xx, or the oversized-answer problem: an error that echoes a megabyte method or path
    (more than any gateway delivers: 10 KB request line and headers) may not fit in 6 MB."""
    if answer["statusCode"] >= 500:
        assert not answer["isBase64Encoded"], answer["statusCode"]
        assert json.loads(answer["body"])["title"] == "Response Too Large", answer["body"][:300]


APPS = [probe_app(), probe_app(compress=True, max_body_size=1000, debug=True)]


@fuzz_settings(ci_examples=100)
@given(hostile_events(), st.booleans())
def test_hostile_events_get_accepted_answers(case: tuple[str, dict[str, Any]],
                                             which: bool) -> None:
    CASES["hostile events"] += 1
    fmt, event = case
    answer = APPS[which](event, FakeContext(timeout_ms=10_000))
    check_answer(fmt, answer, debug=which)
    # Reading a hostile request is a client error at worst: never a 5xx from lamroute.
    assert_client_error_at_worst(answer)


@fuzz_settings(ci_examples=40)
@given(base_events())
def test_well_formed_events_reach_the_handler(case: tuple[str, dict[str, Any]]) -> None:
    CASES["well-formed events"] += 1
    fmt, event = case
    answer = APPS[0](event, FakeContext(timeout_ms=10_000))
    check_answer(fmt, answer)
    assert answer["statusCode"] in (200, 204, 400, 413), answer


@fuzz_settings(ci_examples=60)
@given(not_events)
def test_things_that_are_not_proxy_events_get_a_4xx(event: Any) -> None:
    CASES["non-events"] += 1
    answer = APPS[0](event, None)
    context = event.get("requestContext") if isinstance(event, dict) else None
    if isinstance(context, dict) and "elb" in context:  # shaped enough to be ALB's
        multi = "multiValueHeaders" in event or "multiValueQueryStringParameters" in event
        formats: tuple[str, ...] = ("alb-multi" if multi else "alb",)
    else:  # nobody's: an answer every API Gateway and Function URL format accepts
        formats = ("rest", "http-v1", "http", "url")
    for fmt in formats:
        check_answer(fmt, answer)
    assert answer["statusCode"] >= 400  # 400, or 404/405 for a minimal event
    assert_client_error_at_worst(answer)
