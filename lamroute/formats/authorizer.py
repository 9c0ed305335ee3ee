"""Lambda authorizer events in, authorizer answers out (REST TOKEN/REQUEST, HTTP API 1.0/2.0).

https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-lambda-authorizer-input.html
https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-lambda-authorizer-output.html
https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-lambda-authorizer.html

>>> req = AuthorizerRequest({"type": "TOKEN", "authorizationToken": "Bearer abc",
...     "methodArn": "arn:aws:execute-api:us-east-1:123456789012:api1/prod/GET/notes/7"})
>>> req.bearer_token, req.arn.for_api(), req.arn.for_route("GET", "/notes/{note_id}")
('abc', 'arn:aws:execute-api:us-east-1:123456789012:api1/prod/*/*', \
'arn:aws:execute-api:us-east-1:123456789012:api1/prod/GET/notes/*')
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from ..exceptions import InvalidEvent
from ..http.multidict import Headers, QueryParams
from . import _common as c

_ARN = re.compile(r"arn:(?P<partition>[\w-]+):execute-api:(?P<region>[\w-]+):(?P<account>\d+):"
                  r"(?P<api>[^/]+)/(?P<stage>[^/]+)/(?P<method>[^/]+)(?:/(?P<resource>.*))?")
_PARAM = re.compile(r"\{[^/{}]+\}")


@dataclass(frozen=True)
class MethodArn:
    """An ``execute-api`` ARN split into parts, and the wildcard ARNs a policy needs.

    IAM's ``*`` matches any run of characters (``/`` included), so ``{stage}/*/*`` covers every
    method and path of one stage, root path included.
    """

    partition: str
    region: str
    account: str
    api_id: str
    stage: str
    method: str
    resource: str

    @classmethod
    def parse(cls, arn: str) -> MethodArn:
        found = _ARN.fullmatch(arn)
        if found is None:
            raise InvalidEvent(f"{arn!r} is not an execute-api method ARN.")
        return cls(found["partition"], found["region"], found["account"], found["api"],
                   found["stage"], found["method"], found["resource"] or "")

    @property
    def prefix(self) -> str:
        return f"arn:{self.partition}:execute-api:{self.region}:{self.account}:{self.api_id}"

    def for_api(self, *, stage: str | None = None) -> str:
        """Every method and path of the API in this stage (``stage="*"`` for all stages).

        A WebSocket API's ARN names a route key, not a method and path
        (``.../prod/$connect``): there every route of the stage is ``.../prod/*``.
        https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-control-access-iam.html
        """
        if self.method.startswith("$") and not self.resource:
            return f"{self.prefix}/{stage or self.stage}/*"
        return f"{self.prefix}/{stage or self.stage}/*/*"

    def for_route(self, method: str, path: str) -> str:
        """One route: ``("GET", "/notes/{note_id}")`` → ``.../GET/notes/*``; ``ANY`` → ``*``."""
        verb = "*" if method.upper() in ("ANY", "*") else method.upper()
        resource = _PARAM.sub("*", path).lstrip("/")
        return f"{self.prefix}/{self.stage}/{verb}/{resource}"

    def __str__(self) -> str:
        return f"{self.prefix}/{self.stage}/{self.method}/{self.resource}"


