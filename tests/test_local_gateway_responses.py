"""`lamroute serve --template template.yaml`: the local gateway refuses, throttles and answers its
own errors as the deployed API will, with the template's gateway responses (lamroute problems
for a template `lamroute template` wrote)."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from lamroute import App, Request
from lamroute.authorizers import Allow, AuthorizerRequest, Deny, Unauthenticated, rest_authorizer
from lamroute.deploy.gateway_responses import GATEWAY_ERRORS, SERVER_ERROR_DETAIL, TIMEOUT_DETAIL
from lamroute.deploy.sam import TemplateOptions, sam_template, to_yaml
from lamroute.local import Gateway, GatewayConfig, HttpRequest, LocalGateway
from lamroute.local.gateway import local_gateway_hook
from lamroute.local.template_settings import (
    TemplateSettings,
    TemplateSettingsError,
    gateway_errors,
    load_template,
    parse_template,
    settings_from,
)
from lamroute.security.cors import CORS
from lamroute.testing.gateway_auth import GatewayAuthorizer

ROOT = Path(__file__).resolve().parent.parent
PROBLEM = "application/problem+json"


def make_app(**options: Any) -> App:
    app = App(access_log=False, **options)

    @app.get("/notes")
    def notes() -> list[str]:
        return ["a"]

    @app.get("/me")
    def me(request: Request) -> dict[str, Any]:
        return {"user": request.auth.principal_id}

    return app


def served(app: Any, tmp_path: Path, *, template_app: Any = None, timeout: float = 29.0,
           throttle: tuple[float, int] | None = None, **options: Any) -> Gateway:
    """A Gateway emulating the API of the template `lamroute template` writes for the app."""
    opts = TemplateOptions(throttle=throttle, **options)
    template = sam_template(handler="m.app", app=template_app or app, options=opts)
    path = tmp_path / "template.yaml"
    path.write_text(to_yaml(template))
    settings = load_template(path)
    assert settings.api is not None
    gateway = Gateway(app, GatewayConfig(api=settings.api, stage=settings.stage,
                                         timeout=timeout))
    gateway.errors = gateway_errors(settings, api=settings.api)
    return gateway


def problem(answer: Any) -> dict[str, Any]:
    assert answer.header("content-type") == PROBLEM
    body: dict[str, Any] = json.loads(answer.body)
    assert body["type"] == "about:blank" and body["status"] == answer.status
    assert body["request_id"] == answer.header("x-amzn-RequestId")
    return body


def test_a_throttled_request_gets_the_templates_429_problem(tmp_path: Path) -> None:
    gateway = served(make_app(), tmp_path, throttle=(0.001, 1))
    assert gateway.handle(HttpRequest("GET", "/prod/notes")).status == 200
    answer = gateway.handle(HttpRequest("GET", "/prod/notes?x=1"))
    assert answer.status == 429
    body = problem(answer)
    assert body["title"] == "Too Many Requests" and body["instance"] == "/prod/notes"


def sleeper(event: Any, context: Any) -> Any:
    """A function that outlives the integration timeout (no lamroute deadline to answer 504)."""
    time.sleep(1.0)


def test_a_timed_out_invocation_gets_the_integration_timeout_problem(tmp_path: Path) -> None:
    gateway = served(sleeper, tmp_path, template_app=make_app(), timeout=0.2)
    answer = gateway.handle(HttpRequest("GET", "/prod/slow"))
    assert answer.status == 504
    assert problem(answer)["detail"] == TIMEOUT_DETAIL


def test_a_crashed_or_malformed_invocation_gets_the_default_5xx_problem(tmp_path: Path) -> None:
    def crash(event: Any, context: Any) -> Any:
        raise MemoryError("the container ran out of memory")

    def malformed(event: Any, context: Any) -> Any:
        return {"statusCode": "200"}

    for app in (crash, malformed):
        gateway = served(app, tmp_path, template_app=make_app())
        answer = gateway.handle(HttpRequest("GET", "/prod/notes"))
        assert answer.status == 502
        body = problem(answer)
        assert body["detail"] == SERVER_ERROR_DETAIL
        assert "Internal server error" not in answer.body.decode()


def decide(request: AuthorizerRequest) -> Any:
    if request.bearer_token == "good":
        return Allow("user-7")
    if request.bearer_token == "boom":
        raise RuntimeError("the authorizer failed")
    if request.bearer_token is None:
        return Unauthenticated()
    return Deny()


def test_authorizer_refusals_get_the_templates_problems(tmp_path: Path) -> None:
    gateway = served(make_app(), tmp_path)
    gate = GatewayAuthorizer(rest_authorizer(decide), ttl=0)
    gateway.request_hooks.append(local_gateway_hook(gate, "rest", gateway.errors))

    def get(token: str | None) -> Any:
        headers = [("Authorization", f"Bearer {token}")] if token else []
        return gateway.handle(HttpRequest("GET", "/prod/me", headers))

    assert json.loads(get("good").body) == {"user": "user-7"}
    missing = get(None)
    assert missing.status == 401
    assert problem(missing)["detail"] == "Authentication is required."
    assert missing.header("WWW-Authenticate") == 'Bearer realm="api"'
    denied = get("bad")
    assert denied.status == 403 and denied.header("x-amzn-ErrorType") == "AccessDeniedException"
    assert problem(denied)["detail"] == ("User is not authorized to access this resource with "
                                         "an explicit deny")


def test_a_per_route_template_refuses_unknown_paths_without_invoking_the_function(
        tmp_path: Path) -> None:
    calls: list[str] = []
    app = make_app()

    @app.middleware
    def count(request: Request, call_next: Any) -> Any:
        calls.append(request.path)
        return call_next(request)

    gateway = served(app, tmp_path, per_route=True)
    answer = gateway.handle(HttpRequest("GET", "/prod/nope"))
    assert answer.status == 404 and calls == []
    assert problem(answer)["detail"] == "No route matches the request."
    assert gateway.handle(HttpRequest("GET", "/prod/notes")).status == 200
    # A method the app does not serve on a declared path reaches the app: 405 with Allow.
    wrong = gateway.handle(HttpRequest("DELETE", "/prod/notes"))
    assert wrong.status == 405 and wrong.header("Allow")
    assert calls == ["/notes", "/notes"]
    http = served(app, tmp_path, per_route=True, api="http")
    answer = http.handle(HttpRequest("GET", "/nope"))  # HTTP APIs cannot customise it
    assert (answer.status, json.loads(answer.body)) == (404, {"message": "Not Found"})


def test_gateway_problems_carry_the_apps_cors_headers(tmp_path: Path) -> None:
    cors = CORS(allow_origins=["https://a.example", "https://*.b.example"],
                allow_credentials=True)
    gateway = served(make_app(cors=cors), tmp_path, throttle=(0.001, 0))
    answer = gateway.handle(HttpRequest("GET", "/prod/notes",
                                        [("Origin", "https://x.b.example")]))
    assert answer.status == 429
    assert answer.header("Access-Control-Allow-Origin") == "https://x.b.example"
    assert answer.header("Access-Control-Allow-Credentials") == "true"
    assert answer.header("Vary") == "Origin"


def test_a_request_too_large_gets_the_413_problem(tmp_path: Path) -> None:
    path = tmp_path / "template.json"
    path.write_text(json.dumps(sam_template(handler="m.app", app=make_app())))
    settings = load_template(path)
    with LocalGateway(make_app(), port=0) as server:
        server.gateway.errors = gateway_errors(settings, api="rest")
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        connection.putrequest("POST", "/prod/notes")
        connection.putheader("Content-Length", str(20 * 1024 * 1024))
        connection.endheaders()
        response = connection.getresponse()
        body = json.loads(response.read())
        connection.close()
    assert response.status == 413 and response.getheader("content-type") == PROBLEM
    assert body["status"] == 413 and body["instance"] == "/prod/notes"


def test_outside_the_stage_and_without_a_template_the_gateways_own_answers_stay(
        tmp_path: Path) -> None:
    gateway = served(make_app(), tmp_path)
    # No stage, no deployment, no gateway responses: API Gateway's plain answer.
    outside = gateway.handle(HttpRequest("GET", "/elsewhere/notes"))
    assert (outside.status, json.loads(outside.body)) == (403, {"message": "Forbidden"})
    plain = Gateway(sleeper, GatewayConfig(timeout=0.2))
    answer = plain.handle(HttpRequest("GET", "/prod/slow"))
    assert (answer.status, json.loads(answer.body)) == (
        504, {"message": "Endpoint request timed out"})


def test_templates_of_every_shape_are_read(tmp_path: Path) -> None:
    # Hand-written example templates: SAM events on an explicit API, and a WebSocket-only API.
    notes = load_template(ROOT / "examples/notes/template.yaml")
    assert (notes.api, notes.routes, notes.binary_media_types) == ("rest", None, ("*/*",))
    chat = load_template(ROOT / "examples/chat/template.yaml")
    assert replace(chat, function=None) == TemplateSettings()  # no REST or HTTP API
    # The same read gives the function's settings (the local runtime's), here the only one.
    assert chat.function is not None
    assert (chat.function.logical_id, chat.function.timeout) == ("ChatFunction", 10.0)
    assert chat.function.unresolved == {"CONNECTIONS_TABLE": '{"Ref": "ConnectionsTable"}'}
    assert load_template(ROOT / "examples/auth/template.yaml").api == "http"
    # Plain CloudFormation: a RestApi body, a Stage and a GatewayResponse resource, short tags.
    text = textwrap.dedent("""
        Parameters:
          Stage: {Type: String, Default: v2}
        Resources:
          Api:
            Type: AWS::ApiGateway::RestApi
            Properties:
              Body:
                paths:
                  /items/{id}: {get: {}}
          Stage:
            Type: AWS::ApiGateway::Stage
            Properties: {RestApiId: !Ref Api, StageName: !Ref Stage}
          Throttled:
            Type: AWS::ApiGateway::GatewayResponse
            Properties:
              RestApiId: !Ref Api
              ResponseType: THROTTLED
              StatusCode: "429"
              ResponseParameters:
                gatewayresponse.header.Retry-After: "'1'"
              ResponseTemplates:
                application/json: '{"id": "$context.requestId"}'
    """)
    settings = settings_from(parse_template(text))
    assert (settings.stage, settings.routes) == ("v2", (("/items/{id}", "GET"),))
    assert settings.responses is not None
    throttled = settings.responses.responses["THROTTLED"]
    assert throttled.status == 429 and throttled.headers == {"Retry-After": "'1'"}
    with pytest.raises(TemplateSettingsError, match="not a template"):
        parse_template('{"a": 1}')
    both = {"Resources": {"A": {"Type": "AWS::Serverless::Api"},
                          "B": {"Type": "AWS::Serverless::HttpApi"}}}
    with pytest.raises(TemplateSettingsError, match="pass --api"):
        settings_from(both)
    assert settings_from(both, api="http").api == "http"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serve_command_emulates_the_template(tmp_path: Path) -> None:
    (tmp_path / "proj.py").write_text(textwrap.dedent("""
        from lamroute import App
        app = App(access_log=False)

        @app.get("/notes")
        def notes() -> list:
            return []
    """))
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    template = tmp_path / "template.yaml"
    subprocess.run([sys.executable, "-m", "lamroute", "template", "proj:app", "--per-route",
                    "--stage", "v1", "-o", str(template)], cwd=tmp_path, env=env, check=True)
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "lamroute", "serve", "proj:app", "--port", str(port),
         "--template", str(template), "--throttle-rate", "0.001", "--throttle-burst", "2"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        deadline = time.monotonic() + 30
        statuses = []
        for path in ("/v1/notes", "/v1/nope", "/v1/notes"):
            while True:
                try:
                    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                    connection.request("GET", path)
                    response = connection.getresponse()
                    statuses.append((response.status, response.getheader("content-type")))
                    response.read()
                    connection.close()
                    break
                except ConnectionError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)
    finally:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    assert statuses == [(200, "application/json"), (404, PROBLEM), (429, PROBLEM)]
    assert (f"{len(GATEWAY_ERRORS)} gateway responses, 3 declared routes (others refused by "
            "the gateway), throttling 0.001/s, burst 2") in err
    assert process.returncode == 0 and "Traceback" not in err


def test_serve_options_for_a_template(tmp_path: Path) -> None:
    import argparse

    from lamroute.cli import UsageError
    from lamroute.commands import serve

    path = tmp_path / "template.yaml"
    path.write_text(to_yaml(sam_template(handler="m.app", app=make_app(),
                                         options=TemplateOptions(api="http"))))

    def parse(*argv: str) -> argparse.Namespace:
        parser = argparse.ArgumentParser()
        serve.add_arguments(parser)
        return parser.parse_args(["proj:app", "--template", str(path), *argv])

    assert serve._template_settings(parse()).api == "http"  # the template's, not the default
    with pytest.raises(UsageError, match="not a Function URL"):
        serve._template_settings(parse("--api", "url"))
    path.write_text(to_yaml(sam_template(handler="m.app", app=make_app())))
    with pytest.raises(UsageError, match="deploys a REST API"):
        serve._template_settings(parse("--api", "http"))
    argv = serve._server_argv(parse("--throttle-rate", "5"))  # --reload passes them on
    assert argv[argv.index("--template") + 1] == str(path)
    assert argv[argv.index("--throttle-rate") + 1] == "5.0"


# -- the custom (non-proxy) integration, served from its template --------------------------------


def guarded_app(**options: Any) -> App:
    from lamroute.security.guards import requires

    app = make_app(auth=requires(kinds=["lambda"]), **options)

    @app.get("/health", public=True)
    def health() -> str:
        return "ok"

    @app.get("/crash", public=True)
    def crash() -> None: ...

    return app


def crashing(app: App) -> Any:
    """The function: ``app``, but its runtime dies on /crash (out of memory, say)."""
    def function(event: dict[str, Any], context: Any) -> Any:
        if event["path"].endswith("crash"):  # $context.path, URL-encoded
            raise MemoryError("Runtime exited with error: signal: killed")
        return app(event, context)

    return function


def served_custom(app: Any, tmp_path: Path, *, function: Any = None, integration: Any = None,
                  edit: Any = None, **options: Any) -> Gateway:
    """`lamroute serve --template` of a `lamroute template --integration custom` template
    (edited by hand first with ``edit``, if given): the integration, stage, binary types, gateway
    responses and authorizers it deploys."""
    import argparse

    from lamroute.commands import serve
    from lamroute.deploy.custom_integration import CustomLambdaIntegration

    template = sam_template(handler="m.app", app=app, options=TemplateOptions(
        integration=integration or CustomLambdaIntegration(), **options))
    if edit is not None:
        for item in template["Resources"]["Api"]["Properties"]["DefinitionBody"][
                "paths"].values():
            for operation in item.values():
                edit(operation["x-amazon-apigateway-integration"])
    path = tmp_path / "template.yaml"
    path.write_text(to_yaml(template))
    parser = argparse.ArgumentParser()
    serve.add_arguments(parser)
    args = parser.parse_args(["m:app", "--template", str(path), "--authorizer",
                              "test_local_gateway_responses:lambda_authorizer",
                              "--authorizer-ttl", "0"])
    settings = serve._template_settings(args)
    assert serve._integration(args, settings) == settings.integration == "custom"
    gateway = Gateway(function or app, GatewayConfig(api="rest", stage=settings.stage,
                                                     timeout=2.0,
                                         integration=settings.integration,
                                         binary_media_types=settings.binary_media_types))
    serve._install_gateway_errors(gateway, settings, args)
    serve._install_integration(gateway, settings, app)
    serve.install_authorizer(gateway, args, app)
    return gateway


lambda_authorizer = rest_authorizer(decide)


def test_custom_integration_answers_the_gateways_own_errors_with_the_templates_responses(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    gateway = served_custom(guarded_app(), tmp_path, throttle=(0.001, 3))
    me = gateway.handle(HttpRequest("GET", "/prod/me", [("Authorization", "Bearer good")]))
    assert json.loads(me.body) == {"user": "user-7"}  # the authorizer's caller, via the template
    # The authorizer, attached to the guarded routes only: its refusal is a gateway response.
    missing = gateway.handle(HttpRequest("GET", "/prod/me"))
    assert missing.status == 401 and problem(missing)["detail"] == "Authentication is required."
    # No request template for the Content-Type: UNSUPPORTED_MEDIA_TYPE, not the gateway's text.
    unsupported = gateway.handle(HttpRequest("POST", "/prod/health",
                                             [("Content-Type", "application/x-made-up")], b"x"))
    assert unsupported.status == 415 and problem(unsupported)["title"]
    throttled = gateway.handle(HttpRequest("GET", "/prod/health"))
    assert throttled.status == 429 and problem(throttled)["title"] == "Too Many Requests"


def test_custom_integration_function_errors_stay_integration_responses(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    app = guarded_app()
    gateway = served_custom(app, tmp_path, function=crashing(app))
    assert gateway.handle(HttpRequest("GET", "/prod/health")).body == b"ok"  # public: no token
    crashed = gateway.handle(HttpRequest("GET", "/prod/crash"))
    assert crashed.status == 502
    body = problem(crashed)
    # The integration response's problem (the function failed), not DEFAULT_5XX's.
    assert body["title"] == "Bad Gateway" and body["detail"] != SERVER_ERROR_DETAIL


def test_serve_template_integration_must_match_the_command_line(tmp_path: Path) -> None:
    import argparse

    from lamroute.cli import UsageError
    from lamroute.commands import serve
    from lamroute.deploy.custom_integration import CustomLambdaIntegration

    path = tmp_path / "template.yaml"

    def integration(*argv: str, **options: Any) -> str:
        path.write_text(to_yaml(sam_template(handler="m.app", app=make_app(),
                                             options=TemplateOptions(**options))))
        parser = argparse.ArgumentParser()
        serve.add_arguments(parser)
        args = parser.parse_args(["m:app", "--template", str(path), *argv])
        return serve._integration(args, serve._template_settings(args))

    assert integration() == "proxy"
    assert integration(integration=CustomLambdaIntegration(binary=False)) == "custom-text"
    assert integration("--integration", "custom",
                       integration=CustomLambdaIntegration()) == "custom"
    with pytest.raises(UsageError, match="deploys the proxy integration"):
        integration("--integration", "custom")
    foreign = {"Resources": {"Api": {"Type": "AWS::Serverless::Api", "Properties": {
        "StageName": "prod", "DefinitionBody": {"paths": {"/": {"get": {
            "x-amazon-apigateway-integration": {"type": "mock"}}}}}}}}}
    with pytest.raises(TemplateSettingsError, match="not lamroute's"):
        settings_from(foreign)


def test_custom_integration_from_a_template_answers_function_errors_with_the_apps_shape_and_cors(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`lamroute serve --template` of a custom integration template written for an app with
    CORS and an error_formatter: the integration responses' answers to a crashed function are
    in the formatter's shape and carry the CORS headers, as the gateway responses do."""
    monkeypatch.syspath_prepend(str(Path(__file__).parent))

    def formatter(problem: Any, request: Any) -> dict[str, Any]:
        return {"failure": problem.title, "status": problem.status, "id": problem.request_id}

    app = guarded_app(cors=CORS(allow_origins=["https://a.example"]), error_formatter=formatter)
    gateway = served_custom(app, tmp_path, function=crashing(app))
    crashed = gateway.handle(HttpRequest("GET", "/prod/crash", [("Origin", "https://a.example")]))
    assert crashed.status == 502
    assert crashed.header("Access-Control-Allow-Origin") == "https://a.example"
    assert json.loads(crashed.body) == {"failure": "Bad Gateway", "status": 502,
                                        "id": crashed.header("x-amzn-RequestId")}
    # The gateway's own refusals (the authorizer's 401) carry the same shape and headers.
    refused = gateway.handle(HttpRequest("GET", "/prod/me", [("Origin", "https://a.example")]))
    assert refused.status == 401 and json.loads(refused.body)["failure"] == "Unauthorized"
    assert refused.header("Access-Control-Allow-Origin") == "https://a.example"


