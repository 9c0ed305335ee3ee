"""The auth example: guards on a JWT-protected HTTP API, and the lamroute partner authorizer."""

from __future__ import annotations

import hashlib
import importlib
import json
from pathlib import Path
from typing import Any

import pytest

from examples.auth import app as app_module
from examples.auth import authorizer as authorizer_module
from lamroute.testing import TestClient, http_authorizer_event

HERE = Path(__file__).parent
USER = {"principal_id": "user-1", "scopes": ["openid"]}
ADMIN = {"principal_id": "admin-1", "groups": ["admins"]}


@pytest.fixture
def client() -> TestClient:
    app_module.NOTES.clear()
    return TestClient(app_module.app, format="http")


def test_health_is_public(client: TestClient) -> None:
    assert client.get("/health").json() == {"status": "ok"}


def test_notes_need_a_user_and_belong_to_them(client: TestClient) -> None:
    assert client.get("/notes").status_code == 401
    created = client.post("/notes", json={"text": "hi"}, identity=USER)
    assert created.status_code == 201 and created.json()["owner"] == "user-1"
    assert created.headers["x-principal"] == "user-1"
    assert [n["text"] for n in client.get("/notes", identity=USER).json()] == ["hi"]
    assert client.get("/notes", identity={"principal_id": "other"}).json() == []


def test_only_admins_delete(client: TestClient) -> None:
    note = client.post("/notes", json={"text": "x"}, identity=USER).json()
    assert client.delete(f"/notes/{note['id']}", identity=USER).status_code == 403
    assert client.delete(f"/notes/{note['id']}", identity=ADMIN).status_code == 204
    scoped = {"principal_id": "ops", "scopes": ["notes/admin"]}
    assert client.delete(f"/notes/{note['id']}", identity=scoped).status_code == 404


def test_rest_cognito_shape_works_too() -> None:
    rest = TestClient(app_module.app, format="rest")
    assert rest.get("/notes", identity=USER).status_code == 200
    assert rest.delete("/notes/1", identity=ADMIN).status_code == 404


@pytest.fixture
def partner_env(monkeypatch: pytest.MonkeyPatch) -> str:
    token = "partner-secret-token"
    digest = hashlib.sha256(token.encode()).hexdigest()
    monkeypatch.setenv("PARTNER_TOKENS", json.dumps({digest: {"id": "acme", "tier": "gold"}}))
    return token


def test_partner_authorizer_decisions(partner_env: str) -> None:
    handler = authorizer_module.handler

    def ask(value: str | None) -> dict[str, Any]:
        headers = {"Authorization": value} if value is not None else None
        return handler(http_authorizer_event("GET", "/partner/reports", headers=headers))

    allowed = ask(f"Bearer {partner_env}")
    assert allowed == {"isAuthorized": True, "context": {
        "tier": "gold", "scope": "reports/read", "principalId": "acme"}}
    assert ask("Bearer wrong") == {"isAuthorized": False}
    assert ask(None) == {"isAuthorized": False}


def test_partner_route_end_to_end(partner_env: str, client: TestClient) -> None:
    """The authorizer's context, passed on as the gateway does, satisfies the route's guard."""
    event = http_authorizer_event("GET", "/partner/reports",
                                  headers={"Authorization": f"Bearer {partner_env}"})
    answer = authorizer_module.handler(event)
    response = client.get("/partner/reports", authorizer={"lambda": answer["context"]})
    assert response.json()["partner"] == "acme" and response.json()["tier"] == "gold"
    assert client.get("/partner/reports", identity=USER).status_code == 403


def test_openapi_document_shows_each_routes_authorizer(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    assert doc["paths"]["/health"]["get"]["security"] == []
    assert doc["paths"]["/notes"]["get"]["security"] == [{"cognito": []}]
    assert doc["paths"]["/partner/reports"]["get"]["security"] == [{"partner": ["reports/read"]}]
    assert set(doc["components"]["securitySchemes"]) == {"cognito", "partner"}


def test_cors_preflight_needs_no_token(client: TestClient) -> None:
    response = client.options("/notes", headers={
        "Origin": "https://pr-7.preview.example.com", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type"})
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == "https://pr-7.preview.example.com"
    assert response.headers["access-control-allow-credentials"] == "true"


class _NoManagedPolicies:
    def load(self) -> dict[str, str]:
        return {}


def _lint(text: str) -> list[str]:
    from cfnlint.api import lint

    return [f"{m.rule.id} {m.message}" for m in lint(text, regions=["us-east-1"])
            if m.rule.id[0] in "EW"]


def test_template_transforms_lints_and_wires_the_authorizers(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from cfnlint.decode import cfn_yaml
    from samtranslator.translator.transform import transform

    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    text = (HERE / "template.yaml").read_text()
    assert _lint(text) == []
    sam = cfn_yaml.loads(text)
    handlers = {}
    for name, resource in sam["Resources"].items():
        if resource["Type"] == "AWS::Serverless::Function":
            handlers[name] = resource["Properties"]["Handler"]
            resource["Properties"]["CodeUri"] = "s3://lamroute-artifacts/function.zip"
    cfn = transform(sam, {}, _NoManagedPolicies())
    assert _lint(json.dumps(cfn)) == []
    # Each handler names a real callable of this folder.
    assert handlers == {"ApiFunction": "app.app", "AuthorizerFunction": "authorizer.handler"}
    for handler in handlers.values():
        module, attribute = handler.rsplit(".", 1)
        assert callable(getattr(importlib.import_module(f"examples.auth.{module}"), attribute))
    (api,) = [r for r in cfn["Resources"].values() if r["Type"] == "AWS::ApiGatewayV2::Api"]
    body = api["Properties"]["Body"]
    security = {(path, method): operation.get("security")
                for path, methods in body["paths"].items()
                for method, operation in methods.items()}
    assert security == {
        ("/", "x-amazon-apigateway-any-method"): [{"CognitoAuthorizer": []}],
        ("/{proxy+}", "x-amazon-apigateway-any-method"): [{"CognitoAuthorizer": []}],
        ("/{proxy+}", "options"): [{"NONE": []}],  # preflights reach the app without a token
        ("/health", "get"): [{"NONE": []}],
        ("/partner/{proxy+}", "x-amazon-apigateway-any-method"): [{"PartnerAuthorizer": []}],
    }
    partner = body["components"]["securitySchemes"]["PartnerAuthorizer"][
        "x-amazon-apigateway-authorizer"]
    # What authorizer.py answers: payload 2.0 events, simple responses.
    assert (partner["authorizerPayloadFormatVersion"], partner["enableSimpleResponses"]) == (
        "2.0", True)
    assert partner["identitySource"] == ["$request.header.Authorization"]
    permissions = [r["Properties"] for r in cfn["Resources"].values()
                   if r["Type"] == "AWS::Lambda::Permission"]
    assert {"Fn::GetAtt": ["AuthorizerFunction", "Arn"]} in [p["FunctionName"]
                                                            for p in permissions]
