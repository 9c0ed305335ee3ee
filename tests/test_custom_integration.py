"""The custom (non-proxy) Lambda integration: its event format through ``app(event, context)``,
the mapping templates rendered by the local gateway (repeated query keys, unicode, binary bodies,
function errors), and the template that deploys it."""

from __future__ import annotations

import base64
import json
import time
import urllib.request
from typing import Any

import pytest

from lamroute import App, Request, Response
from lamroute.deploy.auth import TemplateError
from lamroute.deploy.custom_integration import (
    DEFAULT_CONTENT_TYPES,
    RUNTIME_PATTERN,
    TIMEOUT_PATTERN,
    CustomLambdaIntegration,
    request_template,
)
from lamroute.formats import detect, parse_event
from lamroute.local import Gateway, GatewayConfig, HttpRequest, LocalGateway, Outcome
from lamroute.local.custom import CustomIntegration
from lamroute.testing import TestClient, make_event
from lamroute.testing.events import custom_event

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe binary"


def echo_app() -> App:
    app = App(access_log=False)

    @app.route("/things/{thing_id}", methods=["GET", "POST"])
    def thing(thing_id: str, request: Request) -> dict[str, Any]:
        return {"id": thing_id, "method": request.method, "path": request.path,
                "root_path": request.root_path, "stage": request.stage,
                "request_id": request.request_id, "source_ip": request.source_ip,
                "q": request.query.getall("q"), "tag": request.headers.getall("x-tag"),
                "ua": request.user_agent, "text": request.body.decode("utf-8", "replace")}

    @app.post("/upload")
    def upload(request: Request) -> Response:
        return Response(request.body, media_type=request.content_type or "application/x-empty")

    @app.get("/")
    def root(request: Request) -> dict[str, str]:
        return {"root": request.path, "root_path": request.root_path}

    @app.get("/cookies")
    def cookies() -> Response:
        response = Response("two", media_type="text/plain")
        response.set_cookie("a", "1")
        response.set_cookie("b", "2")
        return response

    @app.get("/vary")
    def vary() -> Response:
        response = Response("", status=204)
        response.headers.add("Vary", "Accept")
        response.headers.add("Vary", "Origin")
        return response

    @app.get("/whoami")
    def whoami(request: Request) -> dict[str, Any]:
        who = request.auth
        return {"kind": who.kind, "principal": who.principal_id, "groups": sorted(who.groups),
                "raw": request.authorizer}

    return app


# -- the event format, through app(event, context) -------------------------------------------


def test_custom_event_is_detected_and_routed_like_a_proxy_event() -> None:
    event = make_event("custom", "GET", "/things/a%2Fb%20c", query={"q": "é"},
                       headers={"X-Tag": "t"}, request_id="req-1", source_ip="198.51.100.9")
    assert detect(event).name == "custom"
    answer = TestClient(echo_app(), format="custom").invoke(event)
    assert answer.status_code == 200
    assert answer.json() == {
        "id": "a/b c", "method": "GET", "path": "/things/a/b c", "root_path": "/prod",
        "stage": "prod", "request_id": "req-1", "source_ip": "198.51.100.9", "q": ["é"],
        "tag": ["t"], "ua": "lamroute-testclient", "text": ""}


def test_custom_event_root_resource_and_stage() -> None:
    response = TestClient(echo_app(), format="custom", stage="v1").get("/")
    assert response.json() == {"root": "/", "root_path": "/v1"}


def test_custom_event_values_are_form_decoded_so_plus_and_percent_survive() -> None:
    client = TestClient(echo_app(), format="custom")
    response = client.post("/things/x?q=a%2Bb+%25+%F0%9F%98%80", headers={"X-Tag": "1+1=2 ✓"},
                           body="naïve ☃")
    assert response.json()["q"] == ["a+b % 😀"]
    assert response.json()["tag"] == ["1+1=2 ✓"]
    assert response.json()["text"] == "naïve ☃"


def test_custom_answer_is_base64_so_binary_bodies_are_unchanged_both_ways() -> None:
    client = TestClient(echo_app(), format="custom")
    response = client.post("/upload", body=PNG, headers={"Content-Type": "image/png"})
    assert response.raw["isBase64Encoded"] is True
    assert base64.b64decode(response.raw["body"]) == PNG
    assert response.content == PNG
    assert response.headers["content-type"] == "image/png"


