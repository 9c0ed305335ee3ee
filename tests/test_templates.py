"""Every example's template.yaml and every `lamroute template` output, checked with the real AWS
tools: cfn-lint lints the SAM template (it transforms it to CloudFormation and lints that too),
aws-sam-translator transforms it (no credentials needed) for the structural checks.

`lamroute template` runs on every example app, for both API kinds, in proxy and per-route mode;
the options that add resources of their own are checked on top. A template text is linted and
transformed once, however many tests read it."""

from __future__ import annotations

import copy
import functools
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import pytest
from cfnlint.config import ConfigMixIn
from cfnlint.decode import cfn_yaml
from cfnlint.decode.decode import decode_str
from cfnlint.runner import Runner
from samtranslator.translator.transform import transform

from lamroute import App, Body, Problem, Request
from lamroute.cli import main
from lamroute.deploy.gateway_responses import GATEWAY_ERRORS
from lamroute.deploy.sam import TemplateOptions, handler_for, sam_template, to_yaml

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_TEMPLATES = sorted(ROOT.glob("examples/*/template.yaml"))
# examples/auth deploys two functions (the app and its Lambda authorizer) with per-route
# authorizers; examples/auth/test_app.py transforms and lints it with its own checks.
PROXY_EXAMPLE_TEMPLATES = [p for p in EXAMPLE_TEMPLATES if p.parent.name != "auth"]
EXAMPLES = sorted(p.parent.name for p in ROOT.glob("examples/*/app.py"))
# The auth example's partner authorizer is an HTTP API one: deployed with the HTTP API, an
# ARN parameter for the REST API (which needs a @rest_authorizer).
EXTRA = {("auth", "http"): ("--lambda-authorizer", "partner=examples.auth.authorizer:handler")}
INTEGRATION_MS = {"rest": 29000, "http": 30000}


class NoManagedPolicies:
    """The policy loader samtranslator asks for; the templates use no managed policy names."""

    def load(self) -> dict[str, str]:
        return {}


@pytest.fixture(autouse=True)
def region(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_REGION", "us-east-1")


@functools.cache
def _translated(text: str) -> str:
    template = cfn_yaml.loads(text)
    for resource in template["Resources"].values():
        props = resource.get("Properties") or {}
        if resource["Type"] == "AWS::Serverless::Function" and "CodeUri" in props:
            # What `sam package` does: upload the local folder and point CodeUri at S3.
            props["CodeUri"] = "s3://lamroute-artifacts/function.zip"
    return json.dumps(transform(template, {}, NoManagedPolicies()))


def translate(text: str) -> dict[str, Any]:
    return json.loads(_translated(text))  # type: ignore[no-any-return]


@functools.lru_cache(maxsize=1)
def _runner() -> Runner:
    # Building cfn-lint's rules costs ~0.4 s; one runner lints every template (~0.04 s each).
    return Runner(ConfigMixIn(regions=["us-east-1"]))


@functools.cache
def _lint(text: str) -> tuple[str, ...]:
    template, errors = decode_str(text)
    matches = errors or list(_runner().validate_template(template))
    return tuple(f"{m.rule.id} {m.message}" for m in matches if m.rule.id[0] in "EW")


def lint_problems(text: str) -> list[str]:
    return list(_lint(text))


def resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def generate(target: str, *argv: str, tmp_path: Path,
             capsys: pytest.CaptureFixture[str] | None = None) -> str:
    """`lamroute template TARGET ARGV... -o FILE`, from the repository root (CodeUri .)."""
    out = tmp_path / f"template-{abs(hash((target, argv)))}.yaml"
    assert main(["template", target, *argv, "-o", str(out)]) == 0
    return out.read_text()


@pytest.fixture(autouse=True)
def repository_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(ROOT))


def example_app(name: str) -> Any:
    __import__(f"examples.{name}.app")
    return sys.modules[f"examples.{name}.app"].app


def rest_or_http_api(cfn: dict[str, Any], api: str) -> dict[str, Any]:
    kind = "AWS::ApiGateway::RestApi" if api == "rest" else "AWS::ApiGatewayV2::Api"
    apis = [r for r in resources(cfn, kind).values()
            if r["Properties"].get("ProtocolType") != "WEBSOCKET"]
    assert len(apis) == 1
    return apis[0]["Properties"]["Body"]  # type: ignore[no-any-return]


