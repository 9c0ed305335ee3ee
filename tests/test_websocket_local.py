"""The local WebSocket API with a real WebSocket client (websockets) on an ephemeral port."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from lamroute import App, Forbidden, Response, Unauthorized
from lamroute.formats.websocket import WebSocketRequest
from lamroute.local.websocket import LocalWebSocketServer, start
from lamroute.websocket.connections import ConnectionGone

TIMEOUT = 10


def chat_app() -> tuple[App, dict[str, Any]]:
    app = App(access_log=False)
    state: dict[str, Any] = {"open": [], "events": [], "lock": threading.Lock()}

    @app.websocket("$connect")
    def on_connect(request: WebSocketRequest) -> Response | None:
        if request.query.get("token") != "letmein":
            raise Unauthorized("Bad token.")
        offered = request.headers.get("sec-websocket-protocol") or ""
        state["events"].append(("connect", request.headers.get("x-client"),
                                request.query.getall("room")))
        state["forwarded_for"] = request.headers.getall("x-forwarded-for")
        with state["lock"]:
            state["open"].append(request.connection_id)
        if offered:
            if "chat.v1" not in [p.strip() for p in offered.split(",")]:
                raise Forbidden("Unsupported subprotocol.")
            return Response(None, headers={"Sec-WebSocket-Protocol": "chat.v1"})
        return None

    @app.websocket("$disconnect")
    def on_disconnect(request: WebSocketRequest) -> None:
        with state["lock"]:
            state["open"].remove(request.connection_id)
        state["events"].append(("disconnect", request.disconnect_status_code,
                                request.disconnect_reason))

    @app.websocket("sendMessage")
    def send_message(request: WebSocketRequest) -> dict[str, int]:
        text = request.json()["text"]
        for target in list(state["open"]):
            request.connections.send(target, {"from": request.connection_id, "text": text})
        return {"delivered": len(state["open"])}

    @app.websocket("whoami")
    def whoami(request: WebSocketRequest) -> dict[str, Any]:
        info = request.connections.info(request.connection_id)
        return {"id": request.connection_id, "ip": info.source_ip, "ua": info.user_agent}

    @app.websocket("kick")
    def kick(request: WebSocketRequest) -> None:
        request.connections.close(request.connection_id)

    @app.websocket("poke")
    def poke(request: WebSocketRequest) -> str:
        try:
            request.connections.send("nobody", "x")
        except ConnectionGone as exc:
            return f"gone {exc.connection_id}"
        return "sent"

    @app.websocket("$default")
    def default(request: WebSocketRequest) -> str:
        return f"echo {request.text}"

    return app, state


@pytest.fixture
def server() -> Iterator[tuple[LocalWebSocketServer, dict[str, Any]]]:
    app, state = chat_app()
    with start(app, port=0, management_port=0) as running:
        yield running, state
    assert not running._thread.is_alive()


def open_client(server: LocalWebSocketServer, query: str = "?token=letmein", **kw: Any) -> Any:
    return connect(server.url + "/" + query, open_timeout=TIMEOUT, **kw)


def test_connect_is_refused_with_the_handlers_status(server: Any) -> None:
    running, state = server
    with pytest.raises(InvalidStatus) as refused:
        open_client(running, "?token=wrong")
    assert refused.value.response.status_code == 401
    assert json.loads(refused.value.response.body)["detail"] == "Bad token."
    assert state["open"] == []


def test_connect_sees_headers_and_query(server: Any) -> None:
    running, state = server
    with open_client(running, "?token=letmein&room=a&room=b",
                     additional_headers={"X-Client": "pytest"}):
        pass
    assert state["events"][0] == ("connect", "pytest", ["a", "b"])


def test_connect_x_forwarded_for_gets_the_peer_appended(server: Any) -> None:
    """As on the HTTP side: a client cannot pose as another address at $connect."""
    running, state = server
    with open_client(running, additional_headers={"X-Forwarded-For": "6.6.6.6"}):
        pass
    assert state["forwarded_for"] == ["6.6.6.6, 127.0.0.1"]
    with open_client(running):
        pass
    assert state["forwarded_for"] == ["127.0.0.1"]


def test_subprotocol_is_negotiated_by_connect(server: Any) -> None:
    running, _ = server
    with open_client(running, subprotocols=["chat.v1"]) as ws:
        assert ws.subprotocol == "chat.v1"
    with pytest.raises(InvalidStatus) as refused:
        open_client(running, subprotocols=["other"])
    assert refused.value.response.status_code == 403


def test_messages_route_by_action_and_connections_reach_other_clients(server: Any) -> None:
    running, _ = server
    with open_client(running) as alice, open_client(running) as bob:
        alice.send(json.dumps({"action": "sendMessage", "text": "hi all"}))
        received = [json.loads(alice.recv(TIMEOUT)) for _ in range(2)]
        assert {"delivered": 2} in received
        broadcast = next(m for m in received if "text" in m)
        assert broadcast["text"] == "hi all"
        assert json.loads(bob.recv(TIMEOUT)) == broadcast


def test_unmatched_message_goes_to_default(server: Any) -> None:
    running, _ = server
    with open_client(running) as ws:
        ws.send("plain words")
        assert ws.recv(TIMEOUT) == "echo plain words"
        ws.send(json.dumps({"action": "unknown"}))
        assert ws.recv(TIMEOUT) == 'echo {"action": "unknown"}'


def test_info_and_gone_through_the_local_management_api(server: Any) -> None:
    running, _ = server
    with open_client(running, user_agent_header="pytest-ws") as ws:
        ws.send(json.dumps({"action": "whoami"}))
        answer = json.loads(ws.recv(TIMEOUT))
        assert answer["ip"] == "127.0.0.1" and answer["ua"] == "pytest-ws"
        ws.send(json.dumps({"action": "poke"}))
        assert ws.recv(TIMEOUT) == "gone nobody"


def test_app_can_close_a_connection_and_disconnect_runs(server: Any) -> None:
    running, state = server
    with open_client(running) as ws:
        ws.send(json.dumps({"action": "kick"}))
        with pytest.raises(ConnectionClosed):
            ws.recv(TIMEOUT)
    running.stop()  # waits for the $disconnect invocations
    assert state["open"] == []
    assert ("disconnect", 1000, "Going away") in state["events"]


def test_client_close_code_reaches_disconnect(server: Any) -> None:
    running, state = server
    with open_client(running) as ws:
        ws.close(code=4001, reason="bye now")
    running.stop()
    assert ("disconnect", 4001, "bye now") in state["events"]


def test_message_over_the_quota_closes_with_1009(server: Any) -> None:
    running, state = server
    with open_client(running) as ws:
        ws.send("x" * (128 * 1024 + 1))
        with pytest.raises(ConnectionClosed):
            ws.recv(TIMEOUT)
        assert ws.close_code == 1009
    running.stop()
    assert [e[:2] for e in state["events"] if e[0] == "disconnect"] == [("disconnect", 1009)]


def test_management_endpoint_answers_gone_for_unknown_connections(server: Any) -> None:
    running, _ = server
    request = urllib.request.Request(running.management_url + "/@connections/nope%3D",
                                     data=b"x", method="POST")
    with pytest.raises(urllib.error.HTTPError) as gone:
        urllib.request.urlopen(request, timeout=TIMEOUT)
    assert gone.value.code == 410
    assert gone.value.headers["x-amzn-ErrorType"] == "GoneException"


def test_no_default_route_gets_the_gateways_forbidden_message() -> None:
    app = App(access_log=False)
    app.websocket("join")(lambda: "joined")
    with start(app, port=0, management_port=0) as running, open_client(running, "") as ws:
        ws.send(json.dumps({"action": "join"}))
        assert ws.recv(TIMEOUT) == "joined"
        ws.send("hello")
        assert json.loads(ws.recv(TIMEOUT))["message"] == "Forbidden"


def test_one_way_routes_send_nothing_back() -> None:
    app = App(access_log=False)

    @app.websocket("$default")
    def both(request: WebSocketRequest) -> str:
        request.send(f"pushed {request.text}")
        return "route answer"

    with start(app, port=0, management_port=0, two_way=False) as running, \
            open_client(running, "") as ws:
        # Messages of one connection run in order: a route answer would come between.
        ws.send("1")
        ws.send("2")
        assert [ws.recv(TIMEOUT), ws.recv(TIMEOUT)] == ["pushed 1", "pushed 2"]


def test_module_command_serves_an_app_until_interrupted(tmp_path: Any) -> None:
    import signal
    import subprocess
    import sys

    (tmp_path / "wsapp.py").write_text(
        "from lamroute import App\n"
        "app = App(access_log=False)\n"
        "@app.websocket('$default')\n"
        "def echo(request):\n"
        "    request.send('pushed ' + request.text)\n"
        "    return 'answered ' + request.text\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "lamroute.local.websocket", "wsapp:app", "--port", "0"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        banner = process.stdout.readline()
        assert banner.startswith("WebSocket API on ws://127.0.0.1:"), banner
        url = banner.split()[3]
        with connect(url, open_timeout=TIMEOUT) as ws:
            ws.send("hi")
            assert {ws.recv(TIMEOUT), ws.recv(TIMEOUT)} == {"pushed hi", "answered hi"}
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=20) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_lamroute_serve_serves_http_and_websocket_routes(tmp_path: Any) -> None:
    import os
    import re
    import signal
    import subprocess
    import sys

    (tmp_path / "both.py").write_text(
        "from lamroute import App\n"
        "app = App(access_log=False)\n"
        "@app.get('/push')\n"
        "def push(to: str):\n"
        "    app.connections.send(to, 'from http')\n"
        "    return {'pushed': to}\n"
        "@app.websocket('whoami')\n"
        "def whoami(connection_id):\n"
        "    return connection_id\n"
    )
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("LAMROUTE_CONNECTIONS_ENDPOINT", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "lamroute", "serve", "both:app", "--port", "0", "--api", "http",
         "--ws-port", "0"], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, env=env)
    try:
        assert process.stderr is not None
        lines = [process.stderr.readline(), process.stderr.readline()]
        http_url = re.search(r"on (http://127\.0\.0\.1:\d+)", lines[0])
        ws_url = re.search(r"(ws://127\.0\.0\.1:\d+)", lines[1])
        assert http_url and ws_url, lines
        with connect(ws_url.group(1), open_timeout=TIMEOUT) as ws:
            ws.send(json.dumps({"action": "whoami"}))
            connection_id = ws.recv(TIMEOUT)
            quoted = urllib.request.quote(str(connection_id), safe="")
            with urllib.request.urlopen(f"{http_url.group(1)}/push?to={quoted}",
                                        timeout=TIMEOUT) as answer:
                assert json.loads(answer.read()) == {"pushed": connection_id}
            assert ws.recv(TIMEOUT) == "from http"
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_lamroute_serve_takes_the_websocket_flags(tmp_path: Any) -> None:
    """--route-selection, --one-way, --management-port and --host, as the README lists them."""
    import os
    import re
    import signal
    import socket
    import subprocess
    import sys

    (tmp_path / "flags.py").write_text(
        "from lamroute import App\n"
        "app = App(access_log=False)\n"
        "@app.websocket('ping')\n"
        "def ping(request):\n"
        "    request.send('pushed ' + request.connection_id)\n"
        "    return 'route answer'\n"
        "@app.websocket('$default')\n"
        "def other(request):\n"
        "    request.send('default')\n"
        "    return 'route answer'\n"
    )
    # Two distinct free ports, explicit: a `--port 0` bind could reuse the management port.
    with socket.socket() as http_sock, socket.socket() as management_sock:
        http_sock.bind(("127.0.0.2", 0))
        management_sock.bind(("127.0.0.2", 0))
        http_port, management_port = (s.getsockname()[1] for s in (http_sock, management_sock))
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("LAMROUTE_CONNECTIONS_ENDPOINT", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "lamroute", "serve", "flags:app", "--port", str(http_port),
         "--api", "http", "--ws-port", "0", "--host", "127.0.0.2",
         "--management-port", str(management_port),
         "--route-selection", "$request.body.kind", "--one-way"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert process.stderr is not None
        lines = [process.stderr.readline(), process.stderr.readline()]
        found = re.search(r"(ws://127\.0\.0\.2:\d+)/  \(@connections on "
                          r"(http://127\.0\.0\.2:(\d+)/local)/@connections\)", lines[1])
        assert found and int(found.group(3)) == management_port, lines
        with connect(found.group(1), open_timeout=TIMEOUT) as ws:
            ws.send(json.dumps({"kind": "ping"}))  # selected by $request.body.kind
            ws.send(json.dumps({"action": "ping"}))  # not by action: $default
            pushed, default = ws.recv(TIMEOUT), ws.recv(TIMEOUT)  # no route answers between
            assert str(pushed).startswith("pushed ") and default == "default"
            connection_id = str(pushed).removeprefix("pushed ")
            quoted = urllib.request.quote(connection_id, safe="")  # base64: may hold "/"
            info_url = f"{found.group(2)}/@connections/{quoted}"
            with urllib.request.urlopen(info_url, timeout=TIMEOUT) as answer:
                assert "connectedAt" in json.loads(answer.read())
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.mark.parametrize(("host", "expected"), [("0.0.0.0", "127.0.0.1"),
                                                ("127.0.0.2", "127.0.0.2")])
def test_management_endpoint_of_serve_host_is_reachable_unsigned(host: str, expected: str,
                                                                 monkeypatch: Any) -> None:
    """Behind ``--host``, the app still reaches @connections without AWS credentials."""
    from botocore import UNSIGNED

    from lamroute.local.websocket_management import ManagementServer
    from lamroute.websocket.connections import _make_client

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    server = ManagementServer({}, host=host, port=0)  # type: ignore[arg-type]
    try:
        url = server.url("local")
    finally:
        server.httpd.server_close()
    assert url == f"http://{expected}:{server.port}/local"
    assert _make_client(url, "us-east-1").meta.config.signature_version is UNSIGNED
