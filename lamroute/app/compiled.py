"""Compiled routes: what registration builds for each route, so a request only walks it.

:func:`compile_route` turns a :class:`~lamroute.Route` into a :class:`CompiledRoute` (its guard
resolved, its signature bound, its response model, safeguards and middleware chain built) and
:func:`recompile` binds them again when ``app.dependency_overrides`` changes. Errors in a route's
definition surface here, at import.

>>> from lamroute import App
>>> app = App(access_log=False)
>>> @app.get("/items/{item_id}")
... def item(item_id: int) -> dict[str, int]:
...     return {"id": item_id}
>>> compiled = app.table.match("GET", "/items/7").target
>>> compiled.path_params, compiled.is_async
(('item_id',), False)
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ..http.request import Request
from ..http.response import Response, to_response
from ..params import Binder, build_binder, build_response_model
from ..params.signature import call_kind
from ..routing.routes import AuthOption, Handler, Route, check_middleware
from ..routing.table import RouteTable, parse_template
from ..safeguards import RouteSafeguard, Safeguards

if TYPE_CHECKING:
    from collections.abc import Awaitable, Mapping

    from ..errors.boundary import Boundary
    from ..security.guards import Guard

__all__ = ["CompiledRoute", "compile_route", "middleware_chain", "recompile"]


class CompiledRoute:
    """A route ready to serve: its binder was built at registration.

    What a request would otherwise look up again (the handler, its status, whether it takes
    arguments) is read once here: a route is immutable once registered.
    """

    __slots__ = ("_chain", "ahandle", "bind", "binder", "guard", "guarded", "handle", "handler",
                 "is_async", "path_params", "route", "safeguard", "serialize", "status")

    def __init__(self, route: Route, binder: Binder, serialize: Callable[[Any], Any] | None = None,
                 guard: Guard | None = None, chain: Handler | None = None,
                 safeguard: RouteSafeguard | None = None,
                 path_params: tuple[str, ...] = ()) -> None:
        self.route = route
        self.binder = binder
        self.serialize = serialize
        self.guard = guard
        self.chain = chain  # sets handle: the chain, or the endpoint when there is no middleware
        # body size, deadline, compression around the whole chain (lamroute.safeguards); what
        # the app calls as guarded(handle, request), None when there is nothing to do
        self.safeguard = safeguard
        self.guarded = safeguard.runner if safeguard is not None else None
        self.handler = route.handler
        self.status = route.status_code
        self.bind = binder.bind if binder.extractors else None
        self.path_params = path_params
        # An async route (handler, dependency or middleware awaits) also has ``ahandle``, its
        # chain awaited on the loop (under async app middleware); see lamroute.aio.routes.
        self.is_async = False
        self.ahandle: Callable[[Request], Awaitable[Response]] | None = None

    @property
    def chain(self) -> Handler | None:
        return self._chain

    @chain.setter
    def chain(self, chain: Handler | None) -> None:
        self._chain = chain
        self.handle: Handler = chain if chain is not None else self.endpoint

    def __call__(self, request: Request) -> Response:
        return self.handle(request)

    def endpoint(self, request: Request) -> Response:
        """The guard, then the handler with its bound arguments (no middleware)."""
        if self.guard is not None:
            self.guard.check(request)
        result = self.handler(**self.bind(request)) if self.bind is not None else self.handler()
        if self.serialize is not None:
            result = self.serialize(result)
        return to_response(result, self.status)


def compile_route(route: Route, *, table: RouteTable[CompiledRoute], auth: AuthOption | None,
                  overrides: Mapping[Any, Callable[..., Any]] | None, safeguards: Safeguards,
                  boundary: Boundary) -> tuple[Route, CompiledRoute, tuple[Guard, ...]]:
    """Compile ``route`` into ``table``: the record to keep (its guard resolved), the compiled
    route, and the guards that decide who may call it (for the answers that list methods)."""
    template = parse_template(route.path, strict_slashes=table.strict_slashes)
    guard = None
    if auth is not None or "auth" in route.options or "public" in route.options:
        from ..security.guards import effective_guard  # only apps that use auth load it

        guard = effective_guard(route.options, auth, f"Route {route.path!r}")
    if guard is not None and route.options.get("auth") is not guard:
        route = replace(route, options={**route.options, "auth": guard})
    binder = build_binder(route.handler, template.params, overrides=overrides)
    serialize = build_response_model(route, returns=binder.dependant.returns)
    compiled = CompiledRoute(route, binder, serialize, guard,
                             safeguard=safeguards.for_route(route.options),
                             path_params=template.params)
    _bind_response_param(compiled)
    gates: tuple[Guard, ...] = ()
    guards = sys.modules.get("lamroute.security.guards")  # no guard exists before it loads
    if guards is not None:
        gates = guards.route_gates(guard, compiled.binder.dependant.calls())
    _wire(compiled, boundary)
    table.add(route.path, route.methods, compiled, template=template)
    return route, compiled, gates


def recompile(routes: Iterable[CompiledRoute],
              overrides: Mapping[Any, Callable[..., Any]] | None, boundary: Boundary) -> None:
    """Bind ``routes`` again (``dependency_overrides`` changed): requests pay nothing for it."""
    for compiled in routes:
        route = compiled.route
        compiled.binder = build_binder(route.handler, compiled.path_params, overrides=overrides)
        compiled.bind = compiled.binder.bind if compiled.binder.extractors else None
        compiled.handler = route.handler
        compiled.serialize = build_response_model(route, returns=compiled.binder.dependant.returns)
        _bind_response_param(compiled)
        _wire(compiled, boundary)


def middleware_chain(app: Any) -> tuple[Handler, bool]:
    """The app middleware around ``app.dispatch``, under the app's deadline (one timer from
    the first middleware to the handler), and whether one of them is async: routing then runs
    on the event loop (:func:`lamroute.aio.routes.adispatch`)."""
    if any(call_kind(m) == "async" for m in app.app_middleware):
        from ..aio.routes import app_chain

        return app.safeguards.cover(app_chain(app)), True
    from ..middleware import build_chain

    chain = build_chain(app.app_middleware, app.dispatch, app.boundary.handle)
    return app.safeguards.cover(chain), False


def _bind_response_param(compiled: CompiledRoute) -> None:
    """``response: Response`` in the signature: the handler answers with that object's
    headers, cookies and status merged in (after the response model)."""
    name = compiled.binder.response_param
    if name is None:
        return
    from ..params.responses import with_response_param

    compiled.handler = with_response_param(
        compiled.route.handler, compiled.serialize, name, compiled.status,
        f"Route {compiled.route.path!r}")
    compiled.serialize = None


def _wire(compiled: CompiledRoute, boundary: Boundary) -> None:
    """Build ``compiled``'s chain: its middleware around its endpoint, awaited where
    something awaits (decided here, once: sync routes never touch the event loop)."""
    middleware = [check_middleware(m) for m in compiled.route.options.get("middleware", ())]
    binder = compiled.binder
    if (binder.is_async or binder.has_exits or binder.kind_of(compiled.handler) == "async"
            or any(call_kind(m) == "async" for m in middleware)):
        from ..aio.routes import wire_route

        wire_route(compiled, middleware, boundary)
        return
    compiled.is_async, compiled.ahandle = False, None  # (overrides may have made it sync)
    if middleware:
        from ..middleware import build_chain

        compiled.chain = build_chain(middleware, compiled.endpoint, boundary.handle)
    else:
        compiled.chain = None
