"""``lamroute openapi module:app [--yaml] [--output FILE] [--server URL]...``: print the OpenAPI
document.

    $ lamroute openapi notes.app:app --server https://api.example.com/prod -o openapi.json
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from typing import Any

from ..cli import UsageError, load_app

HELP = "Print the OpenAPI 3.1 document of an app (JSON, or YAML with --yaml)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("app", help="the app to load, as module:attribute")
    parser.add_argument("--yaml", action="store_true", help="print YAML instead of JSON")
    parser.add_argument("--output", "-o", metavar="FILE", help="write to FILE instead of stdout")
    parser.add_argument("--server", action="append", dest="servers", default=[], metavar="URL",
                        help="a base URL the paths hang from, with the stage or base path "
                             "(https://api.example.com/prod, or /prod); repeatable")


def render(document: dict[str, Any], *, as_yaml: bool) -> str:
    """The document as JSON (indented) or YAML text."""
    if not as_yaml:
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    try:
        yaml = importlib.import_module("yaml")
    except ImportError:
        raise UsageError("--yaml needs PyYAML: pip install pyyaml") from None
    text: str = yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
    return text


def run(args: argparse.Namespace) -> int:
    app = load_app(args.app, startup=False)
    if not callable(getattr(app, "openapi", None)):
        raise UsageError(f"{args.app!r} is not a lamroute App")
    try:
        document = app.openapi(servers=args.servers)
    except Exception as exc:
        raise UsageError(f"building the OpenAPI document failed: {type(exc).__name__}: {exc}"
                         ) from None
    text = render(document, as_yaml=args.yaml)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as handle:
            handle.write(text)
    else:
        sys.stdout.write(text)
    return 0