def test_custom_answer_in_text_mode_is_text_and_refuses_a_binary_body() -> None:
    app = echo_app()
    text = custom_event(make_event("rest", "POST", "/upload", body="ünïcode",
                                   headers={"Content-Type": "text/plain"}),
                        response_encoding="text")
    answer = app(text, None)
    assert (answer["body"], answer["isBase64Encoded"]) == ("ünïcode", False)
    binary = custom_event(make_event("rest", "POST", "/upload", body=PNG,
                                     headers={"Content-Type": "image/png"}),
                          response_encoding="text")
    refused = app(binary, None)
    assert refused["statusCode"] == 500  # loudly, never a mangled image
    assert json.loads(refused["body"])["title"] == "Internal Server Error"


def test_custom_answer_refuses_a_second_set_cookie_and_joins_other_repeated_headers() -> None:
    client = TestClient(echo_app(), format="custom")
    assert client.get("/cookies").status_code == 500  # one override per header name
    vary = client.get("/vary")
    assert vary.status_code == 204 and vary.raw["headers"]["Vary"] == "Accept, Origin"


def test_custom_event_carries_lambda_authorizer_context_and_cognito_claims() -> None:
    client = TestClient(echo_app(), format="custom")
    lambda_auth = client.get("/whoami", authorizer={"principalId": "u1", "tenant": "t 1",
                                                    "groups": '["ops", "dev"]'}).json()
    assert (lambda_auth["kind"], lambda_auth["principal"]) == ("lambda", "u1")
    assert lambda_auth["groups"] == ["dev", "ops"]
    assert lambda_auth["raw"]["tenant"] == "t 1"
    cognito = client.get("/whoami", authorizer={"claims": {
        "sub": "s1", "cognito:groups": "admins,staff"}}).json()
    assert (cognito["kind"], cognito["principal"], cognito["groups"]) == (
        "cognito", "s1", ["admins", "staff"])


def test_custom_event_carries_the_iam_caller_so_iam_guarded_routes_work() -> None:
    from lamroute import Identity
    from lamroute.security.guards import requires

    app = echo_app()

    @app.get("/signed", auth=requires(kinds=["iam"]))
    def signed(request: Request) -> dict[str, Any]:
        return {"kind": request.auth.kind, "principal": request.auth.principal_id}

    client = TestClient(app, format="custom")
    arn = "arn:aws:iam::123456789012:user/ci"
    assert client.get("/signed", identity=Identity(kind="iam", principal_id=arn)).json() == {
        "kind": "iam", "principal": arn}
    assert client.get("/signed").status_code == 401


def test_malformed_custom_event_is_a_400() -> None:
    event = make_event("custom", "GET", "/things/1")
    del event["method"]
    answer = echo_app()(event, None)
    assert answer["statusCode"] == 400


