"""Route guards: who may call a route, checked before its parameters are bound.

>>> from lamroute import App
>>> from lamroute.testing import TestClient
>>> app = App(access_log=False)
>>> @app.get("/admin", auth=requires(scopes=["admin"]))
... def admin() -> dict[str, bool]:
...     return {"ok": True}
>>> client = TestClient(app, format="http")
>>> client.get("/admin").status_code
401
>>> client.get("/admin", identity={"scopes": ["admin"]}).status_code
200

No identity gives 401 with ``WWW-Authenticate``; an identity without the rights gives 403. Both
are problems raised as :class:`~lamroute.errors.Unauthorized` / :class:`~lamroute.errors.Forbidden`,
so the app's error formatter shapes them. A default guard set with ``App(auth=...)`` or
``Router(auth=...)`` applies to every route that has none; ``public=True`` opts a route out.
An API key alone is no identity (it names a client for usage plans): ``requires(api_key=True)``
asks for one explicitly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..exceptions import Forbidden, HTTPError, RouteDefinitionError, Unauthorized
from ..http.identity import Identity
from ..http.request import Request
from ..routing.routes import AuthOption, Predicate

if TYPE_CHECKING:
    from ..routing.routes import Route, RouteOptions


DEFAULT_SCHEME = "bearerAuth"
BEARER_SCHEME: Mapping[str, Any] = {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
API_KEY_SCHEME = "apiKeyAuth"
# REST APIs read the key from the X-API-Key header (apiKeySource HEADER, the default):
# https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-api-key-source.html
API_KEY_SCHEME_OBJECT: Mapping[str, Any] = {"type": "apiKey", "in": "header", "name": "x-api-key"}


@dataclass(frozen=True, eq=False)
class Guard:
    """Requirements on the caller; built by :func:`requires`, checked with :meth:`check`.

    ``scopes``: all needed; ``groups``: any one suffices; ``kinds``: identity kinds accepted;
    ``predicates``: each must return true; ``api_key``: an API key the gateway validated is
    needed (alone, it asks for no caller). ``scheme`` names the OpenAPI security scheme.
    A guard is also a dependency: ``user: Identity = Depends(requires(scopes=["admin"]))``
    checks the caller and gives its identity (and the OpenAPI document shows the requirement).
    """

    scopes: frozenset[str] = frozenset()
    groups: frozenset[str] = frozenset()
    kinds: frozenset[str] = frozenset()
    predicates: tuple[Predicate, ...] = ()
    scheme: str = DEFAULT_SCHEME
    scheme_object: Mapping[str, Any] = field(default_factory=lambda: dict(BEARER_SCHEME))
    realm: str = "api"
    api_key: bool = False
    # False only for an API-key-only guard: requires(api_key=True) and predicates at most.
    needs_caller: bool = field(init=False, repr=False)

    def __post_init__(self) -> None:
        needs = not self.api_key or bool(self.scopes or self.groups or self.kinds)
        object.__setattr__(self, "needs_caller", needs)

    def check(self, request: Request) -> Identity:
        """The caller's identity; raises 401 without one and 403 when it falls short."""
        identity = request.auth
        if self.needs_caller and not identity.authenticated:
            raise Unauthorized("Authentication is required.",
                               headers={"WWW-Authenticate": f'Bearer realm="{self.realm}"'})
        if self.api_key and identity.api_key is None:
            # As the gateway answers a method that requires a key and gets none: 403.
            raise Forbidden("A valid API key is required.")
        if self.kinds and identity.kind not in self.kinds:
            raise Forbidden("This kind of credential cannot call this route.")
        if not identity.scopes.issuperset(self.scopes):
            needed = " ".join(sorted(self.scopes))
            raise Forbidden(
                "The token lacks a required scope.",
                headers={"WWW-Authenticate": (
                    f'Bearer realm="{self.realm}", error="insufficient_scope", scope="{needed}"'
                )},  # RFC 6750 section 3.1
            )
        if self.groups and identity.groups.isdisjoint(self.groups):
            raise Forbidden("The caller is not in a group allowed to call this route.")
        for predicate in self.predicates:
            if not predicate(identity):
                raise Forbidden("The caller is not allowed to call this route.")
        return identity

    def __call__(self, request: Request) -> Identity:
        """As a dependency: the checked caller."""
        return self.check(request)

    @property
    def openapi_security(self) -> list[dict[str, list[str]]]:
        """The OpenAPI security requirement of a route with this guard (all of its schemes)."""
        requirement = {self.scheme: sorted(self.scopes)} if self.needs_caller else {}
        if self.api_key:
            requirement[API_KEY_SCHEME] = []
        return [requirement]

    @property
    def openapi_security_schemes(self) -> dict[str, dict[str, Any]]:
        """The ``components.securitySchemes`` entries this guard refers to."""
        schemes = {self.scheme: dict(self.scheme_object)} if self.needs_caller else {}
        if self.api_key:
            schemes[API_KEY_SCHEME] = dict(API_KEY_SCHEME_OBJECT)
        return schemes


