"""Cases the fuzzer found, kept as plain examples so they never come back."""

from __future__ import annotations

from lamroute import App
from lamroute.testing import make_event
from lamroute.testing.rules import check_proxy_response


def test_an_unparsable_alb_event_is_answered_in_its_header_mode() -> None:
    event = make_event("alb-multi", "GET", "/")
    del event["httpMethod"]
    answer = App()(event, None)
    assert answer["statusCode"] == 400
    assert check_proxy_response("alb-multi", answer) == []
    assert "multiValueHeaders" in answer and "headers" not in answer
