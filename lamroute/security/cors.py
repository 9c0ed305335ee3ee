"""Cross-origin resource sharing, answered by the app itself (preflights included).

>>> from lamroute import App
>>> from lamroute.testing import TestClient
>>> cors = CORS(allow_origins=["https://app.example.com", "https://*.example.org"])
>>> app = App(access_log=False, cors=cors)
>>> @app.post("/notes")
... def create() -> dict[str, bool]:
...     return {"ok": True}
>>> answer = TestClient(app).options("/notes", headers={
...     "Origin": "https://a.example.org", "Access-Control-Request-Method": "POST"})
>>> answer.status_code, answer.headers["access-control-allow-methods"]
(204, 'OPTIONS, POST')

A preflight (``OPTIONS`` with ``Origin`` and ``Access-Control-Request-Method``) is answered from
the route table for any route, whether or not it defines ``OPTIONS``, before guards and app
middleware run (browsers send no credentials with a preflight). Every other answer, 404s and
errors included, gets the CORS headers when its ``Origin`` is allowed, and ``Vary: Origin``.
If the gateway's own CORS is configured too (HTTP API ``CorsConfiguration``), the gateway answers
preflights itself and overrides these headers: configure one of the two, not both.
https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-cors.html
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import echo
from ..exceptions import Forbidden, NotFound, RouteDefinitionError
from ..http.response import Response

if TYPE_CHECKING:
    from ..http.request import Request
    from ..routing.table import RouteTable

_SAFE_HEADERS = frozenset({"accept", "accept-language", "content-language", "content-type"})


def _names(values: Iterable[str] | str, what: str) -> tuple[str, ...]:
    if isinstance(values, str):
        raise RouteDefinitionError(f"CORS({what}=...) takes a list, not the string {values!r}.")
    out = tuple(str(v).strip() for v in values)
    for value in out:
        if not value or any(ch in value for ch in "\r\n,"):
            raise RouteDefinitionError(f"CORS({what}=...): {value!r} is not a single token.")
    return out


def _origin_pattern(origin: str) -> re.Pattern[str] | None:
    """``https://*.example.com`` → a regex matching one or more subdomain labels."""
    if "*" not in origin:
        return None
    scheme, sep, host = origin.partition("://")
    if not sep or not host.startswith("*.") or "*" in host[2:] or "*" in scheme:
        raise RouteDefinitionError(
            f"CORS origin pattern {origin!r} must look like 'https://*.example.com'."
        )
    label = r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?"
    return re.compile(rf"{re.escape(scheme)}://(?:{label}\.)+{re.escape(host[2:])}")


