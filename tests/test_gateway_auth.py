"""A Lambda authorizer run in front of the app, as the gateway does (TestClient and local use)."""

from __future__ import annotations

from typing import Any

import pytest

from lamroute import App, Request
from lamroute.authorizers import (
    Allow,
    AuthorizerRequest,
    Deny,
    Unauthenticated,
    http_authorizer,
    rest_authorizer,
)
from lamroute.guards import requires
from lamroute.testing import GatewayAuthorizer, TestClient, make_event
from lamroute.testing.gateway_auth import policy_effect

ARN = "arn:aws:execute-api:us-east-1:123456789012:api/prod/GET/notes/7"
calls: list[AuthorizerRequest] = []


def decide(request: AuthorizerRequest) -> Allow | Deny | Unauthenticated:
    calls.append(request)
    token = request.bearer_token
    if token == "crash":
        raise RuntimeError("boom")
    if token == "nobody":
        return Unauthenticated()
    if token and token.startswith("user-"):
        return Allow(token, scopes=["notes/read"], context={"tier": "gold", "vip": True})
    return Deny()


def make_app() -> App:
    app = App(access_log=False)

    @app.get("/notes/{note_id}", auth=requires(scopes=["notes/read"]))
    def note(note_id: str, request: Request) -> dict[str, Any]:
        who = request.auth
        return {"id": note_id, "user": who.principal_id, "tier": who.context.get("tier"),
                "vip": who.context.get("vip"), "kind": who.kind}

    return app


CASES = [
    ("rest", GatewayAuthorizer(rest_authorizer(decide))),
    ("rest", GatewayAuthorizer(rest_authorizer(decide), type="token")),
    ("http-v1", GatewayAuthorizer(http_authorizer(decide))),
    ("http", GatewayAuthorizer(http_authorizer(decide))),
    ("http", GatewayAuthorizer(http_authorizer(simple=False)(decide))),
]


@pytest.mark.parametrize(("format", "gate"), CASES)
def test_allowed_requests_reach_the_app_with_the_authorizer_context(
        format: str, gate: GatewayAuthorizer) -> None:
    client = TestClient(make_app(), format=format, lambda_authorizer=gate)
    body = client.get("/notes/7", headers={"Authorization": "Bearer user-9"}).json()
    assert body["id"] == "7" and body["user"] == "user-9" and body["kind"] == "lambda"
    assert body["tier"] == "gold"
    # REST passes context values on as strings; HTTP APIs keep their JSON types.
    assert body["vip"] == ("true" if format == "rest" else True)


@pytest.mark.parametrize(("format", "gate"), CASES)
def test_refusals_are_the_gateways_own_answers(format: str, gate: GatewayAuthorizer) -> None:
    client = TestClient(make_app(), format=format, lambda_authorizer=gate)
    calls.clear()
    missing = client.get("/notes/7")
    assert missing.status_code == 401 and missing.json() == {"message": "Unauthorized"}
    assert calls == []  # no identity source: the authorizer is not even called
    denied = client.get("/notes/7", headers={"Authorization": "Bearer stranger"})
    assert denied.status_code == 403
    crashed = client.get("/notes/7", headers={"Authorization": "Bearer crash"})
    assert crashed.status_code == 403  # lamroute authorizers deny instead of failing


def test_rest_unauthenticated_is_401_and_explicit_deny_message() -> None:
    client = TestClient(make_app(), format="rest", lambda_authorizer=rest_authorizer(decide))
    assert client.get("/notes/7", headers={"Authorization": "Bearer nobody"}).status_code == 401
    denied = client.get("/notes/7", headers={"Authorization": "Bearer stranger"})
    assert denied.json() == {
        "Message": "User is not authorized to access this resource with an explicit deny"}


def test_a_raw_failing_authorizer_is_a_500() -> None:
    def broken(event: Any, context: Any) -> Any:
        raise ValueError("not lamroute")

    client = TestClient(make_app(), format="http", lambda_authorizer=broken)
    assert client.get("/notes/7", headers={"Authorization": "x"}).status_code == 500
    weird = TestClient(make_app(), format="rest", lambda_authorizer=lambda e, c: ["?"])
    assert weird.get("/notes/7", headers={"Authorization": "x"}).status_code == 500


def test_the_authorizer_sees_the_request() -> None:
    calls.clear()
    client = TestClient(make_app(), format="http", lambda_authorizer=http_authorizer(decide))
    client.get("/notes/7?x=1", headers={"Authorization": "Bearer user-1", "X-Extra": "e"})
    (seen,) = calls
    assert (seen.method, seen.path, seen.query["x"], seen.headers["x-extra"]) == (
        "GET", "/notes/7", "1", "e")
    assert seen.identity_source == ["Bearer user-1"]


def test_policy_for_another_route_denies() -> None:
    @rest_authorizer
    def narrow(request: AuthorizerRequest) -> Allow:
        return Allow("u", resources=[("GET", "/other")])

    client = TestClient(make_app(), format="rest", lambda_authorizer=narrow)
    assert client.get("/notes/7", headers={"Authorization": "t"}).status_code == 403


@pytest.mark.parametrize(("resources", "effect"), [
    (["arn:aws:execute-api:us-east-1:123456789012:api/prod/*/*"], "Allow"),
    (["arn:aws:execute-api:us-east-1:123456789012:api/prod/GET/notes/*"], "Allow"),
    (["arn:aws:execute-api:us-east-1:123456789012:api/prod/POST/*"], "Deny"),
    (["arn:aws:execute-api:us-east-1:123456789012:api/dev/*/*"], "Deny"),
    ("arn:aws:execute-api:us-east-1:123456789012:api/prod/GET/notes/?", "Allow"),
])
def test_policy_matching(resources: Any, effect: str) -> None:
    document = {"Statement": [{"Effect": "Allow", "Action": "execute-api:Invoke",
                               "Resource": resources}]}
    assert policy_effect(document, ARN) == effect


def test_explicit_deny_wins_and_malformed_documents() -> None:
    both = {"Statement": [{"Effect": "Allow", "Resource": ["*"]},
                          {"Effect": "Deny", "Resource": [ARN]}]}
    assert policy_effect(both, ARN) == "Deny"
    assert policy_effect({"Statement": "x"}, ARN) is None
    assert policy_effect(None, ARN) is None


def test_event_is_only_written_on_success() -> None:
    gate = GatewayAuthorizer(http_authorizer(decide))
    event = make_event("http", "GET", "/notes/7", headers={"Authorization": "Bearer stranger"})
    assert gate.authorize(event, "http").status == 403
    assert "authorizer" not in event["requestContext"]
