"""Connections: the Management API calls, the endpoint rules and gone connections (no network)."""

from __future__ import annotations

import copy
import datetime as dt
import json
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from lamroute import App
from lamroute.formats.websocket import WebSocketRequest
from lamroute.testing import FakeContext, MemoryBackend, TestClient, make_websocket_event
from lamroute.websocket.connections import (
    ConnectionGone,
    Connections,
    ConnectionsError,
    endpoint_for,
)

ENDPOINT = "https://abc123.execute-api.eu-west-1.amazonaws.com/prod"


@pytest.fixture
def stubbed() -> Any:
    client = boto3.client("apigatewaymanagementapi", endpoint_url=ENDPOINT,
                          region_name="eu-west-1", aws_access_key_id="test",
                          aws_secret_access_key="test")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def test_send_posts_text_bytes_and_json(stubbed: Any) -> None:
    client, stubber = stubbed
    for data in (b"hello", b"\x00\xff", b'{"n":1,"when":"2024-01-02"}'):
        stubber.add_response("post_to_connection", {},
                             {"ConnectionId": "abc=", "Data": data})
    connections = Connections(client=client)
    connections.send("abc=", "hello")
    connections.send("abc=", b"\x00\xff")
    connections.send("abc=", {"n": 1, "when": dt.date(2024, 1, 2)})


def test_gone_connection_raises_typed_error(stubbed: Any) -> None:
    client, stubber = stubbed
    for operation in ("post_to_connection", "delete_connection", "get_connection"):
        stubber.add_client_error(operation, service_error_code="GoneException",
                                 http_status_code=410)
    connections = Connections(client=client)
    with pytest.raises(ConnectionGone) as gone:
        connections.send("old=", "x")
    assert gone.value.connection_id == "old="
    with pytest.raises(ConnectionGone):
        connections.close("old=")
    with pytest.raises(ConnectionGone):
        connections.info("old=")


def test_other_errors_are_connections_errors(stubbed: Any) -> None:
    client, stubber = stubbed
    stubber.add_client_error("post_to_connection", service_error_code="ForbiddenException",
                             service_message="no", http_status_code=403)
    with pytest.raises(ConnectionsError, match="ForbiddenException"):
        Connections(client=client).send("abc=", "x")


def test_close_and_info(stubbed: Any) -> None:
    client, stubber = stubbed
    stubber.add_response("delete_connection", {}, {"ConnectionId": "abc="})
    when = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.timezone.utc)
    stubber.add_response("get_connection", {
        "ConnectedAt": when, "LastActiveAt": when,
        "Identity": {"SourceIp": "192.0.2.1", "UserAgent": "wscat"},
    }, {"ConnectionId": "abc="})
    connections = Connections(client=client)
    connections.close("abc=")
    info = connections.info("abc=")
    assert (info.connection_id, info.source_ip, info.user_agent) == ("abc=", "192.0.2.1", "wscat")
    assert info.connected_at == when


def test_handler_sends_through_the_apps_connections(stubbed: Any) -> None:
    client, stubber = stubbed
    stubber.add_response("post_to_connection", {}, {"ConnectionId": "other=", "Data": b"hi"})
    app = App(access_log=False)
    app.connections = Connections(client=client)

    @app.websocket("$default")
    def relay(request: WebSocketRequest) -> None:
        request.connections.send("other=", request.text)

    raw = app(make_websocket_event("$default", body="hi"), FakeContext())
    assert raw["statusCode"] == 200


def test_gone_connection_in_a_handler_can_be_caught() -> None:
    app = App(access_log=False)
    removed: list[str] = []

    @app.websocket("$default")
    def broadcast(request: WebSocketRequest) -> dict[str, int]:
        sent = 0
        for target in ("gone=", request.connection_id):
            try:
                request.connections.send(target, "x")
                sent += 1
            except ConnectionGone as exc:
                removed.append(exc.connection_id)
        return {"sent": sent}

    with TestClient(app).websocket_connect() as ws:
        assert ws.send("x").json() == {"sent": 1}
        assert ws.receive_text() == "x"
    assert removed == ["gone="]


