"""The routes an API Gateway API declares for an app: a proxy with exceptions, or one per route.

By default (``proxy``) the API has ``ANY /`` and ``ANY /{proxy+}``, guarded like the app's
default guard, and declares a route of its own only where a route's access differs (a public
``/health`` in a guarded app, a partner area behind another authorizer). ``per_route`` declares
every route of the app and nothing else: the gateway answers unknown paths without invoking the
function. Either way ``HEAD`` follows ``GET`` (lamroute answers ``HEAD`` with the ``GET``
route), and in an app with CORS ``OPTIONS`` is never behind an authorizer (preflights carry no
credentials). :func:`app_gateway_routes` plans them for an app; :class:`GatewayRouteTable` says
which one a request reaches, so the local gateway runs its emulated authorizers where the
template attaches the real ones (:mod:`lamroute.testing.route_auth`).

>>> from lamroute.deploy.auth import PUBLIC, Access
>>> guarded = Access("CognitoAuthorizer")
>>> for route in plan_routes([("/health", ("GET",), PUBLIC)], api="http", catch_all=guarded):
...     print(route.method, route.path, route.access.authorizer)
ANY / CognitoAuthorizer
GET /health None
HEAD /health None
ANY /{proxy+} CognitoAuthorizer
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..exceptions import RouteDefinitionError
from ..routing.table import HTTP_METHODS, RouteTable
from .auth import PUBLIC, Access, TemplateError, default_access, gate_access, route_gates

PROXY = "/{proxy+}"
ANY = "ANY"


@dataclass(frozen=True)
class GatewayRoute:
    """One API Gateway route: a path template in the gateway's syntax, a method (or ``ANY``)
    and what the gateway checks first."""

    path: str
    method: str
    access: Access = PUBLIC


AppRoute = tuple[str, Iterable[str], Access]
"""An app route as the plan sees it: ``(path, methods, access)``."""


def app_routes(app: Any) -> list[AppRoute]:
    """The app's HTTP routes as the gateway sees them, each with its :func:`gate_access`; a
    route also under each of ``App(strip_prefixes=...)`` (the gateway sees the longer path,
    the app strips it)."""
    gates = route_gates(app)
    prefixes = tuple(getattr(app, "strip_prefixes", ()))
    found: list[AppRoute] = []
    for route in app.routes:
        access = gate_access(gates.get(id(route), ()))
        found.append((route.path, route.methods, access))
        found.extend((prefix + route.path.rstrip("/"), route.methods, access)
                     for prefix in prefixes)
    return found


def app_gateway_routes(app: Any, *, api: str, per_route: bool = False) -> list[GatewayRoute]:
    """The routes an ``api`` (``"rest"``/``"http"``) declares for ``app``, with the access of
    each: what ``lamroute template`` writes and what the local gateway matches requests
    against, so that both put authorizers in front of the same requests.

    >>> from lamroute import App
    >>> from lamroute.security.guards import requires
    >>> app = App(auth=requires())
    >>> @app.get("/health", public=True)
    ... def health() -> None: ...
    >>> table = GatewayRouteTable(app_gateway_routes(app, api="rest"))
    >>> table.match("GET", "/health").access.authorizer, table.match("GET", "/me").path
    (None, '/{proxy+}')
    """
    return plan_routes(app_routes(app), api=api, catch_all=default_access(app),
                       per_route=per_route, cors=getattr(app, "cors", None) is not None)


class GatewayRouteTable:
    """The route API Gateway picks for a request among the routes an API declares: the most
    specific path (a literal segment before a variable, before a greedy ``{proxy+}``), then the
    route of the request's method before ``ANY``; ``None`` when none matches (the gateway
    refuses the request without invoking the function).
    https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-routes.html#http-api-develop-routes.evaluation

    >>> table = GatewayRouteTable([GatewayRoute("/{proxy+}", ANY), GatewayRoute("/a", "GET")])
    >>> table.match("GET", "/a").method, table.match("POST", "/a").path, table.match("GET", "/")
    ('GET', '/{proxy+}', None)
    """

    def __init__(self, routes: Iterable[GatewayRoute]) -> None:
        by_path: dict[str, dict[str, GatewayRoute]] = {}
        found = list(routes)
        for route in found:  # a route's own method first, ANY for the others
            if route.method != ANY:
                by_path.setdefault(route.path, {})[route.method] = route
        for route in found:
            if route.method == ANY:
                entry = by_path.setdefault(route.path, {})
                for method in HTTP_METHODS:
                    entry.setdefault(method, route)
        self.table: RouteTable[GatewayRoute] = RouteTable()
        try:
            for path, entry in by_path.items():
                for method, route in entry.items():
                    self.table.add(path, [method], route)
        except RouteDefinitionError as exc:  # e.g. /{path+} beside the proxy's /{proxy+}
            raise TemplateError(f"{exc} Use --per-route, or give those routes the app's "
                                "default guard.") from None

    def match(self, method: str, path: str) -> GatewayRoute | None:
        found = self.table.match(method.upper(), path)
        return found.target if found.status == 200 else None


def plan_routes(routes: Iterable[AppRoute], *, api: str, catch_all: Access = PUBLIC,
                per_route: bool = False, cors: bool = False) -> list[GatewayRoute]:
    """The API's routes, sorted by path then method (``api`` is ``"rest"`` or ``"http"``)."""
    methods = _methods_by_path(routes)
    if per_route:
        if not methods:
            raise TemplateError("--per-route: the app has no HTTP route to declare")
        found = _per_route(methods)
    else:
        found = _proxy(methods, api=api, catch_all=catch_all, cors=cors)
    unique = {(r.path, r.method): r for r in found}
    return sorted(unique.values(), key=lambda r: (r.path, r.method != ANY, r.method))


