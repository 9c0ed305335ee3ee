"""lamroute's custom (non-proxy) Lambda integration event, built by its request mapping template.

A REST API method with a Lambda integration of type ``aws`` sends the function whatever its
request mapping template writes (``lamroute.deploy.custom_integration`` holds the templates); the
function's answer goes back through the response mapping template. This format reads the event
that template writes and renders the answer that template applies.

The event keeps the proxy event's names where it can (``resource``, ``pathParameters``,
``headers``, ``queryStringParameters``, ``body``, ``requestContext``) and is marked by
``"lamroute": "custom/1"``. Every value a client controls arrives ``application/x-www-form-
urlencoded`` (``$util.urlEncode``: the one escaping API Gateway offers whose output is always
valid inside a JSON string), and the body base64-encoded; ``method`` replaces ``httpMethod`` so
that no proxy format mistakes it for its own. ``path`` is ``$context.path``: stage (or base path)
included. What a custom integration cannot carry (repeated query keys and header lines, more
than one ``Set-Cookie``) is listed in the README.

>>> from lamroute.testing import make_event
>>> request = CUSTOM.parse(make_event("custom", "GET", "/notes/a b", query={"q": "é"}), None)
>>> request.format, request.root_path, request.path, request.query["q"]
('custom', '/prod', '/notes/a b', 'é')
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus

from ..exceptions import InvalidEvent, ResponseError
from ..http.multidict import Headers, QueryParams
from ..http.request import Request
from ..http.response import Response
from . import CUSTOM_MARKER as MARKER
from . import _common as c
from .rest import V1Format

if TYPE_CHECKING:
    from .identity import AuthSources

BASE64 = "base64"
TEXT = "text"
"""``responseEncoding`` values: the answer's body always base64 (the integration response
converts it back to bytes, ``CONVERT_TO_BINARY``) or always text (``CONVERT_TO_TEXT``)."""


def _decode(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise InvalidEvent(f"The event's {what} must be strings.")
    return unquote_plus(value) if ("%" in value or "+" in value) else value


def _pairs(event: Mapping[str, Any], key: str, what: str) -> list[tuple[str, str]]:
    return [(_decode(k, what), _decode(v, what)) for k, v in c.mapping(event, key).items()]


class CustomFormat(V1Format):
    """Reads the custom integration event; renders the answer the response template applies."""

    def __init__(self) -> None:
        super().__init__("custom", path_encoded=True)

    def detect(self, event: Mapping[str, Any]) -> bool:
        return event.get("lamroute") == MARKER

    def parse(self, event: Mapping[str, Any], context: Any) -> Request:
        """Decode what routing needs, then read it as payload 1.0 reads ``path`` + ``resource``.

        ``$context.path`` carries the stage on the execute-api domain, so the part in front of
        the matched resource becomes ``root_path`` (``/prod``).
        """
        method = c.string(event, "method", required=True)
        path = _decode(c.string(event, "path", required=True), "'path'")
        shim = {
            "httpMethod": method,
            "path": path,
            "resource": event.get("resource"),
            "pathParameters": dict(_pairs(event, "pathParameters", "path parameters")),
            "requestContext": c.mapping(event, "requestContext", required=True),
        }
        request = super().parse(shim, context)
        request.event = event  # the handler sees the event it was given
        return request

    def headers(self, event: Mapping[str, Any]) -> Headers:
        return Headers(_pairs(event, "headers", "header names and values"))

    def headers_named(self, event: Mapping[str, Any],
                      names: tuple[str, ...]) -> dict[str, str | None]:
        """Some headers' values (``names`` lower-case), decoding names until they are found."""
        found: dict[str, str | None] = dict.fromkeys(names)
        left = len(names)
        for key, value in c.mapping(event, "headers").items():
            name = _decode(key, "header names").lower()
            if name in found and found[name] is None:
                found[name] = _decode(value, "header values")
                left -= 1
                if not left:
                    break
        return found

    def query(self, event: Mapping[str, Any]) -> QueryParams:
        return QueryParams(_pairs(event, "queryStringParameters", "query string names and values"))

    def user_agent(self, event: Mapping[str, Any]) -> str | None:
        """``None``: the template writes ``identity.userAgent`` form-encoded, so the header is
        read (and decoded) with the others."""
        return None

    def source_ip(self, event: Mapping[str, Any]) -> str | None:
        identity = c.request_context(event).get("identity")
        ip = identity.get("sourceIp") if isinstance(identity, Mapping) else None
        return ip if isinstance(ip, str) and ip else None

    def authorizer(self, event: Mapping[str, Any]) -> dict[str, Any]:
        """The REST shape: a Lambda authorizer's context beside ``principalId``, Cognito user
        pool claims under ``claims``; values are strings, empty ones (not set) dropped."""
        context_ = c.request_context(event)
        # (A walk of $context.authorizer may list `claims` too, printed as a map: not a value.)
        found: dict[str, Any] = {k: v for k, v in _pairs(context_, "authorizer",
                                                          "authorizer values")
                                 if v and k != "claims"}
        claims = {k: v for k, v in _pairs(context_, "claims", "claim values") if v}
        if claims:
            found["claims"] = claims
        return found

    def auth_sources(self, event: Mapping[str, Any]) -> AuthSources:
        from .identity import AuthSources  # only apps that read request.auth load it

        identity = c.request_context(event).get("identity")
        fields = {k: _decode(v, "identity values") for k, v in identity.items()
                  if isinstance(v, str) and v} if isinstance(identity, Mapping) else {}
        return AuthSources(authorizer=self.authorizer(event), identity=fields)

    def render(self, response: Response, request: Request | None) -> dict[str, Any]:
        """One value per header (repeated ones comma-joined), the body base64 or text.

        The response template sets each header once through ``$context.responseOverride``
        (an override may only be applied once per name), so a second ``Set-Cookie`` cannot
        travel: that answer is refused (a 500 problem) rather than sent without it.
        """
        status = c.check_status(response.status)
        headers: dict[str, str] = {}
        for name, values in c.header_lists(response, include_cookies=True).items():
            if len(values) > 1 and name.lower() == "set-cookie":
                raise ResponseError("A custom (non-proxy) integration carries one Set-Cookie "
                                    f"header; this answer has {len(values)}.")
            headers[name] = ", ".join(values)
        body = response.body
        if not isinstance(body, (bytes, bytearray)):
            raise ResponseError("Response.body must be bytes.")
        if _encoding(request) == TEXT:
            try:
                text = bytes(body).decode("utf-8")
            except UnicodeDecodeError:
                raise ResponseError("This custom integration returns text only (responseEncoding "
                                    "'text'): a binary body cannot reach the client.") from None
            return {"statusCode": status, "headers": headers, "body": text,
                    "isBase64Encoded": False}
        return {"statusCode": status, "headers": headers,
                "body": base64.b64encode(body).decode("ascii"), "isBase64Encoded": True}


def _encoding(request: Request | None) -> str:
    event = request.event if request is not None else None
    value = event.get("responseEncoding") if isinstance(event, Mapping) else None
    return TEXT if value == TEXT else BASE64


CUSTOM = CustomFormat()
