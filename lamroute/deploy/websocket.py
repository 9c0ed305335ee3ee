"""The WebSocket API of an app with ``@app.websocket`` routes (plain CloudFormation: SAM has no
WebSocket resource).

An ``AWS::ApiGatewayV2::Api`` with the route selection expression, one integration (Lambda
proxy), one route per route key the app handles, a stage that deploys every change, and the
permission for API Gateway to invoke the function. API Gateway authorizes a connection once, on
``$connect``: its authorizer (Lambda ``REQUEST`` or IAM) is the only one.
https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api-overview.html

>>> resources = websocket_resources(["$connect", "sendMessage"], stage="prod")
>>> sorted(k for k in resources if k.startswith("WebSocketRoute"))
['WebSocketRouteConnect', 'WebSocketRouteSendMessage', 'WebSocketRouteSendMessageResponse']
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from ..routing.routes import CONNECT, DISCONNECT
from .auth import PUBLIC, Access, Authorizer
from .definition import FUNCTION_ID, invoke_uri

API_ID = "WebSocketApi"
INTEGRATION_ID = "WebSocketIntegration"
STAGE_ID = "WebSocketStage"
DEFAULT_ROUTE_SELECTION = "$request.body.action"


def websocket_resources(
    route_keys: Iterable[str], *, stage: str, connect: Access = PUBLIC,
    authorizers: dict[str, Authorizer] | None = None, two_way: bool = True,
    route_selection: str = DEFAULT_ROUTE_SELECTION, title: str = "lamroute",
    identity_headers: tuple[str, ...] = ("Authorization",), timeout_s: float = 29.0,
    throttle: dict[str, Any] | None = None, function_id: str = FUNCTION_ID,
) -> dict[str, dict[str, Any]]:
    """The resources, by logical id. ``connect`` is what ``$connect`` requires (its authorizer
    among ``authorizers``); ``two_way`` gives each message route a route response, so its
    answer reaches the client (``$connect``/``$disconnect`` have none)."""
    api_ref = {"Ref": API_ID}
    resources: dict[str, dict[str, Any]] = {
        API_ID: {"Type": "AWS::ApiGatewayV2::Api", "Properties": {
            "Name": f"{title} (WebSocket)", "ProtocolType": "WEBSOCKET",
            "RouteSelectionExpression": route_selection}},
        INTEGRATION_ID: {"Type": "AWS::ApiGatewayV2::Integration", "Properties": {
            "ApiId": api_ref, "IntegrationType": "AWS_PROXY",
            "IntegrationUri": invoke_uri(function_id),
            "TimeoutInMillis": int(timeout_s * 1000)}},
    }
    keys = sorted(set(route_keys))
    if connect != PUBLIC and CONNECT not in keys:
        keys.insert(0, CONNECT)  # the implicit $connect is guarded: the authorizer runs there
    authorizer = (authorizers or {}).get(connect.authorizer or "")
    route_ids: list[str] = []
    for key in keys:
        route_id = _unique(f"WebSocketRoute{_pascal(key)}", resources)
        route: dict[str, Any] = {"ApiId": api_ref, "RouteKey": key,
                                 "AuthorizationType": "NONE", "OperationName": _pascal(key),
                                 "Target": {"Fn::Sub": f"integrations/${{{INTEGRATION_ID}}}"}}
        if key == CONNECT and authorizer is not None:
            route.update(_connect_auth(authorizer, resources, identity_headers, function_id))
        messages = key not in (CONNECT, DISCONNECT)
        if two_way and messages:
            route["RouteResponseSelectionExpression"] = "$default"
        resources[route_id] = {"Type": "AWS::ApiGatewayV2::Route", "Properties": route}
        route_ids.append(route_id)
        if two_way and messages:
            # A route's answer reaches the client only through a route response.
            # https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api-route-response.html
            resources[f"{route_id}Response"] = {
                "Type": "AWS::ApiGatewayV2::RouteResponse",
                "Properties": {"ApiId": api_ref, "RouteId": {"Ref": route_id},
                               "RouteResponseKey": "$default"}}
    stage_properties: dict[str, Any] = {"ApiId": api_ref, "StageName": stage, "AutoDeploy": True}
    if throttle:
        stage_properties["DefaultRouteSettings"] = throttle
    resources[STAGE_ID] = {"Type": "AWS::ApiGatewayV2::Stage", "DependsOn": route_ids,
                           "Properties": stage_properties}
    resources["WebSocketPermission"] = {"Type": "AWS::Lambda::Permission", "Properties": {
        "Action": "lambda:InvokeFunction", "FunctionName": {"Ref": function_id},
        "Principal": "apigateway.amazonaws.com",
        "SourceArn": {"Fn::Sub": "arn:${AWS::Partition}:execute-api:${AWS::Region}:"
                                 f"${{AWS::AccountId}}:${{{API_ID}}}/*"}}}
    return resources


def _connect_auth(authorizer: Authorizer, resources: dict[str, dict[str, Any]],
                  identity_headers: tuple[str, ...], function_id: str) -> dict[str, Any]:
    """``$connect``'s authorization: IAM, or a Lambda REQUEST authorizer (and its permission)."""
    if authorizer.kind == "iam":
        return {"AuthorizationType": "AWS_IAM"}
    arn = lambda_arn(authorizer)
    resources[authorizer.name] = {"Type": "AWS::ApiGatewayV2::Authorizer", "Properties": {
        "ApiId": {"Ref": API_ID}, "Name": authorizer.name, "AuthorizerType": "REQUEST",
        "AuthorizerUri": {"Fn::Sub": ["arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:"
                                      "path/2015-03-31/functions/${Arn}/invocations",
                                      {"Arn": arn}]},
        # https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api-lambda-auth.html
        "IdentitySource": [f"route.request.header.{h}" for h in identity_headers]}}
    resources[f"{authorizer.name}Permission"] = {"Type": "AWS::Lambda::Permission",
                                                 "Properties": {
        "Action": "lambda:InvokeFunction", "FunctionName": arn,
        "Principal": "apigateway.amazonaws.com",
        "SourceArn": {"Fn::Sub": "arn:${AWS::Partition}:execute-api:${AWS::Region}:"
                                 f"${{AWS::AccountId}}:${{{API_ID}}}/authorizers/"
                                 f"${{{authorizer.name}}}"}}}
    return {"AuthorizationType": "CUSTOM", "AuthorizerId": {"Ref": authorizer.name}}