def _methods_by_path(routes: Iterable[AppRoute]) -> dict[str, dict[str, Access]]:
    """``{path: {method: access}}``, with ``HEAD`` wherever ``GET`` is (unless declared)."""
    by_path: dict[str, dict[str, Access]] = {}
    for path, route_methods, access in routes:
        entry = by_path.setdefault(path, {})
        for method in route_methods:
            entry[method.upper()] = access
    for entry in by_path.values():
        if "GET" in entry and "HEAD" not in entry:
            entry["HEAD"] = entry["GET"]
    return by_path


def _per_route(methods: dict[str, dict[str, Access]]) -> list[GatewayRoute]:
    found: list[GatewayRoute] = []
    for path, entry in methods.items():
        found.extend(GatewayRoute(path, m, access) for m, access in entry.items())
        # Other methods reach the app, which answers 405 with Allow (and OPTIONS/preflights).
        found.append(GatewayRoute(path, ANY, PUBLIC))
    return found


def _proxy(methods: dict[str, dict[str, Access]], *, api: str, catch_all: Access,
           cors: bool) -> list[GatewayRoute]:
    found = [GatewayRoute("/", ANY, catch_all), GatewayRoute(PROXY, ANY, catch_all)]
    if cors and catch_all != PUBLIC:
        found += [GatewayRoute("/", "OPTIONS", PUBLIC), GatewayRoute(PROXY, "OPTIONS", PUBLIC)]
    differing = {path for path, entry in methods.items()
                 if any(access != catch_all for access in entry.values())}
    if api == "http":
        # HTTP APIs pick the most specific route, an exact method before ANY and any path
        # before a greedy one: only the routes that differ need declaring.
        # https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-routes.html#http-api-develop-routes.evaluation
        for path in sorted(differing):
            found.extend(GatewayRoute(path, m, access) for m, access in methods[path].items()
                         if access != catch_all)
        return found
    return found + _rest_subtrees(methods, differing, catch_all)


def _rest_subtrees(methods: dict[str, dict[str, Access]], differing: set[str],
                   catch_all: Access) -> list[GatewayRoute]:
    """REST APIs resolve a path down the resource tree: rather than rely on ``/partner/...``
    falling back to ``/{proxy+}`` once ``/partner/reports`` is a resource, every route under
    the top-level segment of a route that differs is declared, with ``ANY`` (public) for the
    methods the app answers with 405 or an automatic ``OPTIONS``.
    https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-set-up-simple-proxy.html
    """
    found: list[GatewayRoute] = []
    if "/" in differing:
        found.extend(GatewayRoute("/", m, access) for m, access in methods["/"].items()
                     if access != catch_all)
    tops = {_top(path) for path in differing if path != "/"}
    for top in sorted(tops):
        if top.startswith("{"):
            raise TemplateError(
                f"/{top}: a REST API cannot have a path variable beside /{{proxy+}}; use "
                "--per-route, or give the routes under it the app's default guard")
        for path, entry in methods.items():
            if path != "/" and _top(path) == top:
                found.extend(GatewayRoute(path, m, access) for m, access in entry.items())
                found.append(GatewayRoute(path, ANY, PUBLIC))
    return found


def _top(path: str) -> str:
    return path.strip("/").split("/", 1)[0]
