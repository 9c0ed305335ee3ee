"""Event factories: the Lambda events API Gateway, ALB and Function URLs send, built from a request.

Used by the TestClient, the local gateway and the tests, so all three share one code path.

>>> event = make_event("http", "GET", "/items/42", stage="dev", query={"q": "a b"})
>>> event["rawPath"], event["rawQueryString"]
('/dev/items/42', 'q=a+b')
"""

from __future__ import annotations

import base64
import json as jsonlib
import time
import uuid
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote, quote_plus, unquote, urlencode

FORMATS = ("rest", "http-v1", "http", "url", "alb", "alb-multi")
"""The proxy payload formats: names accepted by :func:`make_event` and
``TestClient(format=...)``, which also take ``"custom"`` (the event of lamroute's custom,
non-proxy, integration: :func:`custom_event`)."""

PairsInit = Mapping[str, str | Iterable[str]] | Iterable[tuple[str, str]] | None
ACCOUNT = "123456789012"
API_ID = "a1b2c3d4e5"
REGION = "us-east-1"


def pairs(values: PairsInit) -> list[tuple[str, str]]:
    """``{"a": "1", "b": ["2", "3"]}`` or ``[("a", "1")]`` as a list of pairs."""
    if values is None:
        return []
    if isinstance(values, Mapping):
        out: list[tuple[str, str]] = []
        for key, value in values.items():
            out.extend((key, v) for v in ([value] if isinstance(value, str) else value))
        return out
    return list(values)


