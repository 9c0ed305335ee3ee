"""What a guard covers: every route of an app or router, WebSocket routes included, and the
automatic answers (405, OPTIONS) that would otherwise tell a failing caller about guarded methods.
"""

from __future__ import annotations

from typing import Any

import pytest

from lamroute import App, RouteDefinitionError, Router
from lamroute.security.guards import requires
from lamroute.testing import TestClient, WebSocketRejected, make_websocket_event

FORMATS = ["rest", "http-v1", "http", "url"]
ADMIN = {"principalId": "u-1", "scope": "admin"}      # a $connect Lambda authorizer's answer
USER = {"principalId": "u-2", "scope": "read"}


def status(app: App, route_key: str, authorizer: dict[str, Any] | None = None) -> int:
    """The status the app answers one WebSocket event with."""
    event = make_websocket_event(route_key, json={"action": route_key}, authorizer=authorizer)
    return int(app(event, None)["statusCode"])


# -- item 1: a router's guard covers its WebSocket routes ---------------------------------------

def test_router_guard_covers_websocket_connect_and_default() -> None:
    router = Router(auth=requires(scopes=["admin"]))
    router.get("/r")(lambda: "r")
    router.websocket("$connect")(lambda: None)
    router.websocket("$default")(lambda: "message")
    app = App(access_log=False)
    app.include_router(router)
    assert TestClient(app).get("/r").status_code == 401
    assert status(app, "$connect") == 401
    assert status(app, "$default") == 401
    assert status(app, "$connect", USER) == 403
    assert status(app, "$default", USER) == 403
    assert status(app, "$connect", ADMIN) == 200
    assert status(app, "$default", ADMIN) == 200


def test_router_guard_covers_websocket_routes_through_nested_routers() -> None:
    inner = Router(auth=requires(scopes=["admin"]))
    inner.websocket("purge")(lambda: "purged")
    inner.websocket("ping", public=True)(lambda: "pong")
    outer = Router()
    outer.include_router(inner)
    app = App(access_log=False)
    app.include_router(outer)
    assert status(app, "purge") == 401
    assert status(app, "purge", ADMIN) == 200
    assert status(app, "ping") == 200                 # public=True opts a route out


def test_router_guard_covers_websocket_routes_added_after_include_router() -> None:
    router = Router(auth=requires(scopes=["admin"]))
    app = App(access_log=False)
    app.include_router(router)
    router.websocket("$default")(lambda: "message")   # registered after the inclusion
    assert status(app, "$default") == 401
    assert status(app, "$connect") == 401              # the implicit $connect too
    assert status(app, "$default", ADMIN) == 200


def test_router_guard_never_refuses_disconnect() -> None:
    log: list[str] = []
    router = Router(auth=requires(scopes=["admin"]))
    router.websocket("$disconnect")(lambda: log.append("cleaned up"))
    app = App(access_log=False)
    app.include_router(router)
    assert status(app, "$disconnect") == 200
    assert log == ["cleaned up"]


# -- item 2: a default guard covers $connect (explicit or implicit) and every message route -----

def test_app_guard_covers_implicit_connect_and_custom_routes() -> None:
    app = App(access_log=False, auth=requires(scopes=["admin"]))
    app.websocket("sendMessage")(lambda: "sent")
    assert status(app, "$connect") == 401
    assert status(app, "sendMessage") == 401
    assert status(app, "$connect", USER) == 403
    assert status(app, "sendMessage", USER) == 403
    assert status(app, "$connect", ADMIN) == 200
    assert status(app, "sendMessage", ADMIN) == 200
    assert status(app, "$disconnect") == 200          # never refused: it only cleans up


def test_app_guard_covers_implicit_connect_without_any_websocket_route() -> None:
    app = App(access_log=False, auth=requires())
    app.get("/")(lambda: "home")
    assert status(app, "$connect") == 401
    assert status(app, "$connect", USER) == 200