def lambda_arn(authorizer: Authorizer) -> dict[str, Any]:
    """The ARN of a Lambda authorizer: its function in the template, or the ARN parameter."""
    if authorizer.function is not None:
        return {"Fn::GetAtt": [f"{authorizer.name}Function", "Arn"]}
    return {"Ref": f"{authorizer.name}FunctionArn"}


def manage_connections_policy(stage: str) -> dict[str, Any]:
    """The function's right to post to, read and close this stage's connections.
    https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-control-access-iam.html
    """
    return {"Statement": [{
        "Effect": "Allow", "Action": "execute-api:ManageConnections",
        "Resource": {"Fn::Sub": "arn:${AWS::Partition}:execute-api:${AWS::Region}:"
                                f"${{AWS::AccountId}}:${{{API_ID}}}/{stage}/*/@connections/*"},
    }]}


def connections_endpoint(stage: str) -> dict[str, Any]:
    """The Management API endpoint of the stage, for HTTP routes that push to clients."""
    return {"Fn::Sub": f"https://${{{API_ID}}}.execute-api.${{AWS::Region}}."
                       f"${{AWS::URLSuffix}}/{stage}"}


def _pascal(key: str) -> str:
    words = [w for w in re.split(r"[^A-Za-z0-9]+", key) if w]
    name = "".join(w[:1].upper() + w[1:] for w in words)
    return name or "Route"


def _unique(name: str, taken: dict[str, Any]) -> str:
    candidate, n = name, 2
    while candidate in taken:
        candidate, n = f"{name}{n}", n + 1
    return candidate
