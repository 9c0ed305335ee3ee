"""Route registration: decorators by HTTP method, collected on a :class:`Router`.

>>> router = Router()
>>> @router.get("/users/{user_id}")
... def get_user(user_id: str) -> dict[str, str]:
...     return {"id": user_id}
>>> get_user("7"), [r.path for r in router.routes]
({'id': '7'}, ['/users/{user_id}'])
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, TypedDict, TypeVar

from .errors import RouteDefinitionError, plain_status
from .routing import HTTP_METHODS
from .websocket import WebSocketOptions, WebSocketRoute, check_route

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from .compression import Compression
    from .deadline import Timeout
    from .guards import AuthOption
    from .middleware import Middleware

F = TypeVar("F", bound=Callable[..., Any])
M = TypeVar("M", bound=Callable[..., Any])


class RouteOptions(TypedDict, total=False):
    """Keyword options every route decorator accepts."""

    status_code: int
    name: str
    summary: str
    description: str
    tags: list[str]
    deprecated: bool
    include_in_schema: bool
    response_model: Any
    responses: dict[int | str, Any]
    openapi_extra: dict[str, Any]
    auth: AuthOption
    public: bool
    middleware: list[Middleware]
    timeout: Timeout | None
    max_body_size: int | None
    compress: bool | Compression


@dataclass(frozen=True)
class Route:
    """One registered handler: methods, template, function and its options."""

    path: str
    methods: tuple[str, ...]
    handler: Callable[..., Any]
    options: RouteOptions = field(default_factory=lambda: RouteOptions())

    @property
    def status_code(self) -> int:
        return plain_status(self.options.get("status_code", 200))  # type: ignore[no-any-return]

    @property
    def name(self) -> str:
        return self.options.get("name") or str(getattr(self.handler, "__name__", "handler"))


class Router:
    """A group of routes; include it in an app with ``app.include_router(router, prefix=...)``.

    ``auth`` is the default guard of its routes (``public=True`` opts one out); ``middleware``
    (and ``@router.middleware``) wraps each of its routes. Both apply at ``include_router``.
    """

    def __init__(
        self, *, auth: AuthOption | None = None, middleware: Iterable[Middleware] = ()
    ) -> None:
        self.routes: list[Route] = []
        self.websocket_routes: list[WebSocketRoute] = []
        self.auth = auth
        self.middleware_list: list[Middleware] = list(middleware)
        if self.middleware_list:  # the middleware module loads only for an app that uses it
            from .middleware import check_middleware

            self.middleware_list = [check_middleware(m) for m in self.middleware_list]

    def middleware(self, func: M) -> M:
        """Wrap every route of this router in ``func(request, call_next)``; returns ``func``."""
        from .middleware import check_middleware

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
        """Register a :class:`Route` (subclasses compile it at once)."""
        self.routes.append(route)

    def route(
        self, path: str, *, methods: Iterable[str], **options: Unpack[RouteOptions]
    ) -> Callable[[F], F]:
        """Register the decorated function for ``methods`` on ``path``; returns it unchanged."""
        method_tuple = tuple(m.upper() for m in methods) if not isinstance(methods, str) else ()
        if not method_tuple or any(m not in HTTP_METHODS for m in method_tuple):
            raise RouteDefinitionError(
                f"Route {path!r}: methods must be a list drawn from {sorted(HTTP_METHODS)}."
            )
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
        check_route(route_key, options)

        def decorator(func: F) -> F:
            if not callable(func):
                raise RouteDefinitionError(f"Route {route_key!r}: {func!r} is not callable.")
            self.add_websocket_route(WebSocketRoute(route_key, func, options))
            return func

        return decorator

    def add_websocket_route(self, route: WebSocketRoute) -> None:
        """Register a :class:`~lamroute.websocket.WebSocketRoute` (the app compiles it)."""
        self.websocket_routes.append(route)

    def include_router(self, router: Router, *, prefix: str = "") -> None:
        """Add every route of ``router`` under ``prefix`` (``"/admin"``)."""
        if prefix and (not prefix.startswith("/") or prefix.endswith("/")):
            raise RouteDefinitionError(
                f"Router prefix {prefix!r} must start with '/' and not end with one."
            )
        for route in router.routes:
            path = prefix + route.path if route.path != "/" or not prefix else prefix
            self.add_route(replace(route, path=path, options=router._route_options(route.options)))
        for ws_route in router.websocket_routes:
            self.add_websocket_route(ws_route)
