"""Payload format 1.0: REST API proxy integrations and HTTP APIs with ``version: "1.0"``.

https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html
https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..http.multidict import Headers, QueryParams
from ..http.request import Request
from ..http.response import Response
from . import _common as c

if TYPE_CHECKING:
    from .identity import AuthSources


class V1Format(c.ProxyReader):
    """Reads and writes payload 1.0 events; ``name`` is ``"rest"`` or ``"http-v1"``."""

    def __init__(self, name: str, *, path_encoded: bool) -> None:
        self.name = name
        # REST APIs pass `path` on still percent-encoded; HTTP APIs decode it first.
        self.path_encoded = path_encoded

    def detect(self, event: Mapping[str, Any]) -> bool:
        is_v1 = event.get("version") == "1.0"
        return "httpMethod" in event and is_v1 == (self.name == "http-v1")

    def parse(self, event: Mapping[str, Any], context: Any) -> Request:
        method = event.get("httpMethod")
        if type(method) is not str:
            method = str(c.string(event, "httpMethod", required=True))
        # Every proxy event has `path` and `requestContext`: an event without them (a test
        # console's `{"httpMethod": "GET"}`, another service's) is not served but refused.
        # https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html#api-gateway-simple-proxy-for-lambda-input-format
        raw_path = event.get("path")
        if type(raw_path) is not str:
            raw_path = str(c.string(event, "path", required=True))
        raw_path = raw_path or "/"
        context_ = event.get("requestContext")
        if type(context_) is not dict:
            context_ = c.mapping(event, "requestContext", required=True)
        stage = context_.get("stage")
        stage = stage if isinstance(stage, str) else None
        encoded = self.path_encoded and "%" in raw_path
        path = c.decode_path(raw_path) if encoded else raw_path
        resource = event.get("resource")
        suffix = None
        if resource == "/{proxy+}":  # the usual catch-all resource: no template to fill
            params = event.get("pathParameters")
            if type(params) is not dict:
                params = c.mapping(event, "pathParameters")
            proxy = params.get("proxy")
            suffix = "/" + proxy if isinstance(proxy, str) else None
        elif isinstance(resource, str) and resource.startswith("/"):
            suffix = c.fill_template(resource, c.mapping(event, "pathParameters"))
        # (REST pathParameters keep the client's percent-encoding, like `path`.)
        if (suffix is not None and (suffix == path or (encoded and suffix == raw_path))
                and suffix.startswith("/") and suffix != "/"):
            prefix, app_path = "", path  # what split_prefix gives when the path is the suffix
        else:
            prefix, app_path = c.split_prefix(path, suffix)
        if self.name == "http-v1":  # e.g. the `$default` route: no resource to match against
            prefix, app_path = c.strip_stage(prefix, app_path, stage)
        request_id = context_.get("requestId")
        root_path = self._root_path(prefix, stage, context_)
        return Request(  # (by position: a keyword call costs more than the request's fields)
            method.upper(),  # method
            app_path,  # path
            root_path,
            self.name,  # format
            stage,
            request_id if isinstance(request_id, str) else None,  # request_id
            event,
            context,
            self,  # reader
            c.raw_app_path(raw_path, prefix, app_path) if encoded else None,  # raw_path
        )

    def _root_path(self, prefix: str, stage: str | None, context_: Mapping[str, Any]) -> str:
        # On the execute-api domain a REST API's `path` omits the stage although the public URL
        # has it; on a custom domain `path` carries the base path mapping instead (kept in prefix).
        domain = context_.get("domainName")
        on_execute_api = not isinstance(domain, str) or domain.endswith(".amazonaws.com")
        if self.name == "rest" and on_execute_api and stage and not prefix:
            return "/" + stage
        return prefix

    def headers(self, event: Mapping[str, Any]) -> Headers:
        multi = c.mapping(event, "multiValueHeaders")
        source = multi or c.mapping(event, "headers")
        return Headers(c.string_pairs(source, "header"))

    def headers_named(self, event: Mapping[str, Any],
                      names: tuple[str, ...]) -> dict[str, str | None]:
        """Some headers' first values without building :meth:`headers` (``names``
        lower-case)."""
        multi = event.get("multiValueHeaders")
        if type(multi) is not dict:
            multi = c.mapping(event, "multiValueHeaders")
        if not multi:
            multi = event.get("headers")
            if type(multi) is not dict:
                multi = c.mapping(event, "headers")
        return c.first_headers(multi, names)

    def query(self, event: Mapping[str, Any]) -> QueryParams:
        multi = c.mapping(event, "multiValueQueryStringParameters")
        source = multi or c.mapping(event, "queryStringParameters")
        return QueryParams(c.string_pairs(source, "query string"))

    def source_ip(self, event: Mapping[str, Any]) -> str | None:
        context_ = event.get("requestContext")
        if type(context_) is not dict:
            context_ = c.request_context(event)
        identity = context_.get("identity")
        if type(identity) is not dict and not isinstance(identity, Mapping):
            return None
        ip = identity.get("sourceIp")
        return ip if isinstance(ip, str) else None

    def user_agent(self, event: Mapping[str, Any]) -> str | None:
        """``requestContext.identity.userAgent``: the caller's ``User-Agent`` header as the
        gateway recorded it, found without a pass over the headers (``None`` when absent).
        https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-mapping-template-reference.html#context-variable-reference
        """
        return c.context_string(event, "identity", "userAgent")

    def auth_sources(self, event: Mapping[str, Any]) -> AuthSources:
        """Authorizer output, the caller ``identity`` (IAM, API key) and its mTLS certificate."""
        from .identity import AuthSources  # only apps that read request.auth load it

        context_ = c.request_context(event)
        identity = context_.get("identity")
        identity = identity if isinstance(identity, Mapping) else {}
        cert = identity.get("clientCert")
        return AuthSources(authorizer=self.authorizer(event), identity=identity,
                           client_cert=cert if isinstance(cert, Mapping) else None)

    def render(self, response: Response, request: Request | None) -> dict[str, Any]:
        """``headers`` for single values, ``multiValueHeaders`` for repeated ones.

        The gateway merges both maps, and a pair present in both would appear twice, so each
        header goes in exactly one of them.
        """
        simple = c.simple_parts(response)
        if simple is not None:
            status, name, value, text, is_base64 = simple
            return {"statusCode": status, "headers": {name: value}, "body": text,
                    "isBase64Encoded": is_base64}
        status = c.check_status(response.status)
        single: dict[str, str] = {}
        multi: dict[str, list[str]] = {}
        for name, values in c.header_lists(response, include_cookies=True).items():
            if len(values) == 1:
                single[name] = values[0]
            else:
                multi[name] = values
        body, is_base64 = c.encode_body(response)
        out: dict[str, Any] = {
            "statusCode": status,
            "headers": single,
            "body": body,
            "isBase64Encoded": is_base64,
        }
        if multi:
            out["multiValueHeaders"] = multi
        return out


REST = V1Format("rest", path_encoded=True)
HTTP_V1 = V1Format("http-v1", path_encoded=False)