def _group(items: list[tuple[str, str]]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for key, value in items:
        grouped.setdefault(key, []).append(value)
    return grouped


def encode_body(
    body: str | bytes | None, json: Any, headers: list[tuple[str, str]]
) -> tuple[str | None, bool]:
    """The event's ``body`` and ``isBase64Encoded``; adds a JSON Content-Type when needed."""
    if json is not None:
        if not any(k.lower() == "content-type" for k, _ in headers):
            headers.append(("Content-Type", "application/json"))
        return jsonlib.dumps(json), False
    if isinstance(body, bytes):
        return base64.b64encode(body).decode("ascii"), True
    return body, False


def make_event(
    format: str,
    method: str = "GET",
    path: str = "/",
    *,
    query: PairsInit = None,
    headers: PairsInit = None,
    cookies: Mapping[str, str] | None = None,
    body: str | bytes | None = None,
    json: Any = None,
    stage: str | None = None,
    domain_name: str | None = None,
    base_path: str = "",
    authorizer: Mapping[str, Any] | None = None,
    source_ip: str = "203.0.113.7",
    request_id: str | None = None,
) -> dict[str, Any]:
    """A proxy event for ``format`` (see :data:`FORMATS`) as the service would send it.

    ``path`` is the URL path the client requested (percent-encoding allowed), without stage or
    ``base_path`` (a custom domain's base path mapping, REST and HTTP API 1.0).
    ``source_ip`` is the address the gateway saw; an ALB appends it to ``X-Forwarded-For``.
    """
    header_pairs = pairs(headers)
    if not any(k.lower() == "user-agent" for k, _ in header_pairs):
        header_pairs.append(("User-Agent", "lamroute-testclient"))
    if cookies and format not in ("http", "url"):
        header_pairs.append(("Cookie", "; ".join(f"{k}={v}" for k, v in cookies.items())))
    body_text, is_base64 = encode_body(body, json, header_pairs)
    raw_path = quote(path.split("?", 1)[0] or "/", safe="/%:@!$&'()*+,;=-._~")
    common = _Common(method.upper(), raw_path, pairs(query), header_pairs, body_text, is_base64,
                     source_ip, request_id or str(uuid.uuid4()))
    if format in ("rest", "http-v1"):
        return _v1_event(common, format, stage, domain_name, base_path, authorizer)
    if format in ("http", "url"):
        return _v2_event(common, format, stage, domain_name, cookies, authorizer)
    if format in ("alb", "alb-multi"):
        return _alb_event(common, multi=format == "alb-multi")
    if format == "custom":
        return custom_event(_v1_event(common, "rest", stage, domain_name, base_path, authorizer))
    raise ValueError(f"Unknown event format {format!r}; use one of {(*FORMATS, 'custom')}.")


class _Common:
    def __init__(self, method: str, raw_path: str, query: list[tuple[str, str]],
                 headers: list[tuple[str, str]], body: str | None, is_base64: bool,
                 source_ip: str, request_id: str) -> None:
        self.method, self.raw_path, self.query, self.headers = method, raw_path, query, headers
        self.body, self.is_base64, self.source_ip, self.request_id = (
            body, is_base64, source_ip, request_id)
        self.user_agent = next(v for k, v in headers if k.lower() == "user-agent")


def _v1_event(c: _Common, format: str, stage: str | None, domain_name: str | None,
              base_path: str, authorizer: Mapping[str, Any] | None) -> dict[str, Any]:
    is_rest = format == "rest"
    stage = stage or ("prod" if is_rest else "$default")
    domain = domain_name or f"{API_ID}.execute-api.{REGION}.amazonaws.com"
    # REST passes the path still encoded and without the stage; HTTP APIs decode it and keep a
    # named stage in it. A custom domain's base path mapping shows in both.
    path = c.raw_path if is_rest else unquote(c.raw_path)
    if not is_rest and stage != "$default":
        path = f"/{stage}{path}"
    path = base_path + path
    on_custom_domain = domain_name is not None and not domain.endswith(".amazonaws.com")
    context_path = path if (on_custom_domain or not is_rest) else f"/{stage}{path}"
    # REST keeps the encoding in pathParameters too (a live capture: {"proxy":
    # "capture/space%20value"}); HTTP APIs decode both.
    proxy = (c.raw_path if is_rest else unquote(c.raw_path)).lstrip("/")
    resource = "/{proxy+}" if proxy else "/"
    query = _group(c.query)
    headers = _group(c.headers)
    event: dict[str, Any] = {
        "resource": resource,
        "path": path,
        "httpMethod": c.method,
        "headers": {k: v[-1] for k, v in headers.items()} or None,
        "multiValueHeaders": headers or None,
        "queryStringParameters": {k: v[-1] for k, v in query.items()} or None,
        "multiValueQueryStringParameters": query or None,
        "pathParameters": {"proxy": proxy} if proxy else None,
        "stageVariables": None,
        "requestContext": {
            "accountId": ACCOUNT,
            "apiId": API_ID,
            "domainName": domain,
            "domainPrefix": domain.split(".")[0],
            "httpMethod": c.method,
            "identity": {"sourceIp": c.source_ip, "userAgent": c.user_agent, "apiKey": None,
                         "accessKey": None, "caller": None, "user": None, "userArn": None},
            "path": context_path,
            "protocol": "HTTP/1.1",
            "requestId": c.request_id,
            "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime()),
            "requestTimeEpoch": int(time.time() * 1000),
            "resourceId": "abc123",
            "resourcePath": resource,
            "stage": stage,
        },
        "body": c.body,
        "isBase64Encoded": c.is_base64,
    }
    if authorizer is not None:
        event["requestContext"]["authorizer"] = dict(authorizer)
    if not is_rest:
        event["version"] = "1.0"
        event["requestContext"]["routeKey"] = "ANY /{proxy+}" if proxy else "ANY /"
    return event


def _v2_event(c: _Common, format: str, stage: str | None, domain_name: str | None,
              cookies: Mapping[str, str] | None,
              authorizer: Mapping[str, Any] | None) -> dict[str, Any]:
    is_url = format == "url"
    stage = "$default" if is_url else (stage or "$default")
    domain = domain_name or (
        f"{API_ID}.lambda-url.{REGION}.on.aws" if is_url
        else f"{API_ID}.execute-api.{REGION}.amazonaws.com"
    )
    # HTTP APIs decode the path and keep a named stage in it; Function URLs keep the encoding.
    raw_path = c.raw_path if is_url else unquote(c.raw_path)
    if stage != "$default":
        raw_path = f"/{stage}{raw_path}"
    headers = {k.lower(): ",".join(v) for k, v in _group(c.headers).items()}
    query = _group(c.query)
    now = time.time()
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": raw_path,
        "rawQueryString": urlencode(c.query),
        "headers": headers,
        "requestContext": {
            "accountId": ACCOUNT if not is_url else "anonymous",
            "apiId": API_ID,
            "domainName": domain,
            "domainPrefix": domain.split(".")[0],
            "http": {"method": c.method, "path": raw_path, "protocol": "HTTP/1.1",
                     "sourceIp": c.source_ip, "userAgent": c.user_agent},
            "requestId": c.request_id,
            "routeKey": "$default",
            "stage": stage,
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": c.is_base64,
    }
    if query:
        event["queryStringParameters"] = {k: ",".join(v) for k, v in query.items()}
    if cookies:
        event["cookies"] = [f"{k}={v}" for k, v in cookies.items()]
    if c.body is not None:
        event["body"] = c.body
    if authorizer is not None:
        event["requestContext"]["authorizer"] = dict(authorizer)
    return event


def _alb_event(c: _Common, *, multi: bool) -> dict[str, Any]:
    # ALB lower-cases header names and passes query strings without decoding them.
    headers = _group([(k.lower(), v) for k, v in c.headers])
    query = _group([(quote(k, safe=""), quote(v, safe="")) for k, v in c.query])
    event: dict[str, Any] = {
        "requestContext": {"elb": {"targetGroupArn": (
            f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:targetgroup/lamroute/0123456789abcdef"
        )}},
        "httpMethod": c.method,
        "path": c.raw_path,
        "body": c.body or "",
        "isBase64Encoded": c.is_base64,
    }
    # In its default `append` mode the ALB adds its peer's address at the end of the client's
    # X-Forwarded-For (or creates the header with it):
    # https://docs.aws.amazon.com/elasticloadbalancing/latest/application/x-forwarded-headers.html
    headers["x-forwarded-for"] = [", ".join([*headers.pop("x-forwarded-for", []), c.source_ip])]
    trace = uuid.uuid5(uuid.NAMESPACE_URL, c.request_id).hex
    headers.setdefault("x-amzn-trace-id", [f"Root=1-{trace[:8]}-{trace[8:]}"])
    if multi:
        event["multiValueHeaders"] = headers
        event["multiValueQueryStringParameters"] = query
    else:
        event["headers"] = {k: v[-1] for k, v in headers.items()}
        event["queryStringParameters"] = {k: v[-1] for k, v in query.items()}
    return event


def form_encode(value: str) -> str:
    """What API Gateway's ``$util.urlEncode`` writes (Java's ``URLEncoder``, UTF-8): letters,
    digits and ``.-*_`` stay, a space is ``+``, everything else ``%XX``.

    >>> form_encode("a b/é~")
    'a+b%2F%C3%A9%7E'
    """
    return quote_plus(value, safe="*").replace("~", "%7E")


_form = form_encode


def _form_map(values: Mapping[str, str] | None) -> dict[str, str]:
    return {_form(k): _form(v) for k, v in (values or {}).items()}


def custom_event(rest: Mapping[str, Any], *, response_encoding: str = "base64") -> dict[str, Any]:
    """The event lamroute's custom integration request template builds for the request a REST
    proxy event describes (``lamroute.deploy.custom_integration``; the local gateway renders
    the template itself and a test checks that both agree).

    One value per header and query key (the last one, as ``queryStringParameters``): that is
    all a mapping template sees. The body is always base64.
    """
    context = rest["requestContext"]
    raw = rest.get("body") or ""
    body = raw if rest.get("isBase64Encoded") else base64.b64encode(
        raw.encode("utf-8")).decode("ascii")
    stage = context.get("stage") or "prod"
    path = rest["path"]
    domain = str(context.get("domainName") or "")
    if domain.endswith(".amazonaws.com"):
        path = f"/{stage}{path}"  # $context.path: the stage is in it on execute-api
    identity = context.get("identity") or {}
    authorizer = dict(context.get("authorizer") or {})
    claims = authorizer.pop("claims", None) or {}
    return {
        "lamroute": "custom/1",
        "responseEncoding": response_encoding,
        "method": rest["httpMethod"],
        "path": _form(path),
        "resource": rest["resource"],
        "pathParameters": _form_map(rest.get("pathParameters")),
        "headers": _form_map(rest.get("headers")),
        "queryStringParameters": _form_map(rest.get("queryStringParameters")),
        "body": body,
        "isBase64Encoded": True,
        "requestContext": {
            "requestId": context.get("requestId", ""),
            "extendedRequestId": context.get("requestId", ""),
            "stage": stage,
            "domainName": _form(domain),
            "apiId": context.get("apiId", ""),
            "accountId": context.get("accountId", ""),
            "resourcePath": context.get("resourcePath", ""),
            "httpMethod": rest["httpMethod"],
            "protocol": context.get("protocol", "HTTP/1.1"),
            "requestTimeEpoch": str(context.get("requestTimeEpoch", "")),
            "identity": {"sourceIp": identity.get("sourceIp") or "",
                         "userAgent": _form(identity.get("userAgent") or ""),
                         **{name: _form(str(identity.get(name) or "")) for name in (
                             "apiKey", "apiKeyId", "userArn", "caller", "user", "accessKey",
                             "accountId")}},
            "authorizer": {_form(k): _form(str(v)) for k, v in authorizer.items()
                           if v is not None and not isinstance(v, Mapping)},
            "claims": {_form(k): _form(str(v)) for k, v in claims.items()},
        },
    }
