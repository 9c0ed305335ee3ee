"""Authorizer event factories: what API Gateway sends a Lambda authorizer.

>>> token_event("Bearer abc", "GET", "/notes/7")["methodArn"]
'arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/GET/notes/7'
>>> http_authorizer_event("GET", "/notes", headers={"Authorization": "x"})["identitySource"]
['x']

Shapes: https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-lambda-authorizer-input.html
and https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-lambda-authorizer.html
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from .events import ACCOUNT, API_ID, REGION, PairsInit, _group, pairs


def method_arn(method: str, path: str, *, stage: str = "prod", api_id: str = API_ID) -> str:
    """The ARN API Gateway builds for a request: ``.../{stage}/{METHOD}/{path without /}``."""
    return (f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{api_id}/{stage}/{method.upper()}/"
            f"{path.lstrip('/')}")


def token_event(token: str, method: str = "GET", path: str = "/", *,
                stage: str = "prod") -> dict[str, Any]:
    """A REST TOKEN authorizer event (the identity source header's value as the token)."""
    return {"type": "TOKEN", "authorizationToken": token,
            "methodArn": method_arn(method, path, stage=stage)}


def request_event(method: str = "GET", path: str = "/", *, headers: PairsInit = None,
                  query: PairsInit = None, stage: str = "prod", resource: str | None = None,
                  path_parameters: Mapping[str, str] | None = None,
                  stage_variables: Mapping[str, str] | None = None,
                  version: str | None = None,
                  client_cert: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A REST REQUEST authorizer event (``version="1.0"``: an HTTP API payload 1.0 one)."""
    header_groups = _group(pairs(headers))
    query_groups = _group(pairs(query))
    identity: dict[str, Any] = {"sourceIp": "203.0.113.7", "userAgent": "lamroute-testclient",
                                "apiKey": None}
    if client_cert is not None:
        identity["clientCert"] = dict(client_cert)
    event: dict[str, Any] = {
        "type": "REQUEST",
        "methodArn": method_arn(method, path, stage=stage),
        "resource": resource or path,
        "path": path,
        "httpMethod": method.upper(),
        "headers": {k: v[-1] for k, v in header_groups.items()},
        "multiValueHeaders": header_groups,
        "queryStringParameters": {k: v[-1] for k, v in query_groups.items()},
        "multiValueQueryStringParameters": query_groups,
        "pathParameters": dict(path_parameters or {}),
        "stageVariables": dict(stage_variables or {}),
        "requestContext": {
            "path": f"/{stage}{path}", "accountId": ACCOUNT, "resourceId": "abc123",
            "stage": stage, "requestId": str(uuid.uuid4()), "identity": identity,
            "resourcePath": resource or path, "httpMethod": method.upper(), "apiId": API_ID,
        },
    }
    if version is not None:
        event["version"] = version
    return event


def http_authorizer_event(method: str = "GET", path: str = "/", *, headers: PairsInit = None,
                          query: PairsInit = None, identity_source: list[str] | None = None,
                          route_key: str = "$default", stage: str = "$default",
                          cookies: list[str] | None = None,
                          client_cert: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """An HTTP API payload 2.0 REQUEST authorizer event.

    ``identity_source`` defaults to the ``Authorization`` header's value (the usual
    ``$request.header.Authorization`` source); headers arrive lower-cased.
    """
    header_map = {k.lower(): ",".join(v) for k, v in _group(pairs(headers)).items()}
    query_pairs = pairs(query)
    if identity_source is None:
        identity_source = [header_map["authorization"]] if "authorization" in header_map else []
    now = time.time()
    context: dict[str, Any] = {
        "accountId": ACCOUNT, "apiId": API_ID,
        "domainName": f"{API_ID}.execute-api.{REGION}.amazonaws.com", "domainPrefix": API_ID,
        "http": {"method": method.upper(), "path": path, "protocol": "HTTP/1.1",
                 "sourceIp": "203.0.113.7", "userAgent": "lamroute-testclient"},
        "requestId": str(uuid.uuid4()), "routeKey": route_key, "stage": stage,
        "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
        "timeEpoch": int(now * 1000),
    }
    if client_cert is not None:
        context["authentication"] = {"clientCert": dict(client_cert)}
    event: dict[str, Any] = {
        "version": "2.0",
        "type": "REQUEST",
        "routeArn": method_arn(method, path, stage=stage),
        "identitySource": identity_source,
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": urlencode(query_pairs),
        "headers": header_map,
        "requestContext": context,
        "pathParameters": {},
        "stageVariables": {},
    }
    if cookies:
        event["cookies"] = list(cookies)
    if query_pairs:
        event["queryStringParameters"] = {k: ",".join(v) for k, v in _group(query_pairs).items()}
    return event
