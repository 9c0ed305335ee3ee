"""WebSocket API events: detection, parsing, route keys, answers and errors.

The events below follow the WebSocket Lambda proxy events API Gateway sends, as shown in
https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api-integrations.html
and in logged events ($connect with headers and query, a message, $disconnect with its code).
"""

from __future__ import annotations

import base64
import copy
import json
from typing import Annotated, Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from lamroute import (
    App,
    Depends,
    Forbidden,
    Header,
    Path,
    Query,
    Request,
    Response,
    RouteDefinitionError,
    Router,
    Unauthorized,
)
from lamroute.formats import detect
from lamroute.formats.websocket import WebSocketRequest
from lamroute.testing import FakeContext, TestClient, make_event, make_websocket_event
from lamroute.testing.rules import check_proxy_response
from lamroute.websocket.routes import select_route

CONNECT_EVENT: dict[str, Any] = {
    "headers": {
        "Host": "lqrlmblaa2.execute-api.us-east-1.amazonaws.com",
        "Origin": "wss://lqrlmblaa2.execute-api.us-east-1.amazonaws.com",
        "Sec-WebSocket-Extensions": "permessage-deflate; client_max_window_bits",
        "Sec-WebSocket-Key": "am5ubWVpbHd3bmNyYXF0ag==",
        "Sec-WebSocket-Protocol": "chat, superchat",
        "Sec-WebSocket-Version": "13",
        "X-Amzn-Trace-Id": "Root=1-64b83950-42de8e247b4c2b43091ef67c",
        "X-Forwarded-For": "24.148.42.16",
        "X-Forwarded-Port": "443",
        "X-Forwarded-Proto": "https",
    },
    "multiValueHeaders": {
        "Host": ["lqrlmblaa2.execute-api.us-east-1.amazonaws.com"],
        "Origin": ["wss://lqrlmblaa2.execute-api.us-east-1.amazonaws.com"],
        "Sec-WebSocket-Extensions": ["permessage-deflate; client_max_window_bits"],
        "Sec-WebSocket-Key": ["am5ubWVpbHd3bmNyYXF0ag=="],
        "Sec-WebSocket-Protocol": ["chat, superchat"],
        "Sec-WebSocket-Version": ["13"],
        "X-Amzn-Trace-Id": ["Root=1-64b83950-42de8e247b4c2b43091ef67c"],
        "X-Forwarded-For": ["24.148.42.16"],
        "X-Forwarded-Port": ["443"],
        "X-Forwarded-Proto": ["https"],
    },
    "queryStringParameters": {"room": "b", "token": "s3cret"},
    "multiValueQueryStringParameters": {"room": ["a", "b"], "token": ["s3cret"]},
    "requestContext": {
        "routeKey": "$connect",
        "eventType": "CONNECT",
        "extendedRequestId": "IU3kkGyEoAMFwZQ=",
        "requestTime": "19/Jul/2023:19:28:16 +0000",
        "messageDirection": "IN",
        "stage": "dev",
        "connectedAt": 1689794896145,
        "requestTimeEpoch": 1689794896162,
        "identity": {"sourceIp": "24.148.42.16"},
        "requestId": "IU3kkGyEoAMFwZQ=",
        "domainName": "lqrlmblaa2.execute-api.us-east-1.amazonaws.com",
        "connectionId": "IU3kkeN4IAMCJwA=",
        "apiId": "lqrlmblaa2",
    },
    "isBase64Encoded": False,
}

MESSAGE_EVENT: dict[str, Any] = {
    "requestContext": {
        "routeKey": "sendMessage",
        "messageId": "SOqIDdzSoAMCEeg=",
        "eventType": "MESSAGE",
        "extendedRequestId": "SOqIDEacoAMFaHQ=",
        "requestTime": "16/May/2022:17:30:27 +0000",
        "messageDirection": "IN",
        "stage": "api",
        "connectedAt": 1652722217711,
        "requestTimeEpoch": 1652722227357,
        "identity": {"sourceIp": "198.51.100.9"},
        "requestId": "SOqIDEacoAMFaHQ=",
        "domainName": "u9jlm1pv1h.execute-api.us-east-1.amazonaws.com",
        "connectionId": "SOqGjdZioAMCEeg=",
        "apiId": "u9jlm1pv1h",
    },
    "body": "{\"action\": \"sendMessage\", \"text\": \"hello\"}",
    "isBase64Encoded": False,
}