def test_router_guard_covers_the_implicit_connect() -> None:
    router = Router(auth=requires(scopes=["admin"]))
    router.websocket("purge")(lambda: "purged")
    app = App(access_log=False)
    app.include_router(router)
    assert status(app, "$connect") == 401
    assert status(app, "$connect", USER) == 403
    assert status(app, "$connect", ADMIN) == 200


def test_implicit_connect_admits_who_may_call_some_message_route() -> None:
    admins = Router(auth=requires(scopes=["admin"]))
    admins.websocket("purge")(lambda: "purged")
    readers = Router(auth=requires(scopes=["read"]))
    readers.websocket("read")(lambda: "page")
    app = App(access_log=False)
    app.include_router(admins)
    app.include_router(readers)
    assert status(app, "$connect") == 401
    assert status(app, "$connect", {"principalId": "u", "scope": "other"}) == 403
    assert status(app, "$connect", USER) == 200       # a reader connects...
    assert status(app, "purge", USER) == 403          # ...and still cannot purge
    assert status(app, "$connect", ADMIN) == 200


def test_a_public_message_route_opens_the_implicit_connect() -> None:
    app = App(access_log=False, auth=requires(scopes=["admin"]))
    app.websocket("ping", public=True)(lambda: "pong")
    app.websocket("purge")(lambda: "purged")
    assert status(app, "$connect") == 200
    assert status(app, "ping") == 200
    assert status(app, "purge") == 401


def test_an_open_app_keeps_an_open_implicit_connect() -> None:
    app = App(access_log=False)
    app.websocket("sendMessage")(lambda: "sent")
    assert status(app, "$connect") == 200
    assert status(app, "sendMessage") == 200


def test_guarded_websocket_session_through_the_test_client() -> None:
    app = App(access_log=False, auth=requires(scopes=["admin"]))
    app.websocket("sendMessage")(lambda: "sent")
    client = TestClient(app)
    with pytest.raises(WebSocketRejected) as refused:
        client.websocket_connect()
    assert refused.value.response.status_code == 401
    # The gateway puts the $connect authorizer's context on every event of the connection.
    with client.websocket_connect(authorizer=ADMIN) as ws:
        assert ws.send_json({"action": "sendMessage"}).text == "sent"


def test_a_guard_on_disconnect_is_refused_at_registration() -> None:
    from lamroute.routing.routes import WebSocketRoute

    app = App(access_log=False)
    with pytest.raises(RouteDefinitionError, match=r"\$disconnect"):
        app.websocket("$disconnect", auth=requires())(lambda: None)
    with pytest.raises(RouteDefinitionError, match=r"\$disconnect"):
        app.add_websocket_route(WebSocketRoute("$disconnect", lambda: None, {"auth": requires()}))


# -- item 6: 405 and automatic OPTIONS answer as the guards would -------------------------------

WRITER = {"principal_id": "w", "scopes": ["write"]}


def admin_app(**options: Any) -> App:
    app = App(access_log=False, **options)
    app.get("/admin", auth=requires(scopes=["admin"]))(lambda: "admin")
    app.get("/docs/{name}", auth=requires(scopes=["admin"]))(lambda name: name)
    return app


@pytest.mark.parametrize("format", [*FORMATS, "alb"])
@pytest.mark.parametrize("path", ["/admin", "/docs/readme"])
def test_guarded_path_options_and_405_answer_as_the_guard(format: str, path: str) -> None:
    client = TestClient(admin_app(), format=format)
    for method in ("OPTIONS", "POST", "DELETE"):
        anonymous = client.request(method, path)
        assert anonymous.status_code == 401, method
        assert "allow" not in anonymous.headers
        assert anonymous.headers["www-authenticate"] == 'Bearer realm="api"'
        if format == "alb":  # no authorizer behind an ALB: every caller is anonymous
            continue
        reader = client.request(method, path, identity={"scopes": ["read"]})
        assert reader.status_code == 403 and "allow" not in reader.headers
    if format == "alb":
        return
    admin = {"scopes": ["admin"]}
    assert client.options(path, identity=admin).status_code == 204
    assert client.options(path, identity=admin).headers["allow"] == "GET, HEAD, OPTIONS"
    refused = client.post(path, identity=admin)
    assert (refused.status_code, refused.headers["allow"]) == (405, "GET, HEAD, OPTIONS")


