"""The deadline of async routes: the task is cancelled before the Lambda timeout and the
client gets the formatted 504; a task that swallows the cancellation is logged and answered."""

from __future__ import annotations

import asyncio
import signal
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
from fixtures import Records

from lamroute import App, Request, Response, Timeout
from lamroute.safeguards import deadline
from lamroute.testing import FakeContext, TestClient, TestResponse, make_event

FAST = Timeout(margin_s=0.1)
BUDGET_MS = 400  # the Lambda time left: 300 ms for the handler


@pytest.fixture(autouse=True)
def no_timer_left() -> Iterator[None]:
    yield
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    assert deadline._Current.alarm is None


def sleeper(events: list[str]) -> Callable[[], Awaitable[str]]:
    """An async handler asleep for 10 s that notes its ``finally`` (cancelled at the deadline)."""
    async def sleep() -> str:
        try:
            await asyncio.sleep(10)
        finally:
            events.append("finally")
        return "never"

    return sleep


def slow_app(events: list[str], **options: Any) -> App:
    app = App(timeout=FAST, **options)

    app.get("/sleep")(sleeper(events))

    @app.get("/swallow")
    async def swallow() -> str:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            events.append("swallowed")
        return "too late"

    @app.get("/stubborn")
    async def stubborn() -> str:
        while True:
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                events.append("stubborn")

    @app.get("/blocks")
    async def blocks() -> str:
        time.sleep(10)  # never do this: it blocks the loop
        return "never"

    @app.get("/fast")
    async def fast() -> str:
        await asyncio.sleep(0)
        return "quick"

    return app


def call(app: App, path: str, fmt: str = "rest") -> tuple[TestResponse, float]:
    started = time.perf_counter()
    raw = app(make_event(fmt, "GET", path), FakeContext(timeout_ms=BUDGET_MS))
    return TestResponse(raw), time.perf_counter() - started


@pytest.mark.parametrize("fmt", ["rest", "http", "alb"])
def test_a_slow_async_handler_is_cancelled_with_the_504_and_its_cleanup_runs(
        fmt: str, logs: Records) -> None:
    events: list[str] = []
    answer, elapsed = call(slow_app(events), "/sleep", fmt)
    assert answer.status_code == 504
    assert answer.json()["title"] == "Gateway Timeout"
    assert events == ["finally"]
    assert 0.25 < elapsed < 2  # at the budget (0.3 s), not after the 10 s sleep
    assert "deadline reached: handler interrupted" in logs.messages()


def test_through_the_test_client() -> None:
    events: list[str] = []
    client = TestClient(slow_app(events), timeout_ms=BUDGET_MS)
    assert client.get("/sleep").status_code == 504
    assert client.get("/fast").text == "quick"
    assert events == ["finally"]


def test_a_handler_that_swallows_the_cancellation_is_logged_and_still_answered(
        logs: Records) -> None:
    events: list[str] = []
    answer, elapsed = call(slow_app(events), "/swallow")
    assert (answer.status_code, events) == (504, ["swallowed"])
    assert elapsed < 2  # not after the 10 s sleep
    assert "deadline reached: handler swallowed the interrupt" in logs.messages()


@pytest.mark.parametrize("path", ["/stubborn", "/blocks"])
def test_a_handler_that_will_not_end_is_interrupted_half_the_margin_later(
        path: str, logs: Records) -> None:
    # Swallowing every cancellation, or blocking the loop: SIGALRM gets control back.
    events: list[str] = []
    app = slow_app(events)
    answer, elapsed = call(app, path)
    assert answer.status_code == 504
    # The budget (0.3 s from the Lambda time left, in whole milliseconds), plus half the 0.1 s
    # margin for the stubborn task; /blocks blocks in its first step, taken at once, where it
    # is interrupted as a sync handler is, at the budget. Never the 10 s.
    assert 0.29 < elapsed < 2
    assert any(m.startswith("deadline reached") for m in logs.messages())
    # The loop is still good for the next invocation.
    assert call(app, "/fast")[0].text == "quick"


