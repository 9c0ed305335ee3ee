"""What a template needs to know about an app that its routes do not say outright.

Whether it sends or receives binary bodies (a REST API then needs ``BinaryMediaTypes``),
whether its handlers visibly talk to WebSocket clients (a note only: the function gets
``execute-api:ManageConnections`` anyway, as a dependency or helper may push), and who may open
a WebSocket connection.

>>> from lamroute import App
>>> app = App(compress=True)
>>> binary_use(app).binary
True
"""

from __future__ import annotations

import inspect
import types
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ..params import return_annotation
from ..routing.routes import CONNECT, DISCONNECT
from .auth import TemplateError

_TEXT = frozenset({"application/json", "application/javascript", "application/xml",
                   "application/yaml", "application/x-yaml", "application/x-www-form-urlencoded",
                   "application/graphql", "application/problem+json", "image/svg+xml"})


@dataclass
class BinaryUse:
    """``binary``: a route compresses, or documents a non-text request or response body;
    ``undocumented``: routes whose answer's media type the app does not say (a ``Response``)."""

    binary: bool = False
    reasons: list[str] = field(default_factory=list)
    undocumented: list[str] = field(default_factory=list)


def is_text(media_type: str) -> bool:
    """Whether a media type is text (a REST API passes it through without binary support)."""
    kind = media_type.split(";", 1)[0].strip().lower()
    return (kind.startswith("text/") or kind in _TEXT or kind.endswith("+json")
            or kind.endswith("+xml"))


def binary_use(app: Any, notes: list[str] | None = None) -> BinaryUse:
    """How ``app`` uses binary bodies, from its compression settings, return annotations and
    OpenAPI document (a document that fails to build is said in ``notes``)."""
    found = BinaryUse()
    if getattr(getattr(app, "safeguards", None), "compression", None) is not None:
        found.reasons.append("App(compress=...) gzips answers")
    for route in app.routes:
        if route.options.get("compress"):
            found.reasons.append(f"{route.path} compresses its answers")
        if return_annotation(route.handler) is bytes:
            found.reasons.append(f"{route.path} returns bytes")
    try:
        bodies = list(_documented_bodies(app))
    except Exception as exc:  # the app's document is broken: judge from the rest
        bodies = []
        if notes is not None:
            notes.append(f"the app's OpenAPI document failed ({type(exc).__name__}: {exc}); "
                         "binary bodies are judged from compression and return types only")
    for where, media_types, documented in bodies:
        binary = [m for m in media_types if not is_text(m)]
        if binary:
            found.reasons.append(f"{where} uses {', '.join(sorted(binary))}")
        if not documented:
            found.undocumented.append(where)
    found.binary = bool(found.reasons)
    return found


def _documented_bodies(app: Any) -> Iterator[tuple[str, list[str], bool]]:
    """``(route, media types, documented)`` for each operation of the app's OpenAPI document."""
    document = app.openapi()
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            if not isinstance(operation, dict):
                continue
            where = f"{method.upper()} {path}"
            media = list((operation.get("requestBody") or {}).get("content", {}))
            documented = True
            for status, response in (operation.get("responses") or {}).items():
                if "$ref" in response:
                    continue
                content = response.get("content")
                if content:
                    media.extend(content)
                elif str(status).startswith("2") and str(status) != "204":
                    documented = False
            yield where, media, documented


def uses_connections(app: Any) -> bool:
    """Whether a handler reaches WebSocket clients: a ``connections`` parameter, or code that
    names ``connections`` (``request.connections``, ``app.connections``) or, in a WebSocket
    handler, calls ``send`` (``request.send``)."""
    handlers = [(route.handler, False) for route in app.routes]
    handlers += [(route.handler, True) for route in getattr(app, "websocket_routes", ())]
    for handler, websocket in handlers:
        code = getattr(inspect.unwrap(handler), "__code__", None)
        if code is None:
            continue
        names = set(_code_names(code))
        arguments = code.co_varnames[:code.co_argcount + code.co_kwonlyargcount]
        if ("connections" in names or "Connections" in names or "connections" in arguments
                or (websocket and "send" in names)):
            return True
    return False


def _code_names(code: types.CodeType | None) -> Iterator[str]:
    if code is None:
        return
    yield from code.co_names
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _code_names(const)


def connect_gates(app: Any) -> tuple[Any, ...]:
    """The guards of the app's ``$connect``: its own route's, else the implicit one's (the
    caller must pass one of the message routes'); ``()`` when it admits anyone."""
    compiled = app.websockets
    connect = compiled.routes.get(CONNECT)
    if connect is not None:
        return (connect.guard,) if connect.guard is not None else ()
    return tuple(compiled.connect_guards or ())


def connect_guards(app: Any) -> tuple[Any, ...]:
    """The guards a WebSocket ``$connect`` applies (the caller must pass one); ``()`` when it
    admits anyone. Raises :class:`TemplateError` for a guarded message route behind an open
    ``$connect``: API Gateway authorizes a connection only there, so its messages would never
    carry a caller."""
    compiled = app.websockets
    guards = connect_gates(app)
    if not any(getattr(g, "needs_caller", False) for g in guards):
        for key, route in compiled.routes.items():
            if key in (CONNECT, DISCONNECT) or route.guard is None:
                continue
            if route.guard.needs_caller:
                raise TemplateError(
                    f"WebSocket route {key!r} needs a caller, but $connect admits anyone: API "
                    "Gateway authorizes a connection only on $connect, so its messages would "
                    "never carry one (guard $connect, or make the route public=True)")
        return ()
    return guards