class AuthorizerRequest:
    """A read-only view of an authorizer event, whatever its type and payload version.

    ``token`` is the TOKEN authorizer's ``authorizationToken``, else the first identity source
    (HTTP API 2.0), else the ``Authorization`` header; ``bearer_token`` drops a ``Bearer`` prefix.
    """

    def __init__(self, event: Any) -> None:
        if not isinstance(event, Mapping):
            raise InvalidEvent("An authorizer event must be an object.")
        self.event: Mapping[str, Any] = event
        kind = event.get("type")
        if kind not in ("TOKEN", "REQUEST"):
            raise InvalidEvent("The authorizer event's 'type' must be TOKEN or REQUEST.")
        self.type: str = kind
        self.version: str = "2.0" if event.get("version") == "2.0" else "1.0"
        arn = event.get("routeArn") if self.version == "2.0" else event.get("methodArn")
        if not isinstance(arn, str):
            raise InvalidEvent("The authorizer event has no method or route ARN.")
        self.method_arn = arn
        self.arn = MethodArn.parse(arn)
        self._headers: Headers | None = None

    @property
    def headers(self) -> Headers:
        if self._headers is None:
            multi = c.mapping(self.event, "multiValueHeaders")
            source = multi or c.mapping(self.event, "headers")
            self._headers = Headers(c.string_pairs(source, "header"))
        return self._headers

    @property
    def query(self) -> QueryParams:
        raw = self.event.get("rawQueryString")
        if isinstance(raw, str):
            return QueryParams(parse_qsl(raw, keep_blank_values=True))
        multi = c.mapping(self.event, "multiValueQueryStringParameters")
        source = multi or c.mapping(self.event, "queryStringParameters")
        return QueryParams(c.string_pairs(source, "query string"))

    @property
    def identity_source(self) -> list[str]:
        """HTTP API 2.0's ``identitySource`` values (``[]`` elsewhere)."""
        value = self.event.get("identitySource")
        return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []

    @property
    def token(self) -> str | None:
        value = self.event.get("authorizationToken")
        if isinstance(value, str):
            return value
        sources = self.identity_source
        return sources[0] if sources else self.headers.get("authorization")

    @property
    def bearer_token(self) -> str | None:
        token = self.token
        if token is not None and token[:7].lower() == "bearer ":
            return token[7:].strip()
        return token

    @property
    def method(self) -> str:
        """The HTTP method of the request being authorized (from the ARN for TOKEN events)."""
        http = c.request_context(self.event).get("http")
        if isinstance(http, Mapping) and isinstance(http.get("method"), str):
            return str(http["method"])
        value = self.event.get("httpMethod")
        return value if isinstance(value, str) else self.arn.method

    @property
    def path(self) -> str | None:
        value = self.event.get("rawPath") if self.version == "2.0" else self.event.get("path")
        return value if isinstance(value, str) else None

    @property
    def path_parameters(self) -> Mapping[str, Any]:
        return c.mapping(self.event, "pathParameters")

    @property
    def stage_variables(self) -> Mapping[str, Any]:
        return c.mapping(self.event, "stageVariables")

    @property
    def request_context(self) -> Mapping[str, Any]:
        return c.request_context(self.event)

    @property
    def source_ip(self) -> str | None:
        context_ = self.request_context
        http = context_.get("http")
        if isinstance(http, Mapping):
            return c.str_or_none(http.get("sourceIp"))
        identity = context_.get("identity")
        return c.str_or_none(identity.get("sourceIp")) if isinstance(identity, Mapping) else None

    @property
    def client_cert(self) -> Mapping[str, Any] | None:
        """The mTLS client certificate (REST ``identity``, HTTP API ``authentication``)."""
        context_ = self.request_context
        for holder in (context_.get("identity"), context_.get("authentication")):
            if isinstance(holder, Mapping) and isinstance(holder.get("clientCert"), Mapping):
                return holder["clientCert"]  # type: ignore[no-any-return]
        return None

    def __repr__(self) -> str:  # no token: reprs end up in logs
        return f"<AuthorizerRequest {self.type} v{self.version} {self.method_arn}>"


def policy_answer(principal_id: str, effect: str, resources: list[str],
                  context: Mapping[str, Any] | None,
                  usage_identifier_key: str | None) -> dict[str, Any]:
    """An IAM policy answer (REST authorizers, HTTP API authorizers without simple responses)."""
    answer: dict[str, Any] = {
        "principalId": principal_id,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": effect,
                           "Resource": resources}],
        },
    }
    if context:
        answer["context"] = dict(context)
    if usage_identifier_key is not None:
        answer["usageIdentifierKey"] = usage_identifier_key
    return answer


def simple_answer(authorized: bool, context: Mapping[str, Any] | None) -> dict[str, Any]:
    """An HTTP API simple answer (``enableSimpleResponses``, payload 2.0)."""
    answer: dict[str, Any] = {"isAuthorized": authorized}
    if context:
        answer["context"] = dict(context)
    return answer
