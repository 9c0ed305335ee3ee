"""The partner Lambda authorizer (HTTP API, payload 2.0, simple responses).

Partners send ``Authorization: Bearer <token>``; tokens are configured as a JSON object in the
``PARTNER_TOKENS`` environment variable (``{"<sha256 of token>": {"id": ..., "tier": ...}}``),
so the function never holds the tokens themselves.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from typing import Any

from lamroute.authorizers import Allow, AuthorizerRequest, Deny, http_authorizer


def partners() -> dict[str, dict[str, Any]]:
    return json.loads(os.environ.get("PARTNER_TOKENS", "{}"))  # type: ignore[no-any-return]


@http_authorizer
def handler(request: AuthorizerRequest) -> Allow | Deny:
    token = request.bearer_token
    if not token:
        return Deny()
    digest = hashlib.sha256(token.encode()).hexdigest()
    for known, partner in partners().items():
        if hmac.compare_digest(known, digest):
            return Allow(str(partner["id"]), scopes=["reports/read"],
                         context={"tier": str(partner.get("tier", "basic"))})
    return Deny()
