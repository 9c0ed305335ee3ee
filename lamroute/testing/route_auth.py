"""Which requests go through the gateway's authorizers: those of the routes that require auth.

API Gateway runs an authorizer only on the routes it is attached to. A lamroute app says which
routes need a caller (``auth=``, ``App(auth=...)``, a guard as a dependency; ``public=True`` and
the documentation routes do not), so the emulated API attaches its authorizers the same way:

- a route with a guard that needs a caller gets the Lambda authorizer (``--authorizer``) when
  its guards accept ``lambda`` identities, the JWT authorizer (``--jwt-claims``) when they accept
  ``jwt``/``cognito`` ones (a guard without ``kinds`` accepts both; given both authorizers, the
  Lambda one is used);
- public routes and CORS preflights (every ``OPTIONS``, as an ``OPTIONS /{proxy+}`` route
  without authorizer) get none;
- a path no route serves gets what the proxy route ``ANY /{proxy+}`` would have: the app's
  default guard's authorizer, or none;
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

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..formats import parse_event
from .gateway_auth import AuthorizerOutcome, GatewayAuthorizer
from .jwt_authorizer import JwtAuthorizer

Authorizer = GatewayAuthorizer | JwtAuthorizer
_TOKEN_KINDS = frozenset({"jwt", "cognito"})


@dataclass(frozen=True)
class RouteAuthorizers:
    """The authorizers of an emulated API (a Lambda one and/or a JWT one) and the app whose
    guards say where they apply."""

    app: Any
    lambda_authorizer: GatewayAuthorizer | None = None
    jwt: JwtAuthorizer | None = None

    def authorize(self, event: dict[str, Any], format: str) -> AuthorizerOutcome | None:
        """The authorizer's decision for ``event`` (written into it on success), or ``None``
        when no authorizer is attached to its route."""
        if format == "websocket":
            if self.lambda_authorizer is None or not self.connect_guarded():
                return None
            return self.lambda_authorizer.authorize(event, format)
        request = parse_event(event, None)
        gate = self.pick(request.method, request.path, request.raw_path)
        return None if gate is None else gate.authorize(event, format)

    def pick(self, method: str, path: str, raw_path: str | None = None) -> Authorizer | None:
        """The authorizer attached to the route serving ``method path``, or ``None``."""
        guards = self.guards_for(method, path, raw_path)
        if guards is None:  # not a lamroute app: the authorizer covers the whole API
            return self.lambda_authorizer or self.jwt
        return self._choose(guards)

    def guards_for(self, method: str, path: str, raw_path: str | None = None) -> list[Any] | None:
        """The guards that need a caller on the route of ``method path`` (``None`` when the
        app is no lamroute app)."""
        table = getattr(self.app, "table", None)
        if table is None:
            return None
        if method.upper() == "OPTIONS":
            return []
        for prefix in getattr(self.app, "strip_prefixes", ()):
            if path == prefix or path.startswith(prefix + "/"):
                path, raw_path = path[len(prefix):] or "/", None
                break
        match = table.match(method.upper(), path, raw_path)
        if match.target is not None:
            return _needing_caller(self.app.gates.get(match.target, ()))
        default = getattr(self.app, "auth", None)
        if default is None:
            return []
        from ..security.guards import as_guard

        return _needing_caller([as_guard(default, "App(auth=...)")])

    def connect_guarded(self) -> bool:
        """Whether the app's ``$connect`` (its own, or the implicit one) needs a caller."""
        if not getattr(self.app, "websocket_routes", None):
            return False
        routes = self.app.websockets
        explicit = routes.routes.get("$connect")
        if explicit is not None:
            return bool(_needing_caller([explicit.guard] if explicit.guard else []))
        return bool(_needing_caller(routes.connect_guards or ()))

    def unused(self) -> list[str]:
        """The configured authorizers no route of the app would ever run (to say so)."""
        if getattr(self.app, "table", None) is None:
            return []
        chosen = {id(self._choose(_needing_caller(gates))) for gates in self.app.gates.values()}
        default = getattr(self.app, "auth", None)
        if default is not None:
            from ..security.guards import as_guard

            chosen.add(id(self._choose(_needing_caller([as_guard(default, "App(auth=...)")]))))
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


def _needing_caller(guards: Iterable[Any]) -> list[Any]:
    """Guards asking for an identity (an API-key-only guard needs no authorizer)."""
    return [g for g in guards if getattr(g, "needs_caller", True)]
