"""Route guards: 401/403 problems, defaults per app and router, public routes, OpenAPI data."""

from __future__ import annotations

from typing import Annotated, Any

import pytest

from lamroute import App, Request, RouteDefinitionError, Router
from lamroute.errors import Problem
from lamroute.http.identity import Identity
from lamroute.security.guards import (
    Guard,
    authenticated,
    current_identity,
    optional_identity,
    requires,
    route_security,
    security_schemes,
)
from lamroute.testing import FakeContext, TestClient, make_event, make_websocket_event

FORMATS = ["rest", "http-v1", "http", "url"]


def make_app(**options: Any) -> App:
    app = App(access_log=False, **options)

    @app.get("/admin", auth=requires(scopes=["admin"]))
    def admin() -> dict[str, bool]:
        return {"admin": True}

    @app.get("/editors", auth=requires(groups=["editors", "owners"]))
    def editors() -> str:
        return "editors"

    @app.get("/even", auth=lambda who: (who.principal_id or "").endswith("2"))
    def even() -> str:
        return "even"

    @app.get("/iam-only", auth=requires(kinds=["iam"]))
    def iam_only() -> str:
        return "iam"

    @app.get("/open")
    def open_() -> str:
        return "open"

    return app


@pytest.mark.parametrize("format", FORMATS)
def test_no_identity_is_401_with_a_challenge(format: str) -> None:
    response = TestClient(make_app(), format=format).get("/admin")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="api"'
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 401 and response.json()["title"] == "Unauthorized"


@pytest.mark.parametrize("format", FORMATS)
def test_missing_scope_is_403_with_insufficient_scope(format: str) -> None:
    response = TestClient(make_app(), format=format).get("/admin", identity={"scopes": ["read"]})
    assert response.status_code == 403
    assert 'error="insufficient_scope"' in response.headers["www-authenticate"]
    assert 'scope="admin"' in response.headers["www-authenticate"]
    assert response.json()["title"] == "Forbidden"


@pytest.mark.parametrize("format", FORMATS)
def test_sufficient_identity_passes(format: str) -> None:
    client = TestClient(make_app(), format=format)
    assert client.get("/admin", identity={"scopes": ["admin", "x"]}).json() == {"admin": True}
    assert client.get("/editors", identity={"groups": ["owners"]}).text == "editors"
    assert client.get("/editors", identity={"groups": ["viewers"]}).status_code == 403
    assert client.get("/even", identity={"principal_id": "u2"}).text == "even"
    assert client.get("/even", identity={"principal_id": "u3"}).status_code == 403


def test_lambda_authorizer_scopes_pass_the_same_guards() -> None:
    client = TestClient(make_app(), format="rest")
    ok = client.get("/admin", authorizer={"principalId": "u", "scope": "admin"})
    assert ok.status_code == 200
    assert client.get("/admin", authorizer={"principalId": "u"}).status_code == 403


def test_kind_restriction() -> None:
    client = TestClient(make_app(), format="http")
    assert client.get("/iam-only", identity={"scopes": ["admin"]}).status_code == 403
    iam = Identity(kind="iam", principal_id="arn:aws:iam::1:user/x")
    assert client.get("/iam-only", identity=iam).status_code == 200


def test_guard_runs_before_parameters_are_bound() -> None:
    app = App(access_log=False)

    @app.post("/items", auth=requires())
    def create(request: Request) -> Any:
        return request.json()

    response = TestClient(app).post("/items", body="{not json")
    assert response.status_code == 401


def test_problems_go_through_the_apps_error_formatter() -> None:
    def formatter(problem: Problem, request: Request | None) -> dict[str, Any]:
        return {"error": problem.status}

    response = TestClient(make_app(error_formatter=formatter)).get("/admin")
    assert response.json() == {"error": 401}
    assert response.headers["www-authenticate"] == 'Bearer realm="api"'


def test_app_default_guard_and_public_routes() -> None:
    app = App(access_log=False, auth=requires())

    @app.get("/private")
    def private() -> str:
        return "private"

    @app.get("/health", public=True)
    def health() -> str:
        return "ok"

    @app.get("/admin", auth=requires(scopes=["admin"]))
    def admin() -> str:
        return "admin"

    client = TestClient(app, format="http")
    assert client.get("/private").status_code == 401
    assert client.get("/private", identity={}).text == "private"
    assert client.get("/health").text == "ok"
    assert client.get("/admin", identity={}).status_code == 403


