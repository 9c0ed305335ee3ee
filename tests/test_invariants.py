"""The mission as properties: whatever the event and whatever the handler does, the answer is a
proxy response the gateway accepts for that event's format.

Example counts are bounded so the suite stays fast; ``make fuzz`` runs longer campaigns.
"""

from __future__ import annotations

import io
import json
import logging
import math
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fixtures import NAMES, load_event
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lamroute import App, HTTPError, InvalidEvent, NotFound, Problem, Request, Response
from lamroute.errors import ResponseError, problem_response
from lamroute.formats import detect
from lamroute.logs import LOGGER_NAME, RequestFieldsFilter, configure
from lamroute.testing import FORMATS, FakeContext, check_proxy_response, make_event

SETTINGS = settings(max_examples=300, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.fixture(autouse=True)
def quiet_logs() -> Iterator[io.StringIO]:
    """Send the (many) error lines to a buffer instead of the terminal."""
    configure()
    handler = next(h for h in logging.getLogger(LOGGER_NAME).handlers
                   if any(isinstance(f, RequestFieldsFilter) for f in h.filters))
    assert isinstance(handler, logging.StreamHandler)
    buffer = io.StringIO()
    old = handler.setStream(buffer)
    try:
        yield buffer
    finally:
        handler.setStream(old)
        logging.getLogger(LOGGER_NAME).setLevel(logging.INFO)


# -- strategies ------------------------------------------------------------------------------

scalars = (st.none() | st.booleans() | st.integers(-(2**70), 2**70)
           | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=20)
           | st.sampled_from(["\ud800", "a\r\nb", "%", "%zz", "/", "//", "$default", "2.0", "1.0",
                              "GET", "", "=", ";", "%%%", "e30=", "/{proxy+}"]))
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                  max_size=3),
    max_leaves=8,
)
# Values that are not even JSON: what a buggy test harness or another trigger might pass.
# Built fresh for each example: mutations must never touch a shared object.
odd_values = st.sampled_from([lambda: b"bytes", object, lambda: {1: "int key"},
                              lambda: ("tuple",), lambda: {"a"}, lambda: 1j]).map(lambda f: f())


def _key_paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    paths: list[tuple[Any, ...]] = []
    if isinstance(value, dict):
        for key, inner in value.items():
            paths.append((*prefix, key))
            paths.extend(_key_paths(inner, (*prefix, key)))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            paths.append((*prefix, index))
            paths.extend(_key_paths(inner, (*prefix, index)))
    return paths


@st.composite
def factory_events(draw: st.DrawFn) -> dict[str, Any]:
    fmt = draw(st.sampled_from(FORMATS))
    text = st.text(max_size=12)
    path = "/" + "/".join(draw(st.lists(text, max_size=4)))
    body = draw(st.none() | st.text(max_size=30) | st.binary(max_size=30))
    return make_event(
        fmt,
        draw(st.sampled_from(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])),
        path,
        query=draw(st.lists(st.tuples(text, text), max_size=3)),
        headers=draw(st.lists(st.tuples(st.text(min_size=1, max_size=8), text), max_size=3)),
        cookies=draw(st.dictionaries(st.from_regex(r"[a-z]{1,5}", fullmatch=True), text,
                                     max_size=2)),
        body=body,
        stage=draw(st.none() | st.sampled_from(["prod", "dev", "$default"])),
        # Authorizer context values are strings, numbers or booleans (JSON: no NaN).
        authorizer=draw(st.none() | st.dictionaries(
            st.text(max_size=5), st.text(max_size=5) | st.integers() | st.booleans()
            | st.floats(allow_nan=False, allow_infinity=False), max_size=2)),
    )


@st.composite
def mutated_events(draw: st.DrawFn) -> Any:
    base = draw(st.sampled_from(NAMES).map(load_event) | factory_events())
    for _ in range(draw(st.integers(0, 4))):
        paths = _key_paths(base)
        if not paths:
            break
        *parents, last = draw(st.sampled_from(paths))
        target = base
        for key in parents:
            target = target[key]
        if draw(st.booleans()):
            del target[last]
        else:
            target[last] = draw(json_values | odd_values)
    return base


any_event = mutated_events() | json_values | odd_values


def rules_for(event: Any) -> str:
    """The gateway rules that apply: those of the format the event shows (REST's if none)."""
    try:
        name = detect(event).name
    except InvalidEvent:
        return "rest"
    if name == "alb":
        multi = "multiValueHeaders" in event or "multiValueQueryStringParameters" in event
        return "alb-multi" if multi else "alb"
    return name


def assert_accepted(event: Any, payload: Any) -> None:
    assert isinstance(payload, dict)
    status = payload["statusCode"]
    assert type(status) is int and 100 <= status <= 599
    assert isinstance(payload["body"], str)
    assert isinstance(payload.get("isBase64Encoded", False), bool)
    for value in (payload.get("headers") or {}).values():
        assert isinstance(value, str)
    for values in (payload.get("multiValueHeaders") or {}).values():
        assert all(isinstance(value, str) for value in values)
    assert check_proxy_response(rules_for(event), payload) == []
    json.dumps(payload)  # the runtime serialises it