def requires(
    *predicates: Predicate,
    scopes: Iterable[str] = (),
    groups: Iterable[str] = (),
    kinds: Iterable[str] = (),
    api_key: bool = False,
    scheme: str = DEFAULT_SCHEME,
    scheme_object: Mapping[str, Any] | None = None,
    realm: str = "api",
) -> Guard:
    """A :class:`Guard`: an authenticated caller with all ``scopes``, one of ``groups``, ...

    ``api_key=True``: the request must carry an API key the gateway validated (REST APIs,
    ``requestContext.identity.apiKey``); without other requirements no caller is needed, as an
    API key names a client application, not a user.

    >>> requires(scopes=["notes:write"]).openapi_security
    [{'bearerAuth': ['notes:write']}]
    >>> requires(api_key=True).openapi_security
    [{'apiKeyAuth': []}]
    """
    for name, values in (("scopes", scopes), ("groups", groups), ("kinds", kinds)):
        if isinstance(values, str):
            raise RouteDefinitionError(f"requires({name}=...) takes a list, not the string "
                                       f"{values!r}.")
    for predicate in predicates:
        if not callable(predicate):
            raise RouteDefinitionError(f"requires(): {predicate!r} is not callable.")
    if '"' in realm or "\\" in realm:
        raise RouteDefinitionError("requires(realm=...) may not contain quotes or backslashes.")
    if type(api_key) is not bool:
        raise RouteDefinitionError(f"requires(api_key=...) takes True or False, not {api_key!r}.")
    return Guard(frozenset(scopes), frozenset(groups), frozenset(kinds), tuple(predicates),
                 scheme, dict(scheme_object or BEARER_SCHEME), realm, api_key)


authenticated = requires()
"""A guard that only asks for some identity (an API key alone is none)."""


def as_guard(option: Any, where: str) -> Guard:
    """``auth=`` as a :class:`Guard` (a bare predicate is wrapped); raises at registration."""
    if isinstance(option, Guard):
        return option
    if callable(option):
        return requires(option)
    raise RouteDefinitionError(f"{where}: auth={option!r} is not a Guard or a predicate.")


def effective_guard(options: RouteOptions, default: AuthOption | None, where: str) -> Guard | None:
    """The guard a route runs: its own ``auth``, else ``default``; ``None`` when public."""
    if options.get("public"):
        if options.get("auth") is not None:
            raise RouteDefinitionError(f"{where}: a route cannot be both public and guarded.")
        return None
    chosen = options.get("auth")
    if chosen is None:
        chosen = default
    return None if chosen is None else as_guard(chosen, where)


def route_gates(guard: Guard | None, calls: Iterable[Callable[..., Any]]) -> tuple[Guard, ...]:
    """Every guard a route runs before its handler: its ``auth`` and the guards it depends on
    (``Depends(requires(...))``, ``Depends(current_identity)``)."""
    gates = [guard] if guard is not None else []
    for call in calls:
        gate = authenticated if call is current_identity else call
        if isinstance(gate, Guard) and all(gate is not g for g in gates):
            gates.append(gate)
    return tuple(gates)


def allowed_methods(request: Request, targets: Mapping[str, Any],
                    gates: Mapping[Any, tuple[Guard, ...]]) -> tuple[str, ...]:
    """The ``Allow`` list of a path for this caller: the methods whose guards it passes.

    ``targets`` maps each method of the path to its route, ``gates`` a route to its guards.
    A caller who passes none of them gets their answer (401 before 403), as the route would
    give it: a 405 or an automatic ``OPTIONS`` never names a method the caller may not call.
    """
    visible: set[str] = set()
    refusals: list[HTTPError] = []
    for method, target in targets.items():
        try:
            for gate in gates.get(target, ()):
                gate.check(request)
        except HTTPError as exc:
            refusals.append(exc)
            continue
        visible.add(method)
    if not visible and refusals:
        raise next((r for r in refusals if r.status == 401), refusals[0])
    if "GET" in visible:
        visible.add("HEAD")
    visible.add("OPTIONS")
    return tuple(sorted(visible))


def route_security(route: Route) -> list[dict[str, list[str]]] | None:
    """OpenAPI ``security`` for a registered route: the guard's, ``[]`` if public, else None."""
    if route.options.get("public"):
        return []
    guard = route.options.get("auth")
    return guard.openapi_security if isinstance(guard, Guard) else None


def security_schemes(routes: Iterable[Route]) -> dict[str, dict[str, Any]]:
    """``components.securitySchemes`` for every guard used by ``routes``."""
    schemes: dict[str, dict[str, Any]] = {}
    for route in routes:
        guard = route.options.get("auth")
        if isinstance(guard, Guard):
            schemes.update(guard.openapi_security_schemes)
    return schemes


def current_identity(request: Request) -> Identity:
    """The caller, or 401 when there is none: for handlers and ``Depends``.

    >>> def me(request: Request) -> dict[str, str | None]:
    ...     return {"user": current_identity(request).principal_id}
    """
    return authenticated.check(request)


def optional_identity(request: Request) -> Identity | None:
    """The caller, or ``None`` for an anonymous request."""
    identity = request.auth
    return identity if identity.authenticated else None
