"""Who is calling: the :class:`Identity` a handler sees as ``request.auth``.

A value type, whatever authorizer the gateway ran; the payload formats read it from the event
(:mod:`lamroute.formats.identity`) and the guards (:mod:`lamroute.security.guards`) check it.

>>> Identity(kind="jwt", scopes=frozenset({"notes:read"})).has_scopes("notes:read")
True
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Kind = Literal["cognito", "jwt", "lambda", "iam", "api_key", "none"]


@dataclass(frozen=True)
class Identity:
    """The caller: who (``principal_id``), with what rights (``scopes``, ``groups``), how.

    ``claims`` are the token's claims (Cognito/JWT), ``context`` the values a Lambda authorizer
    returned, ``raw`` the authorizer object as it arrived. ``api_key`` and ``raw`` are left out
    of ``repr`` so that logging an identity never writes a secret.

    >>> Identity(kind="lambda", principal_id="u1", groups=frozenset({"admin"})).in_group("admin")
    True
    """

    kind: Kind = "none"
    principal_id: str | None = None
    claims: Mapping[str, Any] = field(default_factory=dict)
    scopes: frozenset[str] = frozenset()
    groups: frozenset[str] = frozenset()
    context: Mapping[str, Any] = field(default_factory=dict)
    client_cert: Mapping[str, Any] | None = None
    api_key: str | None = field(default=None, repr=False)
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @property
    def authenticated(self) -> bool:
        """True when the gateway established who calls (an mTLS certificate counts).

        An API key alone does not: it identifies a client application for usage plans, not a
        caller (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-api-usage-plans.html);
        ``requires(api_key=True)`` asks for one explicitly.
        """
        return self.kind not in ("none", "api_key") or self.client_cert is not None

    def has_scopes(self, *scopes: str) -> bool:
        """True when every one of ``scopes`` was granted."""
        return self.scopes.issuperset(scopes)

    def in_group(self, *groups: str) -> bool:
        """True when the caller belongs to at least one of ``groups``."""
        return not self.groups.isdisjoint(groups)


ANONYMOUS = Identity()
