"""lamroute.testing: event factories, FakeContext, the gateway's rules and the TestClient."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

import pytest

from lamroute import App, Request, Response
from lamroute.formats import detect
from lamroute.testing import (
    FORMATS,
    FakeContext,
    MalformedResponse,
    TestClient,
    assert_valid_proxy_response,
    check_proxy_response,
    make_event,
)
from lamroute.testing.rules import ALB_RESPONSE_LIMIT, LAMBDA_RESPONSE_LIMIT

OK = {"statusCode": 200, "headers": {"a": "b"}, "body": "", "isBase64Encoded": False}

MALFORMED: list[tuple[str, str, Any]] = [
    ("rest", "not a dict", ["statusCode", 200]),
    ("rest", "none", None),
    ("rest", "missing status", {"body": ""}),
    ("http", "status too high", {**OK, "statusCode": 600}),
    ("http", "status too low", {**OK, "statusCode": 99}),
    ("rest", "status str", {**OK, "statusCode": "200"}),
    ("rest", "status bool", {**OK, "statusCode": True}),
    ("url", "body bytes", {**OK, "body": b"x"}),
    ("rest", "body dict", {**OK, "body": {"a": 1}}),
    ("http-v1", "header int", {**OK, "headers": {"x": 1}}),
    ("rest", "header CRLF", {**OK, "headers": {"x": "a\r\nb"}}),
    ("rest", "headers list", {**OK, "headers": [["a", "b"]]}),
    ("rest", "multi not list", {**OK, "multiValueHeaders": {"a": "b"}}),
    ("rest", "multi int", {**OK, "multiValueHeaders": {"a": [1]}}),
    ("rest", "extra key", {**OK, "cookies": ["a=1"]}),
    ("http", "multi in 2.0", {**OK, "multiValueHeaders": {"a": ["b"]}}),
    ("http", "cookies not list", {**OK, "cookies": "a=1"}),
    ("http", "cookie int", {**OK, "cookies": [1]}),
    ("rest", "base64 flag str", {**OK, "isBase64Encoded": "true"}),
    ("rest", "bad base64", {**OK, "body": "%%%", "isBase64Encoded": True}),
    ("alb", "no statusDescription", dict(OK)),
    ("alb", "multi in single mode", {**OK, "statusDescription": "200 OK",
                                     "multiValueHeaders": {"a": ["b"]}}),
    ("alb-multi", "single in multi mode", {**OK, "statusDescription": "200 OK"}),
    ("rest", "too large", {**OK, "body": "x" * (LAMBDA_RESPONSE_LIMIT + 1)}),
    ("alb", "too large for ALB", {**OK, "statusDescription": "200 OK",
                                  "body": "x" * ALB_RESPONSE_LIMIT}),
    ("rest", "not JSON", {**OK, "headers": {"a": "b"}, "x": object()}),
]


@pytest.mark.parametrize(("fmt", "label", "payload"), MALFORMED,
                         ids=[label for _, label, _ in MALFORMED])
def test_client_rejects_malformed_proxy_dicts_loudly(fmt: str, label: str, payload: Any) -> None:
    assert check_proxy_response(fmt, payload) != []
    with pytest.raises(MalformedResponse, match=f"{fmt} proxy response rejected"):
        TestClient(lambda event, context: payload, format=fmt).get("/")
    with pytest.raises(AssertionError):  # MalformedResponse fails a test like an assert
        assert_valid_proxy_response(fmt, payload)


@pytest.mark.parametrize("fmt", FORMATS)
def test_valid_minimal_answers_pass(fmt: str) -> None:
    payload: dict[str, Any] = {"statusCode": 204, "body": "", "isBase64Encoded": False}
    if fmt.startswith("alb"):
        payload["statusDescription"] = "204 No Content"
        payload["multiValueHeaders" if fmt == "alb-multi" else "headers"] = {}
    assert check_proxy_response(fmt, payload) == []
    assert TestClient(lambda event, context: payload, format=fmt).get("/").status_code == 204


def test_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="Unknown format"):
        TestClient(App(), format="soap")
    with pytest.raises(ValueError, match="Unknown event format"):
        make_event("soap")


# -- the event factories ---------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_factory_events_are_detected_as_their_format(fmt: str) -> None:
    event = make_event(fmt, "PATCH", "/a/b%20c", query={"q": ["1", "2"]},
                       headers={"X-H": "v"}, cookies={"c": "1"}, json={"k": "v"},
                       authorizer={"principalId": "p"})
    assert detect(event).name == ("alb" if fmt.startswith("alb") else fmt)
    request = detect(event).parse(event, None)
    assert (request.method, request.path) == ("PATCH", "/a/b c")
    assert request.json() == {"k": "v"} and request.headers["content-type"] == "application/json"
    assert request.headers["x-h"] == "v" and request.cookies == {"c": "1"}
    assert json.loads(json.dumps(event)) == event  # plain JSON, like the real thing


def test_factory_shapes() -> None:
    rest = make_event("rest", "GET", "/x", stage="dev", query={"a": "1"})
    assert rest["requestContext"]["stage"] == "dev" and rest["path"] == "/x"
    assert rest["requestContext"]["path"] == "/dev/x"
    assert rest["multiValueQueryStringParameters"] == {"a": ["1"]}
    assert "version" not in rest
    assert make_event("http-v1")["version"] == "1.0"
    http = make_event("http", "GET", "/x", stage="dev", cookies={"a": "1"})
    assert (http["rawPath"], http["cookies"]) == ("/dev/x", ["a=1"])
    assert "cookie" not in http["headers"]
    url = make_event("url", "GET", "/x y")
    assert url["rawPath"] == "/x%20y" and ".lambda-url." in url["requestContext"]["domainName"]
    alb = make_event("alb", "GET", "/", query={"q": "a b"})
    assert alb["queryStringParameters"] == {"q": "a%20b"} and "multiValueHeaders" not in alb
    multi = make_event("alb-multi", "GET", "/", headers=[("X", "1"), ("X", "2")])
    assert multi["multiValueHeaders"]["x"] == ["1", "2"] and "headers" not in multi
    binary = make_event("rest", "POST", "/", body=b"\x00\x01")
    assert binary["isBase64Encoded"] is True and base64.b64decode(binary["body"]) == b"\x00\x01"
    auth = make_event("http", authorizer={"lambda": {"user": "u"}})
    assert auth["requestContext"]["authorizer"] == {"lambda": {"user": "u"}}


def test_fake_context() -> None:
    context = FakeContext(timeout_ms=3000, function_name="fn")
    remaining = context.get_remaining_time_in_millis()
    assert 0 < remaining <= 3000
    assert context.get_remaining_time_in_millis() <= remaining
    assert context.function_name == "fn" and context.invoked_function_arn.endswith(":fn")
    assert context.aws_request_id != FakeContext().aws_request_id
    assert FakeContext(timeout_ms=0).get_remaining_time_in_millis() == 0


# -- the client --------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_client_response(fmt: str) -> None:
    app = App(access_log=False)

    @app.route("/echo", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    def echo(request: Request) -> Response:
        response = Response.json({"method": request.method, "q": request.query.getall("q")},
                                 201, headers={"X-Reply": "yes"})
        response.set_cookie("token", "t1")
        return response

    client = TestClient(app, format=fmt, stage="prod" if fmt in ("rest", "http") else None)
    for method in ("get", "post", "put", "patch", "delete"):
        response = getattr(client, method)("/echo?q=1", query={"q": "2"})
        assert response.status_code == 201
        assert response.json()["method"] == method.upper()
        assert response.json()["q"] == (["2"] if fmt == "alb" else ["1", "2"])
        assert response.headers["x-reply"] == "yes"
        assert response.cookies == {"token": "t1"}
        assert response.text == response.content.decode()
        assert response.raw["statusCode"] == 201
        assert repr(response) == "<TestResponse 201>"
    assert client.head("/echo").content == b""
    assert client.options("/echo").headers["allow"]
    assert client.request("GET", "/echo").status_code == 201


def test_client_timeout_reaches_the_context() -> None:
    app = App(access_log=False)
    app.get("/t")(lambda context: {"left": context.get_remaining_time_in_millis()})
    left = TestClient(app, timeout_ms=1500).get("/t").json()["left"]
    assert 0 < left <= 1500


def test_client_default_authorizer_and_override() -> None:
    app = App(access_log=False)
    app.get("/who")(lambda request: request.authorizer)
    client = TestClient(app, format="rest", authorizer={"principalId": "default"})
    assert client.get("/who").json() == {"principalId": "default"}
    assert client.get("/who", authorizer={"principalId": "x"}).json() == {"principalId": "x"}


def test_client_invoke_with_a_ready_event() -> None:
    app = App(access_log=False)
    app.get("/x")(lambda: "x")
    client = TestClient(app, format="http")
    assert client.invoke(make_event("http", "GET", "/x")).text == "x"


# -- the README's app and tests run as written ---------------------------------------------------

README = Path(__file__).resolve().parent.parent / "README.md"


def _python_blocks(section: str) -> list[str]:
    text = README.read_text()
    body = text.split(f"\n## {section}\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", body, flags=re.S)


@pytest.mark.parametrize("fmt", FORMATS)
def test_readme_app_and_tests_run_as_written(fmt: str) -> None:
    namespace: dict[str, Any] = {}
    (app_code,) = _python_blocks("A complete small app")
    exec(compile(app_code, "README:app", "exec"), namespace)
    direct, with_client, overrides = _python_blocks("Testing")
    exec(compile(direct, "README:direct", "exec"), namespace)
    namespace["test_get_note_directly"]()
    namespace["NOTES"].clear()
    exec(compile(with_client.replace('format="rest"', f"format={fmt!r}"), "README:client", "exec"),
         namespace)
    client = namespace["client"]
    assert client.get("/notes?limit=5").json() == [{"id": "1", "text": "hello"}]
    assert client.get("/files/a/b.txt").text == "GET a/b.txt"
    assert client.get("/notes/9").json()["detail"] == "note 9 does not exist"
    assert client.post("/notes", body="{oops").status_code == 400
    exec(compile(overrides, "README:overrides", "exec"), namespace)  # asserts as it goes
    assert client.get("/search?q=x").status_code == 500  # the real dependency is back


def test_readme_error_formatter_runs_as_written() -> None:
    namespace: dict[str, Any] = {}
    (code,) = _python_blocks("Errors")
    exec(compile(code, "README:errors", "exec"), namespace)
    response = TestClient(namespace["app"]).get("/nothing")
    assert response.json() == {"error": {"status": 404, "message": "No route matches /nothing."}}


# (format, Content-Type, Content-Encoding or None, delivered base64?): the services' documented
# rules (lamroute.testing.bodies), ALB's Content-Encoding rule included.
DELIVERIES = [
    ("alb", "application/json", "identity", True), ("alb-multi", "text/plain", "br", True),
    ("alb", "application/json", None, False),
    ("alb", "application/x-www-form-urlencoded", None, True),
    ("http", "application/json", None, False), ("url", "text/csv", None, False),
    ("http", "application/octet-stream", None, True), ("url", None, None, True),
]


@pytest.mark.parametrize(("fmt", "content_type", "encoding", "base64"), DELIVERIES)
def test_alb_base64_encodes_any_body_sent_with_a_content_encoding(
        fmt: str, content_type: str | None, encoding: str | None, base64: bool) -> None:
    """ALB: "If the content-encoding header is present, the load balancer Base64 encodes the
    body" (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/lambda-functions.html)."""
    app = App(access_log=False)

    @app.post("/echo")
    def echo(request: Request) -> dict[str, str]:
        return {"body": request.body.decode()}

    seen: list[bool] = []

    def spy(event: Any, context: Any) -> Any:
        seen.append(event["isBase64Encoded"])
        return app(event, context)

    client = TestClient(app, format=fmt)
    client.app = spy
    headers = {"Content-Type": content_type} if content_type else {}
    if encoding is not None:
        headers["Content-Encoding"] = encoding
    response = client.post("/echo", body=b'{"a": 1}', headers=headers)
    assert response.json() == {"body": '{"a": 1}'}
    assert seen == [base64]