def echo_app(**options: Any) -> App:
    app = App(**options)

    def everything(request: Request, proxy: str = "") -> dict[str, Any]:
        return {"path": request.path, "q": request.query.multi_items(),
                "h": request.headers.multi_items(), "c": request.cookies, "t": request.text,
                "ip": request.source_ip, "a": request.authorizer, "ua": request.user_agent}

    app.route("/", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])(everything)
    app.route("/{proxy+}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])(everything)
    return app


APPS = [echo_app(access_log=True), echo_app(access_log=False, debug=True, strip_prefixes=["/v1"]),
        echo_app(access_log=False, strict_slashes=True)]


@SETTINGS
@given(event=any_event, which=st.integers(0, len(APPS) - 1))
def test_any_event_gets_an_accepted_answer(event: Any, which: int) -> None:
    before = repr(event)
    payload = APPS[which](event, FakeContext())
    assert_accepted(event, payload)
    assert repr(event) == before  # the app never modifies the event


@SETTINGS
@given(event=factory_events())
def test_well_formed_events_are_never_answered_with_400_or_500(event: dict[str, Any]) -> None:
    payload = APPS[1](event, FakeContext())
    assert_accepted(event, payload)
    assert payload["statusCode"] in (200, 204, 404, 405), payload


# -- handler behaviours ------------------------------------------------------------------------

EXCEPTIONS: list[Callable[[], BaseException]] = [
    ValueError, KeyError, RuntimeError, ZeroDivisionError, RecursionError, MemoryError,
    UnicodeError, TypeError, AttributeError, SystemExit, GeneratorExit, StopIteration,
    lambda: BaseException("base"), lambda: NotFound("gone"), lambda: InvalidEvent("odd"),
    lambda: ResponseError("bad"), lambda: HTTPError(),
]


@st.composite
def http_errors(draw: st.DrawFn) -> BaseException:
    return HTTPError(
        draw(st.integers(-5, 1000) | json_values),
        draw(st.none() | st.text(max_size=20) | json_values),
        headers=draw(st.none() | st.dictionaries(st.text(max_size=8), st.text(max_size=8)
                                                 | json_values, max_size=2)),
        extra=draw(st.none() | st.dictionaries(st.text(max_size=8), json_values, max_size=2)),
    )


@st.composite
def responses(draw: st.DrawFn) -> Callable[[], Any]:
    body = draw(st.none() | st.text(max_size=20) | st.binary(max_size=20) | json_values)
    status = draw(st.integers(90, 610) | json_values)
    headers = draw(st.none() | st.dictionaries(st.text(max_size=8),
                                               st.text(max_size=8) | json_values, max_size=3)
                   | st.lists(st.tuples(st.text(max_size=8), st.text(max_size=8)), max_size=3))
    media_type = draw(st.none() | st.sampled_from(["text/plain", "application/json", "image/png",
                                                   "text/html; charset=latin-1", ""]))
    cookies = draw(st.lists(st.text(max_size=10), max_size=2))
    return lambda: Response(body, status, headers=headers, media_type=media_type,
                            cookies=cookies)


@st.composite
def behaviours(draw: st.DrawFn) -> Callable[[], Any]:
    kind = draw(st.sampled_from(["raise", "http-error", "return", "response", "odd"]))
    if kind == "raise":
        make = draw(st.sampled_from(EXCEPTIONS))

        def raise_it() -> Any:
            raise make()

        return raise_it
    if kind == "http-error":
        error = draw(http_errors())

        def raise_http() -> Any:
            raise error

        return raise_http
    if kind == "response":
        return draw(responses())
    value = draw(json_values | st.binary(max_size=20) | st.text(max_size=20)) if kind == "return" \
        else draw(odd_values | st.sampled_from([math.nan, -math.inf, 1.5, {"n": math.nan}]))
    return lambda: value


def envelope(problem: Problem, request: Request | None) -> dict[str, Any]:
    return {"error": problem.status, "detail": problem.detail}


def raising_formatter(problem: Problem, request: Request | None) -> Any:
    raise RuntimeError("formatter broke")


def garbage_formatter(problem: Problem, request: Request | None) -> Any:
    return {"x": object()}


def bad_response_formatter(problem: Problem, request: Request | None) -> Any:
    return Response("x", status=problem.status * 10, headers={"X": "\n"})


FORMATTERS = [problem_response, envelope, raising_formatter, garbage_formatter,
              bad_response_formatter]


@SETTINGS
@given(
    behaviour=behaviours(),
    fmt=st.sampled_from(FORMATS),
    method=st.sampled_from(["GET", "HEAD", "POST", "OPTIONS", "DELETE"]),
    debug=st.booleans(),
    formatter=st.sampled_from(FORMATTERS),
    handler_behaviour=st.none() | behaviours(),
)
def test_any_handler_behaviour_gets_an_accepted_answer(
    behaviour: Callable[[], Any], fmt: str, method: str, debug: bool,
    formatter: Callable[..., Any], handler_behaviour: Callable[[], Any] | None,
) -> None:
    app = App(debug=debug, error_formatter=formatter, access_log=False)
    app.route("/h/{x}", methods=["GET", "POST"])(lambda x: behaviour())
    if handler_behaviour is not None:
        app.exception_handler(Exception)(lambda request, exc: handler_behaviour())
    event = make_event(fmt, method, "/h/1")
    payload = app(event, FakeContext())
    assert_accepted(event, payload)
    if method == "HEAD":
        assert payload["body"] == ""
    if not debug and payload["statusCode"] == 500:
        assert "Traceback" not in payload["body"]