@pytest.mark.parametrize("format", FORMATS)
def test_mixed_guards_never_reveal_a_guarded_method(format: str) -> None:
    app = App(access_log=False)
    app.get("/items")(lambda: "list")
    app.post("/items", auth=requires(scopes=["write"]))(lambda: "created")
    app.delete("/items/{item_id}", auth=requires(scopes=["write"]))(lambda item_id: item_id)
    app.get("/items/{item_id}")(lambda item_id: item_id)
    client = TestClient(app, format=format)
    for path in ("/items", "/items/7"):
        assert client.options(path).headers["allow"] == "GET, HEAD, OPTIONS"
        refused = client.put(path)
        assert (refused.status_code, refused.headers["allow"]) == (405, "GET, HEAD, OPTIONS")
    assert client.options("/items", identity=WRITER).headers["allow"] == (
        "GET, HEAD, OPTIONS, POST")
    assert client.put("/items/7", identity=WRITER).headers["allow"] == (
        "DELETE, GET, HEAD, OPTIONS")


def test_default_and_router_guards_hide_methods_too() -> None:
    router = Router(auth=requires(scopes=["write"]))
    router.post("/notes")(lambda: "created")
    app = App(access_log=False, auth=requires())
    app.get("/notes", public=True)(lambda: "notes")
    app.get("/me")(lambda: "me")
    app.include_router(router)
    client = TestClient(app, format="http")
    assert client.options("/notes").headers["allow"] == "GET, HEAD, OPTIONS"
    assert client.options("/me").status_code == 401
    assert client.options("/notes", identity=WRITER).headers["allow"] == (
        "GET, HEAD, OPTIONS, POST")


def test_guards_used_as_dependencies_hide_methods_too() -> None:
    from typing import Annotated

    from lamroute import Depends, Identity
    from lamroute.security.guards import current_identity

    writer = requires(scopes=["write"])
    app = App(access_log=False)

    @app.post("/reports")
    def report(user: Annotated[Identity, Depends(writer)]) -> str:
        return "filed"

    @app.get("/me")
    def me(user: Annotated[Identity, Depends(current_identity)]) -> str:
        return "me"

    client = TestClient(app, format="rest")
    assert client.options("/reports").status_code == 401
    assert client.get("/reports", identity={"scopes": ["read"]}).status_code == 403
    assert client.options("/reports", identity=WRITER).headers["allow"] == "OPTIONS, POST"
    assert client.post("/me").status_code == 401
    assert client.post("/me", identity={}).headers["allow"] == "GET, HEAD, OPTIONS"


def test_cors_preflights_answer_from_the_cors_policy_without_credentials() -> None:
    from lamroute.security.cors import CORS

    app = admin_app(cors=CORS(allow_origins=["https://app.example.com"],
                              allow_methods=["GET"]))
    client = TestClient(app, format="http")
    preflight = client.options("/admin", headers={
        "Origin": "https://app.example.com", "Access-Control-Request-Method": "GET"})
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-methods"] == "GET, OPTIONS"
    # Not a preflight (no Access-Control-Request-Method): the guard answers.
    plain = client.options("/admin", headers={"Origin": "https://app.example.com"})
    assert plain.status_code == 401


def test_an_open_app_lists_every_method() -> None:
    app = App(access_log=False)
    app.get("/a")(lambda: "a")
    app.post("/a")(lambda: "a")
    client = TestClient(app)
    assert client.options("/a").headers["allow"] == "GET, HEAD, OPTIONS, POST"
    assert client.put("/a").headers["allow"] == "GET, HEAD, OPTIONS, POST"
