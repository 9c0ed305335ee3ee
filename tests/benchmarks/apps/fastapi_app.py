"""FastAPI behind Mangum, written the FastAPI way (typed path parameter, model body).

``async def`` handlers: FastAPI runs plain ``def`` ones in a thread pool, which is slower.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from mangum import Mangum

from . import filler_paths
from .models import Item


def _filler(path: str) -> Callable[[], Any]:
    async def filler() -> dict[str, str]:
        return {"path": path}

    return filler


def build(n_routes: int) -> Callable[[dict[str, Any], Any], Any]:
    app = FastAPI()
    for path in filler_paths(n_routes):
        app.get(path)(_filler(path))

    @app.get("/users/{user_id}")
    async def get_user(user_id: int) -> dict[str, Any]:
        return {"id": user_id, "name": "Ada"}

    @app.post("/items", status_code=201)
    async def create_item(item: Item) -> Item:
        return item

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("boom")

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    return Mangum(app, lifespan="off")