def test_serve_template_runs_the_templates_own_content_types_not_the_built_in_ones(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A template written with `--content-type text/csv` maps text/csv (and application/json,
    added for requests without Content-Type); API Gateway answers 415 to image/png. The local
    gateway used its 14 built-in content types and answered 200."""
    from lamroute.deploy.custom_integration import CustomLambdaIntegration

    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    app = guarded_app()

    @app.post("/upload", public=True)
    def upload(request: Request) -> dict[str, Any]:
        return {"type": request.content_type, "size": len(request.body)}

    gateway = served_custom(app, tmp_path, integration=CustomLambdaIntegration(
        content_types=("text/csv",)))
    png = gateway.handle(HttpRequest("POST", "/prod/upload", [("Content-Type", "image/png")],
                                     b"\x89PNG"))
    assert png.status == 415 and problem(png)["title"] == "Unsupported Media Type"
    csv = gateway.handle(HttpRequest("POST", "/prod/upload", [("Content-Type", "text/csv")],
                                     b"a,b"))
    assert json.loads(csv.body) == {"type": "text/csv", "size": 3}
    assert gateway.handle(HttpRequest("GET", "/prod/health")).body == b"ok"  # no Content-Type


def test_serve_template_runs_the_templates_own_selection_patterns_and_response_templates(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An integration edited by hand (another selection pattern, status, response template
    and a static header) is what the deployed API runs: the local gateway runs it too."""
    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    app = guarded_app()

    def edit(spec: dict[str, Any]) -> None:
        spec["responses"] = responses = dict(spec["responses"])  # operations share the dict
        responses.pop(".*Runtime.*")
        responses[".*killed.*"] = {
            "statusCode": "503", "responseParameters": {
                "method.response.header.Retry-After": "'30'",
                "method.response.header.X-Error": "integration.response.body.errorType"},
            "responseTemplates": {"application/json": '{"busy": "$context.requestId"}'}}

    gateway = served_custom(app, tmp_path, function=crashing(app), edit=edit)
    crashed = gateway.handle(HttpRequest("GET", "/prod/crash"))
    assert crashed.status == 503
    assert json.loads(crashed.body) == {"busy": crashed.header("x-amzn-RequestId")}
    assert (crashed.header("Retry-After"), crashed.header("X-Error")) == ("30", "MemoryError")
    assert gateway.handle(HttpRequest("GET", "/prod/health")).body == b"ok"


def test_serve_template_passthrough_when_no_match_sends_the_body_unchanged(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    app = guarded_app()
    payloads: list[Any] = []

    def function(event: Any, context: Any) -> Any:
        payloads.append(event)
        return app(event, context) if isinstance(event, dict) and "lamroute" in event else {
            "statusCode": 202, "headers": {}, "body": "cXVldWVk"}  # base64 "queued"

    def edit(spec: dict[str, Any]) -> None:
        spec["passthroughBehavior"] = "when_no_match"

    gateway = served_custom(app, tmp_path, function=function, edit=edit)
    queued = gateway.handle(HttpRequest("POST", "/prod/health",
                                        [("Content-Type", "application/x-made-up")],
                                        b'{"job": 1}'))
    assert (queued.status, queued.body, payloads[-1]) == (202, b"queued", {"job": 1})
    refused = gateway.handle(HttpRequest("POST", "/prod/health",
                                         [("Content-Type", "application/x-made-up")], b"x"))
    # Lambda takes JSON payloads only: a failed invocation, the template's DEFAULT_5XX.
    assert refused.status == 502 and problem(refused)["title"] == "Bad Gateway"
    assert len(payloads) == 1


def test_serve_template_refuses_custom_integrations_it_cannot_run(tmp_path: Path) -> None:
    app = make_app()

    def load(edit: Any) -> TemplateSettings:
        from lamroute.deploy.custom_integration import CustomLambdaIntegration

        template = sam_template(handler="m.app", app=app, options=TemplateOptions(
            integration=CustomLambdaIntegration(), per_route=True))
        paths = template["Resources"]["Api"]["Properties"]["DefinitionBody"]["paths"]
        edit(paths)
        return settings_from(template)

    assert load(lambda paths: None).integration_spec is not None

    def differ(paths: dict[str, Any]) -> None:
        spec = paths["/notes"]["get"]["x-amazon-apigateway-integration"]
        spec["requestTemplates"] = {"text/csv": spec["requestTemplates"]["text/csv"]}

    with pytest.raises(TemplateSettingsError, match="differ"):
        load(differ)

    def header_mapping(paths: dict[str, Any]) -> None:
        for item in paths.values():
            for operation in item.values():
                operation["x-amazon-apigateway-integration"]["responses"]["default"][
                    "responseParameters"] = {"method.response.header.X": "stageVariables.x"}

    with pytest.raises(TemplateSettingsError, match="not emulated"):
        load(header_mapping)
