"""The routes an API Gateway API declares for an app: a proxy with exceptions, or one per route.

By default (``proxy``) the API has ``ANY /`` and ``ANY /{proxy+}``, guarded like the app's
default guard, and declares a route of its own only where a route's access differs (a public
``/health`` in a guarded app, a partner area behind another authorizer). ``per_route`` declares
every route of the app and nothing else: the gateway answers unknown paths without invoking the
function. Either way ``HEAD`` follows ``GET`` (lamroute answers ``HEAD`` with the ``GET``
route), and in an app with CORS ``OPTIONS`` is never behind an authorizer (preflights carry no
credentials).

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

from .auth import PUBLIC, Access, TemplateError

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
