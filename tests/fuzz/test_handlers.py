"""Misbehaving handlers, exception handlers and error formatters: every answer is still one the
gateway accepts, formatted by lamroute."""

from __future__ import annotations

import signal
from collections.abc import Callable
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from lamroute import App, Response, Timeout
from lamroute.errors import problem_response
from lamroute.safeguards import deadline
from lamroute.testing import FORMATS, FakeContext, make_event

from .strategies import (
    CASES,
    behaviours,
    check_answer,
    exceptions,
    fuzz_settings,
    returned_values,
)

SLOW = ("slow", "slow-swallow", "slow-busy")


@st.composite
def misbehaviours(draw: st.DrawFn) -> Callable[..., Any]:
    """An exception handler or error formatter body: returns junk or raises."""
    if draw(st.booleans()):
        value = draw(returned_values)
        return lambda *args: value
    exc = draw(exceptions())

    def raiser(*args: Any) -> Any:
        raise exc

    return raiser


def build_app(behaviour: Callable[[], Any], *, debug: bool, formatter: Callable[..., Any] | None,
              handler: tuple[type[BaseException], Callable[..., Any]] | None,
              compress: bool) -> App:
    app = App(debug=debug, error_formatter=formatter or problem_response, compress=compress,
              timeout=Timeout(margin_s=0.05))
    if handler is not None:
        app.exception_handler(handler[0])(handler[1])

    @app.route("/run", methods=["GET", "POST", "HEAD"])
    def run() -> Any:
        return behaviour()

    return app


handler_types = st.sampled_from([BaseException, Exception, LookupError, ValueError, TypeError,
                                 RecursionError])


@fuzz_settings(ci_examples=120)
@given(
    fmt=st.sampled_from(FORMATS),
    method=st.sampled_from(["GET", "POST", "HEAD"]),
    behaviour=behaviours(),
    debug=st.booleans(),
    formatter=st.one_of(st.none(), misbehaviours()),
    handler=st.one_of(st.none(), st.tuples(handler_types, misbehaviours())),
    compress=st.booleans(),
)
def test_whatever_the_handler_does_the_answer_is_valid(
    fmt: str, method: str, behaviour: tuple[str, Callable[[], Any]], debug: bool,
    formatter: Callable[..., Any] | None,
    handler: tuple[type[BaseException], Callable[..., Any]] | None, compress: bool,
) -> None:
    CASES["handler behaviours"] += 1
    kind, body = behaviour
    app = build_app(body, debug=debug, formatter=formatter, handler=handler, compress=compress)
    before = signal.getsignal(signal.SIGALRM)
    event = make_event(fmt, method, "/run", headers={"Accept-Encoding": "gzip"})
    answer = app(event, FakeContext(timeout_ms=90 if kind in SLOW else 30_000))
    check_answer(fmt, answer, debug=debug)
    assert signal.getsignal(signal.SIGALRM) in (before, deadline._dispatch)
    assert deadline._Current.alarm is None
    if kind in SLOW and handler is None and formatter is None:
        assert answer["statusCode"] == 504, answer


@fuzz_settings(ci_examples=50)
@given(value=returned_values, fmt=st.sampled_from(FORMATS))
def test_plain_return_values_render_or_give_a_formatted_500(value: Any, fmt: str) -> None:
    CASES["return values"] += 1
    app = App()
    app.get("/")(lambda: value)
    answer = app(make_event(fmt, "GET", "/"), FakeContext())
    check_answer(fmt, answer)
    if answer["statusCode"] == 500 and not isinstance(value, Response):  # else its own 500
        assert answer["body"].startswith('{"type":"about:blank","title":'), answer["body"][:200]
