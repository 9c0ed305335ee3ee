"""SAM templates for one Lambda function behind an API Gateway proxy resource.

``ANY /`` and ``ANY /{proxy+}`` both invoke the function; SAM's ``Api``/``HttpApi`` events
create the ``AWS::Lambda::Permission`` API Gateway needs to invoke it.

>>> template = sam_template(handler="notes.app.app", api="http")
>>> sorted(template["Resources"]["Function"]["Properties"]["Events"])
['Proxy', 'Root']
>>> print(to_yaml({"Path": "/{proxy+}", "Method": "ANY"}), end="")
Path: "/{proxy+}"
Method: ANY
"""

from __future__ import annotations

import json
import re
from typing import Any

SAM_TRANSFORM = "AWS::Serverless-2016-10-31"
DEFAULT_RUNTIME = "python3.11"
_PLAIN = re.compile(r"^[A-Za-z][A-Za-z0-9_.:\-]*$")
_YAML_WORDS = frozenset({"yes", "no", "on", "off", "true", "false", "null", "y", "n"})


def handler_for(target: str) -> str:
    """``"notes.app:app"`` → ``"notes.app.app"`` (Lambda's ``module.attribute`` handler)."""
    module, _, attribute = target.partition(":")
    return f"{module}.{attribute or 'app'}"


def sam_template(
    *, handler: str, api: str = "rest", stage: str | None = None, runtime: str = DEFAULT_RUNTIME,
    code_uri: str = ".", memory: int = 512, timeout: int = 29, description: str | None = None,
) -> dict[str, Any]:
    """The template as a dict (``to_yaml`` writes it); ``api`` is ``"rest"`` or ``"http"``."""
    if api not in ("rest", "http"):
        raise ValueError("api must be 'rest' or 'http'")
    api_id = "Api" if api == "rest" else "HttpApi"
    if api == "rest":
        stage = stage or "prod"
        api_resource: dict[str, Any] = {"Type": "AWS::Serverless::Api", "Properties": {
            "StageName": stage,
            # Binary bodies both ways; SAM's notation for "*/*" escapes the slash as "~1".
            # https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-resource-api.html
            "BinaryMediaTypes": ["*~1*"],
        }}
        event_props: dict[str, Any] = {"RestApiId": {"Ref": api_id}}
        event_type = "Api"
    else:
        stage = stage or "$default"
        api_resource = {"Type": "AWS::Serverless::HttpApi", "Properties": {"StageName": stage}}
        event_props = {"ApiId": {"Ref": api_id}, "PayloadFormatVersion": "2.0"}
        event_type = "HttpApi"
    path_stage = "" if stage == "$default" else f"{stage}/"
    function = {"Type": "AWS::Serverless::Function", "Properties": {
        "Handler": handler,
        "Runtime": runtime,
        "CodeUri": code_uri,
        "MemorySize": memory,
        "Timeout": timeout,
        "Architectures": ["arm64"],
        "Environment": {"Variables": {"LOG_LEVEL": "INFO"}},
        "Events": {
            "Root": {"Type": event_type, "Properties": {**event_props, "Path": "/",
                                                        "Method": "ANY"}},
            "Proxy": {"Type": event_type, "Properties": {**event_props, "Path": "/{proxy+}",
                                                         "Method": "ANY"}},
        },
    }}
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Transform": SAM_TRANSFORM,
        "Description": description or f"{handler} behind an API Gateway proxy resource",
        "Resources": {api_id: api_resource, "Function": function},
        "Outputs": {"ApiUrl": {
            "Description": "The API's base URL",
            "Value": {"Fn::Sub": f"https://${{{api_id}}}.execute-api.${{AWS::Region}}."
                                 f"${{AWS::URLSuffix}}/{path_stage}"},
        }},
    }


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    text = str(value)
    if _PLAIN.match(text) and text.lower() not in _YAML_WORDS and not text.endswith(":"):
        return text
    return json.dumps(text)  # a JSON string is a valid YAML double-quoted scalar


def to_yaml(value: Any, indent: int = 0) -> str:
    """Block-style YAML for dicts, lists and scalars (enough for CloudFormation templates)."""
    pad = "  " * indent
    lines: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, (dict, list)) and item:
                lines.append(f"{pad}{_scalar(key)}:")
                lines.append(to_yaml(item, indent + 1).rstrip("\n"))
            else:
                empty = "{}" if isinstance(item, dict) else "[]"
                text = empty if isinstance(item, (dict, list)) else _scalar(item)
                lines.append(f"{pad}{_scalar(key)}: {text}")
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, (dict, list)) and item:
                nested = to_yaml(item, indent + 1).lstrip()
                lines.append(f"{pad}- {nested.rstrip()}")
            elif isinstance(item, (dict, list)):
                lines.append(f"{pad}- {'{}' if isinstance(item, dict) else '[]'}")
            else:
                lines.append(f"{pad}- {_scalar(item)}")
    else:
        lines.append(pad + _scalar(value))
    return "\n".join(lines) + "\n"