DISCONNECT_EVENT: dict[str, Any] = {
    "headers": {"Host": "abcd1234.execute-api.us-east-1.amazonaws.com", "x-api-key": "",
                "X-Forwarded-For": "", "x-restapi": ""},
    "multiValueHeaders": {"Host": ["abcd1234.execute-api.us-east-1.amazonaws.com"],
                          "x-api-key": [""], "X-Forwarded-For": [""], "x-restapi": [""]},
    "requestContext": {
        "routeKey": "$disconnect",
        "disconnectStatusCode": 1005,
        "eventType": "DISCONNECT",
        "extendedRequestId": "ABCD1234=",
        "requestTime": "09/Feb/2024:18:23:28 +0000",
        "messageDirection": "IN",
        "disconnectReason": "Client-side close frame status not set",
        "stage": "prod",
        "connectedAt": 1707503007396,
        "requestTimeEpoch": 1707503008941,
        "identity": {"sourceIp": "192.0.2.1"},
        "requestId": "ABCD1234=",
        "domainName": "abcd1234.execute-api.us-east-1.amazonaws.com",
        "connectionId": "AAAA1234=",
        "apiId": "abcd1234",
    },
    "isBase64Encoded": False,
}


def captured_app() -> tuple[App, list[WebSocketRequest]]:
    app = App(access_log=False)
    seen: list[WebSocketRequest] = []

    @app.websocket("$connect")
    def on_connect(request: WebSocketRequest) -> None:
        seen.append(request)

    @app.websocket("$disconnect")
    def on_disconnect(request: WebSocketRequest) -> None:
        seen.append(request)

    @app.websocket("sendMessage")
    def send_message(request: WebSocketRequest) -> dict[str, Any]:
        seen.append(request)
        return {"echo": request.json()["text"]}

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app, seen


def invoke(app: App, event: dict[str, Any]) -> dict[str, Any]:
    raw = app(copy.deepcopy(event), FakeContext())
    assert check_proxy_response("websocket", raw) == []
    return raw


# -- detection and parsing ------------------------------------------------------------------------


@pytest.mark.parametrize("event", [CONNECT_EVENT, MESSAGE_EVENT, DISCONNECT_EVENT])
def test_websocket_events_are_detected_as_websocket(event: dict[str, Any]) -> None:
    assert detect(event).name == "websocket"


@pytest.mark.parametrize("fmt", ["rest", "http-v1", "http", "url", "alb", "alb-multi"])
def test_http_events_are_not_taken_for_websocket(fmt: str) -> None:
    assert detect(make_event(fmt, "GET", "/")).name != "websocket"


def test_connect_event_gives_headers_query_and_context() -> None:
    app, seen = captured_app()
    assert invoke(app, CONNECT_EVENT) == {"statusCode": 200, "body": ""}
    request = seen[0]
    assert (request.connection_id, request.route_key, request.event_type) == (
        "IU3kkeN4IAMCJwA=", "$connect", "CONNECT")
    assert request.headers["sec-websocket-protocol"] == "chat, superchat"
    assert request.query.getall("room") == ["a", "b"]
    assert request.query["token"] == "s3cret"
    assert request.domain_name == "lqrlmblaa2.execute-api.us-east-1.amazonaws.com"
    assert (request.stage, request.api_id, request.request_id) == ("dev", "lqrlmblaa2",
                                                                   "IU3kkGyEoAMFwZQ=")
    assert request.connected_at == 1689794896145
    assert request.source_ip == "24.148.42.16"
    assert request.body == b""


def test_message_event_gives_body_text_and_json() -> None:
    app, seen = captured_app()
    raw = invoke(app, MESSAGE_EVENT)
    assert raw == {"statusCode": 200, "body": '{"echo":"hello"}'}
    request = seen[0]
    assert request.text == '{"action": "sendMessage", "text": "hello"}'
    assert request.json() == {"action": "sendMessage", "text": "hello"}
    assert request.message_id == "SOqIDdzSoAMCEeg="
    assert len(request.headers) == 0 and len(request.query) == 0


def test_disconnect_event_gives_status_code_and_reason() -> None:
    app, seen = captured_app()
    invoke(app, DISCONNECT_EVENT)
    request = seen[0]
    assert request.event_type == "DISCONNECT"
    assert request.disconnect_status_code == 1005
    assert request.disconnect_reason == "Client-side close frame status not set"


