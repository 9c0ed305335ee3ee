"""Async routes on the container's loop take their first step at once (issue 18): a handler that
awaits nothing runs no iteration of the loop, yet runs as a real task on a running loop; the
loop still runs whenever the task awaits or anything else waits on it."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

from lamroute import App, Timeout
from lamroute.aio import loop as aio_loop
from lamroute.aio.eager import EagerLoop
from lamroute.testing import FakeContext, TestClient, make_event


@pytest.fixture(autouse=True)
def fresh_loop(monkeypatch: pytest.MonkeyPatch) -> Iterator[EagerLoop]:
    """A loop of the test's own (the container's may hold what other tests left on it)."""
    loop = EagerLoop()
    monkeypatch.setattr(aio_loop, "_loop", loop)
    yield loop
    for task in asyncio.all_tasks(loop):
        task.cancel()
    loop.run_until_complete(asyncio.sleep(0))
    loop.close()


@pytest.fixture
def iterations(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """How many times the container's loop ran (run_forever calls)."""
    count = [0]
    real = asyncio.BaseEventLoop.run_forever

    def counting(self: asyncio.BaseEventLoop) -> None:
        count[0] += 1
        real(self)

    monkeypatch.setattr(asyncio.BaseEventLoop, "run_forever", counting)
    yield count


def call(app: App, path: str) -> dict[str, Any]:
    return app(make_event("rest", "GET", path), FakeContext())


def test_a_handler_that_awaits_nothing_runs_no_iteration_yet_is_a_running_task(
        iterations: list[int]) -> None:
    app = App(access_log=False)
    seen: dict[str, Any] = {}

    @app.get("/")
    async def index() -> dict[str, bool]:
        seen["task"] = asyncio.current_task()
        seen["loop"] = asyncio.get_running_loop()
        return {"ok": True}

    assert call(app, "/")["statusCode"] == 200
    assert iterations[0] == 0
    assert isinstance(seen["task"], asyncio.Task) and seen["task"].done()
    assert isinstance(seen["loop"], EagerLoop) and seen["loop"] is aio_loop.event_loop()
    assert asyncio._get_running_loop() is None  # not left running


def test_a_handler_that_awaits_runs_on_the_loop(iterations: list[int]) -> None:
    app = App(access_log=False)

    @app.get("/")
    async def index() -> dict[str, float]:
        if sys.version_info >= (3, 11):
            async with asyncio.timeout(5):  # (3.11+) a timer on the loop around the await
                await asyncio.sleep(0.01)
        else:
            await asyncio.wait_for(asyncio.sleep(0.01), 5)
        return {"slept": 0.01}

    assert call(app, "/")["statusCode"] == 200
    assert iterations[0] >= 1


def test_a_task_a_handler_started_still_progresses_on_later_invocations() -> None:
    app = App(access_log=False)
    progress: list[str] = []

    async def background() -> None:
        progress.append("started")
        await asyncio.sleep(0)
        progress.append("finished")

    @app.get("/start")
    async def start() -> str:
        asyncio.get_running_loop().create_task(background())  # not awaited
        return "started"

    @app.get("/quick")
    async def quick() -> str:
        return "quick"

    assert call(app, "/start")["statusCode"] == 200
    for _ in range(3):  # invocations that await nothing still let it run
        assert call(app, "/quick")["statusCode"] == 200
    assert progress == ["started", "finished"]


def test_a_first_step_that_blocks_is_interrupted_at_the_deadline() -> None:
    # While the first step runs there is nothing to cancel: interrupted as a sync handler is.
    app = App(timeout=Timeout(integration_s=0.2, margin_s=0.1))
    events: list[str] = []

    @app.get("/blocks")
    async def blocks() -> str:
        try:
            time.sleep(5)  # never do this: it blocks the loop
        finally:
            events.append("finally")
        return "never"

    started = time.perf_counter()
    response = TestClient(app, timeout_ms=60_000).get("/blocks")
    assert response.status_code == 504 and events == ["finally"]
    assert time.perf_counter() - started < 1.0


def test_an_async_generator_of_the_first_step_is_finalised_on_the_loop() -> None:
    app = App(access_log=False)
    closed: list[bool] = []

    async def numbers() -> Any:
        try:
            yield 1
            yield 2
        finally:
            closed.append(True)

    @app.get("/first")
    async def first() -> dict[str, int]:
        async for number in numbers():
            return {"first": number}  # left unfinished: the loop's finaliser closes it
        return {}

    assert call(app, "/first")["statusCode"] == 200
    call(app, "/first")  # the loop runs the finaliser it was handed
    assert closed


def test_the_loop_is_running_during_the_first_step() -> None:
    # A sync bridge written as many libraries write it: run_until_complete when the loop is not
    # running, a thread of its own when it is. In the first step the loop must say it runs.
    from concurrent.futures import ThreadPoolExecutor

    app = App(access_log=False)

    async def fetch() -> int:
        return 42

    def run_sync(coro: Any) -> Any:
        loop = asyncio.get_event_loop()
        if loop.is_running():
            with ThreadPoolExecutor(1) as pool:
                return pool.submit(asyncio.run, coro).result()
        return loop.run_until_complete(coro)

    @app.get("/")
    async def index() -> dict[str, Any]:
        return {"running": asyncio.get_running_loop().is_running(), "value": run_sync(fetch())}

    answer = call(app, "/")
    assert answer["statusCode"] == 200 and answer["body"] == '{"running":true,"value":42}'
    assert not aio_loop.event_loop().is_running()  # not left running
