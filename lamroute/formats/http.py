"""Payload format 2.0: HTTP APIs and Lambda Function URLs.

https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html
https://docs.aws.amazon.com/lambda/latest/dg/urls-invocation.html
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from ..exceptions import InvalidEvent
from ..http.multidict import Headers, QueryParams
from ..http.request import Request
from ..http.response import Response
from . import _common as c

if TYPE_CHECKING:
    from .identity import AuthSources


class V2Format(c.ProxyReader):
    """Reads and writes payload 2.0 events; ``name`` is ``"http"`` or ``"url"``."""

    def __init__(self, name: str) -> None:
        self.name = name

    def detect(self, event: Mapping[str, Any]) -> bool:
        if event.get("version") != "2.0" or "connectionId" in _context(event):
            return False
        domain = _context(event).get("domainName")
        is_url = isinstance(domain, str) and ".lambda-url." in domain
        return is_url == (self.name == "url")

    def parse(self, event: Mapping[str, Any], context: Any) -> Request:
        context_ = c.request_context(event)
        http = context_.get("http")
        method = http.get("method") if isinstance(http, Mapping) else None
        if not isinstance(method, str):
            raise InvalidEvent("The event's 'requestContext.http.method' must be a string.")
        # `rawPath` is in every payload 2.0 event (HTTP APIs and Function URLs):
        # https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html
        raw_path = c.string(event, "rawPath", required=True) or "/"
        stage = c.str_or_none(context_.get("stage"))
        # Function URLs pass the path still percent-encoded; HTTP APIs decode it (an encoded
        # slash included, so nothing can tell it from a separator any more):
        # https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-routes.html
        encoded = self.name == "url" and "%" in raw_path
        path = c.decode_path(raw_path) if encoded else raw_path
        prefix, app_path = c.split_prefix(path, self._matched_suffix(event))
        prefix, app_path = c.strip_stage(prefix, app_path, stage)
        return Request(  # (by position: a keyword call costs more than the request's fields)
            method.upper(),  # method
            app_path,  # path
            prefix,  # root_path
            self.name,  # format
            stage,
            c.str_or_none(context_.get("requestId")),  # request_id
            event,
            context,
            self,  # reader
            c.raw_app_path(raw_path, prefix, app_path) if encoded else None,  # raw_path
        )

    @staticmethod
    def _matched_suffix(event: Mapping[str, Any]) -> str | None:
        """The part of rawPath the gateway route matched (``ANY /{proxy+}`` → ``/a/b``)."""
        route_key = event.get("routeKey")
        if not isinstance(route_key, str) or " /" not in route_key:
            return None
        template = route_key.split(" ", 1)[1]
        return c.fill_template(template, c.mapping(event, "pathParameters"))

    def headers(self, event: Mapping[str, Any]) -> Headers:
        # Repeated headers arrive comma-joined in one value; splitting would break dates etc.
        return Headers(c.string_pairs(c.mapping(event, "headers"), "header"))

    def headers_named(self, event: Mapping[str, Any],
                      names: tuple[str, ...]) -> dict[str, str | None]:
        """Some headers' values without building :meth:`headers` (``names`` lower-case)."""
        return c.first_headers(c.mapping(event, "headers"), names)

    def query(self, event: Mapping[str, Any]) -> QueryParams:
        # rawQueryString keeps repeated keys apart; queryStringParameters joins them with commas.
        raw = event.get("rawQueryString")
        if isinstance(raw, str):
            return QueryParams(parse_qsl(raw, keep_blank_values=True))
        return QueryParams(c.string_pairs(c.mapping(event, "queryStringParameters"), "query"))

    def cookies(self, event: Mapping[str, Any], headers: Headers) -> dict[str, str]:
        cookies = event.get("cookies")
        if isinstance(cookies, list):
            return c.parse_cookie_header([v for v in cookies if isinstance(v, str)])
        return c.parse_cookie_header(headers.getall("cookie"))

    def source_ip(self, event: Mapping[str, Any]) -> str | None:
        http = c.request_context(event).get("http")
        return c.str_or_none(http.get("sourceIp")) if isinstance(http, Mapping) else None

    def user_agent(self, event: Mapping[str, Any]) -> str | None:
        """``requestContext.http.userAgent``: the ``User-Agent`` header as the gateway (or the
        Function URL) recorded it, found without a pass over the headers.
        https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html
        """
        return c.context_string(event, "http", "userAgent")

    def auth_sources(self, event: Mapping[str, Any]) -> AuthSources:
        """Authorizer output (``jwt``, ``lambda``, ``iam``) and the mTLS client certificate."""
        from .identity import AuthSources  # only apps that read request.auth load it

        authentication = c.request_context(event).get("authentication")
        cert = authentication.get("clientCert") if isinstance(authentication, Mapping) else None
        return AuthSources(authorizer=self.authorizer(event),
                           client_cert=cert if isinstance(cert, Mapping) else None)

    def render(self, response: Response, request: Request | None) -> dict[str, Any]:
        """Repeated headers comma-joined, ``Set-Cookie`` values in ``cookies``."""
        simple = c.simple_parts(response)
        if simple is not None:
            status, name, value, text, is_base64 = simple
            return {"statusCode": status, "headers": {name: value}, "body": text,
                    "isBase64Encoded": is_base64}
        status = c.check_status(response.status)
        headers: dict[str, str] = {}
        cookies: list[str] = []
        for name, values in c.header_lists(response, include_cookies=True).items():
            if name.lower() == "set-cookie":
                cookies.extend(values)
            else:
                headers[name] = ", ".join(values)
        body, is_base64 = c.encode_body(response)
        out: dict[str, Any] = {
            "statusCode": status,
            "headers": headers,
            "body": body,
            "isBase64Encoded": is_base64,
        }
        if cookies:
            out["cookies"] = cookies
        return out


def _context(event: Mapping[str, Any]) -> Mapping[str, Any]:
    value = event.get("requestContext")
    return value if isinstance(value, Mapping) else {}


HTTP = V2Format("http")
URL = V2Format("url")
