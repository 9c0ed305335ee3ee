"""The application: the Lambda handler itself, and the boundary no exception crosses.

``App`` lives here; ``compiled.py`` holds a route as built at registration (its binder,
response model, safeguards and middleware chain); ``adjust.py`` the 405 and ``OPTIONS``
answers, ``strip_prefixes`` and the CORS headers, loaded on first use.

>>> from lamroute.testing import TestClient
>>> app = App(title="Demo", access_log=False)
>>> @app.get("/hello/{name}")
... def hello(name: str) -> dict[str, str]:
...     return {"hello": name}
>>> TestClient(app).get("/hello/world").json()
{'hello': 'world'}
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from ..errors import ErrorFormatter, echo, problem_response, route_not_found
from ..errors.boundary import Boundary
from ..exceptions import NotFound, RouteDefinitionError, reraise_fatal
from ..formats import PayloadFormat, detect, is_websocket, render_safely
from ..http.request import Request
from ..http.response import Response
from ..logs import bind_request_fields, configure, set_request_field, unbind_request_fields
from ..params.signature import call_kind
from ..routing import RouteDecorators, Router
from ..routing.routes import (
    AuthOption,
    Compression,
    Handler,
    Middleware,
    Route,
    Timeout,
    WebSocketRoute,
    check_middleware,
)
from ..routing.table import RouteTable
from ..safeguards import Safeguards
from .compiled import CompiledRoute, compile_route, middleware_chain, recompile

if TYPE_CHECKING:
    from ..lifecycle.hooks import Lifecycle
    from ..params.dependencies import DependencyOverrides
    from ..security.cors import CORS
    from ..security.guards import Guard
    from ..websocket.connections import Connections
    from ..websocket.routes import WebSocketRoutes

E = TypeVar("E", bound=Callable[..., Any])


_NO_SNAPSHOT = frozenset({"on-demand", "provisioned-concurrency", "lambda-managed-instances"})


class App(RouteDecorators):
    """A lamroute application; the instance is the Lambda handler (``Handler: module.app``).

    Options are keyword-only: ``debug`` shows exception details in error answers,
    ``error_formatter`` replaces the problem body, ``strip_prefixes`` removes path prefixes the
    event cannot reveal (``["/api"]`` for a CloudFront behaviour in front of a Function URL),
    ``strict_slashes`` makes ``/a/`` and ``/a`` different routes, ``access_log=False`` turns
    the access line off, ``log_root=True`` gives the app's own loggers
    (``logging.getLogger(__name__)``) lamroute's handler, level and request fields.
    ``openapi_url="/openapi.json"`` and ``docs_url="/docs"`` serve the
    OpenAPI document and a documentation page from the same Lambda (both off by default).
    ``auth`` is the default guard of every route (``public=True`` opts one out), ``cors`` a
    :class:`~lamroute.security.cors.CORS`, ``middleware`` app-wide middleware.
    ``timeout`` (a :class:`Timeout`, ``None`` for none) answers 504 before the Lambda or
    gateway deadline, ``compress`` gzips accepted answers, ``max_body_size`` answers 413 to
    larger request bodies; routes override all three. ``max_fields`` (1000 by default) and
    ``max_part_size`` (the body limit by default) bound a form body (413 past them), for the
    app or per route. ``trusted_proxies`` says which
    ``X-Forwarded-For`` entry behind an ALB is the client: the number of proxies in front of
    the ALB (``1`` for CloudFront), or their networks (``["130.176.0.0/16", ...]``); the default
    ``0`` takes the address the ALB appended itself.

    Handlers, dependencies, middleware and exception handlers may be ``async def`` (one event
    loop per container: :mod:`lamroute.aio`); ``@app.on_startup``, ``@app.before_snapshot`` and
    ``@app.after_restore`` register lifecycle hooks (:mod:`lamroute.lifecycle`), and
    ``app.dependency_overrides`` replaces dependencies in tests.

    The app composes its parts: ``router`` (a :class:`~lamroute.routing.Router` that holds the
    routes, ``include_router`` and the default guard; the decorators hand it each route, and it
    hands each back to the app to compile before recording it), ``table`` (the compiled routes),
    ``websockets`` (the compiled WebSocket routes, built on first use), ``safeguards``
    (deadline, body and response size, compression) and ``boundary`` (errors to answers).
    """

    def __init__(
        self,
        *,
        title: str = "lamroute app",
        version: str = "0.1.0",
        debug: bool = False,
        error_formatter: ErrorFormatter = problem_response,
        strip_prefixes: Iterable[str] = (),
        strict_slashes: bool = False,
        access_log: bool = True,
        log_level: str | None = None,
        log_root: bool = False,
        openapi_url: str | None = None,
        docs_url: str | None = None,
        auth: AuthOption | None = None,
        cors: CORS | None = None,
        middleware: Iterable[Middleware] = (),
        timeout: Timeout | None = Timeout(),  # noqa: B008 - frozen, shared safely
        compress: bool | Compression = False,
        max_body_size: int | None = None,
        max_fields: int | None = None,
        max_part_size: int | None = None,
        trusted_proxies: int | Iterable[str] = 0,
    ) -> None:
        self.router = Router(auth=auth, on_route=self._compile_route,
                             on_websocket_route=self._compile_websocket_route)
        self._websockets: WebSocketRoutes | None = None
        self._connections: Connections | None = None
        self.title = title
        self.version = version
        self.debug = debug
        self.strip_prefixes = tuple(p.rstrip("/") for p in strip_prefixes if p.rstrip("/"))
        self.access_log = access_log
        self.table: RouteTable[CompiledRoute] = RouteTable(strict_slashes=strict_slashes)
        # The guards of each guarded route, for the answers that list a path's methods.
        self.gates: dict[CompiledRoute, tuple[Guard, ...]] = {}
        self.logger = configure(log_level, root=log_root)
        # The access line's writer loads with an app that writes access lines, in Lambda's INIT
        # phase: at the first request the deadline's watchdog thread is starting, and an import
        # then shares the interpreter lock with it (~0.2 ms more of the cold start).
        self._log_access: Callable[..., None] | None = None
        if access_log:
            self.access_logger()
        self.app_logger = logging.getLogger("lamroute.app")
        self.boundary = Boundary(logger=self.logger, formatter=error_formatter, debug=debug)
        self.safeguards = Safeguards(timeout=timeout, compress=compress,
                                     max_body_size=max_body_size, boundary=self.boundary,
                                     logger=self.logger, max_fields=max_fields,
                                     max_part_size=max_part_size)
        self._cold_start = True
        # ALB's reader when proxies are trusted (None: the shared one, which trusts none); the
        # default loads no ALB code (the format's module loads with the first ALB event).
        self._alb: PayloadFormat | None = None
        self._shared_alb: PayloadFormat | None = None
        if not (type(trusted_proxies) is int and trusted_proxies == 0):
            from ..formats.alb import ALB, AlbFormat

            alb = AlbFormat(trusted_proxies=trusted_proxies)
            self._alb, self._shared_alb = (alb if alb.trusted else None), ALB
        self.cors = cors
        self.app_middleware: list[Middleware] = []
        self._handle: Handler = self.dispatch
        self._compiled: list[CompiledRoute] = []
        # Set while the startup hooks have not run (runs them), or after they failed (a 503).
        self._gate: Callable[[], None] | None = None
        self._lifecycle: Lifecycle | None = None
        self._overrides: DependencyOverrides | None = None
        self._app_async = False  # an app middleware is async: routing runs on the loop
        for func in middleware:
            self.middleware(func)
        if openapi_url or docs_url:
            from ..openapi.docs import install_docs

            install_docs(self, openapi_url=openapi_url, docs_url=docs_url)
        # SnapStart's runtime hooks (their module exists in the Lambda managed runtimes only),
        # unless Lambda names an initialization type that takes no snapshot: loading the hooks
        # cost each of those cold starts ~0.4 ms. Any other type (snap-start, or one unknown
        # here) keeps them (https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html).
        if os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE") not in _NO_SNAPSHOT and (
                "snapshot_restore_py" in sys.modules or os.environ.get("AWS_LAMBDA_RUNTIME_API")):
            from ..lifecycle.snapstart import register

            register(self)

    # -- registration -------------------------------------------------------------------------

    @property
    def routes(self) -> list[Route]:
        """Every HTTP route, as compiled (the default guard resolved into ``auth``)."""
        return self.router.routes

    @property
    def websocket_routes(self) -> list[WebSocketRoute]:
        return self.router.websocket_routes

    @property
    def auth(self) -> AuthOption | None:
        """The default guard of every route (``App(auth=...)``)."""
        return self.router.auth

    def add_route(self, route: Route) -> None:
        """Compile and register a :class:`~lamroute.Route` (the decorators build them)."""
        self.router.add_route(route)

    def add_websocket_route(self, route: WebSocketRoute) -> None:
        """Compile and register a WebSocket route (``@app.websocket`` builds them)."""
        self.router.add_websocket_route(route)

    def include_router(
        self, router: Router, *, prefix: str = "", tags: Iterable[str] = ()
    ) -> None:
        """Add every route of ``router`` under ``prefix``, with ``tags`` before their own;
        routes ``router`` gets later are added too (see :meth:`Router.include_router`)."""
        self.router.include_router(router, prefix=prefix, tags=tags)

    @property
    def websockets(self) -> WebSocketRoutes:
        """The compiled WebSocket routes (the module loads for apps that have some)."""
        if self._websockets is None:
            from ..websocket.routes import WebSocketRoutes

            self._websockets = WebSocketRoutes(default_auth=self.auth)
        return self._websockets

    @property
    def connections(self) -> Connections:
        """How handlers reach WebSocket clients (``app.connections = Connections(...)``); the
        default takes each event's endpoint. Built on first use: an HTTP-only app never imports
        the connections code."""
        if self._connections is None:
            from ..websocket.connections import Connections

            self._connections = Connections()
        return self._connections

    @connections.setter
    def connections(self, value: Connections) -> None:
        self._connections = value

    def _compile_websocket_route(self, route: WebSocketRoute) -> WebSocketRoute:
        """Compile ``route`` now (:meth:`WebSocketRoutes.add_for_app`); the record to keep."""
        self.websockets.add_for_app(route, self.auth, self._overrides)
        return route

    def _compile_route(self, route: Route) -> Route:
        """Compile ``route`` into the table (:mod:`.compiled`); the record to keep."""
        route, compiled, gates = compile_route(
            route, table=self.table, auth=self.auth, overrides=self._overrides,
            safeguards=self.safeguards, boundary=self.boundary)
        if gates:
            self.gates[compiled] = gates
        self._compiled.append(compiled)
        return route

    def middleware(self, func: E) -> E:
        """Wrap every request in ``func(request, call_next)`` (404s included); returns ``func``.

        ``async def`` middleware awaits ``call_next(request)``; with one, routing runs on the
        event loop (the sync middleware outside the first async one run before it)."""
        self.app_middleware.append(check_middleware(func))
        self._handle, self._app_async = middleware_chain(self)
        return func

    def openapi(self, *, servers: Sequence[str] = ()) -> dict[str, Any]:
        """The OpenAPI 3.1 document of the app's routes (see :mod:`lamroute.openapi.document`).

        ``servers`` lists base URLs for the paths: ``app.openapi(servers=["/prod"])``.
        """
        from ..openapi.document import build_openapi

        return build_openapi(self, servers=servers)

    def exception_handler(self, exc_type: type[BaseException]) -> Callable[[E], E]:
        """Handle ``exc_type`` (and subclasses) with ``fn(request, exc)``; returns ``fn``.

        The most specific handler along the exception's MRO wins; its return value is rendered
        like a route's (a ``Response``, a dict, ...), with status 500 unless it says otherwise.
        """
        if not (isinstance(exc_type, type) and issubclass(exc_type, BaseException)):
            raise RouteDefinitionError(f"{exc_type!r} is not an exception class.")

        def decorator(func: E) -> E:
            self.boundary.add_handler(exc_type, func)
            if call_kind(func) == "async":  # awaited on the loop (async middleware await it)
                from ..aio.routes import run_now

                self.boundary.run_coroutine = run_now
            return func

        return decorator

    # -- lifecycle (lamroute.lifecycle) ---------------------------------------------------------

    @property
    def lifecycle(self) -> Lifecycle:
        """The app's startup and SnapStart hooks, and whether the startup hooks ran."""
        if self._lifecycle is None:
            from ..lifecycle.hooks import Lifecycle

            self._lifecycle = Lifecycle(self)
        return self._lifecycle

    def on_startup(self, func: E) -> E:
        """Run ``func`` (sync or ``async def``) once per container before the first request:
        in Lambda's INIT phase when the Lambda runtime imports the app, on the first request
        otherwise. A failure is logged once and every request gets a 503. Returns ``func``."""
        self.lifecycle.add_startup(func)
        return func

    def startup(self) -> BaseException | None:
        """Run the startup hooks now unless they ran (requests run them on their own); the
        failure, if any."""
        return self._lifecycle.start() if self._lifecycle is not None else None

    def before_snapshot(self, func: E) -> E:
        """Run ``func`` before Lambda takes the SnapStart snapshot, once lamroute has started
        the app and done the lazy work of a first request (close connections here)."""
        self.lifecycle.before_snapshot.append(func)
        return func

    def after_restore(self, func: E) -> E:
        """Run ``func`` after each SnapStart restore, once lamroute has reset what must differ
        between environments (reconnect, make ids and secrets here)."""
        self.lifecycle.after_restore.append(func)
        return func

    @property
    def dependency_overrides(self) -> DependencyOverrides:
        """``app.dependency_overrides[original] = replacement`` (for tests): ``replacement``
        is called wherever ``original`` was a dependency; ``del``/``clear()`` restore it. The
        routes are bound again on each change: requests pay nothing for it."""
        if self._overrides is None:
            from ..params.dependencies import DependencyOverrides

            self._overrides = DependencyOverrides(self._recompile)
        return self._overrides

    @dependency_overrides.setter
    def dependency_overrides(self, value: Any) -> None:
        from ..params.dependencies import DependencyOverrides

        self._overrides = DependencyOverrides(self._recompile, dict(value).items())
        self._recompile()

    def _recompile(self) -> None:
        recompile(self._compiled, self._overrides, self.boundary)
        if self._websockets is not None:
            self._websockets.recompile(overrides=self._overrides)

    # -- the Lambda entry point ---------------------------------------------------------------

    def __call__(self, event: Any, context: Any = None) -> dict[str, Any]:
        """Handle one Lambda invocation; always returns a valid proxy response."""
        started = time.perf_counter() if self.access_log else 0.0
        cold, self._cold_start = self._cold_start, False
        fmt: PayloadFormat | None = None
        request: Request | None = None
        fields: dict[str, Any] = {"request_id": None, "route": None,
                                  "aws_request_id": getattr(context, "aws_request_id", None)}
        tenant = getattr(context, "tenant_id", None)
        if tenant is not None:  # Lambda's tenant isolation mode
            fields["tenant_id"] = tenant
        token = bind_request_fields(fields)
        try:
            try:
                fmt = detect(event)
                if self._alb is not None and fmt is self._shared_alb:
                    fmt = self._alb
                request = fmt.parse(event, context)
                if type(request) is not Request and is_websocket(request):
                    # handlers (and middleware) reach clients through it
                    request._connections_config = self.connections  # type: ignore[attr-defined]
                fields["request_id"] = request.request_id
                if self._gate is not None:  # startup hooks to run first, or a 503
                    self._gate()
                if self.strip_prefixes:
                    from .adjust import strip_prefixes

                    strip_prefixes(request, self.strip_prefixes)
                if self.cors is not None and self.cors.is_preflight(request):
                    response = self.cors.preflight(request, self.table)
                else:
                    response = self._handle(request)
            except BaseException as exc:  # the boundary: nothing escapes
                reraise_fatal(exc)
                response = self.boundary.handle(exc, request)
            if self.cors is not None and request is not None:
                from .adjust import apply_cors

                apply_cors(self.cors, request, response, self.logger)
            payload = None
            safeguards = self.safeguards
            if request is not None and fmt is not None and request.method != "HEAD":
                try:  # the usual case straight to the format; any failure goes the boundary's way
                    payload = fmt.render(response, request)
                except BaseException as exc:
                    reraise_fatal(exc)
            if payload is None:
                payload = safeguards.fit(
                    render_safely(fmt, response, request, event, self.boundary), fmt, response,
                    request, event)
            elif not safeguards.surely_fits(response):  # (measured only when it might not)
                payload = safeguards.fit(payload, fmt, response, request, event)
        finally:
            unbind_request_fields(token)
        if self.access_log:
            try:  # noqa: SIM105 - suppress() would build a context manager per request
                (self._log_access or self.access_logger())(self.logger, request, payload,
                                                           started, cold, context)
            except Exception:  # logging itself failed (out of memory, a filter that raises):
                pass  # nothing left to tell it with; the answer still goes out
        return payload

    def access_logger(self) -> Callable[..., None]:
        """The function that writes the access line (:mod:`lamroute.logs.access`, loaded with
        the first app that writes them, or with the first line when ``access_log`` was turned
        on later)."""
        if self._log_access is None:
            from ..logs.access import log_access

            self._log_access = log_access
        return self._log_access

    def dispatch(self, request: Request) -> Response:
        """Route ``request`` and call its handler; errors propagate to the boundary."""
        if type(request) is not Request and is_websocket(request):
            return self.websockets.dispatch(request, self.connections)  # type: ignore[arg-type]
        match = self.table.match(request.method, request.path, request.raw_path)
        if match.status == 404:
            boundary = self.boundary
            if not boundary.handlers and boundary.formatter is problem_response:
                answer = route_not_found(request)  # the answer NotFound would get, at once
                if answer is not None:
                    return answer
            raise NotFound(f"No route matches {echo(request.path)}.")
        request.route = match.template
        set_request_field("route", match.template)
        if match.target is None:  # the path is served, not with this method
            from .adjust import not_allowed

            return not_allowed(request, match, self.table, self.gates)
        request.path_params = match.params or {}  # a static match's shared {} is not handed out
        target = match.target
        guarded = target.guarded
        if guarded is None:
            return target.handle(request)
        return guarded(target.handle, request)