def test_endpoint_is_derived_from_the_event() -> None:
    event = make_websocket_event("$default", stage="prod",
                                 domain_name="abc123.execute-api.eu-west-1.amazonaws.com",
                                 api_id="abc123")
    seen: list[Connections] = []
    app = App(access_log=False)

    @app.websocket("$default")
    def capture(request: WebSocketRequest) -> None:
        seen.append(request.connections)

    app(event, FakeContext())
    assert seen[0].endpoint == ENDPOINT


@pytest.mark.parametrize(("domain", "options", "expected"), [
    ("abc123.execute-api.eu-west-1.amazonaws.com", {}, ENDPOINT),
    # A custom domain: the event's stage is not the mapping's path, so use execute-api...
    ("ws.example.com", {"region": "eu-west-1"}, ENDPOINT),
    # ...unless the API mapping path is given.
    ("ws.example.com", {"base_path": "/chat/"}, "https://ws.example.com/chat"),
    ("ws.example.com", {"base_path": ""}, "https://ws.example.com"),
    ("127.0.0.1:3001", {}, "http://127.0.0.1:3001/prod"),
])
def test_endpoint_rules(domain: str, options: dict[str, Any], expected: str) -> None:
    assert endpoint_for(domain, "prod", "abc123", **options) == expected


def test_custom_domain_uses_the_function_region(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_REGION", "ap-south-1")
    assert endpoint_for("ws.example.com", "live", "abc123") == (
        "https://abc123.execute-api.ap-south-1.amazonaws.com/live")


def test_custom_domain_base_path_option_is_used_for_requests() -> None:
    app = App(access_log=False)
    app.connections = Connections(base_path="chat")
    seen: list[str | None] = []

    @app.websocket("$default")
    def capture(request: WebSocketRequest) -> None:
        seen.append(request.connections.endpoint)

    app(make_websocket_event("$default", domain_name="ws.example.com"), FakeContext())
    assert seen == ["https://ws.example.com/chat"]


def test_explicit_endpoint_wins_and_region_follows_it() -> None:
    connections = Connections("https://abc123.execute-api.eu-west-1.amazonaws.com/prod/")
    request = make_websocket_event("$default", domain_name="other.example.com")
    app = App(access_log=False)
    app.connections = connections
    seen: list[Connections] = []
    app.websocket("$default")(lambda request: seen.append(request.connections))
    app(request, FakeContext())
    assert seen == [connections] and connections.endpoint == ENDPOINT
    assert connections.backend.region == "eu-west-1"  # type: ignore[attr-defined]


def test_without_endpoint_outside_a_handler_is_a_clear_error(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LAMROUTE_CONNECTIONS_ENDPOINT", raising=False)
    with pytest.raises(ConnectionsError, match="LAMROUTE_CONNECTIONS_ENDPOINT"):
        Connections().send("abc=", "x")


def test_endpoint_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAMROUTE_CONNECTIONS_ENDPOINT", ENDPOINT)
    assert Connections().backend.endpoint == ENDPOINT  # type: ignore[attr-defined]


def test_memory_backend_records_and_forgets() -> None:
    backend = MemoryBackend()
    connections = Connections(backend=backend)
    backend.open("a=", source_ip="192.0.2.1")
    connections.send("a=", ["x"])
    assert backend.messages["a="] == [json.dumps(["x"]).replace(" ", "").encode()]
    assert connections.info("a=").source_ip == "192.0.2.1"
    connections.close("a=")
    assert backend.closed == ["a="]
    with pytest.raises(ConnectionGone):
        connections.send("a=", "late")


def test_event_copy_is_not_needed_for_connections() -> None:
    event = make_websocket_event("$default", body="x")
    before = copy.deepcopy(event)
    app = App(access_log=False)
    app.websocket("$default")(lambda request: request.connections)
    app(event, FakeContext())
    assert event == before


def test_http_only_apps_do_not_import_the_connections_code() -> None:
    import subprocess
    import sys

    code = ("import sys, json, lamroute; app = lamroute.App();"
            "print(json.dumps(sorted(m for m in sys.modules)))")
    loaded = set(json.loads(subprocess.check_output([sys.executable, "-c", code], text=True)))
    assert not {"lamroute.websocket.connections", "boto3", "botocore", "websockets"} & loaded
