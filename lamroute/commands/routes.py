"""``lamroute routes module:app``: the route table."""

from __future__ import annotations

import argparse
import inspect

from ..cli import load_app

HELP = "Print the route table of an app (method, path, handler, location)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("app", help="the app to load, as module:attribute")


def run(args: argparse.Namespace) -> int:
    app = load_app(args.app)
    rows = []
    for route in app.routes:
        handler = route.handler
        try:
            location = f"{inspect.getsourcefile(handler)}:{inspect.getsourcelines(handler)[1]}"
        except (OSError, TypeError):
            location = "?"
        rows.append((",".join(route.methods), route.path, route.name, location))
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in
              enumerate(("METHODS", "PATH", "HANDLER", "LOCATION"))]
    for row in [("METHODS", "PATH", "HANDLER", "LOCATION"), *rows]:
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        print("  ".join(cells).rstrip())
    return 0
