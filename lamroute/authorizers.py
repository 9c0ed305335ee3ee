"""Write Lambda authorizers in the lamroute style: a function in, a Lambda handler out.

>>> @rest_authorizer
... def check(request: AuthorizerRequest) -> Allow | Deny:
...     if request.bearer_token == "let-me-in":
...         return Allow("user-1", scopes=["notes:read"], context={"tier": "gold"})
...     return Deny()
>>> answer = check({"type": "TOKEN", "authorizationToken": "Bearer let-me-in",
...     "methodArn": "arn:aws:execute-api:us-east-1:123456789012:api1/prod/GET/notes"})
>>> answer["principalId"], answer["policyDocument"]["Statement"][0]["Resource"]
('user-1', ['arn:aws:execute-api:us-east-1:123456789012:api1/prod/*/*'])

The function returns :class:`Allow`, :class:`Deny`, :class:`Unauthenticated` or a bool. Anything
it raises, and any answer the gateway would refuse, becomes a deny (logged, token never
written): an authorizer never fails open and never answers with an unformatted error.

``Allow(..., resources="api")`` (the default) allows the whole API stage: API Gateway caches an
authorizer's answer per identity source, and a policy naming only the current method would then
refuse the same caller on every other route. Use ``resources="route"`` (the method ARN of the
request) or a list of ``(method, path)`` pairs to narrow it. ``scopes`` and ``groups`` travel in
the context as ``scope`` (space-separated) and ``groups`` (a JSON array string), which
``request.auth`` reads back, so route guards work behind a lamroute authorizer.
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

Resources = Literal["api", "route"] | Sequence[tuple[str, str]]
ContextValue = str | int | float | bool
logger = logging.getLogger("lamroute.authorizer")


@dataclass(frozen=True)
class Allow:
    """Let the caller in as ``principal_id``; ``context`` values must be str, number or bool."""

    principal_id: str
    context: Mapping[str, ContextValue] = field(default_factory=dict)
    scopes: Iterable[str] = ()
    groups: Iterable[str] = ()
    resources: Resources = "api"
    usage_identifier_key: str | None = None


@dataclass(frozen=True)
class Deny:
    """Refuse the caller: the gateway answers 403."""

    principal_id: str = "anonymous"
    context: Mapping[str, ContextValue] = field(default_factory=dict)


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
        except Exception as exc:  # deny, never fail open nor with a raw error
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
            context.setdefault("groups", json.dumps(_strings(decision.groups, "groups")))
        if self.http:
            # HTTP APIs pass only the context on (under `lambda`): keep the principal in it.
            context.setdefault("principalId", decision.principal_id)
        if self.simple and request.version == "2.0":
            return simple_answer(True, context)
        return policy_answer(decision.principal_id, "Allow", _resources(request, decision),
                             context, decision.usage_identifier_key)

    def _deny(self, request: AuthorizerRequest, deny: Deny) -> dict[str, Any]:
        context = checked_context(deny.context)
        if self.simple and request.version == "2.0":
            return simple_answer(False, context)
        return policy_answer(deny.principal_id, "Deny", [request.method_arn], context, None)

    def _deny_unknown(self, event: Any) -> dict[str, Any]:
        arn = None
        if isinstance(event, Mapping):
            arn = event.get("routeArn") or event.get("methodArn")
        if self.simple and self.http:
            return simple_answer(False, None)
        return policy_answer("anonymous", "Deny", [arn if isinstance(arn, str) else "*"],
                             None, None)


def _strings(values: Iterable[str], what: str) -> list[str]:
    if isinstance(values, str):
        raise TypeError(f"Allow({what}=...) takes a list, not a string")
    items = [str(v) for v in values]
    if any(not v or "," in v or " " in v for v in items):
        raise TypeError(f"Allow({what}=...) values may not be empty or hold spaces or commas")
    return items


def _resources(request: AuthorizerRequest, decision: Allow) -> list[str]:
    if decision.resources == "api":
        return [request.arn.for_api()]
    if decision.resources == "route":
        return [request.method_arn]
    if isinstance(decision.resources, str):
        raise TypeError(f"Allow(resources={decision.resources!r}): use 'api', 'route' or pairs")
    return [request.arn.for_route(method, path) for method, path in decision.resources]


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
