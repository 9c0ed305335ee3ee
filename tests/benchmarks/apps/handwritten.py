"""The floor: a dict of routes, a prefix check for the one dynamic route, ``json.dumps``."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from . import filler_paths
from .models import Item

logger = logging.getLogger("handwritten")
HEADERS = {"Content-Type": "application/json"}
Result = tuple[int, Any]


def build(n_routes: int) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    routes: dict[tuple[str, str], Callable[[dict[str, Any]], Result]] = {}
    for path in filler_paths(n_routes):
        routes["GET", path] = lambda event, path=path: (200, {"path": path})

    def create_item(event: dict[str, Any]) -> Result:
        item = Item.model_validate(json.loads(event["body"]))
        return 201, item.model_dump()

    def boom(event: dict[str, Any]) -> Result:
        raise RuntimeError("boom")

    routes["POST", "/items"] = create_item
    routes["GET", "/boom"] = boom
    routes["GET", "/health"] = lambda event: (200, {"status": "ok"})

    def get_user(user_id: str) -> Result:
        return 200, {"id": int(user_id), "name": "Ada"}

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        method, path = event["httpMethod"], event["path"]
        route = routes.get((method, path))
        try:
            if route is not None:
                status, body = route(event)
            elif method == "GET" and path.startswith("/users/"):
                status, body = get_user(path[len("/users/"):])
            else:
                status, body = 404, {"message": "Not Found"}
        except Exception:
            logger.exception("unhandled exception")
            status, body = 500, {"message": "Internal Server Error"}
        return {"statusCode": status, "headers": HEADERS, "body": json.dumps(body)}

    return handler
