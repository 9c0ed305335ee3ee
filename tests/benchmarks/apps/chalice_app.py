"""Chalice: the app object is the Lambda handler.

Chalice routes on ``requestContext.resourcePath``: it deploys one API Gateway resource per route,
so its events name the route template (see ``events.chalice_event``), and API Gateway itself
answers paths no resource matches (Chalice never sees them).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalice import Chalice, Response

from . import filler_paths
from .models import Item


def _filler(path: str) -> Callable[[], dict[str, str]]:
    return lambda: {"path": path}


def build(n_routes: int) -> Callable[[dict[str, Any], Any], Any]:
    app = Chalice(app_name="bench")
    for path in filler_paths(n_routes):
        app.route(path, methods=["GET"], name=path)(_filler(path))

    @app.route("/users/{user_id}", methods=["GET"])
    def get_user(user_id: str) -> dict[str, Any]:
        return {"id": int(user_id), "name": "Ada"}

    @app.route("/items", methods=["POST"])
    def create_item() -> Response:
        body = app.current_request.json_body if app.current_request else None
        item = Item.model_validate(body)
        return Response(item.model_dump(), status_code=201)

    @app.route("/boom", methods=["GET"])
    def boom() -> None:
        raise RuntimeError("boom")

    @app.route("/health", methods=["GET"])
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app
