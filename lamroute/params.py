"""Turns a Request into a handler's arguments, from a signature inspected once at registration.

>>> def get_user(user_id: str, request: Request) -> None: ...
>>> binder = build_binder(get_user, ("user_id",))
>>> sorted(binder.names)
['request', 'user_id']
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .errors import RouteDefinitionError
from .request import Request

Extractor = Callable[[Request], Any]


@dataclass(frozen=True)
class Binder:
    """Per-parameter extractors; ``bind(request)`` gives the keyword arguments."""

    extractors: tuple[tuple[str, Extractor], ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.extractors)

    def bind(self, request: Request) -> dict[str, Any]:
        return {name: extract(request) for name, extract in self.extractors}


def _path_value(name: str) -> Extractor:
    return lambda request: request.path_params[name]


def _request(request: Request) -> Request:
    return request


def _context(request: Request) -> Any:
    return request.context


def build_binder(func: Callable[..., Any], path_params: tuple[str, ...]) -> Binder:
    """Inspect ``func`` once; raise :class:`RouteDefinitionError` when it cannot be bound."""
    where = f"{getattr(func, '__qualname__', func)!s}"
    try:
        signature = inspect.signature(func)
        hints = typing.get_type_hints(func)
    except (TypeError, ValueError, NameError) as exc:
        raise RouteDefinitionError(f"Cannot inspect handler {where}: {exc}") from exc
    extractors: list[tuple[str, Extractor]] = []
    for name, parameter in signature.parameters.items():
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            continue
        annotation = hints.get(name)
        if name in path_params:
            extractors.append((name, _path_value(name)))
        elif annotation is Request or (annotation is None and name == "request"):
            extractors.append((name, _request))
        elif name == "context":
            extractors.append((name, _context))
        elif parameter.default is parameter.empty:
            raise RouteDefinitionError(
                f"Handler {where}: parameter {name!r} is not a path parameter, a Request or "
                "the Lambda context, and has no default."
            )
    missing = set(path_params) - {name for name, _ in extractors}
    if missing and not any(
        p.kind is p.VAR_KEYWORD for p in signature.parameters.values()
    ):
        raise RouteDefinitionError(
            f"Handler {where} does not accept path parameter(s) {sorted(missing)}."
        )
    return Binder(tuple(extractors))
