"""Local identity: a JWT authorizer emulated (TestClient ``jwt_claims``, ``serve --jwt-claims``),
authorizers attached only to the routes that require auth, and WebSocket ``$connect``
authorized by ``--authorizer``."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from lamroute import App, Depends, Identity, Request
from lamroute.authorizers import (
    Allow,
    AuthorizerRequest,
    Deny,
    http_authorizer,
    rest_authorizer,
)
from lamroute.cli import UsageError
from lamroute.commands import serve
from lamroute.formats.websocket import WebSocketRequest
from lamroute.local import Gateway, GatewayConfig, HttpRequest
from lamroute.local.websocket import start
from lamroute.security.cors import CORS
from lamroute.security.guards import current_identity, requires
from lamroute.testing import TestClient, WebSocketRejected
from lamroute.testing.jwt_authorizer import make_jwt

COGNITO = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Pool"
CLAIMS = {"sub": "u-42", "iss": COGNITO, "cognito:groups": ["admins", "staff"],
          "scope": "notes/read notes/write", "email_verified": True, "exp": 4102444800,
          "address": {"locality": "Lyon", "country": "FR"}, "amr": ["pwd", "mfa"]}
BEARER = {"Authorization": "Bearer local-dev-token"}
UNAUTHORIZED = {"message": "Unauthorized"}


def build_app() -> App:
    app = App(access_log=False, auth=requires(kinds=["jwt", "cognito"]),
              openapi_url="/openapi.json", docs_url="/docs",
              cors=CORS(allow_origins=["https://app.example.com"]))

    @app.get("/health", public=True)
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/me")
    def me(request: Request,
           user: Annotated[Identity, Depends(current_identity)]) -> dict[str, Any]:
        authorizer = request.event["requestContext"]["authorizer"]
        return {"user": user.principal_id, "groups": sorted(user.groups),
                "scopes": sorted(user.scopes), "authorizer": authorizer}

    @app.get("/admins", auth=requires(kinds=["jwt", "cognito"], groups=["admins"]))
    def admins() -> str:
        return "welcome"

    @app.get("/partner", auth=requires(kinds=["lambda"]))
    def partner(request: Request) -> dict[str, Any]:
        return {"partner": request.auth.principal_id}

    return app


def partner_decision(request: AuthorizerRequest) -> Allow | Deny:
    if request.bearer_token == "partner-token":
        return Allow("acme", context={"tier": "gold"}, resources="whole_api")
    return Deny(resources="whole_api")


partner_authorizer = rest_authorizer(partner_decision)  # REST and WebSocket APIs: policies
partner_http_authorizer = http_authorizer(partner_decision)


# -- the JWT authorizer, through TestClient ----------------------------------------------------


def test_jwt_claims_are_placed_as_an_http_api_payload_2_places_them() -> None:
    client = TestClient(build_app(), format="http", jwt_claims=CLAIMS)
    body = client.get("/me", headers=BEARER).json()
    assert body["authorizer"] == {"jwt": {
        "claims": {"sub": "u-42", "iss": COGNITO, "cognito:groups": "[admins staff]",
                   "scope": "notes/read notes/write", "email_verified": "true",
                   "exp": "4102444800", "address": "map[country:FR locality:Lyon]",
                   "amr": "[pwd mfa]"},
        "scopes": ["notes/read", "notes/write"]}}
    assert (body["user"], body["groups"]) == ("u-42", ["admins", "staff"])
    assert body["scopes"] == ["notes/read", "notes/write"]


def test_jwt_claims_are_placed_as_an_http_api_payload_1_places_them() -> None:
    client = TestClient(build_app(), format="http-v1", jwt_claims=CLAIMS)
    authorizer = client.get("/me", headers=BEARER).json()["authorizer"]
    assert authorizer["claims"]["cognito:groups"] == "[admins staff]"
    assert authorizer["scopes"] == ["notes/read", "notes/write"]
    assert "jwt" not in authorizer


def test_jwt_claims_on_a_rest_api_are_a_cognito_authorizers() -> None:
    client = TestClient(build_app(), format="rest", jwt_claims=CLAIMS)
    body = client.get("/me", headers=BEARER).json()
    claims = body["authorizer"]["claims"]
    assert claims["cognito:groups"] == "admins,staff" and claims["email_verified"] == "true"
    assert claims["exp"] == "Fri Jan 01 00:00:00 UTC 2100"
    assert body["groups"] == ["admins", "staff"]


@pytest.mark.parametrize("fmt", ["rest", "http", "http-v1"])
def test_jwt_authorizer_without_a_token_is_the_gateways_401(fmt: str) -> None:
    client = TestClient(build_app(), format=fmt, jwt_claims=CLAIMS)
    response = client.get("/me")
    assert (response.status_code, response.json()) == (401, UNAUTHORIZED)
    assert client.get("/admins", headers=BEARER).text == "welcome"


@pytest.mark.parametrize("fmt", ["http", "http-v1"])
def test_a_jwt_brings_its_own_claims_and_expiry(fmt: str) -> None:
    client = TestClient(build_app(), format=fmt, jwt_claims=CLAIMS)
    other = make_jwt({"sub": "u-7", "cognito:groups": ["staff"], "iss": COGNITO,
                      "exp": time.time() + 60})
    body = client.get("/me", headers={"Authorization": f"Bearer {other}"}).json()
    assert (body["user"], body["groups"]) == ("u-7", ["staff"])
    assert client.get("/admins", headers={"Authorization": other}).status_code == 403
    expired = make_jwt({"sub": "u-7", "exp": time.time() - 5})
    refused = client.get("/me", headers={"Authorization": f"Bearer {expired}"})
    assert (refused.status_code, refused.json()) == (401, UNAUTHORIZED)
    assert 'error="invalid_token"' in refused.headers["www-authenticate"]
    assert client.get("/me", headers={"Authorization": "Bearer a.b.c"}).status_code == 401


def test_jwt_claims_need_a_gateway_that_has_jwt_authorizers() -> None:
    with pytest.raises(ValueError):
        TestClient(build_app(), format="url", jwt_claims=CLAIMS)


# -- authorizers only where auth is required -----------------------------------------------


@pytest.mark.parametrize("fmt", ["rest", "http", "http-v1"])
def test_authorizers_skip_public_routes_docs_and_cors_preflights(fmt: str) -> None:
    authorizer = partner_authorizer if fmt == "rest" else partner_http_authorizer
    client = TestClient(build_app(), format=fmt, jwt_claims=CLAIMS, lambda_authorizer=authorizer)
    assert client.get("/health").json() == {"status": "ok"}
    assert client.get("/openapi.json").json()["openapi"].startswith("3.1")
    assert client.get("/docs").status_code == 200
    preflight = client.options("/me", headers={"Origin": "https://app.example.com",
                                               "Access-Control-Request-Method": "GET"})
    assert preflight.status_code == 204
    # a guarded route gets its authorizer: JWT on the token routes, the Lambda one on /partner
    assert client.get("/me").status_code == 401
    assert client.get("/partner").json() == UNAUTHORIZED
    partner = client.get("/partner", headers={"Authorization": "Bearer partner-token"})
    assert partner.json() == {"partner": "acme"}
    # a path no route serves gets what ANY /{proxy+} has: the default guard's authorizer
    assert client.get("/nowhere").status_code == 401
    assert client.get("/nowhere", headers=BEARER).status_code == 404


def test_lamroute_serve_authorizer_skips_public_routes(identity_app: Path) -> None:
    gate = gateway("rest", "--authorizer", "test_local_identity:partner_authorizer")
    assert answer(gate, "/prod/health") == (200, {"status": "ok"})
    assert answer(gate, "/prod/openapi.json")[0] == 200
    assert answer(gate, "/prod/partner") == (401, UNAUTHORIZED)
    assert answer(gate, "/prod/partner", "partner-token") == (200, {"partner": "acme"})


def test_whole_api_policy_covers_websocket_route_keys() -> None:
    from lamroute.formats.authorizer import MethodArn

    arn = MethodArn.parse("arn:aws:execute-api:eu-west-1:123456789012:abc/prod/$connect")
    assert arn.for_api() == "arn:aws:execute-api:eu-west-1:123456789012:abc/prod/*"


# -- lamroute serve --jwt-claims -------------------------------------------------------------


def gateway(api: str, *argv: str, app: str = "identity_app:app") -> Gateway:
    from lamroute.cli import load_app

    parser = argparse.ArgumentParser()
    serve.add_arguments(parser)
    args = parser.parse_args([app, "--api", api, *argv])
    loaded = load_app(app)
    gate = Gateway(loaded, GatewayConfig(api=api))
    serve.install_authorizer(gate, args, loaded)
    return gate


def answer(gate: Gateway, path: str, token: str | None = None) -> tuple[int, Any]:
    headers = [("Authorization", f"Bearer {token}")] if token else []
    got = gate.handle(HttpRequest("GET", path, headers=headers))
    return got.status, json.loads(got.body) if got.body[:1] in (b"{", b"[") else got.body


@pytest.fixture
def identity_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "identity_app.py").write_text(
        "from test_local_identity import build_app\napp = build_app()\n")
    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("identity_app", None)
    return tmp_path


@pytest.mark.parametrize(("api", "prefix", "groups"), [("http", "", "[admins staff]"),
                                                       ("rest", "/prod", "admins,staff")])
def test_serve_jwt_claims_from_a_file_or_inline(identity_app: Path, api: str, prefix: str,
                                                groups: str) -> None:
    claims_file = identity_app / "claims.json"
    claims_file.write_text(json.dumps(CLAIMS))
    for source in (str(claims_file), json.dumps(CLAIMS)):
        gate = gateway(api, "--jwt-claims", source)
        status, body = answer(gate, f"{prefix}/me", "anything")
        assert status == 200 and body["user"] == "u-42"
        claims = body["authorizer"]["jwt"]["claims"] if api == "http" else (
            body["authorizer"]["claims"])
        assert claims["cognito:groups"] == groups
        assert answer(gate, f"{prefix}/me") == (401, UNAUTHORIZED)
        assert answer(gate, f"{prefix}/health") == (200, {"status": "ok"})


@pytest.mark.parametrize("value", ["{not json", "[1, 2]", "/no/such/claims.json"])
def test_serve_jwt_claims_that_cannot_be_read_are_usage_errors(identity_app: Path,
                                                                value: str) -> None:
    with pytest.raises(UsageError):
        gateway("http", "--jwt-claims", value)


def test_serve_jwt_claims_on_a_function_url_is_a_usage_error(identity_app: Path) -> None:
    with pytest.raises(UsageError, match="Function URLs"):
        gateway("url", "--jwt-claims", "{}")


def test_serve_says_when_an_authorizer_covers_no_route(
        identity_app: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (identity_app / "open_app.py").write_text(
        "from lamroute import App\napp = App()\napp.get('/x')(lambda: 'x')\n")
    gateway("http", "--jwt-claims", "{}", app="open_app:app")
    assert "--jwt-claims applies to no route" in capsys.readouterr().err


def test_reload_passes_jwt_claims_and_the_log_format_on() -> None:
    parser = argparse.ArgumentParser()
    serve.add_arguments(parser)
    argv = serve._server_argv(parser.parse_args(["m:app", "--jwt-claims", '{"sub": "u"}',
                                                 "--log-format", "pretty"]))
    assert argv[argv.index("--jwt-claims") + 1] == '{"sub": "u"}'
    assert argv[argv.index("--log-format") + 1] == "pretty"


# -- WebSocket $connect through the authorizer --------------------------------------------


def chat() -> App:
    app = App(access_log=False, auth=requires(kinds=["lambda"]))

    @app.websocket("whoami")
    def whoami(request: WebSocketRequest) -> dict[str, Any]:
        return {"who": request.auth.principal_id, "tier": request.auth.context.get("tier")}

    return app


def test_local_websocket_connect_goes_through_the_authorizer() -> None:
    from lamroute.testing import GatewayAuthorizer
    from lamroute.testing.route_auth import RouteAuthorizers

    gates = RouteAuthorizers(chat(), GatewayAuthorizer(partner_authorizer, ttl=0))
    with start(gates.app, port=0, management_port=0, authorizers=gates) as running:
        with pytest.raises(InvalidStatus) as missing:
            connect(running.url + "/", open_timeout=10)
        assert missing.value.response.status_code == 401
        with pytest.raises(InvalidStatus) as denied:
            connect(running.url + "/", additional_headers={"Authorization": "Bearer nope"},
                    open_timeout=10)
        assert denied.value.response.status_code == 403
        with connect(running.url + "/", open_timeout=10,
                     additional_headers={"Authorization": "Bearer partner-token"}) as ws:
            ws.send(json.dumps({"action": "whoami"}))
            assert json.loads(ws.recv(timeout=10)) == {"who": "acme", "tier": "gold"}


def test_testclient_websocket_connect_goes_through_the_lambda_authorizer() -> None:
    client = TestClient(chat(), lambda_authorizer=partner_authorizer)
    with pytest.raises(WebSocketRejected) as refused:
        client.websocket_connect()
    assert refused.value.response.status_code == 401
    with client.websocket_connect(headers={"Authorization": "Bearer partner-token"}) as ws:
        assert ws.send_json({"action": "whoami"}).json() == {"who": "acme", "tier": "gold"}
