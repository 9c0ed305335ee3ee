"""A JWT authorizer in front of an app, as API Gateway runs one (tests and the local gateway).

HTTP APIs validate the token and put its claims into the event: payload 2.0 under
``requestContext.authorizer.jwt`` (``claims`` and ``scopes``), payload 1.0 under
``requestContext.authorizer`` (``claims``, ``scopes``). Every claim arrives as a string: an array
is flattened to ``"[a b c]"``, an object to ``"map[k:v]"`` (the gateway prints the decoded
claim as Go's ``fmt`` does), a number keeps its JSON text, a boolean is ``"true"``/``"false"``.
https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-jwt-authorizer.html

REST APIs have Cognito user pool authorizers instead: claims under
``requestContext.authorizer.claims``, every value a string, arrays comma-joined, ``exp`` and
``iat`` written as dates (``"Fri Jul 29 18:52:53 UTC 2016"``).

>>> from lamroute.testing import make_event
>>> gate = JwtAuthorizer({"sub": "u1", "cognito:groups": ["admins", "staff"], "exp": 4102444800})
>>> event = make_event("http", "GET", "/notes", headers={"Authorization": "Bearer any"})
>>> gate.authorize(event, "http").status
200
>>> event["requestContext"]["authorizer"]["jwt"]["claims"]
{'sub': 'u1', 'cognito:groups': '[admins staff]', 'exp': '4102444800'}
>>> gate.authorize(make_event("http", "GET", "/notes"), "http").status   # no token
401

The token itself is not verified locally (no issuer keys, no signature check): a token that is
a JWT (``make_jwt(claims)`` builds an unsigned one) brings its own claims, and its ``exp`` and
``nbf`` are checked as the gateway does; any other token stands for the configured ``claims``.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..formats import parse_event
from .gateway_auth import AuthorizerOutcome

FORMATS = ("rest", "http", "http-v1")


def make_jwt(claims: Mapping[str, Any]) -> str:
    """An unsigned JWT carrying ``claims`` (``alg: none``): for local calls and tests only.

    >>> make_jwt({"sub": "u1"}).count(".")
    2
    """
    def part(value: Mapping[str, Any]) -> str:
        raw = json.dumps(dict(value), separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


def decode_jwt(token: str) -> dict[str, Any] | None:
    """The claims of a JWT-shaped token (``header.payload.signature``), ``None`` for any other
    token; :class:`ValueError` when it looks like a JWT but cannot be read."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        header, claims = (json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
                          for p in parts[:2])
    except (ValueError, binascii.Error) as exc:
        raise ValueError("the token is not a valid JWT") from exc
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise ValueError("the token is not a valid JWT")
    return claims


def flatten_claim(value: Any) -> str:
    """A claim as an HTTP API JWT authorizer passes it on: always a string.

    >>> [flatten_claim(v) for v in (["a", "b"], 1700000000, True, {"b": 1, "a": [2]}, "x")]
    ['[a b]', '1700000000', 'true', 'map[a:[2] b:1]', 'x']
    """
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "<nil>"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + " ".join(flatten_claim(item) for item in value) + "]"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{flatten_claim(v)}" for k, v in sorted(value.items())) + "]"
    return str(value)


def cognito_claim(name: str, value: Any) -> str:
    """A claim as a REST API Cognito user pool authorizer passes it on.

    >>> cognito_claim("cognito:groups", ["a", "b"]), cognito_claim("exp", 0)
    ('a,b', 'Thu Jan 01 00:00:00 UTC 1970')
    """
    if name in ("exp", "iat") and isinstance(value, (int, float)) and not isinstance(value, bool):
        return time.strftime("%a %b %d %H:%M:%S UTC %Y", time.gmtime(value))
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(cognito_claim("", item) for item in value)
    if isinstance(value, (dict, int, float)) or value is None:
        return json.dumps(value)
    return str(value)


@dataclass(frozen=True)
class JwtAuthorizer:
    """An HTTP API JWT authorizer (a REST Cognito authorizer for REST events) whose token
    stands for ``claims``, read from the ``identity_header`` (``Authorization``, with or
    without ``Bearer``)."""

    claims: Mapping[str, Any] = field(default_factory=dict)
    identity_header: str = "Authorization"

    def authorize(self, event: dict[str, Any], format: str) -> AuthorizerOutcome:
        """Decide for the proxy ``event``; on success, write the claims where the gateway does."""
        if format not in FORMATS:
            raise ValueError(f"{format} events have no JWT authorizer (REST and HTTP APIs do)")
        request = parse_event(event, None)
        token = str(request.headers.get(self.identity_header) or "").strip()
        if token[:7].lower() == "bearer ":
            token = token[7:].strip()
        if not token:
            return _unauthorized(format, "no token in the " + self.identity_header + " header")
        try:
            decoded = decode_jwt(token)
        except ValueError as exc:
            return _unauthorized(format, str(exc), invalid=True)
        claims = dict(self.claims) if decoded is None else decoded
        problem = _time_problem(claims)
        if problem is not None:
            return _unauthorized(format, problem, invalid=True)
        _write(event, format, claims)
        return AuthorizerOutcome(200)


def _time_problem(claims: Mapping[str, Any]) -> str | None:
    now = time.time()
    exp, nbf = claims.get("exp"), claims.get("nbf")
    if isinstance(exp, (int, float)) and exp <= now:
        return "the token has expired"
    if isinstance(nbf, (int, float)) and nbf > now:
        return "the token is not valid yet"
    return None


def _unauthorized(format: str, reason: str, *, invalid: bool = False) -> AuthorizerOutcome:
    if format == "rest":  # a Cognito authorizer's answers
        message = "The incoming token has expired" if "expired" in reason else "Unauthorized"
        return AuthorizerOutcome(401, message, error_type="UnauthorizedException", reason=reason)
    # HTTP APIs describe a token they could not accept in WWW-Authenticate (RFC 6750).
    header = (f'Bearer scope="" error="invalid_token" error_description="{reason}"'
              if invalid else None)
    return AuthorizerOutcome(401, "Unauthorized", reason=reason, www_authenticate=header)


def _scopes(claims: Mapping[str, Any]) -> list[str] | None:
    scope = claims.get("scope")
    if isinstance(scope, str):
        return scope.split() or None
    scp = claims.get("scp")
    if isinstance(scp, list):
        return [str(s) for s in scp] or None
    return scp.split() or None if isinstance(scp, str) else None


def _write(event: dict[str, Any], format: str, claims: Mapping[str, Any]) -> None:
    context = event.setdefault("requestContext", {})
    if format == "rest":
        context["authorizer"] = {"claims": {k: cognito_claim(k, v) for k, v in claims.items()}}
        return
    flat = {k: flatten_claim(v) for k, v in claims.items()}
    jwt = {"claims": flat, "scopes": _scopes(claims)}
    context["authorizer"] = {"jwt": jwt} if format == "http" else jwt
