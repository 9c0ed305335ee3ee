"""WebSocket APIs: the request a route handler sees, and the routes keyed by ``routeKey``.

API Gateway WebSocket APIs invoke the Lambda once per connection event: ``$connect`` (the
handshake, with headers and query string), one invocation per message (``$default`` or a custom
route key chosen by the API's route selection expression) and ``$disconnect``.

>>> from lamroute import App
>>> from lamroute.testing import TestClient
>>> app = App(access_log=False)
>>> @app.websocket("sendMessage")
... def send_message(request: WebSocketRequest) -> dict[str, str]:
...     return {"echo": request.json()["text"]}
>>> with TestClient(app).websocket_connect() as ws:
...     ws.send_json({"action": "sendMessage", "text": "hi"}).json()
{'echo': 'hi'}
"""

from __future__ import annotations

import inspect
import types
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypedDict

from .exceptions import HTTPError, NotFound, ResponseError, RouteDefinitionError, plain_status
from .http.request import EventReader, Request
from .http.response import Response, to_response

if TYPE_CHECKING:
    from .connections import Connections
    from .guards import Guard
    from .params import Binder

CONNECT, DISCONNECT, DEFAULT = "$connect", "$disconnect", "$default"
EVENT_TYPES = {"CONNECT": CONNECT, "DISCONNECT": DISCONNECT}


class WebSocketRequest(Request):
    """One WebSocket API event: a connect, a message or a disconnect.

    ``method`` is the event type (``CONNECT``, ``MESSAGE``, ``DISCONNECT``) and ``path`` the
    route key, so logs and problem bodies name them. ``headers`` and ``query`` are only
    sent by API Gateway on ``$connect``; ``body``, ``text`` and ``json()`` carry the message.
    """

    __slots__ = (
        "_connections",
        "_connections_config",
        "api_id",
        "connected_at",
        "connection_id",
        "disconnect_reason",
        "disconnect_status_code",
        "domain_name",
        "event_type",
        "message_id",
        "route_key",
    )

    def __init__(
        self,
        *,
        connection_id: str,
        route_key: str,
        event_type: str,
        domain_name: str | None,
        api_id: str | None,
        stage: str | None,
        request_id: str | None,
        connected_at: int | None,
        message_id: str | None,
        disconnect_status_code: int | None,
        disconnect_reason: str | None,
        event: Mapping[str, Any],
        context: Any,
        reader: EventReader,
    ) -> None:
        super().__init__(method=event_type, path=route_key, root_path="", format="websocket",
                         stage=stage, request_id=request_id, event=event, context=context,
                         reader=reader)
        self.connection_id = connection_id
        self.route_key = route_key
        self.event_type = event_type
        self.domain_name = domain_name
        self.api_id = api_id
        self.connected_at = connected_at
        self.message_id = message_id
        self.disconnect_status_code = disconnect_status_code
        self.disconnect_reason = disconnect_reason
        self._connections: Connections | None = None
        self._connections_config: Connections | None = None  # the app's, set by dispatch

    @property
    def connections(self) -> Connections:
        """The app's :class:`~lamroute.connections.Connections`, with this event's endpoint
        unless one is configured (built on first use)."""
        if self._connections is None:
            config = self._connections_config
            if config is None:
                from .connections import Connections

                config = Connections()
            self._connections = config.for_request(self)
        return self._connections

    def send(self, data: str | bytes | Any) -> None:
        """Send ``data`` back to this request's own connection."""
        self.connections.send(self.connection_id, data)

    def __repr__(self) -> str:
        return f"<WebSocketRequest {self.route_key} {self.connection_id}>"


class WebSocketOptions(TypedDict, total=False):
    """Keyword options of ``@app.websocket(route_key, ...)``."""

    name: str
    status_code: int
    summary: str
    description: str
    auth: Any  # a lamroute.guards Guard (``requires(...)``) or a predicate on the Identity
    public: bool


