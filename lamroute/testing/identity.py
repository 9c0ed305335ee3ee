"""Put a caller into a test event, in the shape the gateway gives each authorizer per format.

>>> from lamroute.testing import make_event
>>> event = with_identity(make_event("http", "GET", "/"), "http", {"scopes": ["admin"]})
>>> event["requestContext"]["authorizer"]["jwt"]["scopes"]
['admin']

``identity`` is an :class:`~lamroute.http.identity.Identity` or a dict of its fields (``kind``,
``principal_id``, ``claims``, ``scopes``, ``groups``, ``context``, ``api_key``,
``client_cert``). Without ``kind``, a token identity is made: ``cognito`` for REST events,
``jwt`` for HTTP API (1.0 and 2.0) and Function URL events, as HTTP APIs only have JWT
authorizers. Groups are flattened as each gateway does it (``"a,b"`` on REST, ``"[a b]"`` on
HTTP APIs) and a Lambda identity's groups are a JSON array, as lamroute's authorizers write them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ..http.identity import Identity

IdentityInit = Identity | Mapping[str, Any]
_V1 = ("rest", "http-v1")
COGNITO_ISSUER = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Example"


def as_identity(value: IdentityInit, format: str) -> Identity:
    """A dict of fields (or an Identity) as an :class:`Identity` for ``format``."""
    if isinstance(value, Identity):
        return value
    fields = dict(value)
    fields.setdefault("kind", "cognito" if format == "rest" else "jwt")
    for key in ("scopes", "groups"):
        fields[key] = frozenset(fields.get(key, ()))
    if fields["kind"] in ("cognito", "jwt"):
        fields.setdefault("principal_id", "user-1")
    return Identity(**fields)


def _token_claims(identity: Identity, format: str) -> dict[str, Any]:
    claims: dict[str, Any] = {"sub": identity.principal_id, **identity.claims}
    if identity.groups and "cognito:groups" not in claims:
        groups = sorted(identity.groups)
        bad = [g for g in groups if not g.isprintable() or " " in g
               or (format == "rest" and "," in g)]
        if bad:  # the gateway's flattening could not carry them apart
            raise ValueError(f"Cognito group names cannot hold whitespace (nor commas on REST "
                             f"APIs): {bad!r}; use a Lambda identity or explicit claims.")
        # REST joins the array with commas; HTTP APIs flatten it to "[a b]".
        flat = ",".join(groups) if format == "rest" else "[" + " ".join(groups) + "]"
        claims["cognito:groups"] = flat
        claims.setdefault("iss", COGNITO_ISSUER)
    return claims


def _lambda_context(identity: Identity, stringify: bool) -> dict[str, Any]:
    context = dict(identity.context)
    if identity.scopes:
        context.setdefault("scope", " ".join(sorted(identity.scopes)))
    if identity.groups:  # as lamroute's authorizers write them: a JSON array
        context.setdefault("groups", json.dumps(sorted(identity.groups)))
    if stringify:  # REST stringifies context values on the way to the integration
        context = {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in context.items()}
    return context


def _authorizer(identity: Identity, format: str) -> dict[str, Any] | None:
    v1 = format in _V1
    kind = identity.kind
    if kind in ("cognito", "jwt"):
        claims = _token_claims(identity, format)
        scopes = sorted(identity.scopes)
        if format == "rest":
            if scopes:
                claims.setdefault("scope", " ".join(scopes))
            return {"claims": claims}
        if v1:
            return {"claims": claims, "scopes": scopes or None}
        return {"jwt": {"claims": claims, "scopes": scopes or None}}
    if kind == "lambda":
        context = _lambda_context(identity, stringify=format == "rest")
        if v1:
            return {"principalId": identity.principal_id, "integrationLatency": 0, **context}
        return {"lambda": {"principalId": identity.principal_id, **context}}
    if kind == "iam" and format in ("http", "url"):
        return {"iam": {"accessKey": "ASIAEXAMPLE", "accountId": "123456789012",
                        "callerId": "AIDAEXAMPLE", "userArn": identity.principal_id,
                        "userId": "AIDAEXAMPLE", "cognitoIdentity": None,
                        "principalOrgId": None}}
    return None


def with_identity(event: dict[str, Any], format: str, value: IdentityInit) -> dict[str, Any]:
    """``event`` with ``value`` written where the gateway would put it for ``format``."""
    identity = as_identity(value, format)
    context = event.setdefault("requestContext", {})
    authorizer = _authorizer(identity, format)
    if authorizer is not None:
        context["authorizer"] = authorizer
    if format in _V1:
        fields = context.setdefault("identity", {})
        if identity.kind == "iam":
            fields.update(userArn=identity.principal_id, caller="AIDAEXAMPLE",
                          accessKey="ASIAEXAMPLE", accountId="123456789012")
        if identity.api_key is not None:
            fields["apiKey"] = identity.api_key
            fields["apiKeyId"] = identity.principal_id if identity.kind == "api_key" else None
        if identity.client_cert is not None:
            fields["clientCert"] = dict(identity.client_cert)
    elif identity.client_cert is not None:
        context["authentication"] = {"clientCert": dict(identity.client_cert)}
    return event
