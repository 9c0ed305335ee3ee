"""Route templates and the route table: compiled at registration, matched without scanning.

Templates use API Gateway's syntax: ``{name}`` is one path segment, ``{name+}`` the greedy rest
(one or more segments, only as the last segment). Static paths are found with one dict lookup;
dynamic ones walk a segment trie, static children before parameters before a greedy tail, so the
cost depends on the depth of the path, not on the number of routes.

>>> table = RouteTable()
>>> table.add("/users/{user_id}", ["GET"], "get_user")
>>> found = table.match("GET", "/users/42")
>>> found.target, found.params
('get_user', {'user_id': '42'})
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from .errors import RouteDefinitionError

T = TypeVar("T")

HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_PARAM = re.compile(r"^\{([A-Za-z_][A-Za-z0-9_]*)(\+?)\}$")
_STATIC_SEGMENT = re.compile(r"^[^{}]+$")


@dataclass(frozen=True)
class Template:
    """A parsed path template: its segments, parameter names and greedy tail."""

    path: str
    segments: tuple[str, ...]
    params: tuple[str, ...]
    greedy: str | None

    @property
    def is_static(self) -> bool:
        return not self.params


def parse_template(path: str, *, strict_slashes: bool = False) -> Template:
    """Validate and split a template; raise :class:`RouteDefinitionError` when malformed.

    >>> parse_template("/files/{path+}").greedy
    'path'
    """
    if not isinstance(path, str) or not path.startswith("/"):
        raise RouteDefinitionError(f"Route path {path!r} must be a string starting with '/'.")
    body = path[1:]
    if body.endswith("/") and not strict_slashes:
        body = body[:-1]
    raw_segments = body.split("/") if body else []
    if "" in (raw_segments[:-1] if strict_slashes else raw_segments):
        raise RouteDefinitionError(f"Route path {path!r} has an empty segment ('//').")
    params: list[str] = []
    greedy: str | None = None
    segments: list[str] = []
    for index, segment in enumerate(raw_segments):
        found = _PARAM.match(segment)
        if found:
            name, plus = found.groups()
            if name in params:
                raise RouteDefinitionError(f"Route path {path!r} repeats parameter {name!r}.")
            if plus and index != len(raw_segments) - 1:
                raise RouteDefinitionError(
                    f"Route path {path!r}: greedy {{{name}+}} must be the last segment."
                )
            params.append(name)
            greedy = name if plus else None
            segments.append("{+}" if plus else "{}")
        elif segment and not _STATIC_SEGMENT.match(segment):
            raise RouteDefinitionError(
                f"Route path {path!r}: segment {segment!r} must be literal text or a whole "
                "'{name}' / '{name+}' parameter (API Gateway syntax)."
            )
        else:
            segments.append(segment)
    return Template("/" + "/".join(raw_segments), tuple(segments), tuple(params), greedy)


@dataclass(frozen=True, slots=True)
class Match(Generic[T]):
    """Outcome of a lookup: 200 with a target, 405 with the allowed methods, or 404."""

    status: int
    target: T | None
    params: dict[str, str]
    template: str | None
    allowed: tuple[str, ...]


@dataclass
class _Endpoint(Generic[T]):
    template: Template
    by_method: dict[str, T] = field(default_factory=dict)


@dataclass
class _Node(Generic[T]):
    static: dict[str, _Node[T]] = field(default_factory=dict)
    param: tuple[str, _Node[T]] | None = None
    greedy: tuple[str, _Endpoint[T]] | None = None
    endpoint: _Endpoint[T] | None = None


class RouteTable(Generic[T]):
    """Maps (method, path) to a target; knows 404 from 405 and the ``Allow`` list."""

    def __init__(self, *, strict_slashes: bool = False) -> None:
        self.strict_slashes = strict_slashes
        self._static: dict[str, _Endpoint[T]] = {}
        self._root: _Node[T] = _Node()
        self._entries: list[tuple[str, str, T]] = []

    def add(self, path: str, methods: Iterable[str], target: T) -> Template:
        """Register ``target`` for ``methods`` on ``path``; conflicts raise at once."""
        template = parse_template(path, strict_slashes=self.strict_slashes)
        method_list = [m.upper() for m in methods]
        if not method_list:
            raise RouteDefinitionError(f"Route {path!r} has no methods.")
        for method in method_list:
            if method not in HTTP_METHODS:
                raise RouteDefinitionError(f"Route {path!r}: unknown HTTP method {method!r}.")
        endpoint = self._endpoint_for(template)
        for method in method_list:
            if method in endpoint.by_method:
                raise RouteDefinitionError(
                    f"{method} {template.path} is already registered "
                    f"(as {endpoint.template.path})."
                )
            endpoint.by_method[method] = target
            self._entries.append((method, endpoint.template.path, target))
        return template

    def entries(self) -> list[tuple[str, str, T]]:
        """Every (method, template, target) in registration order."""
        return list(self._entries)

    def _endpoint_for(self, template: Template) -> _Endpoint[T]:
        if template.is_static:
            return self._static.setdefault(template.path, _Endpoint(template))
        node = self._root
        names = iter(template.params)
        for segment in template.segments:
            if segment == "{+}":
                name = next(names)
                if node.greedy is None:
                    node.greedy = (name, _Endpoint(template))
                self._check_name(template, node.greedy[0], name)
                return node.greedy[1]
            if segment == "{}":
                name = next(names)
                if node.param is None:
                    node.param = (name, _Node())
                self._check_name(template, node.param[0], name)
                node = node.param[1]
            else:
                node = node.static.setdefault(segment, _Node())
        if node.endpoint is None:
            node.endpoint = _Endpoint(template)
        return node.endpoint

    @staticmethod
    def _check_name(template: Template, existing: str, name: str) -> None:
        if existing != name:
            raise RouteDefinitionError(
                f"Route {template.path!r} names a parameter {{{name}}} where another route "
                f"already has {{{existing}}}; sibling parameters must share one name "
                "(API Gateway rejects them too)."
            )

    def match(self, method: str, path: str) -> Match[T]:
        """Find the target for ``method`` and a decoded ``path``."""
        if not self.strict_slashes and len(path) > 1 and path.endswith("/"):
            path = path.rstrip("/") or "/"
        endpoint = self._static.get(path)
        params: dict[str, str] = {}
        if endpoint is None:
            segments = path[1:].split("/") if len(path) > 1 else []
            endpoint = self._walk(self._root, segments, 0, params)
        if endpoint is None:
            return Match(404, None, {}, None, ())
        target = endpoint.by_method.get(method)
        template = endpoint.template.path
        if target is None and method == "HEAD":
            target = endpoint.by_method.get("GET")
        if target is None:
            return Match(405, None, params, template, self.allowed(endpoint))
        return Match(200, target, params, template, ())

    def _walk(
        self, node: _Node[T], segments: list[str], index: int, params: dict[str, str]
    ) -> _Endpoint[T] | None:
        if index == len(segments):
            return node.endpoint
        segment = segments[index]
        child = node.static.get(segment)
        if child is not None:
            found = self._walk(child, segments, index + 1, params)
            if found is not None:
                return found
        if node.param is not None and segment:
            name, param_node = node.param
            found = self._walk(param_node, segments, index + 1, params)
            if found is not None:
                params[name] = segment
                return found
        if node.greedy is not None:
            rest = "/".join(segments[index:])
            if rest:
                name, endpoint = node.greedy
                params[name] = rest
                return endpoint
        return None

    @staticmethod
    def allowed(endpoint: _Endpoint[T]) -> tuple[str, ...]:
        methods = set(endpoint.by_method)
        if "GET" in methods:
            methods.add("HEAD")
        methods.add("OPTIONS")
        return tuple(sorted(methods))