def test_binary_message_is_base64_decoded() -> None:
    app = App(access_log=False)

    @app.websocket("$default")
    def size(request: WebSocketRequest) -> dict[str, int]:
        return {"bytes": len(request.body), "first": request.body[0]}

    event = copy.deepcopy(MESSAGE_EVENT)
    event["requestContext"]["routeKey"] = "$default"
    event["body"], event["isBase64Encoded"] = base64.b64encode(b"\xff\x00\x01").decode(), True
    assert json.loads(invoke(app, event)["body"]) == {"bytes": 3, "first": 255}


def test_authorizer_context_is_exposed_raw() -> None:
    app, seen = captured_app()
    event = copy.deepcopy(CONNECT_EVENT)
    event["requestContext"]["authorizer"] = {"principalId": "user-1", "role": "admin"}
    invoke(app, event)
    assert seen[0].authorizer == {"principalId": "user-1", "role": "admin"}


# -- routing --------------------------------------------------------------------------------------


def test_same_app_serves_http_and_websocket_events() -> None:
    app, _ = captured_app()
    assert TestClient(app, format="http").get("/health").json() == {"status": "ok"}
    assert invoke(app, MESSAGE_EVENT)["statusCode"] == 200


def test_unknown_route_key_falls_back_to_default() -> None:
    app = App(access_log=False)

    @app.websocket("$default")
    def fallback(request: WebSocketRequest) -> str:
        return f"default got {request.route_key}"

    assert invoke(app, MESSAGE_EVENT)["body"] == "default got sendMessage"


def test_unknown_route_key_without_default_is_a_404_problem() -> None:
    app = App(access_log=False)

    @app.websocket("other")
    def other() -> None: ...

    raw = invoke(app, MESSAGE_EVENT)
    problem = json.loads(raw["body"])
    assert raw["statusCode"] == 404 and problem["status"] == 404
    assert "sendMessage" in problem["detail"]
    assert problem["request_id"] == "SOqIDEacoAMFaHQ="


def test_connect_and_disconnect_without_handlers_are_accepted() -> None:
    app = App(access_log=False)
    assert invoke(app, CONNECT_EVENT)["statusCode"] == 200
    assert invoke(app, DISCONNECT_EVENT)["statusCode"] == 200


def test_connect_rejected_with_http_error_status() -> None:
    app = App(access_log=False)

    @app.websocket("$connect")
    def guard(request: WebSocketRequest) -> None:
        if request.query.get("token") != "right":
            raise Unauthorized("A token is required.")

    raw = invoke(app, CONNECT_EVENT)
    assert raw["statusCode"] == 401
    assert json.loads(raw["body"])["detail"] == "A token is required."
    event = copy.deepcopy(CONNECT_EVENT)
    event["multiValueQueryStringParameters"]["token"] = ["right"]
    assert invoke(app, event)["statusCode"] == 200


def test_connect_may_choose_a_subprotocol_header() -> None:
    app = App(access_log=False)

    @app.websocket("$connect")
    def choose(request: WebSocketRequest) -> Response:
        offered = [p.strip() for p in request.headers["sec-websocket-protocol"].split(",")]
        if "chat" not in offered:
            raise Forbidden("Unsupported subprotocol.")
        return Response(None, headers={"Sec-WebSocket-Protocol": "chat"})

    assert invoke(app, CONNECT_EVENT) == {"statusCode": 200, "body": "",
                                          "headers": {"Sec-WebSocket-Protocol": "chat"}}


def test_message_answers_carry_no_headers() -> None:
    app = App(access_log=False)

    @app.websocket("sendMessage")
    def send(request: WebSocketRequest) -> Response:
        return Response("ok", headers={"X-Ignored": "1"})

    assert invoke(app, MESSAGE_EVENT) == {"statusCode": 200, "body": "ok"}


def test_handler_exception_is_a_logged_500_problem(caplog: pytest.LogCaptureFixture) -> None:
    app = App(access_log=False)

    @app.websocket("sendMessage")
    def broken(request: WebSocketRequest) -> None:
        raise RuntimeError("database password is hunter2")

    raw = invoke(app, MESSAGE_EVENT)
    assert raw["statusCode"] == 500
    assert "hunter2" not in raw["body"]
    assert json.loads(raw["body"])["title"] == "Internal Server Error"


