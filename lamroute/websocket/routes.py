"""WebSocket routes compiled and dispatched by route key, and the gateway's route selection.

A handler is analysed once (:func:`compile_route`): WebSocket names (``connection_id``,
``connections``, ``body``) here, everything else by the HTTP binder. :class:`WebSocketRoutes` is
what ``app.websockets`` holds; :func:`select_route` is what API Gateway's route selection
expression picks (the local gateway and the test client use it).

>>> select_route("$request.body.action", '{"action": "join"}', {"join"})
'join'
"""

from __future__ import annotations

import inspect
import types
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..exceptions import HTTPError, NotFound, RouteDefinitionError, plain_status
from ..formats.websocket import ConnectionsClient, WebSocketRequest
from ..http.response import Response, to_response
from ..params import Binder, build_binder
from ..params.signature import call_kind
from ..routing.routes import CONNECT, DEFAULT, DISCONNECT, WebSocketRoute, check_route

if TYPE_CHECKING:
    from collections.abc import Mapping

    from ..security.guards import Guard
    from .connections import Connections

Extractor = Callable[[WebSocketRequest], Any]


class CompiledWebSocketRoute:
    """A WebSocket route with its guard and argument binding built at registration.

    ``is_async``: its handler or a dependency awaits (it runs on the container's event loop);
    a dependency that yields finishes once the answer is built, as for HTTP routes."""

    __slots__ = ("binder", "extractors", "guard", "is_async", "route", "status")

    def __init__(self, route: WebSocketRoute, extractors: tuple[tuple[str, Extractor], ...],
                 binder: Binder | None, guard: Guard | None = None) -> None:
        self.route = route
        self.extractors = extractors
        self.binder = binder
        self.guard = guard
        self.status = plain_status(route.options.get("status_code", 200))
        self.is_async = call_kind(route.handler) == "async" or (
            binder is not None and binder.is_async)

    def __call__(self, request: WebSocketRequest) -> Response:
        if self.is_async:
            from ..aio.loop import run

            return run(self.acall(request))
        if self.guard is not None:
            self.guard.check(request)  # 401/403: on $connect, the connection is refused
        if self.binder is not None and self.binder.has_exits:
            return self._with_exits(request)
        kwargs = self.binder.bind(request) if self.binder is not None else {}
        for name, extract in self.extractors:
            kwargs[name] = extract(request)
        return self._answer(self.route.handler(**kwargs))

    def _answer(self, result: Any) -> Response:
        # `None` is an empty answer with the route's status: a 204 would be a surprise on
        # `$connect`, where any 2xx accepts the connection.
        if result is None:
            return Response(None, self.status)
        return to_response(result, self.status)

    def _with_exits(self, request: WebSocketRequest) -> Response:
        from ..params.dependencies import EXITS, close_exits

        assert self.binder is not None
        cache: dict[Any, Any] = {}
        try:
            kwargs = self.binder.bind(request, cache)
            for name, extract in self.extractors:
                kwargs[name] = extract(request)
            response = self._answer(self.route.handler(**kwargs))
        except BaseException as exc:
            final = close_exits(cache, exc) if EXITS in cache else exc
            if final is not exc and final is not None:
                raise final from None
            raise
        final = close_exits(cache, None) if EXITS in cache else None
        if final is not None:
            raise final from None
        return response

    async def acall(self, request: WebSocketRequest) -> Response:
        """The route on the event loop: its dependencies and handler awaited."""
        from ..params.dependencies import EXITS, aclose_exits

        if self.guard is not None:
            self.guard.check(request)
        cache: dict[Any, Any] = {}
        binder = self.binder
        try:
            kwargs = {} if binder is None else (
                await binder.abind(request, cache) if binder.is_async
                else binder.bind(request, cache))
            for name, extract in self.extractors:
                kwargs[name] = extract(request)
            result = self.route.handler(**kwargs)
            if call_kind(self.route.handler) == "async":
                result = await result
            response = self._answer(result)
        except BaseException as exc:
            final = await aclose_exits(cache, exc) if EXITS in cache else exc
            if final is not exc and final is not None:
                raise final from None
            raise
        final = await aclose_exits(cache, None) if EXITS in cache else None
        if final is not None:
            raise final from None
        return response


