"""Routing: registration by decorators, the records they make and the table that matches them.

This module holds the :class:`Router` (decorators by HTTP method, live ``include_router``);
``routes.py`` what a route is (:class:`Route`, :class:`WebSocketRoute`, their options and the
option value types), ``table.py`` the templates (API Gateway syntax) and the route table (one dict
lookup for static paths, a segment trie for the rest), ``foreign_syntax.py`` the hint for another
framework's parameter syntax (``<int:id>``, ``:id``), loaded by a template that uses one. Routing
knows no event shape: it matches a method and a path, whatever format they arrived in.

>>> router = Router()
>>> @router.get("/users/{user_id}")
... def get_user(user_id: str) -> dict[str, str]:
...     return {"id": user_id}
>>> get_user("7"), [r.path for r in router.routes]
({'id': '7'}, ['/users/{user_id}'])
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import TYPE_CHECKING, Any, TypeVar

from ..exceptions import RouteDefinitionError, plain_status
from .routes import (
    ROUTE_OPTIONS,
    WEBSOCKET_OPTIONS,
    AuthOption,
    Middleware,
    Route,
    RouteOptions,
    WebSocketOptions,
    WebSocketRoute,
    check_middleware,
    check_options,
    check_route,
    with_default_guard,
)
from .table import HTTP_METHODS, parse_template

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["Route", "RouteDecorators", "RouteOptions", "Router", "WebSocketOptions",
           "WebSocketRoute"]

F = TypeVar("F", bound=Callable[..., Any])
M = TypeVar("M", bound=Callable[..., Any])
# `route`'s own parameter, offered when an unknown option is close to it (`method=` for `methods=`).
_ARGUMENTS = frozenset({"methods"})


class RouteDecorators:
    """The registration decorators, shared by :class:`Router` and :class:`~lamroute.App`: each
    builds a record and hands it to ``add_route`` or ``add_websocket_route``."""

    def add_route(self, route: Route) -> None:
        raise NotImplementedError

    def add_websocket_route(self, route: WebSocketRoute) -> None:
        raise NotImplementedError

    def route(
        self, path: str, *, methods: Iterable[str], **options: Unpack[RouteOptions]
    ) -> Callable[[F], F]:
        """Register the decorated function for ``methods`` on ``path``; returns it unchanged."""
        method_tuple = tuple(m.upper() for m in methods) if not isinstance(methods, str) else ()
        if not method_tuple or any(m not in HTTP_METHODS for m in method_tuple):
            raise RouteDefinitionError(
                f"Route {path!r}: methods must be a list drawn from {sorted(HTTP_METHODS)}."
            )
        if not ROUTE_OPTIONS.issuperset(options):
            check_options(f"Route {path!r}", options, ROUTE_OPTIONS, arguments=_ARGUMENTS)
        status = plain_status(options.get("status_code", 200))
        if type(status) is not int or not 100 <= status <= 599:
            raise RouteDefinitionError(f"Route {path!r}: status_code {status!r} is not 100-599.")
        if "status_code" in options:  # HTTPStatus.CREATED is kept as 201
            options["status_code"] = status

        def decorator(func: F) -> F:
            if not callable(func):
                raise RouteDefinitionError(f"Route {path!r}: {func!r} is not callable.")
            self.add_route(Route(path, method_tuple, func, options))
            return func

        return decorator

    def get(self, path: str, **options: Unpack[RouteOptions]) -> Callable[[F], F]:
        """Register a ``GET`` handler (``HEAD`` is answered by it too)."""
        return self.route(path, methods=["GET"], **options)

    def post(self, path: str, **options: Unpack[RouteOptions]) -> Callable[[F], F]:
        """Register a ``POST`` handler."""
        return self.route(path, methods=["POST"], **options)

    def put(self, path: str, **options: Unpack[RouteOptions]) -> Callable[[F], F]:
        """Register a ``PUT`` handler."""
        return self.route(path, methods=["PUT"], **options)

    def patch(self, path: str, **options: Unpack[RouteOptions]) -> Callable[[F], F]:
        """Register a ``PATCH`` handler."""
        return self.route(path, methods=["PATCH"], **options)

    def delete(self, path: str, **options: Unpack[RouteOptions]) -> Callable[[F], F]:
        """Register a ``DELETE`` handler."""
        return self.route(path, methods=["DELETE"], **options)

    def head(self, path: str, **options: Unpack[RouteOptions]) -> Callable[[F], F]:
        """Register a ``HEAD`` handler (overrides the automatic one from ``GET``)."""
        return self.route(path, methods=["HEAD"], **options)

    def options(self, path: str, **options: Unpack[RouteOptions]) -> Callable[[F], F]:
        """Register an ``OPTIONS`` handler (overrides the automatic ``Allow`` answer)."""
        return self.route(path, methods=["OPTIONS"], **options)

    def websocket(
        self, route_key: str, **options: Unpack[WebSocketOptions]
    ) -> Callable[[F], F]:
        """Register a WebSocket API handler for ``route_key`` (``"$connect"``, ``"join"``)."""
        if not WEBSOCKET_OPTIONS.issuperset(options):
            check_options(f"WebSocket route {route_key!r}", options, WEBSOCKET_OPTIONS)
        check_route(route_key, options)

        def decorator(func: F) -> F:
            if not callable(func):
                raise RouteDefinitionError(f"Route {route_key!r}: {func!r} is not callable.")
            self.add_websocket_route(WebSocketRoute(route_key, func, options))
            return func

        return decorator


class Router(RouteDecorators):
    """A group of routes; include it in an app with ``app.include_router(router, prefix=...)``.

    ``prefix`` (``"/users"``) goes in front of each of its paths and ``tags`` (OpenAPI) before
    each route's own, as routes are registered (included routers' routes too). ``auth`` is the
    default guard of its routes, WebSocket routes but ``$disconnect`` included (``public=True``
    opts one out); ``middleware`` (and ``@router.middleware``) wraps each of its routes; both
    apply at ``include_router``.
    Inclusion is live: a route added after ``include_router`` reaches every app or router it
    was included in. ``on_route`` and ``on_websocket_route`` see each route before it is
    recorded (the :class:`~lamroute.App` that owns a router compiles it there; a failure
    leaves it unrecorded) and return the record to keep.

    >>> users = Router(prefix="/users", tags=["users"])
    >>> @users.get("/{user_id}")
    ... def get_user(user_id: str) -> str:
    ...     return user_id
    >>> users.routes[0].path, users.routes[0].options["tags"]
    ('/users/{user_id}', ['users'])
    """

    def __init__(
        self, *, prefix: str = "", tags: Iterable[str] = (), auth: AuthOption | None = None,
        middleware: Iterable[Middleware] = (),
        on_route: Callable[[Route], Route] | None = None,
        on_websocket_route: Callable[[WebSocketRoute], WebSocketRoute] | None = None,
    ) -> None:
        self.prefix = _check_prefix(prefix)
        self.tags = _check_tags(tags)
        self.routes: list[Route] = []
        self.websocket_routes: list[WebSocketRoute] = []
        self.auth = auth
        # (parent, prefix, tags) of every include_router this router went through.
        self._included_in: list[tuple[Router, str, tuple[str, ...]]] = []
        self.middleware_list: list[Middleware] = [check_middleware(m) for m in middleware]
        self.on_route = on_route
        self.on_websocket_route = on_websocket_route

    def middleware(self, func: M) -> M:
        """Wrap every route of this router in ``func(request, call_next)``; returns ``func``."""
        if self._included_in:  # its routes are compiled already, without it
            raise RouteDefinitionError(
                f"Middleware {getattr(func, '__name__', func)!r} is added to a router that is "
                "already included; add it before include_router (or pass Router(middleware=...))."
            )
        self.middleware_list.append(check_middleware(func))
        return func

    def _route_options(self, options: RouteOptions) -> RouteOptions:
        """``options`` with this router's default guard and middleware added."""
        merged = options.copy()
        if self.auth is not None and merged.get("auth") is None and not merged.get("public"):
            merged["auth"] = self.auth
        if self.middleware_list:
            merged["middleware"] = [*self.middleware_list, *merged.get("middleware", ())]
        return merged

    def add_route(self, route: Route) -> None:
        """Register a :class:`Route` (its app compiles it at once), and pass it on to every app
        or router this one is already included in."""
        if self.prefix or self.tags:
            route = replace(route, path=_prefixed(self.prefix, route.path),
                            options=_tagged(self.tags, route.options))
        parse_template(route.path)  # a malformed template fails here, not at include time
        if self.on_route is not None:
            route = self.on_route(route)
        self.routes.append(route)
        for parent, prefix, tags in self._included_in:
            parent._include_route(self, route, prefix, tags)

    def add_websocket_route(self, route: WebSocketRoute) -> None:
        """Register a :class:`WebSocketRoute` (its app compiles it at once), and pass it on to
        every app or router this one is already included in."""
        if self.on_websocket_route is not None:
            route = self.on_websocket_route(route)
        self.websocket_routes.append(route)
        for parent, _, _ in self._included_in:
            parent._include_websocket_route(self, route)

    def include_router(
        self, router: Router, *, prefix: str = "", tags: Iterable[str] = ()
    ) -> None:
        """Add every route of ``router`` under ``prefix`` (``"/admin"``), with ``tags`` before
        their own; routes ``router`` gets later are added too (inclusion is live)."""
        prefix, tag_tuple = _check_prefix(prefix), _check_tags(tags)
        if router is self or self._includes_itself_through(router):
            raise RouteDefinitionError("A router cannot be included in itself.")
        for route in router.routes:
            self._include_route(router, route, prefix, tag_tuple)
        for ws_route in router.websocket_routes:
            self._include_websocket_route(router, ws_route)
        router._included_in.append((self, prefix, tag_tuple))

    def _include_route(
        self, router: Router, route: Route, prefix: str, tags: tuple[str, ...]
    ) -> None:
        """Add ``route`` of the included ``router`` under ``prefix``, with its guard, middleware
        and ``tags``."""
        self.add_route(replace(route, path=_prefixed(prefix, route.path),
                               options=_tagged(tags, router._route_options(route.options))))

    def _include_websocket_route(self, router: Router, route: WebSocketRoute) -> None:
        """Add the WebSocket ``route`` of the included ``router``."""
        self.add_websocket_route(with_default_guard(route, router.auth))

    def _includes_itself_through(self, router: Router) -> bool:
        """True when ``self`` is already (indirectly) included in ``router``: a cycle."""
        parents = [parent for parent, _, _ in self._included_in]
        seen: set[int] = set()
        while parents:
            parent = parents.pop()
            if parent is router:
                return True
            if id(parent) not in seen:
                seen.add(id(parent))
                parents.extend(p for p, _, _ in parent._included_in)
        return False


def _check_prefix(prefix: str) -> str:
    if prefix and (not isinstance(prefix, str) or not prefix.startswith("/")
                   or prefix.endswith("/")):
        raise RouteDefinitionError(
            f"Router prefix {prefix!r} must start with '/' and not end with one."
        )
    return prefix


def _check_tags(tags: Iterable[str]) -> tuple[str, ...]:
    iterable = isinstance(tags, Iterable) and not isinstance(tags, (str, bytes))
    checked = tuple(tags) if iterable else None
    if checked is None or not all(isinstance(tag, str) for tag in checked):
        raise RouteDefinitionError(f"Router tags must be a list of strings, not {tags!r}.")
    return checked


def _prefixed(prefix: str, path: str) -> str:
    """``prefix + path``; the root route of a prefixed router is the prefix itself."""
    return prefix + path if path != "/" or not prefix else prefix


def _tagged(tags: tuple[str, ...], options: RouteOptions) -> RouteOptions:
    """``options`` with ``tags`` before the route's own (each tag once)."""
    if not tags:
        return options
    merged = options.copy()
    merged["tags"] = list(dict.fromkeys([*tags, *options.get("tags", ())]))
    return merged