def test_router_default_guard_applies_to_its_routes_only() -> None:
    admin = Router(auth=requires(groups=["admin"]))

    @admin.get("/users")
    def users() -> str:
        return "users"

    @admin.get("/ping", public=True)
    def ping() -> str:
        return "pong"

    app = App(access_log=False)
    app.include_router(admin, prefix="/admin")

    @app.get("/")
    def index() -> str:
        return "index"

    client = TestClient(app, format="http")
    assert client.get("/").text == "index"
    assert client.get("/admin/ping").text == "pong"
    assert client.get("/admin/users").status_code == 401
    assert client.get("/admin/users", identity={"groups": ["admin"]}).text == "users"


def test_route_options_carry_the_effective_guard_for_openapi() -> None:
    guard = requires(scopes=["notes:write"])
    app = App(access_log=False, auth=requires(scheme="apiAuth"))

    @app.post("/notes", auth=guard)
    def create() -> None: ...

    @app.get("/notes")
    def list_() -> None: ...

    @app.get("/health", public=True)
    def health() -> None: ...

    by_path = {(r.methods[0], r.path): r for r in app.routes}
    assert by_path[("POST", "/notes")].options["auth"] is guard
    assert route_security(by_path[("POST", "/notes")]) == [{"bearerAuth": ["notes:write"]}]
    assert route_security(by_path[("GET", "/notes")]) == [{"apiAuth": []}]
    assert route_security(by_path[("GET", "/health")]) == []
    assert set(security_schemes(app.routes)) == {"bearerAuth", "apiAuth"}
    assert security_schemes(app.routes)["bearerAuth"]["scheme"] == "bearer"


def test_current_identity_helpers() -> None:
    app = App(access_log=False)

    @app.get("/me")
    def me(request: Request) -> dict[str, Any]:
        return {"user": current_identity(request).principal_id}

    @app.get("/maybe")
    def maybe(request: Request) -> dict[str, Any]:
        who = optional_identity(request)
        return {"user": who.principal_id if who else None}

    client = TestClient(app, format="http")
    assert client.get("/me").status_code == 401
    assert client.get("/me", identity={"principal_id": "u7"}).json() == {"user": "u7"}
    assert client.get("/maybe").json() == {"user": None}


@pytest.mark.parametrize("bad", [
    {"auth": "admin"}, {"auth": requires(), "public": True},
])
def test_bad_guard_options_fail_at_registration(bad: dict[str, Any]) -> None:
    app = App(access_log=False)
    with pytest.raises(RouteDefinitionError):
        app.get("/x", **bad)(lambda: None)


def test_requires_rejects_strings_and_non_callables() -> None:
    with pytest.raises(RouteDefinitionError):
        requires(scopes="admin")
    with pytest.raises(RouteDefinitionError):
        requires("not callable")  # type: ignore[arg-type]
    assert isinstance(requires(), Guard)


def test_predicate_that_raises_is_a_formatted_500_without_details() -> None:
    def broken(identity: Identity) -> bool:
        raise RuntimeError("secret-internal-detail")

    app = App(access_log=False)

    @app.get("/x", auth=broken)
    def x() -> str:
        return "x"

    response = TestClient(app, format="http").get("/x", identity={})
    assert response.status_code == 500
    assert "secret-internal-detail" not in response.text


def test_guards_as_dependencies_and_in_the_openapi_document() -> None:
    from lamroute import Depends

    app = App(access_log=False, auth=requires(scheme="cognito"), openapi_url="/openapi.json",
              docs_url="/docs")

    @app.get("/me")
    def me(user: Annotated[Identity, Depends(current_identity)]) -> dict[str, Any]:
        return {"user": user.principal_id}

    @app.get("/maybe", public=True)
    def maybe(user: Annotated[Identity | None, Depends(optional_identity)]) -> dict[str, Any]:
        return {"user": user.principal_id if user else None}

    writer = requires(scopes=["reports:write"])

    @app.post("/reports", public=True)
    def report(user: Annotated[Identity, Depends(writer)]) -> dict[str, Any]:
        return {"by": user.principal_id}

    client = TestClient(app, format="http")
    assert client.get("/me", identity={"principal_id": "u1"}).json() == {"user": "u1"}
    assert client.get("/me").status_code == 401
    assert client.get("/maybe").json() == {"user": None}
    assert client.post("/reports", identity={"scopes": ["x"]}).status_code == 403
    assert client.post("/reports", identity={"principal_id": "u2",
                                             "scopes": ["reports:write"]}).json() == {"by": "u2"}
    # The documentation routes stay public under an app-wide guard.
    assert client.get("/docs").status_code == 200
    doc = client.get("/openapi.json").json()
    assert doc["paths"]["/me"]["get"]["security"] == [{"cognito": []}]
    assert doc["paths"]["/maybe"]["get"]["security"] == []
    assert doc["paths"]["/reports"]["post"]["security"] == [{"bearerAuth": ["reports:write"]}]
    assert doc["components"]["securitySchemes"] == {
        "cognito": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
        "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
    }
    from openapi_spec_validator import validate

    validate(doc)


