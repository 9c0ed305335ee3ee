"""Write Lambda authorizers in the lamroute style: a function in, a Lambda handler out.

>>> @rest_authorizer
... def check(request: AuthorizerRequest) -> Allow | Deny:
...     if request.bearer_token == "let-me-in":
...         return Allow("user-1", scopes=["notes:read"], context={"tier": "gold"})
...     return Deny()
>>> answer = check({"type": "TOKEN", "authorizationToken": "Bearer let-me-in",
...     "methodArn": "arn:aws:execute-api:us-east-1:123456789012:api1/prod/GET/notes"})
>>> answer["principalId"], answer["policyDocument"]["Statement"][0]["Resource"]
('user-1', ['arn:aws:execute-api:us-east-1:123456789012:api1/prod/GET/notes'])

The function returns :class:`Allow`, :class:`Deny`, :class:`Unauthenticated` or a bool. Anything
it raises, and any answer the gateway would refuse, becomes a deny (logged, token never
written): an authorizer never fails open and never answers with an unformatted error.

A policy names exactly what was decided, and no more: by default the method ARN of the request
(``resources="request"``). ``resources="whole_api"`` or a list of ``(method, path)`` pairs widen
it, an explicit choice because of the gateway's authorizer cache (see :class:`Allow`).
``scopes`` and ``groups`` travel in the context as ``scope`` (space-separated) and ``groups``
(a JSON array string), which ``request.auth`` reads back, so route guards work behind a lamroute
authorizer.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from .formats.authorizer import AuthorizerRequest, MethodArn, policy_answer, simple_answer
from .logs import configure

__all__ = [
    "Allow",
    "AuthorizerHandler",
    "AuthorizerRequest",
    "Deny",
    "MethodArn",
    "Unauthenticated",
    "http_authorizer",
    "rest_authorizer",
]

Resources = Literal["request", "whole_api"] | Sequence[tuple[str, str]]
ContextValue = str | int | float | bool
logger = logging.getLogger("lamroute.authorizer")
_SCOPES = ("request", "whole_api")


@dataclass(frozen=True)
class Allow:
    """Let the caller in as ``principal_id``; ``context`` values must be str, number or bool.

    ``resources`` is what the policy allows:

    - ``"request"`` (the default): the method ARN of this request only
      (``.../prod/GET/notes/7``), the least privilege.
    - ``"whole_api"``: every method and path of the stage (``.../prod/*/*``).
    - ``[("GET", "/notes/{note_id}"), ...]``: those routes (``{param}`` becomes ``*``).

    Caching decides which is right. With authorizer caching on (TTL 300 s unless configured;
    0 turns it off), API Gateway keeps the policy per identity source value (the token), not
    per path, and judges each later request of that token against the cached policy without
    calling the authorizer. So a policy wider than the decision grants more than was decided:
    ``"whole_api"`` from an authorizer that looks at the path lets a token allowed on
    ``/public`` into ``/admin`` for the TTL. A narrow policy errs the safe way: the same token on
    another method or path gets 403 until the entry expires. Use ``"whole_api"`` only when the
    decision depends on the caller alone; when it depends on the path, keep ``"request"`` and
    set the TTL to 0 (or, on an HTTP API deciding per route, add ``$context.routeKey`` to the
    identity sources and allow that route's ``(method, path)``).
    HTTP API simple answers (``isAuthorized``) have no resources: a cached one answers for
    every route. AWS: "To enable caching, your authorizer must return a policy that is
    applicable to all methods across an API"; HTTP APIs use "the cached authorizer response for
    all routes of an API that use the authorizer".
    https://docs.aws.amazon.com/apigateway/latest/developerguide/configure-api-gateway-lambda-authorization.html
    https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-lambda-authorizer.html#http-api-lambda-authorizer.caching
    https://repost.aws/knowledge-center/api-gateway-lambda-authorization-errors

    >>> Allow("user-1", resources="whole_api").resources
    'whole_api'
    """

    principal_id: str
    context: Mapping[str, ContextValue] = field(default_factory=dict)
    scopes: Iterable[str] = ()
    groups: Iterable[str] = ()
    resources: Resources = "request"
    usage_identifier_key: str | None = None

    def __post_init__(self) -> None:
        _check_resources(self.resources, "Allow")


@dataclass(frozen=True)
class Deny:
    """Refuse the caller: the gateway answers 403.

    ``resources`` as for :class:`Allow`, the method ARN of this request by default. Under the
    authorizer cache a narrow deny refuses the same token elsewhere as well (nothing allows it
    there); ``Deny(resources="whole_api")`` says so explicitly, for a caller refused everywhere.
    """

    principal_id: str = "anonymous"
    context: Mapping[str, ContextValue] = field(default_factory=dict)
    resources: Resources = "request"

    def __post_init__(self) -> None:
        _check_resources(self.resources, "Deny")


def _check_resources(resources: Any, what: str) -> None:
    if isinstance(resources, str):
        if resources not in _SCOPES:
            raise TypeError(f"{what}(resources={resources!r}): use 'request', 'whole_api' or a "
                            "list of (method, path) pairs")
        return
    if not resources or not all(isinstance(pair, tuple) and len(pair) == 2
                                for pair in resources):
        raise TypeError(f"{what}(resources=...) takes a non-empty list of (method, path) pairs")


@dataclass(frozen=True)
class Unauthenticated:
    """No valid credential: REST APIs answer 401 (HTTP APIs 403, as for any deny)."""


class AuthorizerUnauthorized(Exception):
    """Raised to make a REST API answer 401: the gateway reads the message ``Unauthorized``.

    https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-use-lambda-authorizer.html
    """

    def __init__(self) -> None:
        super().__init__("Unauthorized")


Decision = Allow | Deny | Unauthenticated | bool
AuthorizerFunc = Callable[[AuthorizerRequest], Decision]


def checked_context(values: Mapping[str, Any]) -> dict[str, ContextValue]:
    """``values`` when every key is a string and every value a str, int, float or bool."""
    out: dict[str, ContextValue] = {}
    for key, value in values.items():
        if not isinstance(key, str) or not isinstance(value, (str, int, float, bool)):
            raise TypeError(f"authorizer context {key!r}: values must be str, number or bool, "
                            f"not {type(value).__name__}")
        out[key] = value
    return out


class AuthorizerHandler:
    """The Lambda handler around an authorizer function (``handler.func`` is the function)."""

    def __init__(self, func: AuthorizerFunc, *, simple: bool, http: bool) -> None:
        self.func = func
        self.simple = simple
        self.http = http
        self.__name__ = getattr(func, "__name__", "authorizer")
        self.__doc__ = getattr(func, "__doc__", None)
        configure()

    def __call__(self, event: Any, context: Any = None) -> dict[str, Any]:
        try:
            request = AuthorizerRequest(event)
        except Exception as exc:
            logger.error("authorizer event refused: %s", exc)
            return self._deny_unknown(event)
        try:
            decision = self.func(request)
            return self._answer(request, decision)
        except AuthorizerUnauthorized:
            raise
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # deny, never fail open nor with a raw error (sys.exit too)
            logger.error("authorizer failed, denying: %s", type(exc).__name__, exc_info=exc,
                         extra={"method_arn": request.method_arn})
            return self._deny(request, Deny())

    def _answer(self, request: AuthorizerRequest, decision: Decision) -> dict[str, Any]:
        if decision is True:
            decision = Allow("anonymous")
        elif decision is False:
            decision = Deny()
        if isinstance(decision, Unauthenticated):
            if self.http and self.simple and request.version == "2.0":
                return simple_answer(False, None)
            if self.http:
                return self._deny(request, Deny())
            raise AuthorizerUnauthorized()
        if isinstance(decision, Deny):
            return self._deny(request, decision)
        if not isinstance(decision, Allow):
            raise TypeError(f"an authorizer returned {type(decision).__name__}; return Allow, "
                            "Deny, Unauthenticated or a bool")
        context = checked_context(decision.context)
        if decision.scopes:
            context.setdefault("scope", " ".join(_strings(decision.scopes, "scopes")))
        if decision.groups:
            context.setdefault("groups", json.dumps(_group_names(decision.groups)))
        if self.http:
            # HTTP APIs pass only the context on (under `lambda`): keep the principal in it.
            context.setdefault("principalId", decision.principal_id)
        if self.simple and request.version == "2.0":
            return simple_answer(True, context)
        return policy_answer(decision.principal_id, "Allow",
                             _resources(request, decision.resources), context,
                             decision.usage_identifier_key)

    def _deny(self, request: AuthorizerRequest, deny: Deny) -> dict[str, Any]:
        context = checked_context(deny.context)
        if self.simple and request.version == "2.0":
            return simple_answer(False, context)
        return policy_answer(deny.principal_id, "Deny", _resources(request, deny.resources),
                             context, None)

    def _deny_unknown(self, event: Any) -> dict[str, Any]:
        arn = None
        if isinstance(event, Mapping):
            arn = event.get("routeArn") or event.get("methodArn")
        if self.simple and self.http:
            return simple_answer(False, None)
        return policy_answer("anonymous", "Deny", [arn if isinstance(arn, str) else "*"],
                             None, None)


def _strings(values: Iterable[str], what: str) -> list[str]:
    # Scopes are joined with spaces: a scope token holds none (RFC 6749, section 3.3).
    if isinstance(values, str):
        raise TypeError(f"Allow({what}=...) takes a list, not a string")
    items = [str(v) for v in values]
    if any(not v or "," in v or " " in v for v in items):
        raise TypeError(f"Allow({what}=...) values may not be empty or hold spaces or commas")
    return items


def _group_names(values: Iterable[str]) -> list[str]:
    # Groups travel as a JSON array string, which keeps each name whole: any non-empty string
    # is a name ("Domain Admins", "R&D, Europe"), as Okta or Entra ID issue them.
    if isinstance(values, str):
        raise TypeError("Allow(groups=...) takes a list, not a string")
    items = list(values)
    if any(not isinstance(v, str) or not v for v in items):
        raise TypeError("Allow(groups=...) values must be non-empty strings")
    return items


def _resources(request: AuthorizerRequest, resources: Resources) -> list[str]:
    if resources == "request":
        return [request.method_arn]
    if resources == "whole_api":
        return [request.arn.for_api()]
    return [request.arn.for_route(method, path) for method, path in resources]


def rest_authorizer(func: AuthorizerFunc) -> AuthorizerHandler:
    """A REST API TOKEN/REQUEST authorizer answering IAM policies."""
    return AuthorizerHandler(func, simple=False, http=False)


def http_authorizer(
    func: AuthorizerFunc | None = None, *, simple: bool = True
) -> Any:
    """An HTTP API authorizer: simple answers (``isAuthorized``) or, ``simple=False``, policies.

    Payload 1.0 events always get a policy (the only answer that version knows). The principal
    is added to the context as ``principalId``: HTTP APIs pass only the context on. Use bare
    (``@http_authorizer``) or configured (``@http_authorizer(simple=False)``).
    """
    def decorate(inner: AuthorizerFunc) -> AuthorizerHandler:
        return AuthorizerHandler(inner, simple=simple, http=True)

    return decorate(func) if func is not None else decorate
