"""Run a Lambda authorizer in front of an app, as API Gateway does (tests and the local gateway).

>>> from lamroute.authorizers import Allow, http_authorizer
>>> from lamroute.testing import make_event
>>> gate = GatewayAuthorizer(http_authorizer(lambda request: Allow("u1", context={"t": 1})))
>>> event = make_event("http", "GET", "/notes", headers={"Authorization": "Bearer x"})
>>> outcome = gate.authorize(event, "http")
>>> outcome.status, event["requestContext"]["authorizer"]
(200, {'lambda': {'t': 1, 'principalId': 'u1'}})

The identity source headers are required: without them the gateway answers 401 without calling
the function. A deny gives 403, an authorizer failure 500, an ``Unauthorized`` error 401, each
with the gateway's own JSON body. On success the answer's context is written into the event
where the gateway puts it (REST: next to ``principalId``, values stringified; HTTP APIs: under
``lambda``). Caching is not emulated: every request calls the authorizer.
https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-lambda-authorizer.html
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..formats import parse_event
from .authorizer_events import http_authorizer_event, request_event, token_event

AuthorizerCallable = Callable[[Any, Any], Any]
_V1 = ("rest", "http-v1")


@dataclass(frozen=True)
class AuthorizerOutcome:
    """What the gateway decided: ``status`` 200 lets the request through."""

    status: int
    message: str | None = None
    answer: Mapping[str, Any] | None = None
    message_key: str = "message"

    @property
    def allowed(self) -> bool:
        return self.status == 200

    def proxy_answer(self) -> dict[str, Any]:
        """The gateway's own answer for a refused request, as a proxy response dict."""
        return {"statusCode": self.status, "headers": {"Content-Type": "application/json"},
                "body": json.dumps({self.message_key: self.message}), "isBase64Encoded": False}


@dataclass(frozen=True)
class GatewayAuthorizer:
    """A Lambda authorizer handler plus the gateway settings it runs under.

    ``type`` is ``"request"`` or ``"token"`` (REST only; HTTP APIs send REQUEST events);
    ``identity_headers`` are the identity sources (``$request.header.Authorization``).
    """

    handler: AuthorizerCallable
    type: str = "request"
    identity_headers: tuple[str, ...] = field(default=("Authorization",))

    def authorize(self, event: dict[str, Any], format: str) -> AuthorizerOutcome:
        """Decide for the proxy ``event`` of ``format``; on success, write into the event."""
        rest = format == "rest"
        request = parse_event(event, None)
        values = [request.headers.get(name) for name in self.identity_headers]
        if any(not value for value in values):
            return AuthorizerOutcome(401, "Unauthorized")
        stage = request.stage or ("prod" if rest else "$default")
        headers = request.headers.multi_items()
        query = request.query.multi_items()
        if format in _V1 and self.type == "token":
            auth_event = token_event(str(values[0]), request.method, request.path, stage=stage)
        elif format in _V1:
            auth_event = request_event(request.method, request.path, headers=headers,
                                       query=query, stage=stage,
                                       version=None if rest else "1.0")
        else:
            auth_event = http_authorizer_event(request.method, request.path, headers=headers,
                                               query=query, stage=stage,
                                               identity_source=[str(v) for v in values])
        try:
            answer = self.handler(auth_event, None)
        except Exception as exc:
            if str(exc) == "Unauthorized":  # the documented way to ask for a 401
                return AuthorizerOutcome(401, "Unauthorized")
            return _failure(rest)
        return self._decide(answer, auth_event, event, format)

    def _decide(self, answer: Any, auth_event: Mapping[str, Any], event: dict[str, Any],
                format: str) -> AuthorizerOutcome:
        rest = format == "rest"
        if not isinstance(answer, Mapping):
            return _failure(rest)
        if "isAuthorized" in answer and format not in _V1:
            if answer["isAuthorized"] is not True:
                return AuthorizerOutcome(403, "Forbidden", answer)
            context = answer.get("context")
            _write(event, format, None, context if isinstance(context, Mapping) else None)
            return AuthorizerOutcome(200, answer=answer)
        arn = auth_event.get("methodArn") or auth_event.get("routeArn")
        effect = policy_effect(answer.get("policyDocument"), str(arn))
        principal = answer.get("principalId")
        if effect is None or not isinstance(principal, str):
            return _failure(rest)
        if effect != "Allow":
            if rest:
                return AuthorizerOutcome(
                    403, "User is not authorized to access this resource with an explicit deny",
                    answer, message_key="Message")
            return AuthorizerOutcome(403, "Forbidden", answer)
        context = answer.get("context")
        _write(event, format, principal, context if isinstance(context, Mapping) else None)
        return AuthorizerOutcome(200, answer=answer)


def _failure(rest: bool) -> AuthorizerOutcome:
    # A failing or malformed authorizer: REST answers 500 {"message": null}.
    return AuthorizerOutcome(500, None if rest else "Internal Server Error")


def _write(event: dict[str, Any], format: str, principal: str | None,
           context: Mapping[str, Any] | None) -> None:
    target = event.setdefault("requestContext", {})
    if format == "rest":
        values = {k: str(v).lower() if isinstance(v, bool) else str(v)
                  for k, v in (context or {}).items()}
        target["authorizer"] = {**values, "principalId": principal, "integrationLatency": 0}
    else:
        target["authorizer"] = {"lambda": dict(context) if context else None}


def _pattern(resource: str) -> re.Pattern[str]:
    return re.compile(".*".join(map(re.escape, resource.split("*"))).replace(r"\?", "."))


def policy_effect(document: Any, arn: str) -> str | None:
    """``"Allow"``/``"Deny"`` for ``arn`` under an IAM policy document (explicit deny wins);
    ``"Deny"`` when no statement matches; ``None`` for a malformed document."""
    if not isinstance(document, Mapping) or not isinstance(document.get("Statement"), list):
        return None
    allowed = False
    for statement in document["Statement"]:
        if not isinstance(statement, Mapping):
            return None
        resources = statement.get("Resource")
        resources = [resources] if isinstance(resources, str) else resources
        if not isinstance(resources, list):
            return None
        matched = any(isinstance(r, str) and _pattern(r).fullmatch(arn) for r in resources)
        if matched and statement.get("Effect") == "Deny":
            return "Deny"
        allowed = allowed or (matched and statement.get("Effect") == "Allow")
    return "Allow" if allowed else "Deny"


def as_gateway_authorizer(value: GatewayAuthorizer | AuthorizerCallable) -> GatewayAuthorizer:
    """A handler alone runs as a REQUEST authorizer on the ``Authorization`` header."""
    return value if isinstance(value, GatewayAuthorizer) else GatewayAuthorizer(value)


def local_gateway_hook(gate: GatewayAuthorizer, format: str) -> Callable[[Any, dict[str, Any]],
                                                                        Any]:
    """A ``Gateway.request_hooks`` entry for ``lamroute serve --authorizer``: runs ``gate``
    between the event and the invocation and answers refusals itself."""
    from ..local.answers import HttpAnswer

    def hook(request: Any, event: dict[str, Any]) -> HttpAnswer | None:
        outcome = gate.authorize(event, format)
        if outcome.allowed:
            return None
        answer = outcome.proxy_answer()
        return HttpAnswer(outcome.status, list(answer["headers"].items()),
                          answer["body"].encode())

    return hook
