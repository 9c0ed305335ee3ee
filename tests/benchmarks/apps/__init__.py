"""The same small API written with each framework under test.

Every module has ``build(n_routes, **options) -> handler`` where ``handler(event, context)`` is
the Lambda entry point. The app has ``n_routes`` routes in all: static fillers, then
``GET /users/{user_id}`` (int), ``POST /items`` (a pydantic model), ``GET /boom`` (raises) and
``GET /health`` registered last (the worst place for a router that scans).
Modules import their framework only when imported themselves, so a cold-start child loads one.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]

# name -> module; the order is the table's column order.
FRAMEWORKS = {
    "hand-written": "handwritten",
    "lamroute": "lamroute_app",
    "powertools": "powertools_app",
    "chalice": "chalice_app",
    "fastapi+mangum": "fastapi_app",
}
PEERS = ("powertools", "chalice", "fastapi+mangum")


def filler_paths(n_routes: int) -> list[str]:
    """The static routes registered before the interesting ones (four of ``n_routes`` are not)."""
    return [f"/catalog/section-{i}/items" for i in range(max(0, n_routes - 4))]


def build(name: str, n_routes: int, **options: Any) -> Handler:
    """The Lambda handler of framework ``name`` serving the benchmark app."""
    module = importlib.import_module(f"{__name__}.{FRAMEWORKS[name]}")
    handler: Handler = module.build(n_routes, **options)
    return handler
