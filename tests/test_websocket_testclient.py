"""TestClient WebSocket sessions: connect, send, receive what handlers sent, disconnect."""

from __future__ import annotations

from typing import Any

import pytest

from lamroute import App, Unauthorized
from lamroute.formats.websocket import WebSocketRequest
from lamroute.testing import TestClient, WebSocketRejected
from lamroute.websocket.connections import Connections


def room_app() -> tuple[App, list[tuple[str, Any]]]:
    app = App(access_log=False)
    log: list[tuple[str, Any]] = []
    members: list[str] = []

    @app.websocket("$connect")
    def join(request: WebSocketRequest) -> None:
        if request.headers.get("authorization") != "Bearer ok":
            raise Unauthorized("Who are you?")
        members.append(request.connection_id)
        log.append(("connect", request.query.get("room")))

    @app.websocket("$disconnect")
    def leave(request: WebSocketRequest) -> None:
        members.remove(request.connection_id)
        log.append(("disconnect", request.disconnect_status_code))

    @app.websocket("say")
    def say(body: dict[str, Any], connections: Connections, connection_id: str) -> dict[str, int]:
        for member in members:
            if member != connection_id:
                connections.send(member, {"said": body["text"]})
        return {"listeners": len(members) - 1}

    @app.websocket("leave")
    def kick_self(request: WebSocketRequest) -> None:
        request.connections.close(request.connection_id)

    return app, log


AUTH = {"Authorization": "Bearer ok"}


def test_connect_send_receive_disconnect() -> None:
    app, log = room_app()
    client = TestClient(app)
    with client.websocket_connect(headers=AUTH, query={"room": "lobby"}) as alice, \
            client.websocket_connect(headers=AUTH) as bob:
        answer = alice.send_json({"action": "say", "text": "hello"})
        assert answer.status_code == 200 and answer.json() == {"listeners": 1}
        assert bob.receive_json() == {"said": "hello"}
        assert alice.messages == [] and bob.messages == []
    assert log == [("connect", "lobby"), ("connect", None), ("disconnect", 1000),
                   ("disconnect", 1000)]


def test_rejected_connect_raises_with_the_answer() -> None:
    app, log = room_app()
    with pytest.raises(WebSocketRejected) as rejected:
        TestClient(app).websocket_connect()
    assert rejected.value.response.status_code == 401
    assert rejected.value.response.json()["detail"] == "Who are you?"
    assert log == []


def test_receive_without_message_fails_clearly() -> None:
    app, _ = room_app()
    with TestClient(app).websocket_connect(headers=AUTH) as ws, \
            pytest.raises(AssertionError, match="No message"):
        ws.receive()


def test_app_closing_the_connection_runs_disconnect() -> None:
    app, log = room_app()
    with TestClient(app).websocket_connect(headers=AUTH) as ws:
        ws.send_json({"action": "leave"})
        assert ws.closed
        with pytest.raises(AssertionError, match="closed"):
            ws.send("late")
    assert log[-1] == ("disconnect", 1000)
    assert [entry for entry in log if entry[0] == "disconnect"] == [("disconnect", 1000)]


def test_close_code_is_passed_to_disconnect() -> None:
    app, log = room_app()
    ws = TestClient(app).websocket_connect(headers=AUTH)
    ws.close(4000, "custom")
    assert log[-1] == ("disconnect", 4000)


def test_unknown_action_without_default_is_a_404_answer() -> None:
    app, _ = room_app()
    with TestClient(app).websocket_connect(headers=AUTH) as ws:
        answer = ws.send_json({"action": "dance"})
        assert answer.status_code == 404
        assert answer.json()["title"] == "Not Found"


def test_routes_command_lists_websocket_route_keys(tmp_path: Any, monkeypatch: Any,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    from lamroute.cli import main

    (tmp_path / "wsroutes.py").write_text(
        "from lamroute import App\n"
        "app = App()\n"
        "@app.get('/health')\n"
        "def health():\n"
        "    return 'ok'\n"
        "@app.websocket('$connect')\n"
        "def hello():\n"
        "    return None\n"
    )
    monkeypatch.chdir(tmp_path)
    assert main(["routes", "wsroutes:app"]) == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines()]
    assert ["GET", "/health", "health", "wsroutes.py:3"] in rows
    assert ["WEBSOCKET", "$connect", "hello", "wsroutes.py:6"] in rows


def test_connect_sees_the_lambda_authorizer_identity() -> None:
    from lamroute import Identity

    app = App(access_log=False)
    seen: list[Identity] = []

    @app.websocket("$connect")
    def connect(request: WebSocketRequest) -> None:
        seen.append(request.auth)

    authorizer = {"principalId": "user-7", "groups": '["admins", "chat"]', "integrationLatency": 12}
    with TestClient(app).websocket_connect(authorizer=authorizer):
        pass
    assert seen[0].principal_id == "user-7"
    assert seen[0].in_group("chat") and seen[0].authenticated


def test_app_guard_covers_connect_and_messages_but_not_disconnect() -> None:
    from lamroute import requires

    app = App(access_log=False, auth=requires(groups=["chat"]))
    log: list[str] = []

    @app.websocket("$connect")
    def connect() -> None:
        log.append("connect")

    @app.websocket("$default")
    def default(request: WebSocketRequest) -> str:
        return "message"

    @app.websocket("$disconnect")
    def disconnect() -> None:
        log.append("disconnect")

    client = TestClient(app)
    with pytest.raises(WebSocketRejected) as refused:
        client.websocket_connect()
    assert refused.value.response.status_code == 401
    with pytest.raises(WebSocketRejected) as refused:
        client.websocket_connect(authorizer={"principalId": "u", "groups": '["other"]'})
    assert refused.value.response.status_code == 403
    with client.websocket_connect(authorizer={"principalId": "u", "groups": '["chat"]'}) as ws:
        assert ws.send("hi").text == "message"
        # A message event without the connection's authorizer context is refused too...
        ws.authorizer = None
        assert ws.send("hi").status_code == 401
    # ...but $disconnect always runs.
    assert log == ["connect", "disconnect"]


def test_route_guard_and_public_connect() -> None:
    from lamroute import requires

    app = App(access_log=False, auth=requires(groups=["chat"]))
    app.websocket("$connect", public=True)(lambda: None)
    app.websocket("admin", auth=requires(groups=["admins"]))(lambda: "secret")
    with TestClient(app).websocket_connect() as ws:
        assert ws.send_json({"action": "admin"}).status_code == 401
    with TestClient(app).websocket_connect(
            authorizer={"principalId": "u", "groups": '["admins"]'}) as ws:
        assert ws.send_json({"action": "admin"}).text == "secret"
