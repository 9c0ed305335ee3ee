"""request.auth: one Identity from every authorizer shape the gateway produces."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from lamroute import App, Request
from lamroute.auth import AuthSources, Identity, identity_from, split_list
from lamroute.testing import FakeContext, TestClient, make_event, with_identity

FIXTURES = Path(__file__).parent / "fixtures" / "auth"

# Shapes as the AWS docs show them in the integration's event (requestContext.authorizer).
REST_COGNITO = {"claims": {
    "sub": "7d8ca528-4931-4254-9273-ea5ee853f271", "cognito:username": "jane",
    "cognito:groups": "admin,editors", "token_use": "access", "scope": "notes/read notes/write",
    "iss": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Example",
    "email": "jane@example.com",
}}
# REST stringifies a Lambda authorizer's context values on the way to the integration.
REST_LAMBDA = {"principalId": "user-42", "integrationLatency": 12, "tier": "gold",
               "admin": "true", "scope": "notes/read"}
HTTP_JWT = {"jwt": {"claims": {"sub": "u-1", "cognito:groups": "[admin editors]"},
                    "scopes": ["notes/read", "notes/write"]}}
HTTP_LAMBDA = {"lambda": {"principalId": "user-42", "tier": "gold", "count": 3}}
HTTP_IAM = {"iam": {"accessKey": "ASIAEXAMPLE", "accountId": "123456789012",
                    "callerId": "AIDAEXAMPLE", "cognitoIdentity": None, "principalOrgId": None,
                    "userArn": "arn:aws:iam::123456789012:user/jane", "userId": "AIDAEXAMPLE"}}


def echo_app() -> App:
    app = App(access_log=False)

    @app.get("/me")
    def me(request: Request) -> dict[str, Any]:
        who = request.auth
        return {"kind": who.kind, "principal": who.principal_id, "scopes": sorted(who.scopes),
                "groups": sorted(who.groups), "context": dict(who.context),
                "claims": dict(who.claims), "cert": who.client_cert is not None}

    return app


@pytest.mark.parametrize(("format", "authorizer", "kind", "principal", "scopes", "groups"), [
    ("rest", REST_COGNITO, "cognito", "7d8ca528-4931-4254-9273-ea5ee853f271",
     ["notes/read", "notes/write"], ["admin", "editors"]),
    ("rest", REST_LAMBDA, "lambda", "user-42", ["notes/read"], []),
    ("http-v1", {"claims": {"sub": "u-1"}, "scopes": ["a", "b"]}, "jwt", "u-1", ["a", "b"], []),
    ("http", HTTP_JWT, "jwt", "u-1", ["notes/read", "notes/write"], ["admin", "editors"]),
    ("url", HTTP_IAM, "iam", "arn:aws:iam::123456789012:user/jane", [], []),
    ("http", HTTP_LAMBDA, "lambda", "user-42", [], []),
    ("http", HTTP_IAM, "iam", "arn:aws:iam::123456789012:user/jane", [], []),
])
def test_every_authorizer_shape_reads_into_one_identity(
    format: str, authorizer: dict[str, Any], kind: str, principal: str, scopes: list[str],
    groups: list[str],
) -> None:
    body = TestClient(echo_app(), format=format).get("/me", authorizer=authorizer).json()
    assert (body["kind"], body["principal"], body["scopes"], body["groups"]) == (
        kind, principal, scopes, groups)


def test_lambda_context_keeps_values_without_gateway_keys() -> None:
    rest = TestClient(echo_app(), format="rest").get("/me", authorizer=REST_LAMBDA).json()
    assert rest["context"] == {"tier": "gold", "admin": "true", "scope": "notes/read"}
    http = TestClient(echo_app(), format="http").get("/me", authorizer=HTTP_LAMBDA).json()
    assert http["context"]["count"] == 3


def test_http_lambda_authorizer_without_context_is_still_a_lambda_identity() -> None:
    who = identity_from(AuthSources(authorizer={"lambda": None}))
    assert who.kind == "lambda" and who.authenticated and who.context == {}


def test_rest_iam_identity_and_api_key() -> None:
    event = make_event("rest", "GET", "/me")
    event["requestContext"]["identity"].update(
        userArn="arn:aws:iam::123456789012:user/bob", caller="AIDABOB", accessKey="ASIABOB")
    body = TestClient(echo_app()).invoke(event).json()
    assert (body["kind"], body["principal"]) == ("iam", "arn:aws:iam::123456789012:user/bob")

    event = make_event("rest", "GET", "/me")
    event["requestContext"]["identity"].update(apiKey="k-secret", apiKeyId="key-id-1")
    app = App(access_log=False)
    seen: list[Identity] = []

    @app.get("/me")
    def me(request: Request) -> str:
        seen.append(request.auth)
        return "ok"

    app(event, FakeContext())
    assert seen[0].kind == "api_key" and seen[0].api_key == "k-secret"
    assert seen[0].principal_id == "key-id-1"
    assert "k-secret" not in repr(seen[0])


def test_sample_events_from_the_gateway() -> None:
    event = json.loads((FIXTURES / "http-api-proxy-jwt-mtls.json").read_text())
    app = echo_app()
    event["rawPath"] = "/me"
    event["requestContext"]["http"].update(method="GET", path="/me")
    body = json.loads(app(event, FakeContext())["body"])
    assert body["kind"] == "jwt" and body["scopes"] == ["scope1", "scope2"]
    assert body["claims"] == {"claim1": "value1", "claim2": "value2"} and body["cert"] is True


def test_rest_mtls_certificate_only() -> None:
    event = make_event("rest", "GET", "/me")
    event["requestContext"]["identity"]["clientCert"] = {"subjectDN": "www.example.com"}
    body = TestClient(echo_app()).invoke(event).json()
    assert (body["kind"], body["cert"]) == ("none", True)


@pytest.mark.parametrize("format", ["rest", "http-v1", "http", "url", "alb"])
def test_no_authorizer_is_anonymous(format: str) -> None:
    body = TestClient(echo_app(), format=format).get("/me").json()
    assert (body["kind"], body["principal"], body["cert"]) == ("none", None, False)


@pytest.mark.parametrize("authorizer", [
    {"claims": "not-a-dict"}, {"jwt": {"claims": None, "scopes": 7}}, {"lambda": [1, 2]},
    {"iam": {"userArn": 5}}, {"principalId": None},
])
def test_odd_shapes_never_raise(authorizer: dict[str, Any]) -> None:
    response = TestClient(echo_app(), format="http").get("/me", authorizer=authorizer)
    assert response.status_code == 200


@pytest.mark.parametrize(("value", "expected"), [
    ("[admin, users]", {"admin", "users"}), ("admin,users", {"admin", "users"}),
    ("[admin users]", {"admin", "users"}), ("admin", {"admin"}), ("", set()), (None, set()),
    (["a", "b"], {"a", "b"}), ("[]", set()),
])
def test_group_claims_in_every_flattening(value: Any, expected: set[str]) -> None:
    assert split_list(value) == expected


@pytest.mark.parametrize("format", ["rest", "http-v1", "http", "url"])
@pytest.mark.parametrize("kind", ["cognito", "jwt", "lambda", "iam"])
def test_test_identities_round_trip_through_each_format(format: str, kind: str) -> None:
    wanted = Identity(kind=kind, principal_id="arn:aws:iam::1:user/x" if kind == "iam" else "u9",
                      scopes=frozenset() if kind == "iam" else frozenset({"s1", "s2"}),
                      groups=frozenset() if kind == "iam" else frozenset({"g1"}))
    body = TestClient(echo_app(), format=format, identity=wanted).get("/me").json()
    expected_kind = kind
    if kind == "cognito" and format in ("http", "url"):
        expected_kind = "jwt"  # HTTP API 2.0 has only JWT authorizers
    if kind == "jwt" and format == "rest":
        expected_kind = "cognito"  # REST APIs have only Cognito user pool authorizers
    assert body["kind"] == expected_kind
    assert body["principal"] == wanted.principal_id
    assert body["scopes"] == sorted(wanted.scopes) and body["groups"] == sorted(wanted.groups)


def test_with_identity_writes_api_keys_and_certificates() -> None:
    event = with_identity(make_event("rest", "GET", "/me"), "rest",
                          {"kind": "api_key", "api_key": "k1", "principal_id": "kid"})
    assert event["requestContext"]["identity"]["apiKey"] == "k1"
    event = with_identity(make_event("http", "GET", "/me"), "http",
                          {"kind": "none", "client_cert": {"subjectDN": "cn"}})
    assert event["requestContext"]["authentication"]["clientCert"] == {"subjectDN": "cn"}


def test_request_auth_is_read_once_and_can_be_assigned() -> None:
    app = App(access_log=False)
    results: list[bool] = []

    @app.get("/")
    def index(request: Request) -> str:
        first = request.auth
        results.append(first is request.auth)
        request.auth = Identity(kind="lambda", principal_id="swapped")
        results.append(request.auth.principal_id == "swapped")
        return "ok"

    TestClient(app, format="http").get("/", authorizer=HTTP_JWT)
    assert results == [True, True]
