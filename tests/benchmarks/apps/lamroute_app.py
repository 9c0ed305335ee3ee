"""lamroute, as a user would write it: typed path parameter, pydantic body."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lamroute import App, Timeout

from . import filler_paths
from .models import Item


def _filler(path: str) -> Callable[[], dict[str, str]]:
    return lambda: {"path": path}


def build(n_routes: int, *, access_log: bool = True, asynchronous: bool = False,
          deadline: bool = True) -> Callable[[dict[str, Any], Any], Any]:
    """``asynchronous``: ``GET /users/{user_id}`` and ``GET /health`` are ``async def`` (the
    async variants of those workloads); the other routes stay sync. ``deadline=False``:
    ``App(timeout=None)``, to measure what the deadline guard costs."""
    app = App(title="bench", access_log=access_log, timeout=Timeout() if deadline else None)
    for path in filler_paths(n_routes):
        app.get(path)(_filler(path))

    if asynchronous:
        @app.get("/users/{user_id}")
        async def get_user_async(user_id: int) -> dict[str, Any]:
            return {"id": user_id, "name": "Ada"}
    else:
        @app.get("/users/{user_id}")
        def get_user(user_id: int) -> dict[str, Any]:
            return {"id": user_id, "name": "Ada"}

    @app.post("/items", status_code=201)
    def create_item(item: Item) -> Item:
        return item

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("boom")

    if asynchronous:
        @app.get("/health")
        async def health_async() -> dict[str, str]:
            return {"status": "ok"}
    else:
        @app.get("/health")
        def health() -> dict[str, str]:
            return {"status": "ok"}

    return app
