"""Soak: 100,000 invocations of one app instance keep memory flat.

Mixed routes and outcomes (200s, 404/405, handler exceptions, bad return values, 413s,
malformed events, gzip) in every payload format. After a warm-up, Python's traced memory
(tracemalloc) and the process RSS are compared before and after the run; the app's caches,
the log handlers and the request contextvar must not grow. Kept out of the default run
(``-m slow``; ``make fuzz`` runs it); the numbers are printed.
"""

from __future__ import annotations

import gc
import itertools
import logging
import os
import tracemalloc
from typing import Any

import pytest

from lamroute import App, HTTPError, Request, Response, Timeout
from lamroute import logs as lamroute_logs
from lamroute.safeguards.compression import _accepts_gzip_cached
from lamroute.testing import FORMATS, FakeContext, make_event
from lamroute.testing.rules import check_proxy_response

pytestmark = pytest.mark.slow

INVOCATIONS = int(os.environ.get("LAMROUTE_SOAK_INVOCATIONS", "100000"))
WARM_UP = 5_000


def soak_app() -> App:
    app = App(compress=True, max_body_size=2048, timeout=Timeout(margin_s=0.05))

    @app.get("/items/{item_id}")
    def get_item(item_id: str) -> dict[str, Any]:
        return {"id": item_id, "tags": ["a", "b"]}

    @app.post("/items")
    def create(request: Request) -> Response:
        return Response.json({"size": len(request.body)}, 201)

    @app.get("/big")
    def big() -> str:
        return "lamroute " * 400

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("boom")

    @app.get("/teapot")
    def teapot() -> None:
        raise HTTPError(418, "short and stout")

    @app.get("/bad")
    def bad() -> object:
        return object()

    return app


def requests() -> list[tuple[str, Any]]:
    cases: list[tuple[str, Any]] = []
    for fmt in FORMATS:
        cases += [
            (fmt, make_event(fmt, "GET", "/items/42", headers={"Accept-Encoding": "gzip"})),
            (fmt, make_event(fmt, "POST", "/items", json={"name": "x"})),
            (fmt, make_event(fmt, "POST", "/items", body="z" * 4096)),
            (fmt, make_event(fmt, "GET", "/big", headers={"Accept-Encoding": "gzip"})),
            (fmt, make_event(fmt, "GET", "/boom")),
            (fmt, make_event(fmt, "GET", "/teapot")),
            (fmt, make_event(fmt, "GET", "/bad")),
            (fmt, make_event(fmt, "GET", "/missing")),
            (fmt, make_event(fmt, "DELETE", "/big")),
        ]
    cases.append(("rest", {"not": "an event"}))
    return cases


def _rss_kb() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def _traced() -> tuple[int, int]:
    """Live traced bytes and blocks."""
    stats = tracemalloc.take_snapshot().statistics("filename")
    return sum(s.size for s in stats), sum(s.count for s in stats)


def _state(app: App) -> dict[str, int]:
    logger = logging.getLogger("lamroute")
    return {
        "log handlers": len(logger.handlers),
        "log filters": sum(len(h.filters) for h in logger.handlers),
        "routes": len(app.routes),
        "exception handlers": len(app.boundary.handlers),
        "gzip cache <= 128": int(_accepts_gzip_cached.cache_info().currsize <= 128),
        "contextvar unset": int(lamroute_logs._request_fields.get() is None),
    }


def test_memory_stays_flat_over_100k_invocations(capsys: pytest.CaptureFixture[str]) -> None:
    app = soak_app()
    cases = requests()
    stream = itertools.cycle(cases)
    statuses: dict[int, int] = {}

    def invoke(n: int) -> None:
        for _ in range(n):
            _fmt, event = next(stream)
            answer = app(event, FakeContext())
            statuses[answer["statusCode"]] = statuses.get(answer["statusCode"], 0) + 1

    for fmt, event in cases:  # every answer valid once
        assert check_proxy_response(fmt, app(event, FakeContext())) == []
    invoke(WARM_UP)
    state = _state(app)
    gc.collect()
    rss_before, objects_before = _rss_kb(), len(gc.get_objects())
    tracemalloc.start()
    points = [_traced()]
    for _ in range(2):
        invoke(INVOCATIONS // 2)
        gc.collect()
        points.append(_traced())
    tracemalloc.stop()
    rss_after, objects_after = _rss_kb(), len(gc.get_objects())
    with capsys.disabled():
        print(f"\nsoak: {INVOCATIONS} invocations after {WARM_UP} warm-up; traced (bytes, "
              f"blocks) at 0 / {INVOCATIONS // 2} / {INVOCATIONS}: {points}; gc objects "
              f"{objects_before} -> {objects_after}; RSS {rss_before} -> {rss_after} kB "
              f"({rss_after - rss_before:+d}); statuses {dict(sorted(statuses.items()))}")
    assert _state(app) == state
    assert set(statuses) == {200, 201, 400, 404, 405, 413, 418, 500}
    # Live blocks, not bytes, decide: a dict table rebuilt by the interpreter (interned
    # strings) shows up as one large block, while a per-request leak adds blocks every time.
    blocks = [count for _, count in points]
    assert blocks[2] - blocks[0] < 1000, points
    assert blocks[2] - blocks[1] < 200, points
    assert objects_after - objects_before < 500
    assert rss_after - rss_before < 8 * 1024, "RSS grew by more than 8 MB"