def test_an_async_middleware_gets_the_504_from_call_next_and_may_decorate_it() -> None:
    events: list[str] = []
    app = slow_app(events)

    @app.middleware
    async def stamp(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        events.append(f"saw {response.status}")
        response.headers["X-Seen"] = "yes"
        return response

    answer, _ = call(app, "/sleep")
    assert answer.status_code == 504 and answer.headers["x-seen"] == "yes"
    assert events == ["finally", "saw 504"]


def test_a_sync_middleware_around_an_async_handler_gets_the_504_too() -> None:
    events: list[str] = []
    app = App(timeout=FAST)

    def stamp(request: Request, call_next: Any) -> Response:
        response: Response = call_next(request)
        response.headers["X-Seen"] = str(response.status)
        return response

    app.get("/sleep", middleware=[stamp])(sleeper(events))

    answer, _ = call(app, "/sleep")
    assert (answer.status_code, answer.headers["x-seen"], events) == (504, "504", ["finally"])


def test_in_another_thread_an_async_handler_is_still_cancelled_at_its_deadline(
        logs: Records) -> None:
    # No SIGALRM there (lamroute serve runs invocations in threads): a timer of the loop
    # cancels the task, and stops the loop if the task lingers.
    events: list[str] = []
    app = slow_app(events)
    out: dict[str, tuple[int, float]] = {}

    def invoke() -> None:
        for path in ("/sleep", "/swallow", "/stubborn", "/fast"):
            answer, elapsed = call(app, path)
            out[path] = (answer.status_code, elapsed)

    thread = threading.Thread(target=invoke)
    thread.start()
    thread.join(timeout=10)
    assert {path: status for path, (status, _) in out.items()} == {
        "/sleep": 504, "/swallow": 504, "/stubborn": 504, "/fast": 200}
    assert all(elapsed < 2 for _, elapsed in out.values())  # not after the 10 s sleeps
    assert events[:2] == ["finally", "swallowed"] and "stubborn" in events


def test_in_another_thread_async_requests_do_not_warn_that_handlers_cannot_be_interrupted(
        logs: Records, monkeypatch: pytest.MonkeyPatch) -> None:
    """The loop's timer cancels async handlers there: the warning that handlers cannot be
    interrupted (logged on the first async request in a thread) is for a sync handler that ran
    past its deadline, or an async one blocking the loop."""
    monkeypatch.setattr(deadline, "_warned", set())  # a fresh container
    events: list[str] = []
    app = slow_app(events)

    @app.get("/sync-late")
    def sync_late() -> str:
        time.sleep(0.45)
        return "late"

    statuses: list[tuple[str, int, int]] = []

    def invoke() -> None:
        for path in ("/fast", "/sleep", "/fast", "/sync-late", "/sync-late"):
            status = call(app, path)[0].status_code
            warned = sum("cannot be interrupted" in m for m in logs.messages())
            statuses.append((path, status, warned))

    thread = threading.Thread(target=invoke)
    thread.start()
    thread.join(timeout=10)
    assert statuses == [("/fast", 200, 0), ("/sleep", 504, 0), ("/fast", 200, 0),
                        ("/sync-late", 504, 1), ("/sync-late", 504, 1)]  # once per container
    (warning,) = [m for m in logs.messages() if "cannot be interrupted" in m]
    assert "not in the main thread" in warning


@pytest.mark.parametrize("app_timeout", [None, Timeout(margin_s=0.01)])
def test_a_route_timeout_under_async_app_middleware(app_timeout: Timeout | None) -> None:
    events: list[str] = []
    app = App(timeout=app_timeout)

    @app.middleware
    async def outer(request: Request, call_next: Any) -> Response:
        return await call_next(request)  # type: ignore[no-any-return]

    app.get("/sleep", timeout=FAST)(sleeper(events))

    answer, elapsed = call(app, "/sleep")
    assert (answer.status_code, events) == (504, ["finally"])
    assert elapsed < 2  # not after the 10 s sleep


def test_a_fast_async_handler_sees_its_time_left_and_leaves_no_timer() -> None:
    seen: list[float | None] = []
    app = App(timeout=FAST)

    @app.get("/armed")
    async def armed() -> str:
        seen.append(deadline.time_left())
        return "ok"

    assert call(app, "/armed")[0].text == "ok"
    assert seen[0] is not None and 0 < seen[0] <= 0.3


def test_a_sync_middleware_between_async_layers_gets_the_504_from_call_next() -> None:
    # Async app middleware, then a sync route middleware (it runs in a worker thread, its
    # call_next back on the loop), then the slow async handler.
    events: list[str] = []
    app = App(timeout=FAST)

    @app.middleware
    async def outer(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        response.headers["X-Outer"] = str(response.status)
        return response

    def inner(request: Request, call_next: Any) -> Response:
        response: Response = call_next(request)
        events.append(f"inner saw {response.status}")
        response.headers["X-Inner"] = "yes"
        return response

    app.get("/sleep", middleware=[inner])(sleeper(events))

    answer, elapsed = call(app, "/sleep")
    assert answer.status_code == 504
    assert (answer.headers["x-inner"], answer.headers["x-outer"]) == ("yes", "504")
    assert events == ["finally", "inner saw 504"]
    assert elapsed < 2  # not after the 10 s sleep