def operations(body: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """``{(path, METHOD): operation}``, ``ANY`` for the any-method."""
    found = {}
    for path, item in body["paths"].items():
        for key, operation in item.items():
            method = "ANY" if key == "x-amazon-apigateway-any-method" else key.upper()
            found[(path, method)] = operation
    return found


def security(operation: dict[str, Any]) -> set[str]:
    return {name for requirement in operation.get("security", []) for name in requirement}


def render_gateway_template(template: str) -> Any:
    """A gateway response body as API Gateway renders it, parsed as JSON."""
    for variable, value in (("$context.error.messageString", '"the gateway\'s message"'),
                            ("$context.error.message", "the gateway's message"),
                            ("$context.path", "/prod/x"), ("$context.requestId", "rid-1")):
        template = template.replace(variable, value)
    return json.loads(template)


def test_the_linter_catches_a_broken_template() -> None:
    template = sam_template(handler="m.app")
    assert lint_problems(to_yaml(template)) == []
    template["Resources"]["Function"]["Properties"]["MemorySize"] = "lots"
    template["Resources"]["Api"]["Properties"]["StageNam"] = "typo"
    problems = lint_problems(to_yaml(template))
    assert any("lots" in p for p in problems) and any("StageNam" in p for p in problems)


# -- every example, every API kind, proxy and per-route -------------------------------------------

COMBINATIONS = [pytest.param(name, api, per_route, id=f"{name}-{api}-{mode}")
                for name in EXAMPLES for api in ("rest", "http")
                for per_route, mode in ((False, "proxy"), (True, "per-route"))]


@pytest.mark.parametrize(("name", "api", "per_route"), COMBINATIONS)
def test_every_example_template_lints_transforms_and_routes_to_the_function(
        name: str, api: str, per_route: bool, tmp_path: Path) -> None:
    app = example_app(name)
    argv = ["--api", api, *EXTRA.get((name, api), ())] + (["--per-route"] if per_route else [])
    text = generate(f"examples.{name}.app:app", *argv, tmp_path=tmp_path)
    assert lint_problems(text) == []
    cfn = translate(text)
    (function,) = [f for f in resources(cfn, "AWS::Lambda::Function").values()
                   if f["Properties"]["Handler"] == f"examples.{name}.app.app"]
    timeouts = []
    if app.routes:
        body = rest_or_http_api(cfn, api)
        found = operations(body)
        paths = {path for path, _ in found}
        if per_route:
            assert paths == {route.path for route in app.routes}
        else:
            assert {"/", "/{proxy+}"} <= paths
        for operation in found.values():
            integration = operation["x-amazon-apigateway-integration"]
            assert integration["type"] == "aws_proxy"
            assert "${Function.Arn}" in json.dumps(integration["uri"])
            timeouts.append(integration["timeoutInMillis"])
        # One permission covers every route of the API.
        permissions = [p["Properties"] for p in resources(cfn, "AWS::Lambda::Permission").values()
                       if p["Properties"]["FunctionName"] == {"Ref": "Function"}
                       and "${Api}" in json.dumps(p["Properties"]["SourceArn"])]
        assert len(permissions) == 1
        if api == "rest":
            responses = body["x-amazon-apigateway-gateway-responses"]
            assert {t: int(r["statusCode"]) for t, r in responses.items()} == {
                e.type: e.status for e in GATEWAY_ERRORS}
    if app.websocket_routes:
        (integration,) = resources(cfn, "AWS::ApiGatewayV2::Integration").values()
        timeouts.append(integration["Properties"]["TimeoutInMillis"])
    assert timeouts and function["Properties"]["Timeout"] * 1000 < min(timeouts)


OPTION_SETS = [
    pytest.param("notes", ("--no-gateway-responses", "--binary-media-type", "image/png",
                           "--integration-timeout", "10", "--timeout", "5", "--memory", "128",
                           "--architecture", "x86_64", "--runtime", "python3.12"), id="notes"),
    pytest.param("notes", ("--api", "http", "--per-route", "--stage", "dev",
                           "--throttle-rate", "5", "--integration-timeout", "12"),
                 id="notes-http"),
    pytest.param("auth", ("--api", "http", "--lambda-authorizer",
                          "partner=examples.auth.authorizer:handler", "--identity-header",
                          "X-Token", "--authorizer-ttl", "0", "--per-route"), id="auth-http"),
    pytest.param("auth", ("--authorizer-kind", "partner=lambda", "--stage", "v1",
                          "--throttle-rate", "100", "--throttle-burst", "200"), id="auth-rest"),
    pytest.param("chat", ("--one-way", "--route-selection", "$request.body.type",
                          "--no-manage-connections", "--stage", "v2", "--throttle-rate", "1"),
                 id="chat"),
]


@pytest.mark.parametrize(("name", "argv"), OPTION_SETS)
def test_the_other_options_lint_and_transform(name: str, argv: tuple[str, ...],
                                              tmp_path: Path) -> None:
    text = generate(f"examples.{name}.app:app", *argv, tmp_path=tmp_path)
    assert lint_problems(text) == []
    assert resources(translate(text), "AWS::Lambda::Function")


# -- WebSocket ------------------------------------------------------------------------------------

def test_websocket_only_app_gets_a_websocket_api_not_a_rest_proxy(tmp_path: Path) -> None:
    text = generate("examples.chat.app:app", tmp_path=tmp_path)
    cfn = translate(text)
    assert not resources(cfn, "AWS::ApiGateway::RestApi")
    (api,) = resources(cfn, "AWS::ApiGatewayV2::Api").values()
    assert api["Properties"]["ProtocolType"] == "WEBSOCKET"
    assert api["Properties"]["RouteSelectionExpression"] == "$request.body.action"
    routes = {r["Properties"]["RouteKey"]: r["Properties"]
              for r in resources(cfn, "AWS::ApiGatewayV2::Route").values()}
    assert set(routes) == {"$connect", "$disconnect", "sendMessage", "$default"}
    assert all(r["Target"] == {"Fn::Sub": "integrations/${WebSocketIntegration}"}
               for r in routes.values())
    # Two-way message routes: their answers reach the client through a route response.
    answered = {r["Properties"]["RouteId"]["Ref"]
                for r in resources(cfn, "AWS::ApiGatewayV2::RouteResponse").values()}
    assert answered == {"WebSocketRouteSendMessage", "WebSocketRouteDefault"}
    (integration,) = resources(cfn, "AWS::ApiGatewayV2::Integration").values()
    assert integration["Properties"]["IntegrationType"] == "AWS_PROXY"
    (stage,) = resources(cfn, "AWS::ApiGatewayV2::Stage").values()
    assert stage["Properties"]["StageName"] == "prod" and stage["Properties"]["AutoDeploy"]
    (permission,) = resources(cfn, "AWS::Lambda::Permission").values()
    assert permission["Properties"]["Principal"] == "apigateway.amazonaws.com"
    # The chat pushes through @connections: the function's role may manage them.
    (role,) = resources(cfn, "AWS::IAM::Role").values()
    statements = [s for p in role["Properties"]["Policies"]
                  for s in p["PolicyDocument"]["Statement"]]
    assert any(s["Action"] == "execute-api:ManageConnections" for s in statements)
    (function,) = resources(cfn, "AWS::Lambda::Function").values()
    assert "LAMROUTE_CONNECTIONS_ENDPOINT" in function["Properties"]["Environment"]["Variables"]


def test_websocket_without_connections_gets_no_manage_policy_and_one_way_has_no_responses(
        tmp_path: Path) -> None:
    app = App()

    @app.websocket("echo")
    def echo(body: dict[str, Any]) -> dict[str, Any]:
        return body

    notes: list[str] = []
    cfn = translate(to_yaml(sam_template(handler="m.app", app=app, notes=notes,
                                         options=TemplateOptions(two_way=False,
                                                                 manage_connections=False))))
    assert not resources(cfn, "AWS::ApiGatewayV2::RouteResponse")
    (role,) = resources(cfn, "AWS::IAM::Role").values()
    assert "execute-api:ManageConnections" not in json.dumps(role)
    assert notes == []


def _pushes_through(request: Request) -> Any:
    """A dependency that talks to the WebSocket clients (the handlers never name it)."""
    return request.connections


def _connections_policy(cfn: dict[str, Any]) -> list[dict[str, Any]]:
    (role,) = resources(cfn, "AWS::IAM::Role").values()
    return [s for p in role["Properties"].get("Policies", ())
            for s in p["PolicyDocument"]["Statement"]
            if s["Action"] == "execute-api:ManageConnections"]


def test_websocket_app_gets_manage_connections_even_when_a_dependency_pushes(
        tmp_path: Path) -> None:
    """Detection read the handlers' code only: a dependency or helper that calls
    request.connections.send(...) left the function without execute-api:ManageConnections (every
    push then refused with 403). A WebSocket app gets it unless told otherwise; detection only
    decides the note."""
    from lamroute import Depends

    app = App()

    @app.websocket("$default")
    def relay(body: Any, clients: Annotated[Any, Depends(_pushes_through)]) -> None:
        return None

    notes: list[str] = []
    cfn = translate(to_yaml(sam_template(handler="m.app", app=app, notes=notes)))
    (statement,) = _connections_policy(cfn)
    # Scoped to this API's own stage's @connections, nothing wider.
    assert statement["Resource"] == {"Fn::Sub": "arn:${AWS::Partition}:execute-api:"
                                     "${AWS::Region}:${AWS::AccountId}:${WebSocketApi}/prod/*/"
                                     "@connections/*"}
    (function,) = resources(cfn, "AWS::Lambda::Function").values()
    assert "LAMROUTE_CONNECTIONS_ENDPOINT" in function["Properties"]["Environment"]["Variables"]
    assert any("ManageConnections" in n and "--no-manage-connections" in n for n in notes)
    # Said otherwise: by the option, or on the command line (--no-connections is its short form).
    off = translate(to_yaml(sam_template(handler="m.app", app=app, options=TemplateOptions(
        manage_connections=False))))
    assert _connections_policy(off) == []
    chat = "examples.chat.app:app"
    for flag in ("--no-manage-connections", "--no-connections"):
        assert _connections_policy(translate(generate(chat, flag, tmp_path=tmp_path))) == []


def test_no_manage_connections_on_an_app_that_pushes_is_said(tmp_path: Path) -> None:
    notes: list[str] = []
    from examples.chat.app import app

    sam_template(handler="m.app", app=app, notes=notes,
                 options=TemplateOptions(manage_connections=False))
    assert any("refused" in n and "connections" in n for n in notes)


def guarded_websocket_app(*, connect_public: bool = False) -> Any:
    from lamroute.security.guards import requires

    app = App(auth=requires(kinds=["lambda"], scheme="partner"))

    @app.websocket("$connect", public=connect_public)
    def connect() -> None: ...

    @app.websocket("sendMessage")
    def send(body: dict[str, Any]) -> None: ...

    return app


def test_guarded_websocket_app_authorizes_connect_with_its_lambda_authorizer() -> None:
    text = to_yaml(sam_template(handler="m.app", app=guarded_websocket_app()))
    assert lint_problems(text) == []
    cfn = translate(text)
    routes = {r["Properties"]["RouteKey"]: r["Properties"]
              for r in resources(cfn, "AWS::ApiGatewayV2::Route").values()}
    assert routes["$connect"]["AuthorizationType"] == "CUSTOM"
    assert routes["$connect"]["AuthorizerId"] == {"Ref": "PartnerAuthorizer"}
    assert routes["sendMessage"]["AuthorizationType"] == "NONE"  # authorized at $connect
    (authorizer,) = resources(cfn, "AWS::ApiGatewayV2::Authorizer").values()
    assert authorizer["Properties"]["AuthorizerType"] == "REQUEST"
    assert authorizer["Properties"]["IdentitySource"] == ["route.request.header.Authorization"]
    assert "PartnerAuthorizerFunctionArn" in cfn_yaml.loads(text)["Parameters"]


def test_guarded_message_route_behind_an_open_connect_is_refused() -> None:
    from lamroute.deploy.sam import TemplateError

    with pytest.raises(TemplateError, match=r"\$connect admits anyone"):
        sam_template(handler="m.app", app=guarded_websocket_app(connect_public=True))


def test_http_and_websocket_app_gets_both_apis_and_the_connections_endpoint() -> None:
    app = App()

    @app.post("/broadcast")
    def broadcast(request: Request) -> None:
        app.connections.send("id", request.json())

    @app.websocket("$default")
    def default() -> None: ...

    text = to_yaml(sam_template(handler="m.app", app=app, options=TemplateOptions(api="http")))
    assert lint_problems(text) == []
    cfn = translate(text)
    protocols = sorted(a["Properties"].get("ProtocolType", "HTTP")
                       for a in resources(cfn, "AWS::ApiGatewayV2::Api").values())
    assert protocols == ["HTTP", "WEBSOCKET"]
    (function,) = resources(cfn, "AWS::Lambda::Function").values()
    endpoint = function["Properties"]["Environment"]["Variables"]["LAMROUTE_CONNECTIONS_ENDPOINT"]
    assert "${WebSocketApi}" in json.dumps(endpoint)


# -- authorizers ----------------------------------------------------------------------------------

@pytest.mark.parametrize("api", ["rest", "http"])
def test_guarded_app_gets_its_authorizers_on_the_guarded_routes_only(
        api: str, tmp_path: Path) -> None:
    text = generate("examples.auth.app:app", "--api", api, *EXTRA.get(("auth", api), ()),
                    tmp_path=tmp_path)
    cfn = translate(text)
    found = operations(rest_or_http_api(cfn, api))
    cognito = "CognitoAuthorizer"
    assert security(found[("/{proxy+}", "ANY")]) == {cognito}
    assert security(found[("/", "ANY")]) == {cognito}
    # Public routes and CORS preflights: no authorizer, or they would answer 401.
    for key in [("/health", "GET"), ("/health", "HEAD"), ("/openapi.json", "GET"),
                ("/{proxy+}", "OPTIONS"), ("/", "OPTIONS")]:
        assert security(found[key]) == set(), key
    assert security(found[("/partner/reports", "GET")]) == {"PartnerAuthorizer"}
    assert security(found[("/partner/reports", "HEAD")]) == {"PartnerAuthorizer"}
    parameters = cfn_yaml.loads(text)["Parameters"]
    body = rest_or_http_api(cfn, api)
    if api == "http":
        schemes = body["components"]["securitySchemes"]
        assert schemes[cognito]["x-amazon-apigateway-authorizer"]["type"] == "jwt"
        assert {"CognitoAuthorizerIssuer", "CognitoAuthorizerAudience"} <= set(parameters)
        partner = schemes["PartnerAuthorizer"]["x-amazon-apigateway-authorizer"]
        assert partner["enableSimpleResponses"] is True  # the example's @http_authorizer
        (handler,) = [f["Properties"]["Handler"] for f in
                      resources(cfn, "AWS::Lambda::Function").values()
                      if f["Properties"]["Handler"] != "examples.auth.app.app"]
        assert handler == "examples.auth.authorizer.handler"
    else:
        schemes = body["securityDefinitions"]
        assert schemes[cognito]["x-amazon-apigateway-authtype"] == "cognito_user_pools"
        assert "CognitoAuthorizerUserPoolArn" in parameters
        assert schemes["PartnerAuthorizer"]["x-amazon-apigateway-authorizer"]["type"] == (
            "request")
        assert "PartnerAuthorizerFunctionArn" in parameters
        # REST resolves paths down the resource tree: /partner/... is declared whole.
        assert security(found[("/partner/reports", "ANY")]) == set()


def test_an_http_authorizer_is_refused_for_a_rest_api(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "t.yaml"
    assert main(["template", "examples.auth.app:app", "--lambda-authorizer",
                 "examples.auth.authorizer:handler", "-o", str(out)]) == 2
    assert "@rest_authorizer" in capsys.readouterr().err


def test_iam_and_api_key_guards(tmp_path: Path) -> None:
    from lamroute.deploy.sam import TemplateError
    from lamroute.security.guards import requires

    app = App()

    @app.get("/signed", auth=requires(kinds=["iam"], scheme="iam"))
    def signed() -> None: ...

    @app.get("/keyed", auth=requires(api_key=True))
    def keyed() -> None: ...

    @app.get("/open")
    def open_route() -> None: ...

    text = to_yaml(sam_template(handler="m.app", app=app))
    assert lint_problems(text) == []
    cfn = translate(text)
    body = rest_or_http_api(cfn, "rest")
    found = operations(body)
    assert security(found[("/signed", "GET")]) == {"sigv4"}
    assert body["securityDefinitions"]["sigv4"]["x-amazon-apigateway-authtype"] == "awsSigv4"
    assert security(found[("/keyed", "GET")]) == {"api_key"}
    assert security(found[("/{proxy+}", "ANY")]) == set()
    assert resources(cfn, "AWS::ApiGateway::UsagePlan") and resources(cfn,
                                                                      "AWS::ApiGateway::ApiKey")
    # With IAM routes, "Missing Authentication Token" may mean an unsigned request: a 403.
    responses = body["x-amazon-apigateway-gateway-responses"]
    assert responses["MISSING_AUTHENTICATION_TOKEN"]["statusCode"] == "403"
    with pytest.raises(TemplateError, match="only REST APIs"):
        sam_template(handler="m.app", app=app, options=TemplateOptions(api="http"))


def test_a_guard_pinned_to_jwt_cannot_use_a_rest_cognito_authorizer() -> None:
    from lamroute.deploy.sam import TemplateError
    from lamroute.security.guards import requires

    app = App(auth=requires(kinds=["jwt"]))

    @app.get("/x")
    def x() -> None: ...

    assert sam_template(handler="m.app", app=app, options=TemplateOptions(api="http"))
    with pytest.raises(TemplateError, match="gives cognito callers"):
        sam_template(handler="m.app", app=app)


def test_authorizer_kind_chooses_for_guards_that_do_not_pin_one(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from lamroute.deploy.auth import AuthOptions
    from lamroute.security.guards import requires

    app = App(auth=requires())

    @app.get("/me")
    def me() -> None: ...

    def kinds(**chosen: str) -> dict[str, Any]:
        auth = AuthOptions(kinds={None if k == "default" else k: v for k, v in chosen.items()})
        template = sam_template(handler="m.app", app=app, options=TemplateOptions(auth=auth))
        return template["Resources"]["Api"]["Properties"]["Auth"]["Authorizers"]  # type: ignore

    assert "UserPoolArn" in kinds()["BearerAuthAuthorizer"]  # REST default: Cognito
    assert kinds(default="lambda")["BearerAuthAuthorizer"]["FunctionPayloadType"] == "REQUEST"
    assert kinds(bearerAuth="lambda", default="cognito")["BearerAuthAuthorizer"]["FunctionArn"]
    # The auth example pins its default guard to jwt/cognito callers: a Lambda one is refused.
    out = str(tmp_path / "t.yaml")
    assert main(["template", "examples.auth.app:app", "--authorizer-kind", "cognito=lambda",
                 "-o", out]) == 2
    assert "gives lambda callers" in capsys.readouterr().err


LOCAL_AUTH = [pytest.param(api, per_route, id=f"{api}-{'per-route' if per_route else 'proxy'}")
              for api in ("rest", "http") for per_route in (False, True)]


@pytest.mark.parametrize(("api", "per_route"), LOCAL_AUTH)
def test_local_gateway_attaches_authorizers_where_the_template_does(
        api: str, per_route: bool, tmp_path: Path) -> None:
    """examples/auth: for every operation of the deployed API definition (each method of an
    ANY), a request the gateway sends there meets an authorizer in the local emulation exactly
    when it meets one after deploy, and the same one: the JWT emulation for the Cognito/JWT
    authorizer, the Lambda one for the partner's."""
    import re

    from examples.auth.authorizer import handler
    from lamroute.testing import GatewayAuthorizer
    from lamroute.testing.jwt_authorizer import JwtAuthorizer
    from lamroute.testing.route_auth import RouteAuthorizers

    argv = ["--api", api, *EXTRA.get(("auth", api), ())] + (["--per-route"] if per_route else [])
    body = rest_or_http_api(translate(generate("examples.auth.app:app", *argv,
                                               tmp_path=tmp_path)), api)
    local = RouteAuthorizers(example_app("auth"), GatewayAuthorizer(handler),
                             JwtAuthorizer({"sub": "u1"}), per_route=per_route)
    emulated = {"CognitoAuthorizer": local.jwt, "PartnerAuthorizer": local.lambda_authorizer}
    found = operations(body)
    checked = 0
    for (path, method), operation in found.items():
        concrete = re.sub(r"\{[^{}+]+\}", "n1", path.replace("{proxy+}", "nowhere/at/all"))
        methods = [method] if method != "ANY" else [
            m for m in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
            if (path, m) not in found]
        (expected,) = [emulated[name] for name in security(operation)] or [None]
        for each in methods:
            assert local.pick(each, concrete, api=api) is expected, (each, path)
            checked += 1
    assert checked >= 20
    # The app's own routes under the proxy: what the gateway declares, the app serves.
    for route in local.app.routes:
        for each in route.methods:
            concrete = re.sub(r"\{[^{}+]+\}", "n1", route.path)
            assert (local.pick(each, concrete, api=api) is None) == (
                route.path in ("/health", "/openapi.json")), (each, route.path)


# -- routes ---------------------------------------------------------------------------------------

def test_per_route_declares_each_route_and_no_proxy(tmp_path: Path) -> None:
    text = generate("examples.notes.app:app", "--per-route", tmp_path=tmp_path)
    found = operations(rest_or_http_api(translate(text), "rest"))
    assert set(found) == {
        ("/health", "GET"), ("/health", "HEAD"), ("/health", "ANY"),
        ("/notes", "GET"), ("/notes", "HEAD"), ("/notes", "POST"), ("/notes", "ANY"),
        ("/notes/{note_id}", "GET"), ("/notes/{note_id}", "HEAD"), ("/notes/{note_id}", "PUT"),
        ("/notes/{note_id}", "PATCH"), ("/notes/{note_id}", "DELETE"),
        ("/notes/{note_id}", "ANY"), ("/notes/{note_id}/attachments", "POST"),
        ("/notes/{note_id}/attachments", "ANY"),
        ("/notes/{note_id}/attachments/{attachment_id}", "GET"),
        ("/notes/{note_id}/attachments/{attachment_id}", "HEAD"),
        ("/notes/{note_id}/attachments/{attachment_id}", "ANY")}
    assert found[("/notes/{note_id}", "GET")]["parameters"][0]["name"] == "note_id"


def test_rest_proxy_refuses_a_path_variable_beside_proxy() -> None:
    from lamroute.deploy.sam import TemplateError
    from lamroute.security.guards import requires

    app = App(auth=requires())

    @app.get("/{slug}", public=True)
    def page(slug: str) -> None: ...

    with pytest.raises(TemplateError, match="--per-route"):
        sam_template(handler="m.app", app=app)
    assert sam_template(handler="m.app", app=app, options=TemplateOptions(per_route=True))


def test_a_greedy_route_beside_the_proxy_is_refused_and_served_route_by_route_locally() -> None:
    """API Gateway rejects two greedy variables of different names side by side: the template
    says so (it wrote an API that could not be imported); the local gateway, which matches
    requests against the same routes, attaches authorizers as --per-route would."""
    from lamroute.deploy.sam import TemplateError
    from lamroute.security.guards import requires
    from lamroute.testing.jwt_authorizer import JwtAuthorizer
    from lamroute.testing.route_auth import RouteAuthorizers

    app = App(auth=requires())

    @app.get("/{path+}", public=True)
    def files(path: str) -> None: ...

    with pytest.raises(TemplateError, match="--per-route"):
        sam_template(handler="m.app", app=app, options=TemplateOptions(api="http"))
    assert sam_template(handler="m.app", app=app, options=TemplateOptions(api="http",
                                                                          per_route=True))
    local = RouteAuthorizers(app, jwt=JwtAuthorizer({"sub": "u"}))
    assert local.pick("GET", "/a/b", api="http") is None
    assert local.pick("POST", "/a/b", api="http") is None  # per route: ANY, public
    assert local.pick("GET", "/", api="http") is local.jwt  # no route: the default guard's


def test_strip_prefixes_declare_the_routes_under_each_prefix_too(tmp_path: Path) -> None:
    """The gateway sees /api/health when the app strips /api: a public route is declared
    there too, or the catch-all's authorizer would refuse it; the local gateway agrees."""
    from lamroute.security.guards import requires
    from lamroute.testing.jwt_authorizer import JwtAuthorizer
    from lamroute.testing.route_auth import RouteAuthorizers

    app = App(auth=requires(), strip_prefixes=["/api"])

    @app.get("/health", public=True)
    def health() -> None: ...

    for per_route in (False, True):
        text = to_yaml(sam_template(handler="m.app", app=app, options=TemplateOptions(
            api="http", per_route=per_route)))
        assert lint_problems(text) == []
        found = operations(rest_or_http_api(translate(text), "http"))
        assert not security(found[("/api/health", "GET")]) and not security(
            found[("/health", "GET")])
    local = RouteAuthorizers(app, jwt=JwtAuthorizer({"sub": "u"}))
    assert local.pick("GET", "/api/health", api="http") is None
    assert local.pick("GET", "/api/me", api="http") is local.jwt


# -- gateway responses ----------------------------------------------------------------------------

def test_rest_gateway_responses_are_lamroute_problems_with_the_apps_cors(tmp_path: Path) -> None:
    text = generate("examples.auth.app:app", tmp_path=tmp_path)
    responses = rest_or_http_api(translate(text), "rest")["x-amazon-apigateway-gateway-responses"]
    for error in GATEWAY_ERRORS:
        response = responses[error.type]
        assert response["statusCode"] == str(error.status)
        body = render_gateway_template(response["responseTemplates"]["application/json"])
        assert body["status"] == error.status and body["type"] == "about:blank"
        assert body["request_id"] == "rid-1" and body["instance"] == "/prod/x"
        assert body["detail"] == (error.detail or "the gateway's message")
        headers = response["responseParameters"]
        assert headers["gatewayresponse.header.Content-Type"] == "'application/problem+json'"
        # Several allowed origins: the request's Origin is echoed, with credentials.
        assert headers["gatewayresponse.header.Access-Control-Allow-Origin"] == (
            "method.request.header.Origin")
        assert headers["gatewayresponse.header.Access-Control-Allow-Credentials"] == "'true'"
    assert responses["UNAUTHORIZED"]["responseParameters"][
        "gatewayresponse.header.WWW-Authenticate"] == "'Bearer realm=\"api\"'"


def test_a_changed_gateway_response_deploys_the_stage_again() -> None:
    """Gateway responses live in the API definition, whose hash names SAM's deployment."""
    template = sam_template(handler="m.app")
    changed = copy.deepcopy(template)
    changed["Resources"]["Api"]["Properties"]["GatewayResponses"]["THROTTLED"]["StatusCode"] = (
        "503")
    deployments = [set(resources(translate(to_yaml(t)), "AWS::ApiGateway::Deployment"))
                   for t in (template, changed)]
    assert deployments[0] and deployments[0] != deployments[1]


def test_gateway_responses_follow_the_apps_error_formatter() -> None:
    def envelope(problem: Problem, request: object) -> dict[str, Any]:
        return {"error": {"status": problem.status, "message": problem.detail or problem.title}}

    app = App(error_formatter=envelope)

    @app.get("/x")
    def x() -> None: ...

    template = sam_template(handler="m.app", app=app)
    responses = template["Resources"]["Api"]["Properties"]["GatewayResponses"]
    body = render_gateway_template(responses["THROTTLED"]["ResponseTemplates"]["application/json"])
    assert body == {"error": {"status": 429, "message": "Too many requests; retry later."}}
    denied = responses["ACCESS_DENIED"]["ResponseTemplates"]["application/json"]
    assert render_gateway_template(denied)["error"]["message"] == "the gateway's message"
    assert "Access-Control-Allow-Origin" not in responses["THROTTLED"]["ResponseParameters"][
        "Headers"]


def test_http_api_template_has_no_gateway_responses(tmp_path: Path) -> None:
    text = generate("examples.notes.app:app", "--api", "http", tmp_path=tmp_path)
    assert "x-amazon-apigateway-gateway-responses" not in json.dumps(translate(text))


# -- the custom (non-proxy) integration, through the builder's integration seam ---------------

CUSTOM_COMBINATIONS = [
    pytest.param(name, mode, per_route, id=f"{name}-{mode}-{'per-route' if per_route else 'proxy'}")
    for name in EXAMPLES if name != "chat"  # chat has no HTTP route: tested below
    for mode, per_route in (("custom", False), ("custom", True), ("custom-text", False))
]


@pytest.mark.parametrize(("name", "mode", "per_route"), CUSTOM_COMBINATIONS)
def test_custom_integration_keeps_the_proxys_routes_authorizers_and_gateway_responses(
        name: str, mode: str, per_route: bool, tmp_path: Path) -> None:
    """Only each operation's integration changes: the same routes, the same authorizers on the
    same routes, the same gateway responses; the integration responses catch the function's
    errors and the function times out before the integration."""
    argv = ["--per-route"] if per_route else []
    # One request template per operation keeps a per-route template small (and fast to lint).
    custom_argv = [*argv, "--integration", mode] + (
        ["--content-type", "application/json"] if per_route else [])
    proxy = operations(rest_or_http_api(translate(
        generate(f"examples.{name}.app:app", *argv, tmp_path=tmp_path)), "rest"))
    text = generate(f"examples.{name}.app:app", *custom_argv, tmp_path=tmp_path)
    assert lint_problems(text) == []
    cfn = translate(text)
    assert lint_problems(json.dumps(cfn)) == []
    (rest_api,) = resources(cfn, "AWS::ApiGateway::RestApi").values()
    body = rest_api["Properties"]["Body"]
    assert rest_api["Properties"]["BinaryMediaTypes"] == ["*~1*"]
    assert {t: int(r["statusCode"]) for t, r in
            body["x-amazon-apigateway-gateway-responses"].items()} == {
        e.type: e.status for e in GATEWAY_ERRORS}
    found = operations(body)
    assert set(found) == set(proxy)
    handling = "CONVERT_TO_BINARY" if mode == "custom" else "CONVERT_TO_TEXT"
    for key, operation in found.items():
        assert security(operation) == security(proxy[key]), key
        spec = operation["x-amazon-apigateway-integration"]
        assert (spec["type"], spec["timeoutInMillis"]) == ("aws", 29000)
        assert "${Function.Arn}" in json.dumps(spec["uri"])
        assert {p: r["statusCode"] for p, r in spec["responses"].items()} == {
            "default": "200", ".*Task timed out.*": "504", ".*Runtime.*": "502"}
        assert {r["contentHandling"] for r in spec["responses"].values()} == {handling}
        assert set(operation["responses"]) == {"200", "502", "504"}
    (function,) = [f for f in resources(cfn, "AWS::Lambda::Function").values()
                   if f["Properties"]["Handler"] == f"examples.{name}.app.app"]
    assert function["Properties"]["Timeout"] == 28


def test_custom_integration_with_an_authorizer_guarded_app_and_every_option(
        tmp_path: Path) -> None:
    """The guarded example (a Cognito and a Lambda authorizer) per route, with a shorter
    integration timeout, throttling, a cached authorizer and text answers: the options
    compose."""
    text = generate("examples.auth.app:app", "--integration", "custom-text", "--per-route",
                    "--content-type", "application/json", "--content-type", "text/plain",
                    "--authorizer-kind", "partner=lambda", "--authorizer-ttl", "60",
                    "--integration-timeout", "10", "--throttle-rate", "20", "--stage", "v1",
                    "--memory", "256", tmp_path=tmp_path)
    assert lint_problems(text) == []
    cfn = translate(text)
    found = operations(rest_or_http_api(cfn, "rest"))
    assert security(found[("/partner/reports", "GET")]) == {"PartnerAuthorizer"}
    assert security(found[("/notes", "GET")]) == {"CognitoAuthorizer"}
    assert security(found[("/health", "GET")]) == set()
    spec = found[("/notes", "GET")]["x-amazon-apigateway-integration"]
    assert spec["timeoutInMillis"] == 10000
    assert set(spec["requestTemplates"]) == {"application/json", "text/plain"}
    (function,) = resources(cfn, "AWS::Lambda::Function").values()
    assert function["Properties"]["Timeout"] == 9
    schemes = rest_or_http_api(cfn, "rest")["securityDefinitions"]
    assert {n: s["x-amazon-apigateway-authorizer"]["type"] for n, s in schemes.items()} == {
        "CognitoAuthorizer": "cognito_user_pools", "PartnerAuthorizer": "request"}
    assert schemes["PartnerAuthorizer"]["x-amazon-apigateway-authorizer"][
        "authorizerResultTtlInSeconds"] == 60


def test_custom_integration_refusals_and_notes(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = str(tmp_path / "t.yaml")
    assert main(["template", "examples.notes.app:app", "--integration", "custom",
                 "--binary-media-type", "image/png", "-o", out]) == 2
    assert "needs the binary media types */*" in capsys.readouterr().err
    assert main(["template", "examples.notes.app:app", "--content-type", "text/plain",
                 "-o", out]) == 2
    assert "needs --integration custom" in capsys.readouterr().err
    generate("examples.chat.app:app", "--integration", "custom", tmp_path=tmp_path)
    assert "ignored: --integration (the app has no HTTP routes)" in capsys.readouterr().err
    generate("examples.notes.app:app", "--integration", "custom", tmp_path=tmp_path)
    assert "`sam deploy` needs an S3 bucket" in capsys.readouterr().err


def test_a_template_over_cloudformations_1_mb_is_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "big_app.py").write_text(
        "from lamroute import App\napp = App()\n"
        "for i in range(12):\n"
        "    app.get(f'/r{i}')(lambda: 'x')\n    app.post(f'/r{i}')(lambda: 'x')\n")
    sys.path.insert(0, str(tmp_path))
    try:
        assert main(["template", "big_app:app", "--integration", "custom", "--per-route",
                     "-o", str(tmp_path / "t.yaml")]) == 2
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("big_app", None)
    err = capsys.readouterr().err
    assert "over CloudFormation's 1 MB" in err and "drop --per-route" in err


# -- function, binary, throttling -----------------------------------------------------------------

@pytest.mark.parametrize(("api", "expected"), [("rest", 28), ("http", 29)])
def test_function_timeout_stays_below_the_integration_timeout(api: str, expected: int) -> None:
    template = sam_template(handler="m.app", options=TemplateOptions(api=api))
    assert template["Resources"]["Function"]["Properties"]["Timeout"] == expected


def test_a_function_timeout_not_below_the_integration_timeout_is_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = str(tmp_path / "t.yaml")
    assert main(["template", "examples.notes.app:app", "--timeout", "29", "-o", out]) == 2
    assert "below the integration timeout" in capsys.readouterr().err
    assert main(["template", "examples.notes.app:app", "--integration-timeout", "10",
                 "--timeout", "9", "-o", out]) == 0


def test_memory_architecture_stage_and_throttling_options(tmp_path: Path) -> None:
    text = generate("examples.notes.app:app", "--memory", "1024", "--architecture", "x86_64",
                    "--stage", "v1", "--throttle-rate", "50", "--throttle-burst", "100",
                    "--runtime", "python3.12", tmp_path=tmp_path)
    assert lint_problems(text) == []
    cfn = translate(text)
    (function,) = resources(cfn, "AWS::Lambda::Function").values()
    props = function["Properties"]
    assert (props["MemorySize"], props["Architectures"], props["Runtime"]) == (
        1024, ["x86_64"], "python3.12")
    (stage,) = resources(cfn, "AWS::ApiGateway::Stage").values()
    assert stage["Properties"]["StageName"] == "v1"
    assert stage["Properties"]["MethodSettings"] == [{
        "ResourcePath": "/*", "HttpMethod": "*", "ThrottlingRateLimit": 50.0,
        "ThrottlingBurstLimit": 100}]


def binary_media_types(app: Any, **options: Any) -> Any:
    template = sam_template(handler="m.app", app=app, options=TemplateOptions(**options))
    return template["Resources"]["Api"]["Properties"].get("BinaryMediaTypes")


def test_binary_media_types_only_when_the_app_sends_or_takes_binary() -> None:
    text_app = App()

    @text_app.get("/json")
    def as_json() -> dict[str, str]: ...

    assert binary_media_types(text_app) is None
    assert binary_media_types(text_app, binary_media_types=("image/png",)) == ["image~1png"]
    for make in ("compress", "returns", "accepts"):
        app = App(compress=make == "compress")
        if make == "returns":
            @app.get("/file")
            def file() -> bytes: ...
        if make == "accepts":
            @app.post("/upload")
            def upload(data: Annotated[bytes, Body(media_type="image/png")]) -> None: ...
        assert binary_media_types(app) == ["*~1*"], make
        assert binary_media_types(app, binary_media_types=()) is None


def test_without_an_app_the_template_is_a_plain_rest_proxy() -> None:
    template = sam_template(handler=handler_for("notes.app:app"))
    api = template["Resources"]["Api"]["Properties"]
    assert set(api["DefinitionBody"]["paths"]) == {"/", "/{proxy+}"}
    assert api["BinaryMediaTypes"] == ["*~1*"]
    assert template["Resources"]["Function"]["Properties"]["Handler"] == "notes.app.app"


# -- the examples' own templates ------------------------------------------------------------------

def check_proxy_deployment(text: str, *, api: str) -> dict[str, Any]:
    """Lint the SAM template, transform it, lint the result, check the proxy wiring."""
    assert lint_problems(text) == []
    cfn = translate(text)
    assert lint_problems(json.dumps(cfn)) == []
    functions = resources(cfn, "AWS::Lambda::Function")
    assert len(functions) == 1
    function_id = next(iter(functions))
    permissions = resources(cfn, "AWS::Lambda::Permission")
    # One permission per event, for API Gateway, on this function, scoped to the API.
    assert len(permissions) == 2
    for permission in permissions.values():
        props = permission["Properties"]
        assert props["Action"] == "lambda:InvokeFunction"
        assert props["Principal"] == "apigateway.amazonaws.com"
        assert props["FunctionName"] == {"Ref": function_id}
    body = rest_or_http_api(cfn, api)
    assert set(body["paths"]) == {"/", "/{proxy+}"}
    return cfn


def test_every_example_has_a_template() -> None:
    folders = {p.parent.name for p in ROOT.glob("examples/*/app.py")}
    assert folders == {p.parent.name for p in EXAMPLE_TEMPLATES}
    assert "notes" in folders


@pytest.mark.parametrize("path", PROXY_EXAMPLE_TEMPLATES, ids=lambda p: p.parent.name)
def test_example_template_transforms_and_lints(path: Path) -> None:
    text = path.read_text()
    if "ProtocolType: WEBSOCKET" in text:
        # A WebSocket API (examples/chat): its routes are checked in the example's own tests.
        assert lint_problems(text) == []
        cfn = translate(text)
    else:
        api = "http" if "AWS::Serverless::HttpApi" in text else "rest"
        cfn = check_proxy_deployment(text, api=api)
    # The handler names a module that exists under CodeUri.
    function = next(iter(resources(cfn, "AWS::Lambda::Function").values()))
    sam = cfn_yaml.loads(text)
    sam_function = next(r for r in sam["Resources"].values()
                        if r["Type"] == "AWS::Serverless::Function")
    code_root = (path.parent / sam_function["Properties"]["CodeUri"]).resolve()
    module, _, attribute = function["Properties"]["Handler"].rpartition(".")
    assert (code_root / (module.replace(".", "/") + ".py")).is_file()
    assert attribute == "app"


def test_rest_domain_example_maps_the_base_path() -> None:
    cfn = translate((ROOT / "examples/rest_domain/template.yaml").read_text())
    (mapping,) = resources(cfn, "AWS::ApiGateway::BasePathMapping").values()
    assert mapping["Properties"]["BasePath"] == "shop"
    assert resources(cfn, "AWS::ApiGateway::DomainName")


def test_notes_example_accepts_binary_bodies() -> None:
    cfn = translate((ROOT / "examples/notes/template.yaml").read_text())
    (rest_api,) = resources(cfn, "AWS::ApiGateway::RestApi").values()
    assert rest_api["Properties"]["BinaryMediaTypes"] == ["*~1*"]


def test_yaml_writer_round_trips_through_a_yaml_parser() -> None:
    yaml = pytest.importorskip("yaml")
    value = {"a": ["*~1*", "yes", "1", "x: y", {"b": {"c": "/{proxy+}"}}, []], "d": {}, "e": 3,
             "f": True, "g": "$default", "h": "It's", "i": '{"a":$context.path}'}
    assert yaml.safe_load(to_yaml(value)) == copy.deepcopy(value)


def test_readme_lists_every_gateway_response_with_its_status() -> None:
    import re

    readme = (ROOT / "README.md").read_text()
    rows = dict(re.findall(r"^\| `([A-Z_0-9]+)` \| (\d{3}) \|", readme, re.MULTILINE))
    assert {t: int(s) for t, s in rows.items()} == {e.type: e.status for e in GATEWAY_ERRORS}


def test_a_failing_openapi_document_is_a_note_not_a_crash(monkeypatch: pytest.MonkeyPatch) -> None:
    app = App()

    @app.get("/x")
    def x() -> bytes: ...

    def broken() -> Any:
        raise TypeError("a schema pydantic cannot build")

    monkeypatch.setattr(app, "openapi", broken)
    notes: list[str] = []
    template = sam_template(handler="m.app", app=app, notes=notes)
    assert template["Resources"]["Api"]["Properties"]["BinaryMediaTypes"] == ["*~1*"]
    assert any("OpenAPI document failed" in note for note in notes)


def test_options_the_app_gives_nothing_to_apply_to_are_said(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from lamroute.deploy.auth import AuthOptions, LambdaAuthorizer

    generate("examples.chat.app:app", "--api", "http", "--per-route", tmp_path=tmp_path)
    err = capsys.readouterr().err
    assert "ignored: --per-route (the app has no HTTP routes)" in err
    assert "ignored: --api (the app has no HTTP routes)" in err
    generate("examples.notes.app:app", "--one-way", tmp_path=tmp_path)
    assert "ignored: the WebSocket options" in capsys.readouterr().err
    notes: list[str] = []
    auth = AuthOptions(kinds={"nope": "lambda"},
                       lambda_functions={"other": LambdaAuthorizer("m:f")})
    sam_template(handler="m.app", app=example_app("notes"), notes=notes,
                 options=TemplateOptions(auth=auth))
    assert any("--authorizer-kind nope=" in n for n in notes)
    assert any("--lambda-authorizer other=" in n for n in notes)
