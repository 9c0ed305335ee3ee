"""Route templates and the route table: compiled at registration, matched without scanning.

Templates use API Gateway's syntax: ``{name}`` is one path segment, ``{name+}`` the greedy rest
(one or more segments, only as the last segment). Static paths are found with one dict lookup;
dynamic ones walk a segment trie, static children before parameters before a greedy tail, so the
cost depends on the depth of the path, not on the number of routes.

>>> table = RouteTable()
>>> _ = table.add("/users/{user_id}", ["GET"], "get_user")
>>> found = table.match("GET", "/users/42")
>>> found.target, found.params
('get_user', {'user_id': '42'})
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Generic, TypeVar
from urllib.parse import unquote

from ..exceptions import RouteDefinitionError

T = TypeVar("T")

HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class Template:
    """A parsed path template: its segments, parameter names and greedy tail.

    A plain slotted class, not a dataclass: generating dataclass methods costs ~0.5 ms of
    ``import lamroute`` per class, and this one only needs equality for tests.
    """

    __slots__ = ("greedy", "params", "path", "segments")

    def __init__(self, path: str, segments: tuple[str, ...], params: tuple[str, ...],
                 greedy: str | None) -> None:
        self.path = path
        self.segments = segments
        self.params = params
        self.greedy = greedy

    @property
    def is_static(self) -> bool:
        return not self.params

    def _key(self) -> tuple[object, ...]:
        return (self.path, self.segments, self.params, self.greedy)

    def __eq__(self, other: object) -> bool:
        return type(other) is Template and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return (f"Template(path={self.path!r}, segments={self.segments!r}, "
                f"params={self.params!r}, greedy={self.greedy!r})")


def parse_template(path: str, *, strict_slashes: bool = False) -> Template:
    """Validate and split a template; raise :class:`RouteDefinitionError` when malformed.

    Parsed once per process: the router checks a route's template as it is added, the app's
    table then compiles the same one (and the OpenAPI document reads it again).

    >>> parse_template("/files/{path+}").greedy
    'path'
    """
    key = (path, strict_slashes)
    found = _PARSED.get(key) if type(path) is str else None
    if found is None:
        found = _PARSED[key] = _parse_template(path, strict_slashes)
    return found


# A Template is only read once built: each (template, strict_slashes) is parsed once.
_PARSED: dict[tuple[str, bool], Template] = {}


def _parse_template(path: str, strict_slashes: bool) -> Template:
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
        found = _param(segment)
        if found is not None:
            name, plus = found
            if name in params:
                raise RouteDefinitionError(f"Route path {path!r} repeats parameter {name!r}.")
            if plus and index != len(raw_segments) - 1:
                raise RouteDefinitionError(
                    f"Route path {path!r}: greedy {{{name}+}} must be the last segment."
                )
            params.append(name)
            greedy = name if plus else None
            segments.append("{+}" if plus else "{}")
        elif segment and (not _static(segment) or _foreign(segment)):
            from .foreign_syntax import malformed  # a template that fails: the hint loads

            raise malformed(path, segment, raw_segments)
        else:
            segments.append(segment)
    return Template("/" + "/".join(raw_segments), tuple(segments), tuple(params), greedy)


def _param(segment: str) -> tuple[str, bool] | None:
    """``(name, greedy)`` for a parameter segment, ``{name}`` or ``{name+}`` with an ASCII
    identifier for ``name``, else ``None``. What the pattern ``^{([A-Za-z_][A-Za-z0-9_]*)(+?)}$``
    (braces and plus escaped) matched, read with string methods: compiling it cost ~0.1 ms of
    every cold start.

    >>> _param("{path+}"), _param("{user_id}"), _param("{1st}"), _param("users")
    (('path', True), ('user_id', False), None, None)
    """
    if segment.endswith("\n"):  # `$` also matches before a final newline
        segment = segment[:-1]
    if not (segment.startswith("{") and segment.endswith("}")):
        return None
    name = segment[1:-1]
    greedy = name.endswith("+")
    if greedy:
        name = name[:-1]
    if not (name.isascii() and name.isidentifier()):  # [A-Za-z_][A-Za-z0-9_]*
        return None
    return name, greedy


def _static(segment: str) -> bool:
    """Whether ``segment`` is literal text: none of ``{}<>`` (``^[^{}<>]+$``)."""
    return "{" not in segment and "}" not in segment and "<" not in segment and ">" not in segment


def strip_segments(raw_path: str, prefix: str) -> str | None:
    """``raw_path`` (percent-encoded) without its leading segments that decode to ``prefix``;
    ``None`` when they do not (``/api%2Fx`` does not start with the segment ``/api``).

    >>> strip_segments("/api/a%2Fb", "/api"), strip_segments("/api%2Fa", "/api")
    ('/a%2Fb', None)
    """
    count = prefix.count("/")
    parts = raw_path.split("/")
    head = [unquote(part, errors="replace") for part in parts[:count + 1]]
    if head != prefix.split("/"):
        return None
    return "/" + "/".join(parts[count + 1:])


def _foreign(segment: str) -> bool:
    """Whether the literal text ``segment`` is another framework's parameter (Express's
    ``:name``, a glob's ``*``): the other foreign syntaxes hold ``<`` or ``{``, which literal text
    cannot, so only a segment that starts with ``:`` or ``*`` loads the check."""
    if segment[0] not in ":*":
        return False
    from .foreign_syntax import foreign

    return foreign(segment) is not None


class Match(Generic[T]):
    """Outcome of a lookup: 200 with a target, 405 with the allowed methods, or 404."""

    __slots__ = ("allowed", "params", "status", "target", "template")

    def __init__(self, status: int, target: T | None, params: dict[str, str],
                 template: str | None, allowed: tuple[str, ...]) -> None:
        self.status = status
        self.target = target
        self.params = params
        self.template = template
        self.allowed = allowed

    def __repr__(self) -> str:
        return (f"Match(status={self.status!r}, target={self.target!r}, params={self.params!r}, "
                f"template={self.template!r}, allowed={self.allowed!r})")


_NOT_FOUND: Match[Any] = Match(404, None, {}, None, ())  # shared: a Match is only read


class _Endpoint(Generic[T]):
    __slots__ = ("by_method", "found", "template")

    def __init__(self, template: Template) -> None:
        self.template = template
        self.by_method: dict[str, T] = {}
        # The 200 Match of each method of a static endpoint, built at registration. Its params
        # dict is shared: the app only reads it (and leaves request.path_params alone when empty).
        self.found: dict[str, Match[T]] = {}


class _Node(Generic[T]):
    __slots__ = ("endpoint", "greedy", "param", "static")

    def __init__(self) -> None:
        self.static: dict[str, _Node[T]] = {}
        self.param: tuple[str, _Node[T]] | None = None
        self.greedy: tuple[str, _Endpoint[T]] | None = None
        self.endpoint: _Endpoint[T] | None = None


def _serves(endpoint: _Endpoint[T], wanted: tuple[str, ...]) -> bool:
    by_method = endpoint.by_method
    return wanted[0] in by_method or (len(wanted) > 1 and wanted[1] in by_method)


class RouteTable(Generic[T]):
    """Maps (method, path) to a target; knows 404 from 405 and the ``Allow`` list."""

    def __init__(self, *, strict_slashes: bool = False) -> None:
        self.strict_slashes = strict_slashes
        self._static: dict[str, _Endpoint[T]] = {}
        self._root: _Node[T] = _Node()
        # Templates that end in their only parameter (``/users/{user_id}``), by what precedes
        # it (``/users/``): the trie walk's first candidate for such a path, found in one lookup
        # (see match).
        self._last_param: dict[str, tuple[str, _Endpoint[T]]] = {}
        self._entries: list[tuple[str, str, T]] = []

    def add(self, path: str, methods: Iterable[str], target: T, *,
            template: Template | None = None) -> Template:
        """Register ``target`` for ``methods`` on ``path``; conflicts raise at once.

        ``template``: ``parse_template(path, strict_slashes=self.strict_slashes)`` when the
        caller already has it (parsed once per route).
        """
        if template is None:
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
            if template.is_static:
                endpoint.found[method] = Match(200, target, {}, endpoint.template.path, ())
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
            if template.segments.index("{}") == len(template.segments) - 1:
                head = "/" + "".join(f"{segment}/" for segment in template.segments[:-1])
                self._last_param[head] = (template.params[0], node.endpoint)
        return node.endpoint

    @staticmethod
    def _check_name(template: Template, existing: str, name: str) -> None:
        if existing != name:
            raise RouteDefinitionError(
                f"Route {template.path!r} names a parameter {{{name}}} where another route "
                f"already has {{{existing}}}; sibling parameters must share one name "
                "(API Gateway rejects them too)."
            )

    def match(self, method: str, path: str, raw_path: str | None = None) -> Match[T]:
        """Find the target for ``method`` and a decoded ``path``.

        An endpoint that serves ``method`` wins over one that only matches the path, so a static
        ``POST /users/me`` does not hide ``GET /users/{id}``; when none serves it, the answer is
        405 with every method the path allows.

        ``raw_path`` is the same path still percent-encoded, when the gateway delivered it so and
        it has a ``%``: it is split on ``/`` before each segment is decoded, so an encoded slash
        (``%2F``) is data inside one segment, not a separator.

        >>> table = RouteTable()
        >>> _ = table.add("/users/{user_id}", ["GET"], "get_user")
        >>> table.match("GET", "/users/a/b", "/users/a%2Fb").params
        {'user_id': 'a/b'}
        """
        if raw_path is not None and ("%2F" in raw_path or "%2f" in raw_path):
            return self._match_raw(method, raw_path)  # else both split alike: use ``path``
        if not self.strict_slashes and len(path) > 1 and path.endswith("/"):
            path = path.rstrip("/") or "/"
        wanted = (method, "GET") if method == "HEAD" else (method,)
        static = self._static.get(path)
        if static is not None:
            found = static.found.get(method)
            if found is not None:  # the common case: built at registration
                return found
            if _serves(static, wanted):
                return self._found(static, wanted, {})
        else:
            # A path one parameter past a static chain: the walk would take the static chain
            # (static children first), find no endpoint under the last static child (those of
            # static templates live in ``_static``) and try this parameter first.
            cut = path.rfind("/") + 1
            last = self._last_param.get(path[:cut])
            if last is not None and cut < len(path) and _serves(last[1], wanted):
                return self._found(last[1], wanted, {last[0]: path[cut:]})
        segments = path[1:].split("/") if len(path) > 1 else []
        return self._match_segments(segments, wanted, static)

    def _match_raw(self, method: str, raw_path: str) -> Match[T]:
        """:meth:`match` for a path with an encoded slash: split first, then decode each
        segment. No static route can match (none has a ``/`` inside a segment)."""
        if not self.strict_slashes and len(raw_path) > 1 and raw_path.endswith("/"):
            raw_path = raw_path.rstrip("/") or "/"
        segments = [unquote(s, errors="replace") for s in raw_path[1:].split("/")]
        wanted = (method, "GET") if method == "HEAD" else (method,)
        return self._match_segments(segments, wanted, None)

    def _match_segments(self, segments: list[str], wanted: tuple[str, ...],
                        static: _Endpoint[T] | None) -> Match[T]:
        """The trie walk for decoded ``segments``; ``static`` is the path's static endpoint,
        which matched the path but serves none of the ``wanted`` methods."""
        root = self._root
        if (static is None and segments and root.param is None and root.greedy is None
                and segments[0] not in root.static):
            return _NOT_FOUND  # no route starts this way (most unknown paths): no walk at all
        params: dict[str, str] = {}
        endpoint = self._walk(root, segments, 0, params, wanted)
        if endpoint is not None:
            return self._found(endpoint, wanted, params)
        # The rare error path: collect every endpoint the path matches, whatever its methods.
        matches = [static] if static is not None else []
        self._collect(self._root, segments, 0, matches)
        if not matches:
            return _NOT_FOUND
        allowed = sorted({m for found in matches for m in self.allowed(found)})
        return Match(405, None, {}, matches[0].template.path, tuple(allowed))

    @staticmethod
    def _found(endpoint: _Endpoint[T], wanted: tuple[str, ...], params: dict[str, str]) -> Match[T]:
        by_method = endpoint.by_method
        target = by_method[wanted[0]] if wanted[0] in by_method else by_method[wanted[-1]]
        return Match(200, target, params, endpoint.template.path, ())

    def _walk(
        self, node: _Node[T], segments: list[str], index: int, params: dict[str, str],
        wanted: tuple[str, ...],
    ) -> _Endpoint[T] | None:
        if index == len(segments):
            found = node.endpoint
            if found is None:
                return None
            return found if wanted[0] in found.by_method or _serves(found, wanted) else None
        segment = segments[index]
        child = node.static.get(segment)
        if child is not None:
            hit = self._walk(child, segments, index + 1, params, wanted)
            if hit is not None:
                return hit
        if node.param is not None and segment:
            name, param_node = node.param
            hit = self._walk(param_node, segments, index + 1, params, wanted)
            if hit is not None:
                params[name] = segment
                return hit
        if node.greedy is not None and _serves(node.greedy[1], wanted):
            rest = "/".join(segments[index:])
            if rest:
                params[node.greedy[0]] = rest
                return node.greedy[1]
        return None

    def _collect(
        self, node: _Node[T], segments: list[str], index: int, out: list[_Endpoint[T]]
    ) -> None:
        if index == len(segments):
            if node.endpoint is not None:
                out.append(node.endpoint)
            return
        segment = segments[index]
        child = node.static.get(segment)
        if child is not None:
            self._collect(child, segments, index + 1, out)
        if node.param is not None and segment:
            self._collect(node.param[1], segments, index + 1, out)
        if node.greedy is not None and "/".join(segments[index:]):
            out.append(node.greedy[1])

    def methods_at(self, path: str) -> dict[str, T]:
        """Every method served on ``path``, with the target ``match`` would pick for it.

        For the rare answers that list methods (405, ``OPTIONS``), so a caller can be shown
        only the methods whose targets it may call.
        """
        if not self.strict_slashes and len(path) > 1 and path.endswith("/"):
            path = path.rstrip("/") or "/"
        static = self._static.get(path)
        endpoints = [static] if static is not None else []
        self._collect(self._root, path[1:].split("/") if len(path) > 1 else [], 0, endpoints)
        found: dict[str, T] = {}
        for endpoint in endpoints:
            for method, target in endpoint.by_method.items():
                found.setdefault(method, target)
        return found

    @staticmethod
    def allowed(endpoint: _Endpoint[T]) -> tuple[str, ...]:
        methods = set(endpoint.by_method)
        if "GET" in methods:
            methods.add("HEAD")
        methods.add("OPTIONS")
        return tuple(sorted(methods))
