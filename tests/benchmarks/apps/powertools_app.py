"""Powertools for AWS Lambda: ``APIGatewayRestResolver`` (its default options)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver

from . import filler_paths
from .models import Item


def _filler(path: str) -> Callable[[], dict[str, str]]:
    return lambda: {"path": path}


def build(n_routes: int) -> Callable[[dict[str, Any], Any], Any]:
    app = APIGatewayRestResolver()
    for path in filler_paths(n_routes):
        app.get(path)(_filler(path))

    @app.get("/users/<user_id>")
    def get_user(user_id: str) -> dict[str, Any]:
        return {"id": int(user_id), "name": "Ada"}

    @app.post("/items")
    def create_item() -> tuple[dict[str, Any], int]:
        return Item.model_validate(app.current_event.json_body).model_dump(), 201

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("boom")

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app.resolve
