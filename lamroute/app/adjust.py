"""What only some apps or paths need at request time, loaded on first use: the answer for a
path served without this method (405, or 204 to ``OPTIONS``), the prefixes
``App(strip_prefixes=...)`` removes, and the CORS headers of ``App(cors=...)``.

>>> from lamroute import App
>>> from lamroute.testing import TestClient
>>> app = App(access_log=False, strip_prefixes=["/api"])
>>> app.get("/items")(lambda: {"ok": True})  # doctest: +ELLIPSIS
<function <lambda> at ...>
>>> client = TestClient(app)
>>> client.get("/api/items").json(), client.delete("/api/items").headers["allow"]
({'ok': True}, 'GET, HEAD, OPTIONS')
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..errors import echo
from ..exceptions import MethodNotAllowed
from ..http.request import Request
from ..http.response import Response
from ..routing.table import Match, RouteTable, strip_segments

if TYPE_CHECKING:
    from ..security.cors import CORS
    from ..security.guards import Guard

__all__ = ["apply_cors", "not_allowed", "strip_prefixes"]


def not_allowed(request: Request, match: Match[Any], table: RouteTable[Any],
                gates: Mapping[Any, tuple[Guard, ...]]) -> Response:
    """The answer for a path whose routes serve other methods: 204 with ``Allow`` to
    ``OPTIONS``, else :class:`MethodNotAllowed` (405) raised with it. A caller is only told of
    the methods it may call (``gates``: the guards of each guarded route)."""
    allowed = match.allowed
    if gates:
        from ..security.guards import allowed_methods

        allowed = allowed_methods(request, table.methods_at(request.path), gates)
    allow = [("Allow", ", ".join(allowed))]
    if request.method == "OPTIONS":
        return Response(None, 204, headers=allow)
    what = f"{echo(request.method)} is not allowed on {echo(request.path)}."
    raise MethodNotAllowed(what, headers=allow)


def strip_prefixes(request: Request, prefixes: tuple[str, ...]) -> None:
    """Remove the first of ``prefixes`` the path starts with (it moves to ``root_path``)."""
    for prefix in prefixes:
        if request.path == prefix or request.path.startswith(prefix + "/"):
            if request.raw_path is not None:  # the same segments off the encoded path
                raw = strip_segments(request.raw_path, prefix)
                if raw is None:  # the prefix only shows once a %2F is decoded
                    continue
                request.raw_path = raw
            request.root_path += prefix
            request.path = request.path[len(prefix):] or "/"
            return


def apply_cors(cors: CORS, request: Request, response: Response,
               logger: logging.Logger) -> None:
    """Add the CORS headers to ``response``; a malformed header costs them, not the answer."""
    try:
        cors.apply(request, response)
    except Exception:
        logger.warning("CORS headers skipped: malformed request or response headers")
