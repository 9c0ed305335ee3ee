"""The ``lamroute`` command line: one module per subcommand in ``lamroute.commands``.

Each command module defines ``HELP`` (one line), ``add_arguments(parser)`` and
``run(args) -> int``. Errors in the user's module are one-line messages, not tracebacks.

    $ lamroute routes notes.app:app
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from typing import Any

from . import __version__

COMMANDS = ("serve", "routes", "invoke", "template", "openapi")


class UsageError(Exception):
    """A problem with the command line or the user's module, shown as one line."""


def load_app(target: str, *, startup: bool = True) -> Any:
    """Import ``module:attribute`` (``notes.app:app``; ``:app`` is the default) from the cwd.

    ``startup=False``: the app's startup hooks must not run, even where the import looks like
    Lambda's INIT phase (commands that only read the routes)."""
    module_name, _, attribute = target.partition(":")
    if not startup:
        os.environ["LAMROUTE_SKIP_STARTUP"] = "1"  # read by lamroute.lifecycle.hooks
    if not module_name:
        raise UsageError(f"{target!r} is not of the form module:app")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise UsageError(f"cannot import {module_name!r}: {exc}") from None
    except Exception as exc:
        kind = type(exc).__name__
        raise UsageError(f"importing {module_name!r} failed: {kind}: {exc}") from None
    try:
        return getattr(module, attribute or "app")
    except AttributeError:
        name = attribute or "app"
        raise UsageError(f"module {module_name!r} has no attribute {name!r}") from None


def _available() -> dict[str, Any]:
    found = {}
    for name in COMMANDS:
        try:
            found[name] = importlib.import_module(f"lamroute.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"lamroute.commands.{name}":
                raise
    return found


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lamroute", description="Run, inspect and deploy lamroute apps."
    )
    parser.add_argument("--version", action="version", version=f"lamroute {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module in _available().items():
        sub = subparsers.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(sub)
        sub.set_defaults(run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``lamroute`` and ``python -m lamroute``."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args))
    except UsageError as exc:
        print(f"lamroute: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