class WebSocketRoute:
    """A handler for one route key (``$connect``, ``$disconnect``, ``$default`` or custom)."""

    __slots__ = ("handler", "options", "route_key")

    def __init__(self, route_key: str, handler: Callable[..., Any],
                 options: WebSocketOptions | None = None) -> None:
        self.route_key = route_key
        self.handler = handler
        self.options: WebSocketOptions = options if options is not None else WebSocketOptions()

    @property
    def name(self) -> str:
        return self.options.get("name") or str(getattr(self.handler, "__name__", "handler"))

    def __repr__(self) -> str:
        return f"<WebSocketRoute {self.route_key} -> {self.name}>"


def check_route(route_key: str, options: Mapping[str, Any]) -> None:
    """Raise :class:`RouteDefinitionError` for a route key API Gateway would refuse."""
    if not isinstance(route_key, str) or not route_key or len(route_key) > 128:
        raise RouteDefinitionError(f"WebSocket route key {route_key!r} must be 1-128 chars.")
    if route_key.startswith("$") and route_key not in (CONNECT, DISCONNECT, DEFAULT):
        # https://docs.aws.amazon.com/apigateway/latest/developerguide/websocket-api-develop-routes.html
        raise RouteDefinitionError(
            f"WebSocket route key {route_key!r}: only $connect, $disconnect and $default may "
            "start with '$'."
        )
    if route_key == DISCONNECT and options.get("auth") is not None:
        # https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api-route-keys-connect-disconnect.html
        raise RouteDefinitionError(
            "WebSocket route '$disconnect' cannot be guarded: the gateway runs it once the "
            "connection is gone (best effort), so refusing it only skips the clean-up."
        )
    status = plain_status(options.get("status_code", 200))
    if type(status) is not int or not 100 <= status <= 599:
        raise RouteDefinitionError(f"Route {route_key!r}: status_code {status!r} is not 100-599.")


def with_default_guard(route: WebSocketRoute, auth: Any) -> WebSocketRoute:
    """``route`` carrying a router's default guard ``auth``, unless it has its own, is public
    or is ``$disconnect`` (never refused): how ``include_router`` keeps a router's guard."""
    options = route.options
    if (auth is None or route.route_key == DISCONNECT or options.get("auth") is not None
            or options.get("public")):
        return route
    return WebSocketRoute(route.route_key, route.handler, {**options, "auth": auth})


Extractor = Callable[[WebSocketRequest], Any]


class CompiledWebSocketRoute:
    """A WebSocket route with its guard and argument binding built at registration."""

    __slots__ = ("binder", "extractors", "guard", "route", "status")

    def __init__(self, route: WebSocketRoute, extractors: tuple[tuple[str, Extractor], ...],
                 binder: Binder | None, guard: Guard | None = None) -> None:
        self.route = route
        self.extractors = extractors
        self.binder = binder
        self.guard = guard
        self.status = plain_status(route.options.get("status_code", 200))

    def __call__(self, request: WebSocketRequest) -> Response:
        if self.guard is not None:
            self.guard.check(request)  # 401/403: on $connect, the connection is refused
        kwargs = self.binder.bind(request) if self.binder is not None else {}
        for name, extract in self.extractors:
            kwargs[name] = extract(request)
        result = self.route.handler(**kwargs)
        # `None` is an empty answer with the route's status: a 204 would be a surprise on
        # `$connect`, where any 2xx accepts the connection.
        if result is None:
            return Response(None, self.status)
        return to_response(result, self.status)


class WebSocketApp:
    """The WebSocket side of :class:`~lamroute.App`: its route keys and its ``connections``.

    Both are built on first use, so an HTTP-only app never imports the connections code.
    ``app.connections = Connections(...)`` configures how handlers reach the clients.
    """

    websocket_routes: list[WebSocketRoute]  # kept by Router
    _websockets: WebSocketRoutes | None = None
    _connections: Connections | None = None

    @property
    def websockets(self) -> WebSocketRoutes:
        if self._websockets is None:
            self._websockets = WebSocketRoutes(default_auth=getattr(self, "auth", None))
        return self._websockets

    @property
    def connections(self) -> Connections:
        if self._connections is None:
            from .connections import Connections

            self._connections = Connections()
        return self._connections

    @connections.setter
    def connections(self, value: Connections) -> None:
        self._connections = value

    def add_websocket_route(self, route: WebSocketRoute) -> None:
        """Compile ``route`` now (bad handlers fail at import) and keep it.

        The app's default guard (``App(auth=...)``) covers every route but ``$disconnect``:
        ``$connect``, where API Gateway authorizes the connection, and each message route, whose
        events carry the authorizer context of the connection (``$context.authorizer.*``:
        https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api-mapping-template-reference.html).
        ``$disconnect`` runs once the connection is gone: refusing it would only skip clean-up.
        """
        default = getattr(self, "auth", None) if route.route_key != DISCONNECT else None
        self.websockets.add(route, default_auth=default)
        self.websocket_routes.append(route)