def test_binary_route_answer_is_a_500_not_a_malformed_response() -> None:
    app = App(access_log=False)

    @app.websocket("sendMessage")
    def binary() -> bytes:
        return b"\xff\xfe"

    raw = invoke(app, MESSAGE_EVENT)
    assert raw["statusCode"] == 500


def test_oversized_route_answer_is_a_500_not_a_failed_message() -> None:
    app = App(access_log=False)

    @app.websocket("sendMessage")
    def huge() -> str:
        return "x" * (128 * 1024 + 1)

    raw = invoke(app, MESSAGE_EVENT)
    assert raw["statusCode"] == 500
    assert check_proxy_response("websocket", {"statusCode": 200, "body": "x" * 200_000})


@pytest.mark.parametrize("broken", [
    {"requestContext": {"connectionId": 7, "routeKey": "$default"}},
    {"requestContext": {"connectionId": "abc=", "routeKey": 5}},
    {"requestContext": {"connectionId": "abc=", "routeKey": "$default"}, "body": 12},
])
def test_malformed_websocket_events_are_400_problems(broken: dict[str, Any]) -> None:
    app = App(access_log=False)

    @app.websocket("$default")
    def echo(request: WebSocketRequest) -> str:
        return request.text

    raw = invoke(app, broken)
    assert raw["statusCode"] == 400
    assert json.loads(raw["body"])["status"] == 400


# -- binding --------------------------------------------------------------------------------------


class Chat(BaseModel):
    action: str
    text: str


def test_pydantic_model_binds_the_message() -> None:
    app = App(access_log=False)

    @app.websocket("sendMessage")
    def send(message: Chat, connection_id: str) -> dict[str, str]:
        return {"text": message.text.upper(), "from": connection_id}

    assert json.loads(invoke(app, MESSAGE_EVENT)["body"]) == {"text": "HELLO",
                                                              "from": "SOqGjdZioAMCEeg="}
    event = copy.deepcopy(MESSAGE_EVENT)
    event["body"] = json.dumps({"action": "sendMessage"})
    raw = invoke(app, event)
    assert raw["statusCode"] == 422
    assert json.loads(raw["body"])["errors"][0]["loc"] == ["body", "text"]
    event["body"] = "not json"
    assert invoke(app, event)["statusCode"] == 400


def test_plain_parameters_bind_request_body_and_context() -> None:
    app = App(access_log=False)

    @app.websocket("sendMessage")
    def send(request: Request, body: dict[str, Any], context: Any) -> dict[str, Any]:
        return {"kind": type(request).__name__, "text": body["text"],
                "fn": context.function_name}

    assert json.loads(invoke(app, MESSAGE_EVENT)["body"]) == {
        "kind": "WebSocketRequest", "text": "hello", "fn": "lamroute-test"}


def test_connect_binds_query_and_header_parameters_like_http() -> None:
    app = App(access_log=False)
    seen: list[tuple[list[str], str, str | None]] = []

    @app.websocket("$connect")
    def join(room: list[str], token: Annotated[str, Query(min_length=3)],
             x_forwarded_proto: Annotated[str | None, Header()] = None) -> None:
        seen.append((room, token, x_forwarded_proto))

    assert invoke(app, CONNECT_EVENT)["statusCode"] == 200
    assert seen == [(["a", "b"], "s3cret", "https")]
    event = copy.deepcopy(CONNECT_EVENT)
    event["multiValueQueryStringParameters"]["token"] = ["no"]
    raw = invoke(app, event)
    assert raw["statusCode"] == 422
    assert json.loads(raw["body"])["errors"][0]["loc"] == ["query", "token"]


def test_depends_and_locally_defined_models_bind() -> None:
    class Shout(BaseModel):
        text: str

    def loud(message: Shout) -> str:
        return message.text.upper()

    app = App(access_log=False)

    @app.websocket("sendMessage")
    def send(text: Annotated[str, Depends(loud)], connection_id: str) -> str:
        return f"{connection_id}: {text}"

    assert invoke(app, MESSAGE_EVENT)["body"] == "SOqGjdZioAMCEeg=: HELLO"


def test_unbindable_parameter_is_a_definition_error() -> None:
    app = App()
    with pytest.raises(RouteDefinitionError, match="room"):
        @app.websocket("join")
        def join(room: Annotated[str, Path()]) -> None: ...


@pytest.mark.parametrize("key", ["", "$custom", "x" * 129])
def test_invalid_route_keys_are_refused(key: str) -> None:
    with pytest.raises(RouteDefinitionError):
        App().websocket(key)


