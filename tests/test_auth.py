"""request.auth: one Identity from every authorizer shape the gateway produces."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from lamroute import App, Request
from lamroute.formats.identity import AuthSources, identity_from, split_list
from lamroute.http.identity import Identity
from lamroute.security.guards import requires
from lamroute.testing import (
    FakeContext,
    TestClient,
    make_event,
    make_websocket_event,
    with_identity,
)

FIXTURES = Path(__file__).parent / "fixtures" / "auth"

# Shapes as the AWS docs show them in the integration's event (requestContext.authorizer).
ISSUER = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Example"
REST_COGNITO = {"claims": {
    "sub": "7d8ca528-4931-4254-9273-ea5ee853f271", "cognito:username": "jane",
    "cognito:groups": "admin,editors", "token_use": "access", "scope": "notes/read notes/write",
    "iss": ISSUER, "email": "jane@example.com",
}}
# REST stringifies a Lambda authorizer's context values on the way to the integration.
REST_LAMBDA = {"principalId": "user-42", "integrationLatency": 12, "tier": "gold",
               "admin": "true", "scope": "notes/read"}
HTTP_JWT = {"jwt": {"claims": {"sub": "u-1", "cognito:groups": "[admin editors]", "iss": ISSUER},
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
def test_scope_lists_in_every_flattening(value: Any, expected: set[str]) -> None:
    assert split_list(value) == expected


# -- groups: a group name never satisfies another group, whatever the source ------------------

def admins_app() -> App:
    app = App(access_log=False)
    app.get("/admin", auth=requires(groups=["Admins"]))(lambda: "admin")
    return app


def lambda_authorizer(format: str, groups: Any) -> dict[str, Any]:
    """A Lambda authorizer's context as each API type hands it to the integration."""
    if format == "http":
        return {"lambda": {"principalId": "u-1", "groups": groups}}
    return {"principalId": "u-1", "integrationLatency": 3, "groups": groups}


@pytest.mark.parametrize("format", ["rest", "http-v1", "http", "websocket"])
@pytest.mark.parametrize(("groups", "admitted"), [
    ('["Admins"]', True), ('["Domain Admins", "Admins"]', True),
    ("Domain Admins", False), ("Not Admins", False), ('["Domain Admins"]', False),
    ("Admins,Users", False), ("Admins", False),        # not a JSON array: refused, not guessed
    ("[Admins]", False), ('["Admins"', False), ('[["Admins"]]', False), ('["Admins", 1]', False),
    ('"Admins"', False), ("", False),
])
def test_lambda_context_group_with_spaces_never_satisfies_another_group(
        format: str, groups: str, admitted: bool) -> None:
    app = admins_app()
    if format == "websocket":
        app.websocket("$connect", auth=requires(groups=["Admins"]))(lambda: None)
        event = make_websocket_event("$connect", authorizer=lambda_authorizer("rest", groups))
        answer = app(event, FakeContext())["statusCode"]
    else:
        answer = TestClient(app, format=format).get(
            "/admin", authorizer=lambda_authorizer(format, groups)).status_code
    assert answer == (200 if admitted else 403)


@pytest.mark.parametrize(("groups", "admitted"), [
    (["Admins"], True), (["Domain Admins", "Admins"], True), (["Domain Admins"], False),
    (["Admins", 1], False), ({"Admins": True}, False),
])
def test_http_lambda_context_groups_as_a_real_array(groups: Any, admitted: bool) -> None:
    answer = TestClient(admins_app(), format="http").get(
        "/admin", authorizer=lambda_authorizer("http", groups))
    assert answer.status_code == (200 if admitted else 403)


def jwt_authorizer(format: str, claims: dict[str, Any]) -> dict[str, Any]:
    """An HTTP API JWT authorizer's output (payload 2.0, or 1.0 with its `scopes` beside)."""
    claims = {"sub": "u-1", **claims}
    if format == "http":
        return {"jwt": {"claims": claims, "scopes": None}}
    return {"claims": claims, "scopes": None}


