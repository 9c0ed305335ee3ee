"""lamroute, as a user would write it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lamroute import App, Request

from . import filler_paths
from .models import Item


def _filler(path: str) -> Callable[[], dict[str, str]]:
    return lambda: {"path": path}


def build(n_routes: int, *, access_log: bool = True) -> Callable[[dict[str, Any], Any], Any]:
    app = App(title="bench", access_log=access_log)
    for path in filler_paths(n_routes):
        app.get(path)(_filler(path))

    @app.get("/users/{user_id}")
    def get_user(user_id: str) -> dict[str, Any]:
        return {"id": int(user_id), "name": "Ada"}

    @app.post("/items", status_code=201)
    def create_item(request: Request) -> Item:
        return Item.model_validate(request.json())

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("boom")

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app
