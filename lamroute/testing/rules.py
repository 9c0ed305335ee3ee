"""The gateway's rules for a proxy response, per format: what API Gateway, ALB and Function URLs
accept. A response that breaks one makes the service answer 502 on its own.

>>> ok = {"statusCode": 200, "headers": {}, "body": "", "isBase64Encoded": False}
>>> check_proxy_response("rest", ok)
[]
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import sys
from collections.abc import Mapping
from typing import Any

# https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html (6 MB synchronous)
LAMBDA_RESPONSE_LIMIT = 6 * 1024 * 1024
# https://docs.aws.amazon.com/elasticloadbalancing/latest/application/lambda-functions.html
ALB_RESPONSE_LIMIT = 1024 * 1024

_ALLOWED_KEYS = {
    "rest": {"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded"},
    "http": {"statusCode", "headers", "body", "isBase64Encoded", "cookies"},
    "alb": {"statusCode", "statusDescription", "headers", "multiValueHeaders", "body",
            "isBase64Encoded"},
}
_ALLOWED_KEYS["http-v1"] = _ALLOWED_KEYS["rest"]
_ALLOWED_KEYS["url"] = _ALLOWED_KEYS["http"]
_ALLOWED_KEYS["alb-multi"] = _ALLOWED_KEYS["alb"]
# lamroute's custom integration answer, applied by its response mapping template.
_ALLOWED_KEYS["custom"] = {"statusCode", "headers", "body", "isBase64Encoded"}
# WebSocket integration responses; headers only matter on $connect (lamroute.formats.websocket).
_ALLOWED_KEYS["websocket"] = {"statusCode", "headers", "body", "isBase64Encoded"}


class MalformedResponse(AssertionError):
    """A proxy response the gateway would reject (it would answer 502 itself)."""


def _header_problems(name: str, values: Any, multi: bool) -> list[str]:
    if not isinstance(name, str) or not name:
        return [f"header name {name!r} is not a non-empty string"]
    items = values if multi else [values]
    if multi and not isinstance(values, list):
        return [f"multiValueHeaders[{name!r}] is not a list"]
    problems = []
    for value in items:
        if not isinstance(value, str):
            problems.append(f"header {name!r} has a non-string value {value!r}")
        elif any(ch in value for ch in "\r\n\0"):
            problems.append(f"header {name!r} contains CR, LF or NUL")
    return problems


def check_proxy_response(format: str, payload: Any) -> list[str]:
    """Every rule ``payload`` breaks for ``format`` (one of the event factory names)."""
    if not isinstance(payload, Mapping):
        return [f"the response is a {type(payload).__name__}, not an object"]
    problems: list[str] = []
    extra = set(payload) - _ALLOWED_KEYS[format]
    if extra:
        problems.append(f"unexpected keys {sorted(extra)}")
    status = payload.get("statusCode")
    if type(status) is not int or not 100 <= status <= 599:
        problems.append(f"statusCode {status!r} is not an int in 100-599")
    body = payload.get("body", "")
    if not isinstance(body, str):
        problems.append(f"body is a {type(body).__name__}, not a string")
    if not isinstance(payload.get("isBase64Encoded", False), bool):
        problems.append("isBase64Encoded is not a bool")
    elif payload.get("isBase64Encoded") and isinstance(body, str):
        try:
            base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            problems.append("isBase64Encoded is true but body is not base64")
    for key, multi in (("headers", False), ("multiValueHeaders", True)):
        headers = payload.get(key)
        if headers is None:
            continue
        if not isinstance(headers, Mapping):
            problems.append(f"{key} is not an object")
            continue
        for name, values in headers.items():
            problems.extend(_header_problems(name, values, multi))
    cookies = payload.get("cookies")
    if cookies is not None and (
        not isinstance(cookies, list) or not all(isinstance(c, str) for c in cookies)
    ):
        problems.append("cookies is not a list of strings")
    if format.startswith("alb"):
        problems.extend(_alb_problems(format, payload))
    problems.extend(_size_problems(format, payload))
    return problems


def _alb_problems(format: str, payload: Mapping[str, Any]) -> list[str]:
    problems = []
    if not isinstance(payload.get("statusDescription"), str):
        problems.append("statusDescription is missing or not a string")
    # The target group's multi-value setting decides the one header field ALB reads.
    wanted, other = (("multiValueHeaders", "headers") if format == "alb-multi"
                     else ("headers", "multiValueHeaders"))
    if other in payload:
        problems.append(f"{other} is ignored in this target group mode; use {wanted}")
    return problems


def runtime_size(payload: Mapping[str, Any]) -> int:
    """The bytes the Lambda runtime sends for ``payload``: non-ASCII escaped before Python 3.12,
    UTF-8 from 3.12 on (U+2028/U+2029 still escaped), per ``AWS_EXECUTION_ENV`` or, unset, the
    running interpreter
    (https://docs.aws.amazon.com/lambda/latest/dg/lambda-python.html#python-response-format).
    """
    runtime = os.environ.get("AWS_EXECUTION_ENV") or f"AWS_Lambda_python3.{sys.version_info[1]}"
    major, _, minor = runtime.removeprefix("AWS_Lambda_python").partition(".")
    utf8 = major == "3" and minor.isdigit() and int(minor) >= 12
    if not utf8:
        return len(json.dumps(payload).encode("utf-8"))
    text = json.dumps(payload, ensure_ascii=False)
    escaped_separators = text.count("\u2028") + text.count("\u2029")
    return len(text.encode("utf-8", errors="surrogatepass")) + 3 * escaped_separators


def _size_problems(format: str, payload: Mapping[str, Any]) -> list[str]:
    body = payload.get("body")
    if format == "websocket" and isinstance(body, str) and len(body.encode()) > 128 * 1024:
        return ["a WebSocket route response is over the 128 KB message quota"]
    limit = ALB_RESPONSE_LIMIT if format.startswith("alb") else LAMBDA_RESPONSE_LIMIT
    try:
        size = runtime_size(payload)
    except (TypeError, ValueError):
        return ["the response is not JSON-serialisable"]
    if size > limit:
        return [f"the serialised response is {size} bytes, over the {limit}-byte limit"]
    return []


def assert_valid_proxy_response(format: str, payload: Any) -> None:
    """Raise :class:`MalformedResponse` listing every rule ``payload`` breaks."""
    problems = check_proxy_response(format, payload)
    if problems:
        raise MalformedResponse(f"{format} proxy response rejected by the gateway: "
                                + "; ".join(problems))