class WebSocketRoutes:
    """The routes of an app by route key; ``dispatch`` picks one for a request.

    ``default_auth`` is the app's default guard. Without a ``$connect`` handler, the implicit
    ``$connect`` admits the callers who may call at least one message route (anyone when one
    of them is unguarded); with no message route at all, those the default guard admits.
    """

    def __init__(self, *, default_auth: Any = None) -> None:
        self.routes: dict[str, CompiledWebSocketRoute] = {}
        self._default_auth: dict[str, Any] = {}  # the default guard each route was compiled with
        self.default_guard: Guard | None = None
        if default_auth is not None:
            from ..security.guards import as_guard

            self.default_guard = as_guard(default_auth, "App(auth=...)")
        # The guards of the implicit $connect (the caller must pass one), None when it is open.
        self.connect_guards: tuple[Guard, ...] | None = self._connect_guards()

    def add(self, route: WebSocketRoute, *, default_auth: Any = None,
            overrides: Mapping[Any, Any] | None = None) -> None:
        check_route(route.route_key, route.options)  # also for routes built by hand
        if route.route_key in self.routes:
            raise RouteDefinitionError(f"WebSocket route {route.route_key!r} is defined twice.")
        self.routes[route.route_key] = compile_route(route, default_auth, overrides)
        self._default_auth[route.route_key] = default_auth
        self.connect_guards = self._connect_guards()

    def add_for_app(self, route: WebSocketRoute, app_auth: Any,
                    overrides: Mapping[Any, Any] | None) -> None:
        """Compile ``route`` now (bad handlers fail at import) under the app's default guard
        (``App(auth=...)``), which covers every route but ``$disconnect``: ``$connect``, where
        API Gateway authorizes the connection, and each message route, whose events carry the
        authorizer context of the connection (``$context.authorizer.*``:
        https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api-mapping-template-reference.html).
        ``$disconnect`` runs once the connection is gone: refusing it would only skip clean-up.
        """
        default = app_auth if route.route_key != DISCONNECT else None
        self.add(route, default_auth=default, overrides=overrides)

    def recompile(self, *, overrides: Mapping[Any, Any] | None) -> None:
        """Bind every route again (``app.dependency_overrides`` changed)."""
        for key, compiled in list(self.routes.items()):
            self.routes[key] = compile_route(compiled.route, self._default_auth.get(key),
                                             overrides)
        self.connect_guards = self._connect_guards()

    @property
    def has_async(self) -> bool:
        return any(compiled.is_async for compiled in self.routes.values())

    def _connect_guards(self) -> tuple[Guard, ...] | None:
        messages = [c for key, c in self.routes.items() if key not in (CONNECT, DISCONNECT)]
        if not messages:
            return None if self.default_guard is None else (self.default_guard,)
        guards: dict[int, Guard] = {}
        for compiled in messages:
            if compiled.guard is None:
                return None
            guards.setdefault(id(compiled.guard), compiled.guard)
        return tuple(guards.values())

    def _admit(self, request: WebSocketRequest, guards: tuple[Guard, ...]) -> None:
        """The implicit ``$connect``: admitted by one of ``guards``, else the first refusal."""
        refusal: HTTPError | None = None
        for guard in guards:
            try:
                guard.check(request)
                return
            except HTTPError as exc:
                refusal = refusal or exc
        if refusal is not None:
            raise refusal

    def __contains__(self, route_key: object) -> bool:
        return route_key in self.routes

    def dispatch(self, request: WebSocketRequest, connections: Connections) -> Response:
        """Call the handler for the request's route key.

        A message whose route key has no handler goes to ``$default``; without one it is a 404
        problem. ``$connect`` and ``$disconnect`` without a handler are accepted (200), as
        when the API has no such route, once the implicit ``$connect`` admits the caller.
        """
        compiled = self._route(request, connections)
        return compiled if type(compiled) is Response else compiled(request)  # type: ignore[operator]

    async def adispatch(self, request: WebSocketRequest, connections: Connections) -> Response:
        """:meth:`dispatch` on the event loop (under async app middleware)."""
        compiled = self._route(request, connections)
        if type(compiled) is Response:
            return compiled
        assert isinstance(compiled, CompiledWebSocketRoute)
        return await compiled.acall(request) if compiled.is_async else compiled(request)

    def _route(self, request: WebSocketRequest, connections: Connections
               ) -> CompiledWebSocketRoute | Response:
        request._connections_config = connections
        compiled = self.routes.get(request.route_key)
        if compiled is None and request.route_key not in (CONNECT, DISCONNECT):
            compiled = self.routes.get(DEFAULT)
        if compiled is None:
            if request.route_key in (CONNECT, DISCONNECT):
                if request.route_key == CONNECT and self.connect_guards is not None:
                    self._admit(request, self.connect_guards)
                return Response(None, 200)
            raise NotFound(f"No WebSocket route for route key {request.route_key!r}.")
        request.route = compiled.route.route_key
        return compiled