# -- API keys: a client application, not a caller ---------------------------------------------

def api_key_event(format: str, path: str) -> dict[str, Any]:
    """A REST (or WebSocket) event whose only identity is the API key the gateway checked."""
    event = unauthenticated_event(format, path)
    event["requestContext"]["identity"].update(apiKey="k-secret-1", apiKeyId="key-id-1")
    return event


def unauthenticated_event(format: str, path: str) -> dict[str, Any]:
    if format == "websocket":
        return make_websocket_event(path)
    return make_event("rest", "GET", path)


@pytest.mark.parametrize("format", ["rest", "websocket"])
def test_an_api_key_alone_does_not_pass_authenticated(format: str) -> None:
    app = App(access_log=False, auth=authenticated)
    app.get("/me")(lambda: "me")
    app.websocket("$connect")(lambda: None)
    path = "$connect" if format == "websocket" else "/me"
    answer = app(api_key_event(format, path), FakeContext())
    assert answer["statusCode"] == 401


def test_an_api_key_alone_is_no_current_identity() -> None:
    app = App(access_log=False)

    @app.get("/me")
    def me(request: Request) -> dict[str, Any]:
        who = optional_identity(request)
        return {"optional": who is not None, "key": request.auth.api_key is not None,
                "kind": request.auth.kind}

    @app.get("/strict")
    def strict(request: Request) -> str:
        return str(current_identity(request).principal_id)

    assert TestClient(app).invoke(api_key_event("rest", "/me")).json() == {
        "optional": False, "key": True, "kind": "api_key"}
    assert TestClient(app).invoke(api_key_event("rest", "/strict")).status_code == 401


@pytest.mark.parametrize("format", ["rest", "websocket"])
def test_requires_api_key_asks_for_a_key_and_no_caller(format: str) -> None:
    app = App(access_log=False, auth=requires(api_key=True))
    app.get("/usage")(lambda: "counted")
    app.websocket("$connect")(lambda: None)
    path = "$connect" if format == "websocket" else "/usage"
    assert app(api_key_event(format, path), FakeContext())["statusCode"] == 200
    refused = app(unauthenticated_event(format, path), FakeContext())
    assert refused["statusCode"] == 403   # what the gateway answers a missing or bad key


@pytest.mark.parametrize("format", FORMATS)
def test_requires_api_key_refuses_a_token_without_a_key(format: str) -> None:
    app = App(access_log=False)
    app.get("/usage", auth=requires(api_key=True))(lambda: "counted")
    client = TestClient(app, format=format)
    assert client.get("/usage", identity={"scopes": ["admin"]}).status_code == 403


def test_requires_api_key_with_scopes_needs_both() -> None:
    app = App(access_log=False, openapi_url="/openapi.json")
    app.get("/both", auth=requires(scopes=["admin"], api_key=True))(lambda: "both")
    client = TestClient(app, format="rest")
    key_only = {"kind": "api_key", "api_key": "k1", "principal_id": "kid"}
    assert client.get("/both", identity=key_only).status_code == 401
    assert client.get("/both", identity={"scopes": ["admin"]}).status_code == 403
    both = {"scopes": ["admin"], "api_key": "k1"}
    assert client.get("/both", identity=both).status_code == 200
    doc = client.get("/openapi.json").json()
    assert doc["paths"]["/both"]["get"]["security"] == [{"bearerAuth": ["admin"],
                                                         "apiKeyAuth": []}]
    assert doc["components"]["securitySchemes"]["apiKeyAuth"] == {
        "type": "apiKey", "in": "header", "name": "x-api-key"}


def test_requires_api_key_takes_a_bool() -> None:
    with pytest.raises(RouteDefinitionError):
        requires(api_key="yes")  # type: ignore[arg-type]