def test_custom_format_is_not_imported_for_proxy_events() -> None:
    import subprocess
    import sys

    code = ("import sys; from lamroute import App; from lamroute.testing import make_event; "
            "app = App(access_log=False); app(make_event('rest', 'GET', '/'), None); "
            "print('lamroute.formats.custom' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# -- the templates, rendered by the local gateway --------------------------------------------


def gateway(app: Any, *, integration: str = "custom", timeout: float = 5.0,
            function_timeout: float | None = None) -> Gateway:
    return Gateway(app, GatewayConfig(api="rest", integration=integration, timeout=timeout,
                                      function_timeout=function_timeout))


def test_factory_event_is_what_the_request_template_renders() -> None:
    captured: list[dict[str, Any]] = []

    def capture(event: dict[str, Any], context: Any) -> Any:
        captured.append(event)
        return echo_app()(event, context)

    headers = [("X-Tag", "é ✓"), ("Content-Type", "text/plain"), ("User-Agent", "ua/1")]
    gateway(capture).handle(HttpRequest("POST", "/prod/things/a%20b?q=1&r=%C3%A9", headers,
                                        "bødy".encode(), client_ip="192.0.2.3"))
    (rendered,) = captured
    expected = custom_event(make_event(
        "rest", "POST", "/things/a%20b", query={"q": "1", "r": "é"}, body="bødy",
        headers=[*headers, ("X-Forwarded-For", "192.0.2.3"), ("X-Forwarded-Proto", "http")],
        source_ip="192.0.2.3", request_id=rendered["requestContext"]["requestId"]))
    for key in ("lamroute", "responseEncoding", "method", "path", "resource", "pathParameters",
                "queryStringParameters", "body", "isBase64Encoded"):
        assert rendered[key] == expected[key], key
    assert parse_event(rendered, None).headers.getall("x-tag") == ["é ✓"]
    assert rendered["requestContext"]["identity"] == expected["requestContext"]["identity"]
    assert rendered["requestContext"]["identity"]["sourceIp"] == "192.0.2.3"


def test_gateway_repeated_query_keys_reach_the_app_as_one_value() -> None:
    answer = gateway(echo_app()).handle(HttpRequest("GET", "/prod/things/1?q=a&q=b&q=c"))
    # $input.params().querystring has one value per name: a custom integration cannot carry
    # repeated keys (the README says so); the proxy event's single-value map keeps the last.
    assert json.loads(answer.body)["q"] == ["c"]


def test_gateway_unicode_path_query_header_and_body() -> None:
    answer = gateway(echo_app()).handle(HttpRequest(
        "POST", "/prod/things/%E2%9C%93%20%F0%9F%98%80?q=%C3%A9t%C3%A9",
        [("Content-Type", "application/json; charset=utf-8"), ("X-Tag", "naïve")],
        '{"say": "héllo ☃"}'.encode()))
    assert answer.status == 200
    body = json.loads(answer.body)
    assert (body["id"], body["q"], body["tag"]) == ("✓ 😀", ["été"], ["naïve"])
    assert json.loads(body["text"]) == {"say": "héllo ☃"}
    assert answer.header("x-amzn-RequestId") == body["request_id"]


@pytest.mark.parametrize("kind", ["image/png", "application/octet-stream", "application/pdf"])
def test_gateway_binary_body_round_trip(kind: str) -> None:
    answer = gateway(echo_app()).handle(HttpRequest("POST", "/prod/upload",
                                                    [("Content-Type", kind)], PNG))
    assert (answer.status, answer.body, answer.header("content-type")) == (200, PNG, kind)


def test_gateway_text_body_without_content_type_is_base64_encoded_by_the_template() -> None:
    answer = gateway(echo_app()).handle(HttpRequest("POST", "/prod/things/1", [],
                                                    "sans type ✓".encode()))
    assert json.loads(answer.body)["text"] == "sans type ✓"


def test_gateway_text_only_integration_answers_text_and_refuses_binary() -> None:
    text_gateway = gateway(echo_app(), integration="custom-text")
    ok = text_gateway.handle(HttpRequest("POST", "/prod/upload", [("Content-Type", "text/csv")],
                                         "a,b\n1,ü".encode()))
    assert (ok.status, ok.body) == (200, "a,b\n1,ü".encode())
    refused = text_gateway.handle(HttpRequest("POST", "/prod/upload",
                                              [("Content-Type", "image/png")], PNG))
    assert refused.status == 500
    assert json.loads(refused.body)["type"] == "about:blank"


def test_gateway_status_and_headers_come_from_the_answer() -> None:
    app = echo_app()
    missing = gateway(app).handle(HttpRequest("GET", "/prod/nope"))
    assert missing.status == 404
    assert missing.header("content-type") == "application/problem+json"
    assert json.loads(missing.body)["instance"] == "/prod/nope"
    vary = gateway(app).handle(HttpRequest("GET", "/prod/vary"))
    assert (vary.status, vary.body, vary.header("vary")) == (204, b"", "Accept, Origin")


def test_gateway_unknown_content_type_is_refused_with_415() -> None:
    answer = gateway(echo_app()).handle(HttpRequest("POST", "/prod/upload",
                                                    [("Content-Type", "application/x-custom")],
                                                    b"x"))
    assert answer.status == 415  # passthroughBehavior NEVER: the function is not called


def test_gateway_function_timeout_is_a_504_problem() -> None:
    def hang(event: Any, context: Any) -> Any:  # a function that never answers in time
        time.sleep(1)

    # The function's own timeout (below the integration's, as `lamroute template` deploys it):
    # a function error the timeout integration response turns into a problem.
    answer = gateway(hang, function_timeout=0.2).handle(HttpRequest("GET", "/prod/slow?x='\""))
    assert answer.status == 504
    assert answer.header("content-type") == "application/problem+json"
    problem = json.loads(answer.body)
    assert (problem["title"], problem["status"]) == ("Gateway Timeout", 504)
    assert problem["detail"].startswith("The function did not answer in time")
    assert problem["instance"] == "/prod/slow"
    assert problem["request_id"] == answer.header("x-amzn-RequestId")


def test_gateway_integration_timeout_is_the_gateways_own_504() -> None:
    """The gateway gives up before the function's timeout: no function error reaches the
    integration responses, API Gateway answers itself (its INTEGRATION_TIMEOUT response)."""
    def hang(event: Any, context: Any) -> Any:
        time.sleep(1)

    answer = gateway(hang, timeout=0.2, function_timeout=5.0).handle(
        HttpRequest("GET", "/prod/slow"))
    assert (answer.status, json.loads(answer.body)) == (
        504, {"message": "Endpoint request timed out"})


@pytest.mark.parametrize("error", [RuntimeError("boom"), MemoryError(), ValueError("it's \"bad\"")])
def test_gateway_function_crash_is_a_502_problem(error: BaseException) -> None:
    def crash(event: Any, context: Any) -> Any:
        raise error

    answer = gateway(crash).handle(HttpRequest("GET", "/prod/it's/ä"))
    assert answer.status == 502
    problem = json.loads(answer.body)
    assert (problem["title"], problem["status"]) == ("Bad Gateway", 502)
    assert problem["instance"] == "/prod/it%27s/%C3%A4"  # ' percent-encoded: JSON-safe
    # The error's message is never echoed (the request id is random hex: it may spell "bad").
    leaked = answer.body.decode().replace(problem.get("request_id") or "", "")
    assert "boom" not in leaked and "bad" not in leaked


def test_gateway_unserialisable_answer_is_a_502_problem() -> None:
    answer = gateway(lambda event, context: {"statusCode": 200, "body": object()}).handle(
        HttpRequest("GET", "/prod/x"))
    assert answer.status == 502


@pytest.mark.parametrize(("message", "expected"), [
    ("2024-05-01T10:00:00.000Z 5a0b Task timed out after 3.00 seconds", TIMEOUT_PATTERN),
    ("Task timed out after 29.00 seconds", TIMEOUT_PATTERN),
    ("RequestId: 5a0b Error: Runtime exited with error: signal: killed", RUNTIME_PATTERN),
    ("Runtime.ExitError", RUNTIME_PATTERN),
    ("Unable to import module 'app': No module named 'x'", "default"),
    (None, "default"),
])
def test_selection_patterns_catch_lambda_function_errors(message: str | None,
                                                         expected: str) -> None:
    integration = CustomIntegration(gateway(echo_app()))
    assert integration.select(message) == expected


@pytest.mark.parametrize("message", [
    "RequestId: 1 Error: Runtime exited with error: signal: killed",
    "Unable to import module 'app': No module named 'x'",
])
def test_runtime_and_unmatched_function_errors_answer_502_problems(message: str) -> None:
    gw = gateway(echo_app())
    integration = CustomIntegration(gw)
    event = make_event("rest", "GET", "/x", stage="prod")
    outcome = Outcome(error=RuntimeError(message))
    answer = integration.answer(outcome, event, "GET /prod/x", HttpRequest("GET", "/prod/x"))
    assert answer.status == 502
    assert json.loads(answer.body)["request_id"] == event["requestContext"]["requestId"]


def test_serve_custom_integration_over_http() -> None:
    with LocalGateway(echo_app(), integration="custom", port=0) as server:
        request = urllib.request.Request(f"{server.url}/upload", data=PNG, method="POST",
                                         headers={"Content-Type": "image/png"})
        with urllib.request.urlopen(request, timeout=10) as answer:
            assert (answer.status, answer.read()) == (200, PNG)


def test_custom_integration_needs_a_rest_api() -> None:
    with pytest.raises(ValueError, match="REST APIs only"):
        GatewayConfig(api="http", integration="custom")


# -- the deployment ---------------------------------------------------------------------------


def test_integration_covers_every_route_and_every_function_error() -> None:
    from lamroute.deploy.routes import GatewayRoute

    build = CustomLambdaIntegration()("rest", 12.5)
    for route in (GatewayRoute("/", "ANY"), GatewayRoute("/notes/{note_id}", "DELETE")):
        operation = build(route)
        integration = operation["x-amazon-apigateway-integration"]
        assert (integration["type"], integration["httpMethod"]) == ("aws", "POST")
        assert integration["timeoutInMillis"] == 12500
        assert integration["passthroughBehavior"] == "never"
        assert integration["contentHandling"] == "CONVERT_TO_TEXT"
        assert set(integration["requestTemplates"]) == set(DEFAULT_CONTENT_TYPES)
        assert set(integration["requestTemplates"].values()) == {request_template()}
        responses = integration["responses"]
        assert {k: v["statusCode"] for k, v in responses.items()} == {
            "default": "200", TIMEOUT_PATTERN: "504", RUNTIME_PATTERN: "502"}
        assert {v["contentHandling"] for v in responses.values()} == {"CONVERT_TO_BINARY"}
        assert set(operation["responses"]) == {"200", "502", "504"}
    text = CustomLambdaIntegration(binary=False, content_types=("application/json",))
    spec = text("rest", 29)(GatewayRoute("/", "ANY"))["x-amazon-apigateway-integration"]
    assert list(spec["requestTemplates"]) == ["application/json"]
    assert {v["contentHandling"] for v in spec["responses"].values()} == {"CONVERT_TO_TEXT"}
    with pytest.raises(TemplateError, match="--api rest"):
        CustomLambdaIntegration()("http", 30)


@pytest.mark.parametrize("integration", ["custom", "custom-text"])
def test_template_integration_custom_transforms_and_lints(
    integration: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from test_templates import lint_problems, resources, translate

    from lamroute.cli import main

    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    out = tmp_path / "template.yaml"
    assert main(["template", "examples.notes.app:app", "--integration", integration,
                 "-o", str(out)]) == 0
    text = out.read_text()
    assert lint_problems(text) == []
    cfn = translate(text)
    assert lint_problems(json.dumps(cfn)) == []
    (rest_api,) = resources(cfn, "AWS::ApiGateway::RestApi").values()
    assert rest_api["Properties"]["BinaryMediaTypes"] == ["*~1*"]
    paths = rest_api["Properties"]["Body"]["paths"]
    assert set(paths) == {"/", "/{proxy+}"}
    handling = "CONVERT_TO_BINARY" if integration == "custom" else "CONVERT_TO_TEXT"
    for path in paths.values():
        spec = path["x-amazon-apigateway-any-method"]["x-amazon-apigateway-integration"]
        assert spec["type"] == "aws"
        assert "${Function.Arn}" in spec["uri"]["Fn::Sub"]
        assert {r["contentHandling"] for r in spec["responses"].values()} == {handling}
    (permission,) = resources(cfn, "AWS::Lambda::Permission").values()
    assert permission["Properties"]["Principal"] == "apigateway.amazonaws.com"
    assert permission["Properties"]["FunctionName"] == {"Ref": "Function"}
    (function,) = resources(cfn, "AWS::Lambda::Function").values()
    # Below the 29 s integration timeout: the function's own timeout is what the integration
    # responses turn into a 504 problem.
    assert function["Properties"]["Timeout"] == 28


def test_template_integration_custom_needs_a_rest_api(capsys: pytest.CaptureFixture[str]) -> None:
    from lamroute.cli import main

    assert main(["template", "examples.notes.app:app", "--api", "http",
                 "--integration", "custom"]) != 0
    assert "--api rest" in capsys.readouterr().err


def test_serve_reload_passes_the_integration_on() -> None:
    import argparse

    from lamroute.commands import serve

    parser = argparse.ArgumentParser()
    serve.add_arguments(parser)
    argv = serve._server_argv(parser.parse_args(["m:app", "--integration", "custom-text"]))
    assert argv[argv.index("--integration") + 1] == "custom-text"
    assert "--integration" not in serve._server_argv(parser.parse_args(["m:app"]))


def test_serve_custom_integration_on_an_http_api_is_a_usage_error() -> None:
    from lamroute.cli import main

    assert main(["serve", "examples.notes.app:app", "--api", "http", "--integration", "custom",
                 "--port", "0"]) != 0


@pytest.mark.parametrize("integration", ["custom", "custom-text"])
def test_serve_custom_integration_refuses_a_binary_media_type_as_template_does(
        integration: str, capsys: pytest.CaptureFixture[str]) -> None:
    """The request template reads every body base64-encoded (binary media types */*): with
    image/png only, every text body would reach the app as garbage. `lamroute template`
    refuses it; `lamroute serve` accepted it and failed every text body."""
    import argparse

    from lamroute.cli import UsageError, main
    from lamroute.commands import serve

    options = ["--integration", integration, "--binary-media-type", "image/png"]
    assert main(["template", "examples.notes.app:app", *options]) != 0
    errors = [line for line in capsys.readouterr().err.splitlines()  # (a stray log line of
              if line.startswith("lamroute: error: ")]                # another test's thread)
    assert len(errors) == 1
    refused = errors[0].removeprefix("lamroute: error: ").strip()
    assert "drop --binary-media-type" in refused
    parser = argparse.ArgumentParser()
    serve.add_arguments(parser)
    args = parser.parse_args(["examples.notes.app:app", *options])
    with pytest.raises(UsageError) as error:  # before anything listens or runs
        serve._integration(args, serve._template_settings(args))
    assert str(error.value) == refused
    for accepted in (["--binary-media-type", "*/*"], []):
        args = parser.parse_args(["examples.notes.app:app", "--integration", integration,
                                  *accepted])
        assert serve._integration(args, serve._template_settings(args)) == integration


# -- the integration responses' own answers: the app's error formatter and CORS headers --------


def envelope(problem: Any, request: Any) -> Response:
    """An app's error_formatter: its own shape, media type and a header of its own."""
    return Response.json({"error": {"code": problem.status, "message": problem.detail,
                                    "at": problem.instance, "ref": problem.request_id},
                          "note": "it's \"quoted\" \\ $dollar #hash ${x}"},
                         problem.status, headers=[("X-Error-Shape", "envelope")])


def shaped_app(**options: Any) -> App:
    app = App(access_log=False, timeout=None, error_formatter=envelope, **options)

    @app.get("/slow")
    def slow() -> str:
        time.sleep(1)
        return "late"

    @app.get("/fine")
    def fine() -> str:
        return "fine"

    return app


def rendered_error(spec: dict[str, Any], pattern: str, headers: dict[str, str]
                   ) -> tuple[int, dict[str, str], Any]:
    """The integration response ``pattern`` of ``spec`` rendered for a function error, as the
    gateway renders it (lamroute.local.vtl), and its body decoded."""
    from lamroute.local.vtl import render

    chosen = spec["responses"][pattern]
    out = render(chosen["responseTemplates"]["application/json"],
                 body=json.dumps({"errorMessage": "Task timed out after 3.00 seconds"}),
                 params={"header": headers, "path": {}, "querystring": {}},
                 context={"path": "/prod/it's", "requestId": "req-9"})
    text = out.output
    if chosen["contentHandling"] == "CONVERT_TO_BINARY":
        text = base64.b64decode(text).decode()
    return out.status, {k.lower(): v for k, v in out.headers.items()}, json.loads(text)


@pytest.mark.parametrize("binary", [True, False], ids=["custom", "custom-text"])
def test_custom_integration_error_answers_use_the_apps_error_formatter_and_cors(
        binary: bool) -> None:
    """The integration responses for a timed-out or failed function answered lamroute's
    problem shape without the app's CORS headers, while the gateway responses use the app's
    error_formatter and CORS: a browser saw a CORS failure instead of the 504."""
    from lamroute.deploy.routes import GatewayRoute
    from lamroute.security.cors import CORS

    app = shaped_app(cors=CORS(allow_origins=["https://app.example"]))
    notes: list[str] = []
    build = CustomLambdaIntegration(binary=binary).for_template(app, notes)("rest", 29)
    spec = build(GatewayRoute("/{proxy+}", "ANY"))["x-amazon-apigateway-integration"]
    for pattern, status in ((TIMEOUT_PATTERN, 504), (RUNTIME_PATTERN, 502), ("default", 502)):
        code, headers, body = rendered_error(spec, pattern, {"Origin": "https://app.example"})
        assert code == status
        assert body["error"]["code"] == status and body["error"]["ref"] == "req-9"
        assert body["error"]["at"] == "/prod/it%27s"
        assert body["note"] == "it's \"quoted\" \\ $dollar #hash ${x}"  # no VTL in it
        assert headers["content-type"] == "application/json"
        assert headers["x-error-shape"] == "envelope"
        assert headers["access-control-allow-origin"] == "https://app.example"
    assert notes == []
    # Several allowed origins: the request's Origin is echoed, as the gateway responses do.
    echo = CustomLambdaIntegration(binary=binary).for_template(
        shaped_app(cors=CORS(allow_origins=["https://a.example", "https://*.b.example"],
                             allow_credentials=True)), [])("rest", 29)
    spec = echo(GatewayRoute("/", "ANY"))["x-amazon-apigateway-integration"]
    _, headers, _ = rendered_error(spec, TIMEOUT_PATTERN, {"origin": "https://x.b.example"})
    assert headers["access-control-allow-origin"] == "https://x.b.example"
    assert (headers["vary"], headers["access-control-allow-credentials"]) == ("Origin", "true")
    _, headers, _ = rendered_error(spec, TIMEOUT_PATTERN, {})
    assert "access-control-allow-origin" not in headers


def test_custom_integration_error_answers_locally_use_the_apps_error_formatter_and_cors(
        ) -> None:
    """`lamroute serve --integration custom` (no template): the same error answers."""
    from lamroute.security.cors import CORS

    app = shaped_app(cors=CORS(allow_origins=["https://app.example"]))
    slow = gateway(app, function_timeout=0.2).handle(
        HttpRequest("GET", "/prod/slow", [("Origin", "https://app.example")]))
    assert slow.status == 504
    assert slow.header("access-control-allow-origin") == "https://app.example"
    assert slow.header("content-type") == "application/json"
    body = json.loads(slow.body)
    assert body["error"]["code"] == 504 and body["error"]["at"] == "/prod/slow"
    assert body["error"]["ref"] == slow.header("x-amzn-RequestId")
    fine = gateway(app).handle(HttpRequest("GET", "/prod/fine",
                                           [("Origin", "https://app.example")]))
    assert (fine.status, fine.body) == (200, b"fine")  # the app's answer, its own headers
    assert fine.header("access-control-allow-origin") == "https://app.example"


def test_template_content_type_without_application_json_adds_it_with_a_note(
        tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    """API Gateway picks the request template of a request without Content-Type (every GET)
    as application/json: with `--content-type text/csv` alone, every GET was refused 415."""
    from lamroute.cli import main

    out = tmp_path / "template.json"
    assert main(["template", "examples.notes.app:app", "--integration", "custom",
                 "--content-type", "text/csv", "-o", str(out)]) == 0
    assert "application/json added" in capsys.readouterr().err
    from lamroute.local.template_settings import load_template

    spec = load_template(out).integration_spec
    assert spec is not None and set(spec["requestTemplates"]) == {"application/json", "text/csv"}


def test_serve_with_workers_renders_the_custom_integration_errors_from_the_app() -> None:
    """With worker processes the gateway calls no app in its own process: `lamroute serve`
    gives it the integration written for the app it imported (its error formatter, CORS)."""
    from lamroute.commands._api import install_integration
    from lamroute.local.template_settings import TemplateSettings
    from lamroute.security.cors import CORS

    app = shaped_app(cors=CORS(allow_origins=["https://app.example"]))

    def crash(event: Any, context: Any) -> Any:  # stands for the worker pool
        raise MemoryError("Runtime exited with error: signal: killed")

    served = gateway(crash)
    install_integration(served, TemplateSettings(), app)
    answer = served.handle(HttpRequest("GET", "/prod/fine", [("Origin", "https://app.example")]))
    assert answer.status == 502 and json.loads(answer.body)["error"]["code"] == 502
    assert answer.header("access-control-allow-origin") == "https://app.example"
