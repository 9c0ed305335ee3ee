"""Proxy response → HTTP answer, the way API Gateway and Function URLs turn one into the other.

A response the service would reject becomes the service's own ``502`` here too, so developers
see locally what the gateway would do.

>>> done = to_http_answer("rest", {"statusCode": 201, "body": "hi"})
>>> done.answer.status, done.answer.body, done.problems
(201, b'hi', [])
>>> to_http_answer("rest", {"statusCode": "201"}).answer.status
502
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..testing.rules import check_proxy_response

# Headers the local server computes itself (it frames the body) or that do not cross a proxy.
FRAMING_HEADERS = frozenset({"content-length", "transfer-encoding", "connection", "keep-alive"})
TEXT_TYPES = frozenset({"application/json", "application/javascript", "application/xml",
                        "application/yaml", "application/x-www-form-urlencoded",
                        "application/graphql"})


@dataclass(frozen=True)
class ColdStart:
    """The mark of an invocation that started a new execution environment, with how long its
    init took (``None`` when it was not measured: an app imported by the caller). The access
    line, the pretty terminal line and the runtime's ``REPORT`` line all show this one value.

    >>> ColdStart(127.9).mark, ColdStart().mark
    ('cold (init 128ms)', 'cold')
    """

    init_ms: float | None = None

    @property
    def mark(self) -> str:
        return "cold" if self.init_ms is None else f"cold (init {self.init_ms:.0f}ms)"


@dataclass
class HttpAnswer:
    """What the local gateway writes back: status, header pairs (repeatable) and body bytes;
    ``cold_start`` when the invocation behind it was a cold start (the access line shows it)."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    cold_start: ColdStart | None = None

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (case-insensitive), or ``None``."""
        wanted = name.lower()
        return next((v for k, v in self.headers if k.lower() == wanted), None)


@dataclass
class Conversion:
    """An answer, the gateway rules the payload broke (then the answer is a 502) and warnings."""

    answer: HttpAnswer
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def gateway_error(status: int, message: str) -> HttpAnswer:
    """The gateway's own error answer: ``{"message": ...}`` as API Gateway writes it."""
    body = json.dumps({"message": message}).encode()
    return HttpAnswer(status, [("Content-Type", "application/json")], body)


def media_type(value: str | None) -> str:
    """``"Text/HTML; charset=utf-8"`` → ``"text/html"``."""
    return (value or "").split(";", 1)[0].strip().lower()


def matches_media_types(value: str | None, patterns: Iterable[str]) -> bool:
    """Whether ``value`` matches one of ``patterns`` (``*/*``, ``image/*``, ``image/png``)."""
    kind = media_type(value)
    for pattern in patterns:
        pattern = pattern.lower()
        if pattern == "*/*" or pattern == kind:
            return True
        if pattern.endswith("/*") and kind.startswith(pattern[:-1]):
            return True
    return False


def is_text_type(value: str | None) -> bool:
    """Text for HTTP APIs and Function URLs; other bodies reach Lambda base64-encoded.

    https://docs.aws.amazon.com/lambda/latest/dg/urls-invocation.html#urls-payloads
    """
    kind = media_type(value)
    return (kind.startswith("text/") or kind in TEXT_TYPES or kind.endswith("+json")
            or kind.endswith("+xml"))


def infer_v2_response(payload: Any) -> tuple[Any, bool]:
    """Payload 2.0 quirk: a JSON answer without ``statusCode`` is a 200 JSON body.

    https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html
    """
    if isinstance(payload, Mapping) and "statusCode" in payload:
        return payload, False
    try:
        body = json.dumps(payload)
    except (TypeError, ValueError):
        return payload, False
    return {"statusCode": 200, "headers": {"content-type": "application/json"},
            "body": body, "isBase64Encoded": False}, True


def _v1_headers(payload: Mapping[str, Any]) -> list[tuple[str, str]]:
    # "If you specify values for both headers and multiValueHeaders, API Gateway merges them
    # into a single list. If the same key-value pair is specified in both, only the values
    # from multiValueHeaders will appear in the merged list."
    # https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html
    merged: list[tuple[str, str]] = []
    multi = payload.get("multiValueHeaders") or {}
    for name, values in multi.items():
        merged.extend((name, value) for value in values)
    for name, value in (payload.get("headers") or {}).items():
        if (name.lower(), value) not in {(k.lower(), v) for k, v in merged}:
            merged.append((name, value))
    return merged


def _v2_headers(payload: Mapping[str, Any]) -> list[tuple[str, str]]:
    headers = list((payload.get("headers") or {}).items())
    # Each entry of `cookies` becomes its own Set-Cookie header.
    headers.extend(("Set-Cookie", cookie) for cookie in payload.get("cookies") or ())
    return headers


def to_http_answer(
    format: str, payload: Any, *, accept: str | None = None,
    binary_media_types: Iterable[str] = ("*/*",),
) -> Conversion:
    """The HTTP answer for a proxy ``payload`` of ``format``, and what was wrong with it.

    A payload breaking the gateway's rules gives ``502 {"message": "Internal server error"}``
    and the list of broken rules (empty when the payload was fine).
    """
    notes = []
    if format in ("http", "url"):
        payload, inferred = infer_v2_response(payload)
        if inferred:
            notes.append("the answer has no statusCode: payload 2.0 sends it as a 200 JSON body")
    problems = check_proxy_response(format, payload)
    if problems:
        return Conversion(gateway_error(502, "Internal server error"), problems, notes)
    is_v2 = format in ("http", "url")
    headers = _v2_headers(payload) if is_v2 else _v1_headers(payload)
    headers = [(k, v) for k, v in headers if k.lower() not in FRAMING_HEADERS]
    body_text: str = payload.get("body") or ""
    body = body_text.encode("utf-8")
    if payload.get("isBase64Encoded"):
        # A REST API decodes a base64 body only when the client's first Accept type is one of
        # the API's binaryMediaTypes; otherwise the client gets the base64 text.
        # https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-payload-encodings.html
        first_accept = (accept or "").split(",", 1)[0]
        if format == "rest" and not matches_media_types(first_accept, binary_media_types):
            notes.append(f"Accept {first_accept!r} matches no binary media type: the client "
                         "gets the base64 text, as from a REST API")
        else:
            body = base64.b64decode(body_text)
    if not any(k.lower() == "content-type" for k, _ in headers):
        headers.append(("Content-Type", "application/json"))
    return Conversion(HttpAnswer(payload["statusCode"], headers, body), [], notes)
