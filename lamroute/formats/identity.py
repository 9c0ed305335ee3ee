"""Who is calling, read from the authorizer shapes of an event into one typed :class:`Identity`.

A payload format hands over the raw pieces (:class:`AuthSources`: the ``authorizer`` object, the
REST ``identity`` object, the mTLS client certificate); :func:`identity_from` reads them into an
:class:`~lamroute.http.identity.Identity`. ``request.auth`` asks its format for it lazily, once
per request (``ProxyReader.identity``); apps that never read it never load this module.

>>> sources = AuthSources(authorizer={"jwt": {"claims": {"sub": "u1"}, "scopes": ["notes:read"]}})
>>> who = identity_from(sources)
>>> who.kind, who.principal_id, who.scopes
('jwt', 'u1', frozenset({'notes:read'}))

Shapes (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-access-control.html,
https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html):

- REST Cognito user pool authorizer: ``authorizer.claims``, every value a string (``scope``
  space-separated, ``cognito:groups`` comma-joined: ``"a,b"``).
- REST Lambda authorizer: ``authorizer.principalId`` plus the returned context keys.
- HTTP API JWT authorizer: ``authorizer.jwt.claims`` and ``authorizer.jwt.scopes``; an array
  claim arrives flattened to ``"[a b]"`` (payload 1.0: ``authorizer.claims`` and ``scopes``).
- HTTP API Lambda authorizer: ``authorizer.lambda`` (the returned context, ``null`` when none).
- IAM: REST ``identity`` (``userArn``, ``caller``, ``accessKey``), HTTP API ``authorizer.iam``.
- API keys: REST ``identity.apiKey``; mTLS: ``identity.clientCert`` / ``authentication.clientCert``.

Groups are read so that a group name never satisfies another group (:func:`claim_groups`,
:func:`context_groups`): a value whose shape could hide a name's boundaries gives no groups.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..http.identity import ANONYMOUS, Identity, Kind

# Keys API Gateway adds next to a REST Lambda authorizer's own context.
_GATEWAY_KEYS = frozenset({"principalId", "integrationLatency", "usageIdentifierKey"})
_EMPTY: Mapping[str, Any] = {}


@dataclass(frozen=True)
class AuthSources:
    """The raw authorization data of one event, as a payload format found it."""

    authorizer: Mapping[str, Any] = field(default_factory=dict)
    identity: Mapping[str, Any] = field(default_factory=dict)
    client_cert: Mapping[str, Any] | None = None




def split_list(value: Any, *, separators: str = ", ") -> frozenset[str]:
    """A list of tokens without spaces (OAuth scopes) as a set, however it was flattened.

    >>> sorted(split_list("[admin, users]")), sorted(split_list("[a b]")), sorted(split_list(["x"]))
    (['admin', 'users'], ['a', 'b'], ['x'])
    """
    if isinstance(value, (list, tuple, set, frozenset)):
        return frozenset(str(v) for v in value if isinstance(v, (str, int)) and str(v))
    if not isinstance(value, str):
        return frozenset()
    text = value.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    for sep in separators[1:]:
        text = text.replace(sep, separators[0])
    return frozenset(part for part in text.split(separators[0]) if part)


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else _EMPTY


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _scopes(claims: Mapping[str, Any], explicit: Any = None) -> frozenset[str]:
    if explicit is not None:
        return split_list(explicit, separators=" ,")
    # Access tokens carry `scope` (space-separated, RFC 8693); Azure AD and others use `scp`.
    return split_list(claims.get("scope") or claims.get("scp"), separators=" ")


_NO_GROUPS: frozenset[str] = frozenset()


def _names(values: Any) -> frozenset[str]:
    """A real list of group names, each kept whole; anything else in it refuses the lot."""
    if all(isinstance(v, str) and v for v in values):
        return frozenset(values)
    return _NO_GROUPS


def _cognito_names(parts: list[str]) -> frozenset[str]:
    # Cognito group names are letters, marks, symbols, numbers and punctuation, never
    # whitespace or controls (GroupName pattern [\p{L}\p{M}\p{S}\p{N}\p{P}]+:
    # https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_CreateGroup.html),
    # so a part that is empty or holds one is not a name Cognito issued: refuse the value.
    if all(p and p.isprintable() and " " not in p for p in parts):
        return frozenset(parts)
    return _NO_GROUPS


def _from_cognito_issuer(claims: Mapping[str, Any]) -> bool:
    issuer = claims.get("iss")
    if not isinstance(issuer, str) or not issuer.startswith("https://cognito-idp."):
        return False
    host = issuer[len("https://"):].partition("/")[0]
    return host.endswith((".amazonaws.com", ".amazonaws.com.cn"))


def claim_groups(claims: Mapping[str, Any], *, flattened: bool) -> frozenset[str]:
    """The groups of a token's claims (``cognito:groups``, else ``groups``), read exactly.

    ``flattened``: an HTTP API JWT authorizer, which turns an array claim into ``"[a b]"``,
    so a name with a space cannot be told from two names. That shape is split on spaces only
    for ``cognito:groups`` from a Cognito issuer (Cognito names hold no whitespace); any other
    bracketed value with a space is ambiguous and gives no groups. Otherwise (a REST Cognito
    authorizer) ``cognito:groups`` is comma-joined. A plain string is one name.

    >>> sorted(claim_groups({"cognito:groups": "admins,staff"}, flattened=False))
    ['admins', 'staff']
    >>> sorted(claim_groups({"groups": "[Not Admins]"}, flattened=True))
    []
    """
    cognito = bool(claims.get("cognito:groups"))
    value = claims.get("cognito:groups") if cognito else claims.get("groups")
    if isinstance(value, (list, tuple)):  # REST JWT authorizers keep JSON types
        return _names(value)
    if not isinstance(value, str) or not value:
        return _NO_GROUPS
    if not flattened:
        return _cognito_names(value.split(",")) if cognito else frozenset((value,))
    if not (value.startswith("[") and value.endswith("]")):
        return frozenset((value,))
    inner = value[1:-1]
    if not inner:
        return _NO_GROUPS
    if cognito and _from_cognito_issuer(claims):
        return _cognito_names(inner.split(" "))
    return _NO_GROUPS if " " in inner else frozenset((inner,))


def context_groups(value: Any) -> frozenset[str]:
    """The ``groups`` of a Lambda authorizer's context: a JSON array of names, as a string
    (REST and WebSocket APIs only pass strings, numbers and booleans on) or, from an HTTP API,
    as an array. Any other value (a comma list, a bare name) is refused: no groups.

    >>> sorted(context_groups('["Domain Admins", "staff"]')), sorted(context_groups("admins"))
    (['Domain Admins', 'staff'], [])
    """
    if isinstance(value, str) and value.startswith("["):
        import json

        try:
            value = json.loads(value)
        except ValueError:
            return _NO_GROUPS
    return _names(value) if isinstance(value, list) else _NO_GROUPS


def _from_claims(kind: Kind, claims: Mapping[str, Any], scopes: Any,
                 sources: AuthSources) -> Identity:
    principal = _text(claims.get("sub")) or _text(claims.get("username"))
    groups = claim_groups(claims, flattened=kind == "jwt")
    return Identity(kind=kind, principal_id=principal, claims=claims,
                    scopes=_scopes(claims, scopes), groups=groups,
                    client_cert=sources.client_cert, api_key=_text(sources.identity.get("apiKey")),
                    raw=sources.authorizer)


def _from_lambda(context: Mapping[str, Any], principal: Any, sources: AuthSources) -> Identity:
    # lamroute's own authorizers put `scope` (space-separated) and `groups` (a JSON array)
    # into the context, so guards work the same behind a Lambda authorizer.
    return Identity(kind="lambda",
                    principal_id=_text(principal) or _text(context.get("principalId")),
                    context=context, scopes=_scopes(context),
                    groups=context_groups(context.get("groups")),
                    client_cert=sources.client_cert,
                    api_key=_text(sources.identity.get("apiKey")), raw=sources.authorizer)


def _from_iam(fields: Mapping[str, Any], sources: AuthSources) -> Identity | None:
    principal = (_text(fields.get("userArn")) or _text(fields.get("caller"))
                 or _text(fields.get("callerId")) or _text(fields.get("userId")))
    if principal is None and _text(fields.get("accessKey")) is None:
        return None
    return Identity(kind="iam", principal_id=principal, context=dict(fields),
                    client_cert=sources.client_cert,
                    api_key=_text(sources.identity.get("apiKey")), raw=sources.authorizer)


def identity_from(sources: AuthSources) -> Identity:
    """Read an :class:`Identity` from the raw pieces; never raises (odd shapes give ``none``)."""
    authorizer = sources.authorizer
    jwt = authorizer.get("jwt")
    if isinstance(jwt, Mapping):
        return _from_claims("jwt", _mapping(jwt.get("claims")), jwt.get("scopes"), sources)
    if "lambda" in authorizer:
        return _from_lambda(_mapping(authorizer.get("lambda")), authorizer.get("principalId"),
                            sources)
    iam = authorizer.get("iam")
    if isinstance(iam, Mapping):
        found = _from_iam(iam, sources)
        if found is not None:
            return found
    claims = authorizer.get("claims")
    if isinstance(claims, Mapping):
        # HTTP API payload 1.0 puts JWT claims here too, with `scopes` beside them.
        kind: Kind = "jwt" if "scopes" in authorizer else "cognito"
        return _from_claims(kind, claims, authorizer.get("scopes"), sources)
    if "principalId" in authorizer:
        context = {k: v for k, v in authorizer.items() if k not in _GATEWAY_KEYS}
        return _from_lambda(context, authorizer.get("principalId"), sources)
    found = _from_iam(sources.identity, sources)
    if found is not None:
        return found
    api_key = _text(sources.identity.get("apiKey"))
    if api_key is not None:
        return Identity(kind="api_key", principal_id=_text(sources.identity.get("apiKeyId")),
                        client_cert=sources.client_cert, api_key=api_key, raw=authorizer)
    if sources.client_cert is not None or authorizer:
        return Identity(client_cert=sources.client_cert, raw=authorizer)
    return ANONYMOUS
