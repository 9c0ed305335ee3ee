"""``lamroute routes module:app``: the route table."""

from __future__ import annotations

import argparse
import inspect
import os

from ..cli import UsageError, load_app

HELP = "Print the route table of an app (method, path, handler, location)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("app", help="the app to load, as module:attribute")


def _location(handler: object) -> str:
    """``file:line`` of ``handler``, relative to the current directory when under it."""
    target = inspect.unwrap(handler)  # type: ignore[arg-type]
    try:
        path = inspect.getsourcefile(target) or "?"
        line = inspect.getsourcelines(target)[1]
    except (OSError, TypeError):
        return "?"
    relative = os.path.relpath(path)
    return f"{path if relative.startswith('..') else relative}:{line}"


def run(args: argparse.Namespace) -> int:
    app = load_app(args.app, startup=False)
    if not isinstance(getattr(app, "routes", None), list):
        raise UsageError(f"{args.app} is a {type(app).__name__}, not a lamroute App or Router")
    rows = []
    for route in app.routes:
        handler = route.handler
        location = _location(handler)
        rows.append((",".join(route.methods), route.path, route.name, location))
    for ws_route in getattr(app, "websocket_routes", ()):  # WebSocket APIs: by route key
        rows.append(("WEBSOCKET", ws_route.route_key, ws_route.name, _location(ws_route.handler)))
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in
              enumerate(("METHODS", "PATH", "HANDLER", "LOCATION"))]
    for row in [("METHODS", "PATH", "HANDLER", "LOCATION"), *rows]:
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        print("  ".join(cells).rstrip())
    return 0
