"""Run a Lambda authorizer in front of an app, as API Gateway does (tests and the local gateway).

>>> from lamroute.authorizers import Allow, http_authorizer
>>> from lamroute.testing import make_event
>>> gate = GatewayAuthorizer(http_authorizer(lambda request: Allow("u1", context={"t": 1})))
>>> event = make_event("http", "GET", "/notes", headers={"Authorization": "Bearer x"})
>>> outcome = gate.authorize(event, "http")
>>> outcome.status, event["requestContext"]["authorizer"]
(200, {'lambda': {'t': 1, 'principalId': 'u1'}})

The identity source headers are required: without them the gateway answers 401 without calling
the function. A deny gives 403, an authorizer failure or an answer the gateway cannot use 500,
an ``Unauthorized`` error 401, each with the gateway's own JSON body. On success the answer's
context is written into the event where the gateway puts it (REST: next to ``principalId``,
values stringified; HTTP APIs: under ``lambda``).
https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-lambda-authorizer.html

The authorizer cache is emulated (``ttl``, 300 s by default as on AWS; 0 turns it off): an
answer is kept per identity source values (and stage), and a cached policy is judged against
each later request's method ARN without calling the function; a cached simple answer
(``isAuthorized``) holds for every route. Failures and 401s are not kept.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from time import monotonic
from typing import Any

from ..formats import parse_event
from .authorizer_events import http_authorizer_event, request_event, token_event

AuthorizerCallable = Callable[[Any, Any], Any]
_V1 = ("rest", "http-v1")
# authorizerResultTtlInSeconds: "If this field is not set, the default value is 300. The maximum
# value is 3600". https://docs.aws.amazon.com/apigateway/latest/api/API_Authorizer.html
DEFAULT_TTL = 300
MAX_TTL = 3600


@dataclass(frozen=True)
class AuthorizerOutcome:
    """What the gateway decided: ``status`` 200 lets the request through.

    ``error_type`` is REST's ``x-amzn-ErrorType`` header, ``www_authenticate`` an HTTP API JWT
    authorizer's description of a refused token; ``reason`` says why for log lines (never a
    token); ``cached`` tells an answer judged from the authorizer cache.
    """

    status: int
    message: str | None = None
    answer: Mapping[str, Any] | None = None
    message_key: str = "message"
    error_type: str | None = None
    reason: str = ""
    cached: bool = False
    www_authenticate: str | None = None

    @property
    def allowed(self) -> bool:
        return self.status == 200

    def proxy_answer(self) -> dict[str, Any]:
        """The gateway's own answer for a refused request, as a proxy response dict."""
        headers = {"Content-Type": "application/json"}
        if self.error_type is not None:
            headers["x-amzn-ErrorType"] = self.error_type
        if self.www_authenticate is not None:
            headers["www-authenticate"] = self.www_authenticate
        return {"statusCode": self.status, "headers": headers,
                "body": json.dumps({self.message_key: self.message}), "isBase64Encoded": False}


