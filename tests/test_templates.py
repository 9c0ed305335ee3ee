"""Every example's template.yaml and every `lamroute template` output, checked with the real AWS
tools: aws-sam-translator transforms it to CloudFormation (no credentials needed), cfn-lint
lints both the SAM and the transformed template."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import lint
from cfnlint.decode import cfn_yaml
from samtranslator.translator.transform import transform

from lamroute.deploy.sam import handler_for, sam_template, to_yaml

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_TEMPLATES = sorted(ROOT.glob("examples/*/template.yaml"))
# examples/auth deploys two functions (the app and its Lambda authorizer) with per-route
# authorizers; examples/auth/test_app.py transforms and lints it with its own checks.
PROXY_EXAMPLE_TEMPLATES = [p for p in EXAMPLE_TEMPLATES if p.parent.name != "auth"]


class NoManagedPolicies:
    """The policy loader samtranslator asks for; the templates use no managed policy names."""

    def load(self) -> dict[str, str]:
        return {}


@pytest.fixture(autouse=True)
def region(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_REGION", "us-east-1")


def translate(text: str) -> dict[str, Any]:
    template = cfn_yaml.loads(text)
    for resource in template["Resources"].values():
        props = resource.get("Properties") or {}
        if resource["Type"] == "AWS::Serverless::Function" and "CodeUri" in props:
            # What `sam package` does: upload the local folder and point CodeUri at S3.
            props["CodeUri"] = "s3://lamroute-artifacts/function.zip"
    return transform(template, {}, NoManagedPolicies())  # type: ignore[no-any-return]


def lint_problems(text: str) -> list[str]:
    return [f"{m.rule.id} {m.message}" for m in lint(text, regions=["us-east-1"])
            if m.rule.id[0] in "EW"]


def resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def check_proxy_deployment(text: str, *, api: str) -> dict[str, Any]:
    """Lint the SAM template, transform it, lint the result, check the proxy wiring."""
    assert lint_problems(text) == []
    cfn = translate(text)
    assert lint_problems(json.dumps(cfn)) == []
    functions = resources(cfn, "AWS::Lambda::Function")
    assert len(functions) == 1
    function_id = next(iter(functions))
    permissions = resources(cfn, "AWS::Lambda::Permission")
    # One permission per route, for API Gateway, on this function, scoped to the API.
    assert len(permissions) == 2
    source_arns = []
    for permission in permissions.values():
        props = permission["Properties"]
        assert props["Action"] == "lambda:InvokeFunction"
        assert props["Principal"] == "apigateway.amazonaws.com"
        assert props["FunctionName"] == {"Ref": function_id}
        source_arns.append(json.dumps(props["SourceArn"]))
    assert any("/{proxy+}" in arn or "/*" in arn for arn in source_arns)
    if api == "rest":
        (rest_api,) = resources(cfn, "AWS::ApiGateway::RestApi").values()
        paths = rest_api["Properties"]["Body"]["paths"]
        assert set(paths) == {"/", "/{proxy+}"}
        for path in paths.values():
            integration = path["x-amazon-apigateway-any-method"]["x-amazon-apigateway-integration"]
            assert integration["type"] == "aws_proxy"
        assert resources(cfn, "AWS::ApiGateway::Stage")
    else:
        (http_api,) = resources(cfn, "AWS::ApiGatewayV2::Api").values()
        paths = http_api["Properties"]["Body"]["paths"]
        assert set(paths) == {"/", "/{proxy+}"}
        for path in paths.values():
            integration = path["x-amazon-apigateway-any-method"]["x-amazon-apigateway-integration"]
            assert (integration["type"], integration["payloadFormatVersion"]) == (
                "aws_proxy", "2.0")
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
        assert lint_problems(json.dumps(cfn)) == []
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


@pytest.mark.parametrize(("api", "stage"), [("rest", None), ("rest", "v1"), ("http", None),
                                            ("http", "dev")])
def test_generated_template_transforms_and_lints(api: str, stage: str | None) -> None:
    template = sam_template(handler=handler_for("notes.app:app"), api=api, stage=stage)
    cfn = check_proxy_deployment(to_yaml(template), api=api)
    function = next(iter(resources(cfn, "AWS::Lambda::Function").values()))
    assert function["Properties"]["Handler"] == "notes.app.app"
    stage_kind = "AWS::ApiGateway::Stage" if api == "rest" else "AWS::ApiGatewayV2::Stage"
    (stage_resource,) = resources(cfn, stage_kind).values()
    assert stage_resource["Properties"]["StageName"] == (
        stage or ("prod" if api == "rest" else "$default"))


def test_yaml_writer_round_trips_through_a_yaml_parser() -> None:
    yaml = pytest.importorskip("yaml")
    value = {"a": ["*~1*", "yes", "1", "x: y", {"b": {"c": "/{proxy+}"}}, []], "d": {}, "e": 3,
             "f": True, "g": "$default", "h": "It's"}
    assert yaml.safe_load(to_yaml(value)) == value