@dataclass(frozen=True)
class CORS:
    """CORS settings; lists are normalised and patterns compiled at construction.

    ``allow_origins``: exact origins, ``https://*.example.com`` patterns, or ``["*"]`` (refused
    together with ``allow_credentials``: a credentialed answer must name one origin).
    ``allow_methods``: ``["*"]`` means each route's own methods. ``allow_headers``: ``["*"]``
    echoes what the browser asks for. ``max_age`` in seconds (``None`` leaves it to the browser).
    """

    allow_origins: Iterable[str] = ()
    allow_methods: Iterable[str] = ("*",)
    allow_headers: Iterable[str] = ()
    expose_headers: Iterable[str] = ()
    allow_credentials: bool = False
    max_age: int | None = 600
    _origins: tuple[str, ...] = field(init=False, repr=False, compare=False)
    _methods: frozenset[str] = field(init=False, repr=False, compare=False)
    _headers: tuple[str, ...] = field(init=False, repr=False, compare=False)
    _exposed: str = field(init=False, repr=False, compare=False)
    _exact: frozenset[str] = field(init=False, repr=False, compare=False)
    _patterns: tuple[re.Pattern[str], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        origins = _names(self.allow_origins, "allow_origins")
        if self.allow_credentials and "*" in origins:
            raise RouteDefinitionError(
                "CORS: allow_origins=['*'] cannot be combined with allow_credentials=True "
                "(browsers reject it); list the origins or use 'https://*.example.com' patterns."
            )
        if self.max_age is not None and (type(self.max_age) is not int or self.max_age < 0):
            raise RouteDefinitionError("CORS(max_age=...) must be a non-negative int or None.")
        set_(self, "_origins", origins)
        set_(self, "_methods", frozenset(m.upper() for m in _names(self.allow_methods,
                                                                     "allow_methods")))
        set_(self, "_headers", _names(self.allow_headers, "allow_headers"))
        set_(self, "_exposed", ", ".join(_names(self.expose_headers, "expose_headers")))
        set_(self, "_exact", frozenset(o.lower().rstrip("/") for o in origins if "*" not in o))
        set_(self, "_patterns", tuple(p for o in origins if o != "*"
                                      if (p := _origin_pattern(o)) is not None))

    @property
    def any_origin(self) -> bool:
        return "*" in self._origins

    @property
    def origins(self) -> tuple[str, ...]:
        """The allowed origins and patterns, as given (``lamroute template`` reads them)."""
        return self._origins

    @property
    def exposed_headers(self) -> str:
        """The ``Access-Control-Expose-Headers`` value (empty when none are exposed)."""
        return self._exposed

    def origin_allowed(self, origin: str) -> bool:
        """True when ``origin`` (the request's ``Origin`` header) may read answers."""
        lowered = origin.lower()
        if self.any_origin or lowered in self._exact:
            return True
        return any(p.fullmatch(lowered) for p in self._patterns)

    @staticmethod
    def is_preflight(request: Request) -> bool:
        headers = request.headers
        return (request.method == "OPTIONS" and "origin" in headers
                and "access-control-request-method" in headers)

    def preflight(self, request: Request, table: RouteTable[Any]) -> Response:
        """The answer to a preflight for ``request.path``; a problem when it is refused."""
        origin = request.headers.get("origin") or ""
        if not self.origin_allowed(origin):
            raise Forbidden(f"Origin {origin!r} is not allowed to call this API.")
        # No route uses the empty method, so the table answers with the path's methods.
        match = table.match("", request.path, request.raw_path)
        if match.status == 404:
            raise NotFound(f"No route matches {echo(request.path)}.")
        methods = set(match.allowed)
        if "*" not in self._methods:
            methods &= self._methods | {"OPTIONS"}
        wanted = (request.headers.get("access-control-request-method") or "").strip().upper()
        if wanted not in methods:
            raise Forbidden(f"Method {wanted!r} is not allowed by CORS on {request.path}.")
        response = Response(None, 204)
        headers = response.headers
        headers.set("Access-Control-Allow-Methods", ", ".join(sorted(methods)))
        asked = request.headers.get("access-control-request-headers")
        allowed_headers = self._allowed_headers(asked)
        if allowed_headers:
            headers.set("Access-Control-Allow-Headers", allowed_headers)
        if self.max_age is not None:
            headers.set("Access-Control-Max-Age", str(self.max_age))
        return response

    def _allowed_headers(self, asked: str | None) -> str:
        requested = [h.strip() for h in (asked or "").split(",") if h.strip()]
        if "*" in self._headers:
            return ", ".join(requested)
        permitted = {h.lower() for h in self._headers} | _SAFE_HEADERS
        refused = [h for h in requested if h.lower() not in permitted]
        if refused:
            raise Forbidden(f"Request header(s) {', '.join(refused)} not allowed by CORS.")
        return ", ".join(self._headers)

    def apply(self, request: Request, response: Response) -> None:
        """Add the CORS headers for ``request``'s origin to ``response`` (any status)."""
        headers = response.headers
        if not self.any_origin or self.allow_credentials:
            vary = headers.get("vary")
            if vary is None:
                headers.set("Vary", "Origin")
            elif "origin" not in vary.lower():
                headers.set("Vary", f"{vary}, Origin")
        origin = request.headers.get("origin")
        if not origin or not self.origin_allowed(origin):
            return
        if "access-control-allow-origin" in headers:  # the handler decided itself
            return
        echo = not self.any_origin or self.allow_credentials
        headers.set("Access-Control-Allow-Origin", origin if echo else "*")
        if self.allow_credentials:
            headers.set("Access-Control-Allow-Credentials", "true")
        if self._exposed and not self.is_preflight(request):
            headers.set("Access-Control-Expose-Headers", self._exposed)
