"""``lamroute invoke module:app``: one invocation, prints the proxy response.

    $ lamroute invoke notes.app:app --method POST --path /notes --data '{"text": "hi"}'
    $ lamroute invoke notes.app:app --event event.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from ..cli import UsageError, load_app

HELP = "Invoke an app once with an event file or a request; print the proxy response JSON."
EVENT_FORMATS = ("rest", "http-v1", "http", "url", "alb", "alb-multi")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("app", help="the app to load, as module:attribute")
    parser.add_argument("--event", metavar="FILE",
                        help="a JSON event file ('-' reads standard input)")
    parser.add_argument("--method", default="GET", help="request method (default GET)")
    parser.add_argument("--path", help="request path, query string allowed: /notes?limit=2")
    parser.add_argument("--format", choices=EVENT_FORMATS, default="rest",
                        help="event payload format (default rest)")
    parser.add_argument("--stage", default=None, help="stage name (rest: prod by default)")
    parser.add_argument("--header", action="append", default=[], metavar="'NAME: VALUE'",
                        help="a request header; repeatable")
    parser.add_argument("--data", metavar="BODY",
                        help="request body; @FILE reads it from a file")


def _read_json(source: str) -> Any:
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text()
    except OSError as exc:
        raise UsageError(f"cannot read {source}: {exc.strerror}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{source} is not JSON: {exc}") from None


def _headers(values: list[str]) -> list[tuple[str, str]]:
    pairs = []
    for value in values:
        name, sep, rest = value.partition(":")
        if not sep or not name.strip():
            raise UsageError(f"--header {value!r} is not of the form 'Name: value'")
        pairs.append((name.strip(), rest.strip()))
    return pairs


def _body(data: str | None) -> str | bytes | None:
    if data is None or not data.startswith("@"):
        return data
    try:
        raw = Path(data[1:]).read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {data[1:]}: {exc.strerror}") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw


def build_event(args: argparse.Namespace) -> tuple[Any, str | None]:
    """The event to send and its format name (``None`` when an event file's is unknown)."""
    from ..testing import make_event

    if args.event is not None:
        if args.path is not None:
            raise UsageError("give either --event or --path, not both")
        event = _read_json(args.event)
        try:
            from ..formats import detect

            return event, detect(event).name
        except Exception:
            return event, None
    if args.path is None:
        raise UsageError("give --event FILE or --path PATH")
    path, _, query = args.path.partition("?")
    headers = _headers(args.header)
    body = _body(args.data)
    if body is not None and not any(k.lower() == "content-type" for k, _ in headers):
        headers.append(("Content-Type", "application/json"))
    event = make_event(args.format, args.method, path, headers=headers, body=body,
                       query=parse_qsl(query, keep_blank_values=True), stage=args.stage)
    return event, args.format


def _logs_to_stderr() -> None:
    """Keep standard output for the response: the app's log lines go to standard error."""
    import logging

    for handler in logging.getLogger("lamroute").handlers:
        if isinstance(handler, logging.StreamHandler) and handler.stream is sys.stdout:
            handler.setStream(sys.stderr)


def run(args: argparse.Namespace) -> int:
    from ..testing import FakeContext, check_proxy_response

    app = load_app(args.app)
    if not callable(app):
        raise UsageError(f"{args.app} is a {type(app).__name__}, not a Lambda handler")
    _logs_to_stderr()
    event, fmt = build_event(args)
    payload = app(event, FakeContext())
    try:
        print(json.dumps(payload, indent=2, ensure_ascii=False))
    except (TypeError, ValueError):
        print(repr(payload))
    problems = check_proxy_response(fmt, payload) if fmt else []
    for problem in problems:
        print(f"lamroute: the gateway would reject this response: {problem}", file=sys.stderr)
    return 1 if problems else 0
