"""The API definition (``DefinitionBody``) of a REST or HTTP API: paths, methods, integrations.

One operation per :class:`~lamroute.deploy.routes.GatewayRoute`, each with its path
``parameters``, its ``security`` (the authorizer, an API key) and what its integration sets. The
integration is a parameter: :func:`proxy_integration` by default (Lambda proxy), or any other
builder with the same signature (a custom, non-proxy integration adds its method ``responses``
and request ``parameters`` beside its ``x-amazon-apigateway-integration``). A definition also
lets one ``AWS::Lambda::Permission`` cover every route, where SAM events would add one each.

>>> from lamroute.deploy.routes import GatewayRoute
>>> body = definition("http", [GatewayRoute("/notes/{note_id}", "GET")], title="Notes",
...                   integration=proxy_integration("http", timeout_s=30))
>>> operation = body["paths"]["/notes/{note_id}"]["get"]
>>> operation["x-amazon-apigateway-integration"]["payloadFormatVersion"]
'2.0'
>>> operation["parameters"][0]["name"]
'note_id'

Extensions: https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-swagger-extensions.html
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from .auth import Authorizer
from .routes import ANY, GatewayRoute

FUNCTION_ID = "Function"
IAM_SCHEME = "sigv4"
API_KEY_SCHEME = "api_key"
_PARAM = re.compile(r"\{([^{}+]+)\+?\}")

Integration = Callable[[GatewayRoute], dict[str, Any]]
"""The members an integration sets on a route's operation: its
``x-amazon-apigateway-integration`` object, the method ``responses`` it needs (``{}`` for a
proxy), request ``parameters`` it maps (added to the path's)."""


def invoke_uri(function_id: str = FUNCTION_ID) -> dict[str, Any]:
    """The function's invocation URI, as an ``Fn::Sub``."""
    return {"Fn::Sub": "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/"
                       f"functions/${{{function_id}.Arn}}/invocations"}


def proxy_integration(api: str, *, timeout_s: float,
                      function_id: str = FUNCTION_ID) -> Integration:
    """A Lambda proxy integration (payload 1.0 for REST, 2.0 for HTTP APIs).

    Lambda is always invoked with ``POST``, whatever the route's method.
    https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-swagger-extensions-integration.html
    """
    integration: dict[str, Any] = {"type": "aws_proxy", "httpMethod": "POST",
                                   "uri": invoke_uri(function_id),
                                   "timeoutInMillis": int(timeout_s * 1000)}
    if api == "rest":
        integration["passthroughBehavior"] = "when_no_match"
    else:
        integration["payloadFormatVersion"] = "2.0"

    def build(route: GatewayRoute) -> dict[str, Any]:
        return {"responses": {}, "x-amazon-apigateway-integration": dict(integration)}

    return build


def definition(api: str, routes: list[GatewayRoute], *, title: str, version: str = "1.0",
               integration: Integration,
               authorizers: Mapping[str, Authorizer] | None = None) -> dict[str, Any]:
    """The OpenAPI document API Gateway imports: Swagger 2.0 for a REST API (what SAM edits
    best), OpenAPI 3.0 for an HTTP API (the only version it imports)."""
    iam = {name for name, a in (authorizers or {}).items() if a.kind == "iam"}
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        operation: dict[str, Any] = {}
        parameters = _parameters(api, route.path)
        if parameters:
            operation["parameters"] = parameters
        security = _security(route, iam)
        if security:
            operation["security"] = security
        for member, value in integration(route).items():
            if member == "parameters":
                operation.setdefault("parameters", []).extend(value)
            else:
                operation[member] = value
        key = "x-amazon-apigateway-any-method" if route.method == ANY else route.method.lower()
        paths.setdefault(route.path, {})[key] = operation
    info = {"title": title, "version": version}
    body: dict[str, Any] = ({"swagger": "2.0", "info": info, "paths": paths} if api == "rest"
                            else {"openapi": "3.0.1", "info": info, "paths": paths})
    schemes = _own_schemes(routes, iam)
    if schemes:
        if api == "rest":
            body["securityDefinitions"] = schemes
        else:
            body["components"] = {"securitySchemes": schemes}
    if any(r.access.api_key for r in routes):
        # The key is read from the X-API-Key header.
        # https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-swagger-extensions-api-key-source.html
        body["x-amazon-apigateway-api-key-source"] = "HEADER"
    return body


def _parameters(api: str, path: str) -> list[dict[str, Any]]:
    names = _PARAM.findall(path)
    if api == "rest":
        return [{"name": n, "in": "path", "required": True, "type": "string"} for n in names]
    return [{"name": n, "in": "path", "required": True, "schema": {"type": "string"}}
            for n in names]


def _security(route: GatewayRoute, iam: set[str]) -> list[dict[str, list[str]]]:
    requirement: dict[str, list[str]] = {}
    name = route.access.authorizer
    if name is not None:
        requirement[IAM_SCHEME if name in iam else name] = []
    if route.access.api_key:
        requirement[API_KEY_SCHEME] = []
    return [requirement] if requirement else []


def _own_schemes(routes: list[GatewayRoute], iam: set[str]) -> dict[str, Any]:
    """The schemes SAM does not add from ``Auth``: IAM (SigV4) and the API key."""
    schemes: dict[str, Any] = {}
    if any(r.access.authorizer in iam for r in routes):
        # https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-swagger-extensions-authtype.html
        schemes[IAM_SCHEME] = {"type": "apiKey", "name": "Authorization", "in": "header",
                               "x-amazon-apigateway-authtype": "awsSigv4"}
    if any(r.access.api_key for r in routes):
        schemes[API_KEY_SCHEME] = {"type": "apiKey", "name": "x-api-key", "in": "header"}
    return schemes