def compile_route(route: WebSocketRoute, default_auth: Any = None,
                  overrides: Mapping[Any, Any] | None = None) -> CompiledWebSocketRoute:
    """Analyse the handler once: WebSocket names here, everything else by the HTTP binder.

    ``connection_id``, ``connections`` (or a parameter annotated ``Connections``) and an
    unannotated ``body`` (the parsed JSON message) are WebSocket's own. The other parameters
    go through :func:`lamroute.params.build_binder` like an HTTP handler's: ``request``
    (``WebSocketRequest`` is a ``Request``), ``context``, a pydantic model or ``dict`` (the
    validated JSON message, 422 when it does not match), ``Depends(...)``, and query or header
    parameters (sent with ``$connect`` only).
    """
    func = route.handler
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError) as exc:
        raise RouteDefinitionError(
            f"WebSocket route {route.route_key!r}: cannot inspect handler: {exc}") from exc
    own: list[tuple[str, Extractor]] = []
    delegated: list[inspect.Parameter] = []
    for name, parameter in signature.parameters.items():
        extract = _own_extractor(name, parameter)
        if extract is not None:
            own.append((name, extract))
        else:
            delegated.append(parameter)
    binder = (_http_binder(func, signature.replace(parameters=delegated), overrides)
              if delegated else None)
    http_only = [p.name for p in binder.params if p.source in _HTTP_ONLY] if binder else []
    if binder is not None and binder.response_param is not None:
        http_only.append(binder.response_param)
    if http_only:
        raise RouteDefinitionError(
            f"WebSocket route {route.route_key!r}: {http_only} (forms, files or the response "
            "parameter) only exist in HTTP routes; a message is its body (bytes: "
            "Annotated[bytes, Body()]).")
    guard = None
    if default_auth is not None or "auth" in route.options or "public" in route.options:
        from ..security.guards import effective_guard

        guard = effective_guard(route.options, default_auth,  # type: ignore[arg-type]
                                f"WebSocket route {route.route_key!r}")
    return CompiledWebSocketRoute(route, tuple(own), binder, guard)


_HTTP_ONLY = frozenset({"form", "form-model", "file"})


def _own_extractor(name: str, parameter: inspect.Parameter) -> Extractor | None:
    annotation = parameter.annotation
    annotation_name = (annotation.rsplit(".", 1)[-1] if isinstance(annotation, str)
                       else getattr(annotation, "__name__", None))
    if name == "connections" or annotation_name == "Connections":
        return _connections
    if name == "connection_id":
        return _connection_id
    if name == "body" and annotation is parameter.empty:
        return _body
    return None


def _http_binder(func: Callable[..., Any], signature: inspect.Signature,
                 overrides: Mapping[Any, Any] | None = None) -> Binder:
    """The HTTP binder for the parameters WebSocket leaves, through a stand-in function with
    only those parameters (annotations still resolved in the handler's own module)."""
    target = inspect.unwrap(func)
    stand_in = types.FunctionType(_stand_in.__code__, getattr(target, "__globals__", {}),
                                  getattr(func, "__name__", "handler"))
    stand_in.__qualname__ = getattr(func, "__qualname__", stand_in.__name__)
    stand_in.__module__ = getattr(func, "__module__", None)  # type: ignore[assignment]
    annotations = getattr(target, "__annotations__", {})
    stand_in.__annotations__ = {p: annotations[p] for p in signature.parameters
                                if p in annotations}
    stand_in.__signature__ = signature  # type: ignore[attr-defined]
    return build_binder(stand_in, (), overrides=overrides)


def _stand_in(**kwargs: Any) -> None:
    return None


def _connections(request: WebSocketRequest) -> ConnectionsClient:
    return request.connections


def _connection_id(request: WebSocketRequest) -> str:
    return request.connection_id


def _body(request: WebSocketRequest) -> Any:
    return request.json()


def select_route(expression: str, message: bytes | str, route_keys: Any) -> str:
    """The route key API Gateway's route selection expression picks for ``message``.

    Only ``$request.body.<path>`` expressions read the message (a JSON object); a value that
    is not a string, or names no route in ``route_keys``, selects ``$default``.
    https://docs.aws.amazon.com/apigateway/latest/developerguide/websocket-api-develop-routes.html

    >>> select_route("$request.body.action", '{"action": "join"}', {"join"})
    'join'
    >>> select_route("$request.body.action", "not json", {"join"})
    '$default'
    """
    expr = expression.strip()
    if expr.startswith("${") and expr.endswith("}"):
        expr = "$" + expr[2:-1]
    if not expr.startswith("$request.body."):
        return expr if expr in route_keys else DEFAULT
    import json

    try:
        value: Any = json.loads(message)
    except (ValueError, RecursionError):
        return DEFAULT
    for part in expr[len("$request.body."):].split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value if isinstance(value, str) and value in route_keys else DEFAULT