def test_duplicate_route_key_is_refused() -> None:
    app = App()
    app.websocket("join")(lambda: None)
    with pytest.raises(RouteDefinitionError, match="twice"):
        app.websocket("join")(lambda: None)


def test_router_websocket_routes_are_included() -> None:
    router = Router()

    @router.websocket("join")
    def join(connection_id: str) -> str:
        return f"joined {connection_id}"

    app = App(access_log=False)
    app.include_router(router, prefix="/chat")
    event = copy.deepcopy(MESSAGE_EVENT)
    event["requestContext"]["routeKey"] = "join"
    assert invoke(app, event)["body"] == "joined SOqGjdZioAMCEeg="
    assert join("x") == "joined x"


# -- route selection ------------------------------------------------------------------------------


@pytest.mark.parametrize(("expression", "message", "expected"), [
    ("$request.body.action", '{"action": "join"}', "join"),
    ("$request.body.action", '{"action": "leave"}', "$default"),
    ("$request.body.action", '{"action": 3}', "$default"),
    ("$request.body.action", "plain text", "$default"),
    ("$request.body.action", b"\xff", "$default"),
    ("$request.body.meta.type", '{"meta": {"type": "join"}}', "join"),
    ("${request.body.action}", '{"action": "join"}', "join"),
])
def test_route_selection_expression(expression: str, message: str | bytes,
                                    expected: str) -> None:
    assert select_route(expression, message, {"join", "$default"}) == expected


def test_event_factory_matches_the_documented_shapes() -> None:
    connect = make_websocket_event("$connect", query={"a": "1"}, headers={"X-Test": "y"})
    assert set(connect) >= {"headers", "multiValueHeaders", "queryStringParameters",
                            "multiValueQueryStringParameters", "requestContext"}
    assert set(CONNECT_EVENT["requestContext"]) <= set(connect["requestContext"])
    message = make_websocket_event("sendMessage", json={"x": 1})
    assert "headers" not in message and "queryStringParameters" not in message
    assert set(MESSAGE_EVENT["requestContext"]) <= set(message["requestContext"])
    disconnect = make_websocket_event("$disconnect", disconnect_status_code=1001)
    assert set(DISCONNECT_EVENT["requestContext"]) <= set(disconnect["requestContext"])
    assert disconnect["requestContext"]["disconnectStatusCode"] == 1001


# -- nothing escapes ------------------------------------------------------------------------------

_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8),
                                                                        children, max_size=3),
    max_leaves=8,
)


@settings(max_examples=150, deadline=None)
@given(
    context=st.fixed_dictionaries(
        {"connectionId": st.one_of(st.text(min_size=1, max_size=12), _json_values)},
        optional={"routeKey": st.one_of(st.sampled_from(["$connect", "$disconnect", "$default",
                                                          "sendMessage", "other"]), _json_values),
                  "eventType": st.one_of(st.sampled_from(["CONNECT", "MESSAGE", "DISCONNECT"]),
                                         _json_values),
                  "domainName": _json_values, "stage": _json_values,
                  "disconnectStatusCode": _json_values, "identity": _json_values,
                  "authorizer": _json_values},
    ),
    extra=st.fixed_dictionaries({}, optional={
        "body": st.one_of(st.text(max_size=30), _json_values),
        "isBase64Encoded": _json_values,
        "headers": _json_values, "multiValueHeaders": _json_values,
        "queryStringParameters": _json_values, "multiValueQueryStringParameters": _json_values,
    }),
)
def test_any_websocket_shaped_event_gets_a_valid_answer(context: dict[str, Any],
                                                         extra: dict[str, Any]) -> None:
    app = App(access_log=False)

    @app.websocket("$connect")
    def on_connect(request: WebSocketRequest) -> dict[str, Any]:
        return {"q": dict(request.query), "h": len(request.headers), "ip": request.source_ip}

    @app.websocket("sendMessage")
    def send(body: dict[str, Any], connection_id: str) -> dict[str, Any]:
        return {"keys": sorted(body), "id": connection_id}

    @app.websocket("$default")
    def default(request: WebSocketRequest) -> str:
        return request.text + str(request.authorizer) + str(request.disconnect_status_code)

    raw = app({"requestContext": context, **extra}, FakeContext())
    assert check_proxy_response("websocket", raw) == []
    assert isinstance(raw["statusCode"], int)
