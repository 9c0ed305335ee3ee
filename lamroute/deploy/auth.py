"""Which authorizer each route needs, read from the app's guards (``lamroute template``).

A route needs a caller when its guard, or a guard it depends on, does; the gateway must then
run an authorizer in front of it, or the guard sees no identity and answers 401 to everyone.
Guards name a ``scheme``; each scheme becomes one authorizer, of the kind its guards accept:

| guard ``kinds`` | REST API | HTTP API | WebSocket API |
|---|---|---|---|
| ``jwt`` / ``cognito`` | Cognito user pool | JWT (issuer, audience) | refused |
| ``lambda`` | Lambda (REQUEST) | Lambda (payload 2.0) | Lambda (REQUEST, on ``$connect``) |
| ``iam`` | IAM (SigV4) | IAM (SigV4) | IAM |
| none | ``--authorizer-kind`` (``cognito``) | (``jwt``) | (``lambda``) |

>>> from lamroute import App
>>> from lamroute.security.guards import requires
>>> app = App(auth=requires())
>>> @app.get("/health", public=True)
... def health() -> None: ...
>>> @app.get("/me")
... def me() -> None: ...
>>> plan = plan_auth(app, api="http")
>>> plan.access[id(app.routes[1])], plan.access[id(app.routes[0])]
(Access(authorizer='BearerAuthAuthorizer', api_key=False), Access(authorizer=None, api_key=False))
>>> plan.authorizers["BearerAuthAuthorizer"].kind
'jwt'
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

AUTHORIZER_KINDS = ("jwt", "cognito", "lambda", "iam")
DEFAULT_KIND = {"rest": "cognito", "http": "jwt", "websocket": "lambda"}
# The identity kind each authorizer puts in the event (lamroute.formats.identity).
_PRODUCES = {"jwt": "jwt", "cognito": "cognito", "lambda": "lambda", "iam": "iam"}
_SUPPORTED = {"rest": ("cognito", "lambda", "iam"), "http": ("jwt", "lambda", "iam"),
              "websocket": ("lambda", "iam")}


class TemplateError(ValueError):
    """The app describes something the template cannot deploy as asked (said in one line)."""


@dataclass(frozen=True)
class LambdaAuthorizer:
    """A Lambda authorizer's code: ``target`` (``module:function``) and what it answers:
    ``flavour`` is ``"rest"`` (IAM policies, ``@rest_authorizer``), ``"http"`` (HTTP API
    policies), ``"http-simple"`` (``@http_authorizer``'s ``isAuthorized``) or ``None``
    (not a lamroute authorizer: REST and WebSocket get policies, HTTP APIs simple answers)."""

    target: str
    flavour: str | None = None


@dataclass(frozen=True)
class AuthOptions:
    """How guards become authorizers.

    ``kinds`` maps a scheme to an authorizer kind (``None`` as the key: every scheme whose
    guards do not say); ``lambda_functions`` maps a scheme (or ``None``) to the authorizer's
    code, deployed as a function of the template (without it the template takes the ARN of an
    existing function as a parameter). ``identity_headers`` and ``ttl`` configure Lambda
    authorizers (the identity sources and the cache).
    """

    kinds: Mapping[str | None, str] = field(default_factory=dict)
    lambda_functions: Mapping[str | None, LambdaAuthorizer] = field(default_factory=dict)
    identity_headers: tuple[str, ...] = ("Authorization",)
    ttl: int = 300

    def __post_init__(self) -> None:
        for scheme, kind in self.kinds.items():
            if kind not in AUTHORIZER_KINDS:
                where = f" for {scheme}" if scheme else ""
                raise TemplateError(f"authorizer kind{where} must be one of "
                                    f"{', '.join(AUTHORIZER_KINDS)}, not {kind!r}")
        if not 0 <= self.ttl <= 3600:
            raise TemplateError("the authorizer TTL is 0-3600 seconds")
        if not self.identity_headers:
            raise TemplateError("a Lambda authorizer needs at least one identity header")


@dataclass(frozen=True)
class Authorizer:
    """One authorizer of the template: its SAM name, kind and the scheme it serves."""

    name: str
    kind: str
    scheme: str
    function: LambdaAuthorizer | None = None


@dataclass(frozen=True)
class Access:
    """What the gateway checks before a route: an authorizer (by name) and an API key.

    ``guards`` are the guards that need the caller the authorizer establishes (not compared:
    two routes behind the same authorizer have the same access); the local gateway picks the
    authorizer it emulates from their ``kinds``."""

    authorizer: str | None = None
    api_key: bool = False
    guards: tuple[Any, ...] = field(default=(), compare=False, repr=False)


PUBLIC = Access()


def gate_access(gates: Iterable[Any]) -> Access:
    """What the gateway checks before a route that runs ``gates`` (its guards, its
    dependencies'): the authorizer of the scheme of the first guard that needs a caller (one
    authorizer per scheme, named after it), and an API key if a guard asks for one.

    The one rule for where authorizers go: ``lamroute template`` attaches them so, and the
    local gateway (``lamroute serve``, the ``TestClient``) runs its emulated ones so.

    >>> from lamroute.security.guards import requires
    >>> gate_access([requires(api_key=True)]), gate_access([requires(scheme="partner")])
    (Access(authorizer=None, api_key=True), Access(authorizer='PartnerAuthorizer', api_key=False))
    """
    found = tuple(gates)
    callers = tuple(g for g in found if getattr(g, "needs_caller", False))
    api_key = any(getattr(g, "api_key", False) for g in found)
    return Access(_name(_scheme(callers[0])) if callers else None, api_key, callers)


def default_access(app: Any) -> Access:
    """The access of the app's default guard (``App(auth=...)``): what its proxy catch-all
    (``ANY /{proxy+}``) gets."""
    default = _default_guard(app)
    return PUBLIC if default is None else gate_access((default,))


def route_gates(app: Any) -> dict[int, tuple[Any, ...]]:
    """Every guarded HTTP route's guards, keyed by ``id(route)``."""
    return {id(compiled.route): tuple(found) for compiled, found in
            getattr(app, "gates", {}).items()}


@dataclass
class AuthPlan:
    """Each route's :class:`Access` (keyed by ``id(route)``) and the authorizers they use."""

    access: dict[int, Access] = field(default_factory=dict)
    authorizers: dict[str, Authorizer] = field(default_factory=dict)
    default: Access = PUBLIC  # the app's default guard (App(auth=...)), for the catch-all

    @property
    def api_key(self) -> bool:
        return any(a.api_key for a in self.access.values()) or self.default.api_key

    @property
    def iam(self) -> bool:
        return any(a.kind == "iam" for a in self.authorizers.values())


def plan_auth(app: Any, *, api: str, options: AuthOptions | None = None) -> AuthPlan:
    """The access of every HTTP route of ``app`` behind an ``api`` (``"rest"``/``"http"``)."""
    options = options or AuthOptions()
    gates = route_gates(app)
    planner = _Planner(api, options, _all_guards(gates.values(), _default_guard(app)))
    plan = AuthPlan()
    for route in app.routes:
        plan.access[id(route)] = planner.access(gates.get(id(route), ()), f"route {route.path}")
    default = _default_guard(app)
    if default is not None:
        plan.default = planner.access((default,), "App(auth=...)")
    plan.authorizers = planner.authorizers
    return plan


def plan_websocket_auth(guards: Iterable[Any], *, options: AuthOptions | None = None,
                        where: str = "$connect") -> tuple[Access, dict[str, Authorizer]]:
    """The access of a WebSocket API's ``$connect`` whose caller must pass one of ``guards``."""
    found = tuple(guards)
    planner = _Planner("websocket", options or AuthOptions(), found)
    if len({_scheme(g) for g in found if g.needs_caller}) > 1:
        raise TemplateError(f"{where}: API Gateway runs one authorizer per route; the guards "
                            "of the WebSocket routes use several schemes")
    return planner.access(found, where), planner.authorizers


class _Planner:
    def __init__(self, api: str, options: AuthOptions, guards: Iterable[Any]) -> None:
        self.api = api
        self.options = options
        self.authorizers: dict[str, Authorizer] = {}
        self.by_scheme: dict[str, Authorizer] = {}
        self.pinned: dict[str, set[str]] = {}
        for guard in guards:
            self.pinned.setdefault(_scheme(guard), set()).update(getattr(guard, "kinds", ()))

    def access(self, gates: Iterable[Any], where: str) -> Access:
        """:func:`gate_access`, checked: what API Gateway cannot deploy is refused."""
        found = gate_access(gates)
        if found.api_key and self.api != "rest":
            raise TemplateError(f"{where} needs an API key, which only REST APIs validate "
                                "(use --api rest)")
        if not found.guards:
            return found
        authorizer = self.authorizer(_scheme(found.guards[0]), where)
        produced = _PRODUCES[authorizer.kind]
        for gate in found.guards:
            kinds = set(getattr(gate, "kinds", ()))
            if kinds and produced not in kinds:
                raise TemplateError(
                    f"{where}: a guard accepts only {', '.join(sorted(kinds))} callers, but "
                    f"the route's authorizer ({authorizer.kind}) gives {produced} callers")
        return found

    def authorizer(self, scheme: str, where: str) -> Authorizer:
        found = self.by_scheme.get(scheme)
        if found is not None:
            return found
        kind = self.kind(scheme, where)
        function = None
        if kind == "lambda":
            functions = self.options.lambda_functions
            function = functions.get(scheme) or functions.get(None)
            _check_flavour(function, self.api, scheme)
        name = _name(scheme)
        if name in self.authorizers:
            raise TemplateError(f"schemes {scheme!r} and {self.authorizers[name].scheme!r} "
                                "give the same authorizer name; rename one")
        found = Authorizer(name, kind, scheme, function)
        self.by_scheme[scheme] = self.authorizers[name] = found
        return found

    def kind(self, scheme: str, where: str) -> str:
        chosen = self.options.kinds.get(scheme)
        if chosen is None:
            families = {_family(k, self.api) for k in self.pinned.get(scheme, ()) if k}
            families.discard(None)
            if len(families) > 1:
                raise TemplateError(
                    f"{where}: the guards of scheme {scheme!r} accept callers of several "
                    f"authorizer kinds ({', '.join(sorted(f for f in families if f))}); choose "
                    f"one with --authorizer-kind {scheme}=KIND")
            chosen = families.pop() if families else (
                self.options.kinds.get(None) or DEFAULT_KIND[self.api])
        if chosen not in _SUPPORTED[self.api]:
            kind_of = {"rest": "REST APIs", "http": "HTTP APIs", "websocket": "WebSocket APIs"}
            raise TemplateError(
                f"{where}: {kind_of[self.api]} have no {chosen} authorizer (they support "
                f"{', '.join(_SUPPORTED[self.api])}); choose another with --authorizer-kind")
        return chosen


def _family(identity_kind: str, api: str) -> str | None:
    if identity_kind in ("jwt", "cognito"):
        return {"rest": "cognito", "http": "jwt", "websocket": identity_kind}[api]
    return identity_kind if identity_kind in ("lambda", "iam") else None


def _check_flavour(function: LambdaAuthorizer | None, api: str, scheme: str) -> None:
    if function is None or function.flavour is None:
        return
    if api in ("rest", "websocket") and function.flavour != "rest":
        raise TemplateError(
            f"{function.target} is an HTTP API authorizer (@http_authorizer); the {api} API's "
            f"scheme {scheme!r} needs IAM policies: decorate it with @rest_authorizer")


def _scheme(guard: Any) -> str:
    return str(getattr(guard, "scheme", "bearerAuth"))


def _name(scheme: str) -> str:
    """A SAM authorizer name (alphanumeric): ``bearerAuth`` → ``BearerAuthAuthorizer``."""
    words = [w for w in re.split(r"[^A-Za-z0-9]+", scheme) if w]
    name = "".join(w[:1].upper() + w[1:] for w in words) or "Default"
    if name[0].isdigit():
        name = "Scheme" + name
    return name if name.endswith("Authorizer") else name + "Authorizer"


def _default_guard(app: Any) -> Any:
    default = getattr(app, "auth", None)
    if default is None:
        return None
    from ..security.guards import as_guard

    return as_guard(default, "App(auth=...)")


def _all_guards(gates: Iterable[tuple[Any, ...]], default: Any) -> list[Any]:
    found = [g for group in gates for g in group]
    if default is not None:
        found.append(default)
    return found
