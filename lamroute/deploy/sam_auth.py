"""The authorizers of a template, in SAM's ``Auth.Authorizers`` notation, with the parameters
and functions they need.

>>> from lamroute.deploy.auth import AuthOptions, Authorizer
>>> parts = SamParts({}, {}, AuthOptions())
>>> sam_authorizers({"JwtAuthorizer": Authorizer("JwtAuthorizer", "jwt", "jwt")}, "http", parts)
... # doctest: +NORMALIZE_WHITESPACE
{'Authorizers': {'JwtAuthorizer': {'IdentitySource': '$request.header.Authorization',
 'JwtConfiguration': {'issuer': {'Ref': 'JwtAuthorizerIssuer'},
                      'audience': {'Ref': 'JwtAuthorizerAudience'}}}}}
>>> sorted(parts.parameters)
['JwtAuthorizerAudience', 'JwtAuthorizerIssuer']
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .auth import AuthOptions, Authorizer
from .websocket import lambda_arn


@dataclass(frozen=True)
class SamParts:
    """Where authorizers add their parameters and functions, and how to build a function."""

    parameters: dict[str, Any]
    resources: dict[str, Any]
    auth: AuthOptions
    runtime: str = "python3.11"
    code_uri: str = "."
    architecture: str = "arm64"


def sam_authorizers(authorizers: Mapping[str, Authorizer], api: str,
                    parts: SamParts) -> dict[str, Any]:
    """``{"Authorizers": {...}}`` for an ``AWS::Serverless::Api``/``HttpApi`` (IAM excluded: it
    is a security scheme of the API definition)."""
    found = {name: _authorizer(authorizer, api, parts)
             for name, authorizer in authorizers.items() if authorizer.kind != "iam"}
    return {"Authorizers": found} if found else {}


def _authorizer(authorizer: Authorizer, api: str, parts: SamParts) -> dict[str, Any]:
    name, auth = authorizer.name, parts.auth
    if authorizer.kind == "jwt":
        # https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-jwt-authorizer.html
        parts.parameters[f"{name}Issuer"] = {
            "Type": "String", "Description": f"JWT issuer URL of scheme {authorizer.scheme}"
            " (Cognito: https://cognito-idp.REGION.amazonaws.com/POOL_ID)"}
        parts.parameters[f"{name}Audience"] = {
            "Type": "CommaDelimitedList",
            "Description": f"Accepted audiences (client ids) of scheme {authorizer.scheme}"}
        return {"IdentitySource": "$request.header.Authorization", "JwtConfiguration": {
            "issuer": {"Ref": f"{name}Issuer"}, "audience": {"Ref": f"{name}Audience"}}}
    if authorizer.kind == "cognito":
        # https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-property-api-cognitoauthorizer.html
        parts.parameters[f"{name}UserPoolArn"] = {
            "Type": "String", "Description": f"Cognito user pool ARN of scheme {authorizer.scheme}"}
        return {"UserPoolArn": {"Ref": f"{name}UserPoolArn"},
                "Identity": {"Header": "Authorization"}}
    arn = lambda_authorizer(authorizer, parts)
    identity = {"Headers": list(auth.identity_headers), "ReauthorizeEvery": auth.ttl}
    if api == "rest":
        # https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-property-api-lambdarequestauthorizer.html
        return {"FunctionArn": arn, "FunctionPayloadType": "REQUEST", "Identity": identity}
    # https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-property-httpapi-lambdaauthorizer.html
    flavour = authorizer.function.flavour if authorizer.function else None
    return {"FunctionArn": arn,
            "AuthorizerPayloadFormatVersion": "1.0" if flavour == "rest" else "2.0",
            "EnableSimpleResponses": flavour in (None, "http-simple"),
            "EnableFunctionDefaultPermissions": True, "Identity": identity}


def lambda_authorizer(authorizer: Authorizer, parts: SamParts) -> dict[str, Any]:
    """The Lambda authorizer's ARN: its function, added to the template, or a parameter."""
    if authorizer.function is None:
        parts.parameters[f"{authorizer.name}FunctionArn"] = {
            "Type": "String", "Description": f"ARN of the Lambda authorizer of scheme "
            f"{authorizer.scheme} (or pass --lambda-authorizer module:function)"}
    elif f"{authorizer.name}Function" not in parts.resources:
        module, _, attribute = authorizer.function.target.partition(":")
        parts.resources[f"{authorizer.name}Function"] = {
            "Type": "AWS::Serverless::Function", "Properties": {
                "Handler": f"{module}.{attribute or 'handler'}", "Runtime": parts.runtime,
                "CodeUri": parts.code_uri, "MemorySize": 256, "Timeout": 10,
                "Architectures": [parts.architecture]}}
    return lambda_arn(authorizer)