class AnswerCache:
    """Authorizer answers by cache key, each until it expires; shared by the server's threads."""

    limit = 1024

    def __init__(self) -> None:
        self._entries: dict[tuple[str, ...], tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple[str, ...]) -> Any:
        """The answer kept for ``key``, or ``None`` (never kept, or expired)."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if monotonic() >= entry[0]:
                del self._entries[key]
                return None
            return entry[1]

    def put(self, key: tuple[str, ...], answer: Any, ttl: float) -> None:
        with self._lock:
            if len(self._entries) >= self.limit:
                del self._entries[next(iter(self._entries))]
            self._entries[key] = (monotonic() + ttl, answer)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


@dataclass(frozen=True)
class GatewayAuthorizer:
    """A Lambda authorizer handler plus the gateway settings it runs under.

    ``type`` is ``"request"`` or ``"token"`` (REST only; HTTP APIs send REQUEST events);
    ``identity_headers`` are the identity sources (``$request.header.Authorization``) and the
    cache key; ``ttl`` is ``authorizerResultTtlInSeconds`` (0 to 3600, 0 = no caching).
    """

    handler: AuthorizerCallable
    type: str = "request"
    identity_headers: tuple[str, ...] = field(default=("Authorization",))
    ttl: int = DEFAULT_TTL
    cache: AnswerCache = field(default_factory=AnswerCache, init=False, repr=False,
                               compare=False)

    def __post_init__(self) -> None:
        if self.type not in ("request", "token"):
            raise ValueError(f"type must be 'request' or 'token', not {self.type!r}")
        if not 0 <= self.ttl <= MAX_TTL:
            raise ValueError(f"ttl must be between 0 (no caching) and {MAX_TTL} seconds")
        if self.ttl and not self.identity_headers:
            # "To enable caching, your authorizer must have at least one identity source."
            raise ValueError("authorizer caching needs at least one identity source")

    def authorize(self, event: dict[str, Any], format: str) -> AuthorizerOutcome:
        """Decide for the proxy ``event`` of ``format`` (a ``websocket`` ``$connect`` event
        too); on success, write into the event."""
        rest = format == "rest"
        request = parse_event(event, None)
        values = [request.headers.get(name) for name in self.identity_headers]
        if any(not value for value in values):
            return _unauthorized(rest)
        stage = request.stage or ("prod" if format in ("rest", "websocket") else "$default")
        auth_event = self._event(request, format, stage, [str(v) for v in values])
        arn = str(auth_event.get("methodArn") or auth_event.get("routeArn"))
        key = (stage, *(str(v) for v in values))
        if self.ttl:
            kept = self.cache.get(key)
            if kept is not None:
                return _decide(kept, arn, event, format, cached=True)
        try:
            raw = self.handler(auth_event, None)
        except KeyboardInterrupt as exc:
            # Ctrl-C reaches the main thread only (Python runs signal handlers there:
            # https://docs.python.org/3/library/signal.html#signals-and-threads); raised in a
            # request thread of the local gateway, it is the authorizer failing.
            if threading.current_thread() is threading.main_thread():
                raise
            return _failure(rest, f"the authorizer failed with {type(exc).__name__}")
        except BaseException as exc:  # a failed invocation, sys.exit() included
            if isinstance(exc, Exception) and _text(exc) == "Unauthorized":
                return _unauthorized(rest)  # the documented way to ask for a 401
            return _failure(rest, f"the authorizer failed with {type(exc).__name__}")
        try:  # what reaches the gateway is the JSON the runtime serialises
            answer = json.loads(json.dumps(raw))
        except (TypeError, ValueError) as exc:
            return _failure(rest, f"the authorizer's answer is not JSON ({exc})")
        outcome = _decide(answer, arn, event, format, cached=False)
        if self.ttl and outcome.status in (200, 403):
            self.cache.put(key, answer, self.ttl)
        return outcome

    def _event(self, request: Any, format: str, stage: str, values: list[str]) -> dict[str, Any]:
        headers = request.headers.multi_items()
        query = request.query.multi_items()
        if format == "websocket":
            # WebSocket APIs send a REQUEST event for $connect, and want a policy back.
            # https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api-lambda-auth.html
            auth_event = request_event("GET", "/", headers=headers, query=query, stage=stage)
            auth_event["methodArn"] = auth_event["methodArn"].rsplit("/", 2)[0] + "/$connect"
            for key in ("resource", "path", "httpMethod", "pathParameters"):
                auth_event.pop(key)
            auth_event["requestContext"] = dict(request.event.get("requestContext") or {})
            return auth_event
        if format in _V1 and self.type == "token":
            return token_event(values[0], request.method, request.path, stage=stage)
        if format in _V1:
            return request_event(request.method, request.path, headers=headers, query=query,
                                 stage=stage, version=None if format == "rest" else "1.0")
        return http_authorizer_event(request.method, request.path, headers=headers, query=query,
                                     stage=stage, identity_source=values)


def _decide(answer: Any, arn: str, event: dict[str, Any], format: str, *,
            cached: bool) -> AuthorizerOutcome:
    rest = format == "rest"
    if not isinstance(answer, Mapping):
        return _failure(rest, "the authorizer's answer is not a JSON object")
    if "isAuthorized" in answer and format not in (*_V1, "websocket"):
        return _decide_simple(answer, event, format, cached=cached)
    effect = _evaluate(answer.get("policyDocument"), arn)
    principal = answer.get("principalId")
    if effect is None or not isinstance(principal, str):
        return _failure(rest, "the answer has no valid policyDocument and principalId")
    if effect != "Allow":
        why = "an explicit deny" if effect == "Deny" else "no statement allowing this request"
        if cached:
            why += " in the cached policy for this identity (authorizer caching)"
        return _denied(rest, answer, explicit=effect == "Deny", reason=why, cached=cached)
    return _allow(answer, principal, event, format, cached=cached)


def _decide_simple(answer: Mapping[str, Any], event: dict[str, Any], format: str, *,
                   cached: bool) -> AuthorizerOutcome:
    authorized = answer["isAuthorized"]
    if not isinstance(authorized, bool):  # "an invalid format": the gateway's 500
        return _failure(False, "isAuthorized is not a boolean")
    if not authorized:
        why = "isAuthorized: false" + (" (cached for every route)" if cached else "")
        return _denied(False, answer, explicit=True, reason=why, cached=cached)
    return _allow(answer, None, event, format, cached=cached)


def _allow(answer: Mapping[str, Any], principal: str | None, event: dict[str, Any], format: str,
           *, cached: bool) -> AuthorizerOutcome:
    rest = format == "rest"
    context = answer.get("context")
    problem = _context_problem(context, rest)
    if problem is not None:
        return _failure(rest, problem)
    _write(event, format, principal, context)
    return AuthorizerOutcome(200, answer=answer, cached=cached)


def _context_problem(context: Any, rest: bool) -> str | None:
    """Why the gateway refuses ``context`` (REST: "you cannot set a JSON object or array as a
    valid value of any key in the context map"; HTTP APIs pass any JSON on), or ``None``.
    https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-lambda-authorizer-output.html
    """
    if context is None:
        return None
    if not isinstance(context, Mapping):
        return "the context is not a JSON object"
    if rest:
        for key, value in context.items():
            if value is None or not isinstance(value, (str, int, float, bool)):
                kind = ("an object" if isinstance(value, Mapping) else
                        "an array" if isinstance(value, list) else "null")
                return (f"context[{key!r}] is {kind}: REST API authorizer context values must "
                        "be strings, numbers or booleans")
    return None


def _unauthorized(rest: bool) -> AuthorizerOutcome:
    return AuthorizerOutcome(401, "Unauthorized",
                             error_type="UnauthorizedException" if rest else None)


def _denied(rest: bool, answer: Mapping[str, Any], *, explicit: bool, reason: str,
            cached: bool) -> AuthorizerOutcome:
    # REST's ACCESS_DENIED answer is capitalised ("Message"), and says whether a statement
    # denied the request or none allowed it; HTTP APIs answer {"message": "Forbidden"}.
    # https://repost.aws/knowledge-center/api-gateway-403-error-lambda-authorizer
    if not rest:
        return AuthorizerOutcome(403, "Forbidden", answer, reason=reason, cached=cached)
    message = "User is not authorized to access this resource"
    if explicit:
        message += " with an explicit deny"
    return AuthorizerOutcome(403, message, answer, message_key="Message",
                             error_type="AccessDeniedException", reason=reason, cached=cached)


def _failure(rest: bool, reason: str) -> AuthorizerOutcome:
    # A failing authorizer or an answer the gateway cannot use: REST answers 500
    # {"message": null} (AUTHORIZER_CONFIGURATION_ERROR), HTTP APIs 500 Internal Server Error.
    # https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html
    # https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-lambda-authorizer.html#http-api-lambda-authorizer.troubleshooting
    if rest:
        return AuthorizerOutcome(500, None, error_type="AuthorizerConfigurationException",
                                 reason=reason)
    return AuthorizerOutcome(500, "Internal Server Error", reason=reason)


def _text(exc: BaseException) -> str:
    try:
        return str(exc)
    except Exception:  # an exception whose __str__ fails is no "Unauthorized"
        return ""


def _write(event: dict[str, Any], format: str, principal: str | None,
           context: Mapping[str, Any] | None) -> None:
    target = event.setdefault("requestContext", {})
    if format in ("rest", "websocket"):
        values = {k: str(v).lower() if isinstance(v, bool) else str(v)
                  for k, v in (context or {}).items()}
        target["authorizer"] = {**values, "principalId": principal, "integrationLatency": 0}
    else:
        target["authorizer"] = {"lambda": dict(context) if context else None}


def _pattern(resource: str) -> re.Pattern[str]:
    return re.compile(".*".join(map(re.escape, resource.split("*"))).replace(r"\?", "."))


def _evaluate(document: Any, arn: str) -> str | None:
    """``"Allow"``, ``"Deny"`` (a statement denies), ``"None"`` (no statement matches) or
    ``None`` for a malformed document."""
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
    return "Allow" if allowed else "None"


def policy_effect(document: Any, arn: str) -> str | None:
    """``"Allow"``/``"Deny"`` for ``arn`` under an IAM policy document (explicit deny wins);
    ``"Deny"`` when no statement matches; ``None`` for a malformed document."""
    effect = _evaluate(document, arn)
    return "Deny" if effect == "None" else effect


def as_gateway_authorizer(value: GatewayAuthorizer | AuthorizerCallable) -> GatewayAuthorizer:
    """A handler alone runs as a REQUEST authorizer on the ``Authorization`` header."""
    return value if isinstance(value, GatewayAuthorizer) else GatewayAuthorizer(value)