class WebSocketRoutes:
    """The routes of an app by route key; ``dispatch`` picks one for a request.

    ``default_auth`` is the app's default guard. Without a ``$connect`` handler, the implicit
    ``$connect`` admits the callers who may call at least one message route (anyone when one
    of them is unguarded); with no message route at all, those the default guard admits.
    """

    def __init__(self, *, default_auth: Any = None) -> None:
        self.routes: dict[str, CompiledWebSocketRoute] = {}
        self.default_guard: Guard | None = None
        if default_auth is not None:
            from .guards import as_guard

            self.default_guard = as_guard(default_auth, "App(auth=...)")
        # The guards of the implicit $connect (the caller must pass one), None when it is open.
        self.connect_guards: tuple[Guard, ...] | None = self._connect_guards()

    def add(self, route: WebSocketRoute, *, default_auth: Any = None) -> None:
        check_route(route.route_key, route.options)  # also for routes built by hand
        if route.route_key in self.routes:
            raise RouteDefinitionError(f"WebSocket route {route.route_key!r} is defined twice.")
        self.routes[route.route_key] = compile_route(route, default_auth)
        self.connect_guards = self._connect_guards()

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
        return compiled(request)


def compile_route(route: WebSocketRoute, default_auth: Any = None) -> CompiledWebSocketRoute:
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
    binder = _http_binder(func, signature.replace(parameters=delegated)) if delegated else None
    guard = None
    if default_auth is not None or "auth" in route.options or "public" in route.options:
        from .guards import effective_guard

        guard = effective_guard(route.options, default_auth,  # type: ignore[arg-type]
                                f"WebSocket route {route.route_key!r}")
    return CompiledWebSocketRoute(route, tuple(own), binder, guard)


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


def _http_binder(func: Callable[..., Any], signature: inspect.Signature) -> Binder:
    """The HTTP binder for the parameters WebSocket leaves, through a stand-in function with
    only those parameters (annotations still resolved in the handler's own module)."""
    from .params import build_binder

    target = inspect.unwrap(func)
    stand_in = types.FunctionType(_stand_in.__code__, getattr(target, "__globals__", {}),
                                  getattr(func, "__name__", "handler"))
    stand_in.__qualname__ = getattr(func, "__qualname__", stand_in.__name__)
    stand_in.__module__ = getattr(func, "__module__", None)  # type: ignore[assignment]
    annotations = getattr(target, "__annotations__", {})
    stand_in.__annotations__ = {p: annotations[p] for p in signature.parameters
                                if p in annotations}
    stand_in.__signature__ = signature  # type: ignore[attr-defined]
    return build_binder(stand_in, ())


def _stand_in(**kwargs: Any) -> None:
    return None


def _connections(request: WebSocketRequest) -> Connections:
    return request.connections


def _connection_id(request: WebSocketRequest) -> str:
    return request.connection_id


def _body(request: WebSocketRequest) -> Any:
    return request.json()


# https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-execution-service-websocket-limits-table.html
MAX_MESSAGE = 128 * 1024


def route_response_body(response: Response) -> str:
    """A WebSocket route response body is text of at most 128 KB (the message size quota)."""
    body = response.body
    if not isinstance(body, (bytes, bytearray)):
        raise ResponseError("Response.body must be bytes.")
    if len(body) > MAX_MESSAGE:
        raise ResponseError(
            f"A WebSocket route response of {len(body)} bytes is over the 128 KB message quota."
        )
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise ResponseError(
            "A WebSocket route response must be text (UTF-8); send binary frames with "
            "connections.send(connection_id, data)."
        ) from None


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