@pytest.mark.parametrize("format", ["http-v1", "http"])
@pytest.mark.parametrize(("claims", "admitted"), [
    # a generic `groups` array claim: the gateway's "[a b]" cannot keep "Not Admins" whole
    ({"groups": "[Not Admins]"}, False), ({"groups": "[Admins Users]"}, False),
    ({"groups": "[Admins]"}, True), ({"groups": "Domain Admins"}, False),
    ({"groups": "Admins"}, True), ({"groups": ["Not Admins"]}, False),
    ({"groups": ["Not Admins", "Admins"]}, True), ({"groups": "[]"}, False),
    # cognito:groups from Cognito: names never hold whitespace, so spaces separate them
    ({"cognito:groups": "[Editors Admins]", "iss": ISSUER}, True),
    ({"cognito:groups": "[Not\tAdmins Editors]", "iss": ISSUER}, False),
    ({"cognito:groups": "[Not\u00a0Admins]", "iss": ISSUER}, False),
    ({"cognito:groups": "[Editors  Admins]", "iss": ISSUER}, False),
    ({"cognito:groups": "[Not Admins]"}, False),                       # issuer not Cognito
    ({"cognito:groups": "[Not Admins]", "iss": "https://idp.example.com/"}, False),
    ({"cognito:groups": "[Not Admins]",
      "iss": "https://cognito-idp.evil.example/us-east-1_X"}, False),
])
def test_jwt_group_claim_with_spaces_never_satisfies_another_group(
        format: str, claims: dict[str, Any], admitted: bool) -> None:
    answer = TestClient(admins_app(), format=format).get(
        "/admin", authorizer=jwt_authorizer(format, claims))
    assert answer.status_code == (200 if admitted else 403)


@pytest.mark.parametrize(("claims", "admitted"), [
    ({"cognito:groups": "Editors,Admins"}, True), ({"cognito:groups": "Admins"}, True),
    ({"cognito:groups": "Domain Admins"}, False), ({"cognito:groups": "Not Admins,Users"}, False),
    ({"cognito:groups": "[Not Admins]"}, False), ({"cognito:groups": "Editors, Admins"}, False),
    ({"cognito:groups": "Editors,,Admins"}, False), ({"groups": "Domain Admins"}, False),
    ({"groups": "Admins"}, True), ({"cognito:groups": ["Domain Admins"]}, False),
])
def test_rest_cognito_group_claim_with_spaces_never_satisfies_another_group(
        claims: dict[str, Any], admitted: bool) -> None:
    answer = TestClient(admins_app(), format="rest").get(
        "/admin", authorizer={"claims": {"sub": "u-1", "iss": ISSUER, **claims}})
    assert answer.status_code == (200 if admitted else 403)


def test_test_identities_refuse_group_names_the_gateway_could_not_carry() -> None:
    with pytest.raises(ValueError, match="whitespace"):
        TestClient(admins_app(), format="http").get(
            "/admin", identity={"groups": ["Domain Admins"]})
    spaced = {"kind": "lambda", "principal_id": "u", "groups": ["Domain Admins", "Admins"]}
    for format in ("rest", "http-v1", "http"):
        assert TestClient(admins_app(), format=format).get(
            "/admin", identity=spaced).status_code == 200


@pytest.mark.parametrize("format", ["rest", "http-v1", "http", "url"])
@pytest.mark.parametrize("kind", ["cognito", "jwt", "lambda", "iam"])
def test_test_identities_round_trip_through_each_format(format: str, kind: str) -> None:
    wanted = Identity(kind=kind, principal_id="arn:aws:iam::1:user/x" if kind == "iam" else "u9",
                      scopes=frozenset() if kind == "iam" else frozenset({"s1", "s2"}),
                      groups=frozenset() if kind == "iam" else frozenset({"g1"}))
    body = TestClient(echo_app(), format=format, identity=wanted).get("/me").json()
    expected_kind = kind
    if kind == "cognito" and format != "rest":
        expected_kind = "jwt"  # HTTP APIs have only JWT authorizers
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
