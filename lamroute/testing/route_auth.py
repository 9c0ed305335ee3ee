"""Which requests go through the gateway's authorizers: those of the routes that require auth.

API Gateway runs an authorizer only on the routes it is attached to. The emulated API attaches
its authorizers where ``lamroute template`` does, with the same code
(:func:`lamroute.deploy.routes.app_gateway_routes`): the routes the API would declare, each
with the access of its guards (:func:`lamroute.deploy.auth.gate_access`), and each request
matched against them as the gateway matches it. So:

- a route whose guard (its ``auth=``, ``App(auth=...)``, a guard as a dependency) needs a
  caller is behind an authorizer; ``public=True``, the documentation routes and an API-key-only
  guard are not;
- a path no route serves reaches ``ANY /{proxy+}``: the app's default guard's authorizer, or
  none (with a ``--per-route`` template, the gateway refuses it first);
- in an app with CORS, preflights (``OPTIONS``) are never behind an authorizer; the methods a
  route does not have follow the template's rules too;
- the authorizer emulated in front of a guarded route is the Lambda one (``--authorizer``) when
  its guards accept ``lambda`` identities, the JWT one (``--jwt-claims``) when they accept
  ``jwt``/``cognito`` ones (a guard without ``kinds`` accepts both; given both authorizers, the
  Lambda one is used);
- a WebSocket API authorizes at ``$connect`` only (explicit or implicit, when it is guarded),
  with the Lambda authorizer; each message of the connection carries what it returned.

An app that is not a lamroute ``App`` (any ``(event, context)`` callable) gets the authorizers
on every request.

>>> from lamroute import App
>>> from lamroute.security.guards import requires
>>> app = App(auth=requires())
>>> _ = app.get("/health", public=True)(lambda: "ok")
>>> _ = app.get("/me")(lambda: "me")
>>> gates = RouteAuthorizers(app, jwt=JwtAuthorizer({"sub": "u1"}))
>>> gates.pick("GET", "/health") is None, gates.pick("GET", "/me") is gates.jwt
(True, True)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..formats import parse_event
from .gateway_auth import AuthorizerOutcome, GatewayAuthorizer
from .jwt_authorizer import JwtAuthorizer

if TYPE_CHECKING:
    from ..deploy.auth import Access
    from ..deploy.routes import GatewayRouteTable

# The rule lives in lamroute.deploy, loaded with the first request an authorizer could see (a
# TestClient without authorizers never loads it).

Authorizer = GatewayAuthorizer | JwtAuthorizer
_TOKEN_KINDS = frozenset({"jwt", "cognito"})
# The API whose route selection a payload format's requests follow.
_API = {"rest": "rest", "custom": "rest", "http": "http", "http-v1": "http"}


@dataclass(frozen=True)
class RouteAuthorizers:
    """The authorizers of an emulated API (a Lambda one and/or a JWT one) and the app whose
    guards say where they apply; ``per_route``: the API declares one route per app route
    (``lamroute template --per-route``) rather than a proxy."""

    app: Any
    lambda_authorizer: GatewayAuthorizer | None = None
    jwt: JwtAuthorizer | None = None
    per_route: bool = False
    _tables: dict[str, GatewayRouteTable | None] = field(
        default_factory=dict, init=False, repr=False, compare=False)

    def authorize(self, event: dict[str, Any], format: str) -> AuthorizerOutcome | None:
        """The authorizer's decision for ``event`` (written into it on success), or ``None``
        when no authorizer is attached to its route."""
        if format == "websocket":
            if self.lambda_authorizer is None or not self.connect_guarded():
                return None
            return self.lambda_authorizer.authorize(event, format)
        request = parse_event(event, None)  # its path is the one the gateway matched
        gate = self.pick(request.method, request.path, request.raw_path,
                         api=_API.get(format, "http"))
        return None if gate is None else gate.authorize(event, format)

    def pick(self, method: str, path: str, raw_path: str | None = None, *,
             api: str = "rest") -> Authorizer | None:
        """The authorizer attached to the route the gateway of an ``api`` (``"rest"`` or
        ``"http"``) picks for ``method path``, or ``None``."""
        access = self.access(method, path, api=api)
        if access is None:  # not a lamroute app: the authorizer covers the whole API
            return self.lambda_authorizer or self.jwt
        if access.authorizer is None:
            return None
        # The route's own guards pick the emulated authorizer when the gateway route is its
        # (or one behind the same authorizer); a catch-all's are the default guard.
        own = self._own_access(method, path, raw_path)
        return self._choose(list(own.guards if own == access else access.guards))

    def access(self, method: str, path: str, *, api: str = "rest") -> Access | None:
        """What the gateway checks before ``method path``, as ``lamroute template`` declares
        the API (``None`` when the app is no lamroute app)."""
        if getattr(self.app, "table", None) is None:
            return None
        from ..deploy.auth import default_access

        table = self._table(api)
        route = table.match(method, path) if table is not None else None
        # No declared route: a --per-route API refuses it before any authorizer (the local
        # gateway too, with that template); served as a proxy would serve it otherwise.
        return route.access if route is not None else default_access(self.app)

    def _table(self, api: str) -> GatewayRouteTable | None:
        if api not in self._tables:
            self._tables[api] = self._plan(api, self.per_route) or self._plan(api, True)
        return self._tables[api]

    def _plan(self, api: str, per_route: bool) -> GatewayRouteTable | None:
        """The API's routes, ``None`` where ``lamroute template`` refuses the app (a REST
        ``/{slug}`` beside ``/{proxy+}``: route by route, as it suggests) or it has none (every
        request is then the catch-all's)."""
        from ..deploy.auth import TemplateError
        from ..deploy.routes import GatewayRouteTable, app_gateway_routes

        try:
            return GatewayRouteTable(app_gateway_routes(self.app, api=api, per_route=per_route))
        except TemplateError:
            return None

    def _own_access(self, method: str, path: str, raw_path: str | None) -> Access | None:
        """The access of the app route serving ``method path`` (after its strip prefixes)."""
        for prefix in getattr(self.app, "strip_prefixes", ()):
            if path == prefix or path.startswith(prefix + "/"):
                path, raw_path = path[len(prefix):] or "/", None
                break
        match = self.app.table.match(method.upper(), path, raw_path)
        if match.target is None:
            return None
        from ..deploy.auth import gate_access

        return gate_access(self.app.gates.get(match.target, ()))

    def connect_guarded(self) -> bool:
        """Whether the app's ``$connect`` (its own, or the implicit one) needs a caller: where
        ``lamroute template`` attaches the WebSocket API's authorizer."""
        if not getattr(self.app, "websocket_routes", None):
            return False
        from ..deploy.app_facts import connect_gates
        from ..deploy.auth import gate_access

        return gate_access(connect_gates(self.app)).authorizer is not None

    def unused(self) -> list[str]:
        """The configured authorizers no route of the app would ever run (to say so)."""
        if getattr(self.app, "table", None) is None:
            return []
        from ..deploy.auth import default_access, gate_access

        accesses = [gate_access(gates) for gates in self.app.gates.values()]
        chosen = {id(self._choose(list(a.guards))) for a in [*accesses,
                                                              default_access(self.app)]}
        if self.connect_guarded():
            chosen.add(id(self.lambda_authorizer))
        named = (("--authorizer", self.lambda_authorizer), ("--jwt-claims", self.jwt))
        return [name for name, gate in named if gate is not None and id(gate) not in chosen]

    def _choose(self, guards: list[Any]) -> Authorizer | None:
        if not guards:
            return None
        kinds = [set(g.kinds) for g in guards]
        found: list[Authorizer] = []
        if self.lambda_authorizer is not None and any(not k or "lambda" in k for k in kinds):
            found.append(self.lambda_authorizer)
        if self.jwt is not None and any(not k or k & _TOKEN_KINDS for k in kinds):
            found.append(self.jwt)
        if len(found) == 2 and any(k & _TOKEN_KINDS for k in kinds) and not any(
                "lambda" in k for k in kinds):
            return self.jwt  # the guards name token kinds only
        return found[0] if found else None

