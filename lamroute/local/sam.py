"""A function's settings read from a SAM (or CloudFormation) template, for the local runtime.

``Timeout``, ``MemorySize``, ``Environment.Variables`` and ``LoggingConfig`` of the function
whose ``Handler`` is the app's (or the only function, or ``--function LogicalId``), merged with
``Globals.Function`` as SAM merges them
(https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-specification-template-anatomy-globals.html).
A value the template computes (``!Ref Table``, ``!GetAtt``...) has no local value: it is listed in
``unresolved`` (the shell's variable of that name is used instead, if set); a ``!Ref`` to a
parameter with a ``Default``, ``!Ref AWS::Region`` and a ``!Sub`` of those are resolved.

>>> spec = read_function({"Resources": {"Api": {"Type": "AWS::Serverless::Function",
...     "Properties": {"Handler": "app.app", "Timeout": 5,
...                    "Environment": {"Variables": {"STAGE": "dev"}}}}}}, handler="app.app")
>>> spec.name, spec.timeout, spec.variables
('Api', 5.0, {'STAGE': 'dev'})
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

FUNCTION_TYPES = ("AWS::Serverless::Function", "AWS::Lambda::Function")
_SUB = re.compile(r"\$\{([^}!]+)\}")


class TemplateError(ValueError):
    """The template cannot be read, or names no function to serve."""


@dataclass
class TemplateFunction:
    """What the local runtime takes from the template for one function."""

    logical_id: str
    name: str
    handler: str | None = None
    timeout: float | None = None
    memory: int | None = None
    runtime: str | None = None
    variables: dict[str, str] = field(default_factory=dict)
    unresolved: dict[str, str] = field(default_factory=dict)  # variable → what it refers to
    log_format: str | None = None
    log_level: str | None = None


def load_template(path: str) -> dict[str, Any]:
    """The template as a dict: JSON, or YAML with CloudFormation's short tags (``!Ref``...)."""
    try:
        with open(path, encoding="utf-8") as file:
            text = file.read()
    except OSError as exc:
        raise TemplateError(f"cannot read {path}: {exc.strerror or exc}") from None
    if text.lstrip().startswith("{"):
        try:
            document = json.loads(text)
        except ValueError as exc:
            raise TemplateError(f"{path} is not valid JSON: {exc}") from None
    else:
        document = _load_yaml(text, path)
    if not isinstance(document, dict) or not isinstance(document.get("Resources"), dict):
        raise TemplateError(f"{path} has no Resources")
    return document


def _load_yaml(text: str, path: str) -> Any:
    try:
        import yaml
    except ImportError:
        raise TemplateError("reading a YAML template needs PyYAML: "
                            "pip install 'lamroute[local]'") from None

    class Loader(yaml.SafeLoader):
        pass

    def tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
        name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
        value: Any
        if isinstance(node, yaml.ScalarNode):
            value = loader.construct_scalar(node)
            if suffix == "GetAtt":
                value = str(value).split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
        return {name: value}

    Loader.add_multi_constructor("!", tag)
    try:
        return yaml.load(text, Loader=Loader)  # a SafeLoader with the short tags
    except yaml.YAMLError as exc:
        raise TemplateError(f"{path} is not valid YAML: {exc}") from None


def read_function(template: Mapping[str, Any], *, handler: str,
                  logical_id: str | None = None, region: str = "us-east-1") -> TemplateFunction:
    """The settings of the function serving ``handler`` (``module.attribute``)."""
    resources = template.get("Resources") or {}
    functions = {key: value for key, value in resources.items()
                 if isinstance(value, dict) and value.get("Type") in FUNCTION_TYPES}
    globals_ = ((template.get("Globals") or {}).get("Function") or {})
    chosen = _choose(functions, globals_, handler, logical_id)
    props = _merged(globals_, functions[chosen].get("Properties") or {})
    resolver = _Resolver(template, region)
    spec = TemplateFunction(logical_id=chosen, name=chosen)
    name = resolver.value(props.get("FunctionName"))
    if name:
        spec.name = name
    spec.handler = resolver.value(props.get("Handler"))
    spec.runtime = resolver.value(props.get("Runtime"))
    timeout, memory = resolver.value(props.get("Timeout")), resolver.value(props.get("MemorySize"))
    spec.timeout = float(timeout) if timeout else None
    spec.memory = int(memory) if memory else None
    for key, raw in ((props.get("Environment") or {}).get("Variables") or {}).items():
        value = resolver.value(raw)
        if value is None:
            spec.unresolved[key] = json.dumps(raw)
        else:
            spec.variables[key] = value
    logging_config = props.get("LoggingConfig") or {}
    spec.log_format = resolver.value(logging_config.get("LogFormat"))
    spec.log_level = resolver.value(logging_config.get("ApplicationLogLevel"))
    return spec


def _choose(functions: Mapping[str, Any], globals_: Mapping[str, Any], handler: str,
            logical_id: str | None) -> str:
    if logical_id is not None:
        if logical_id not in functions:
            raise TemplateError(f"no function {logical_id!r} in the template "
                                f"(functions: {', '.join(sorted(functions)) or 'none'})")
        return logical_id
    matching = [key for key, value in functions.items()
                if ((value.get("Properties") or {}).get("Handler") or globals_.get("Handler"))
                == handler]
    if len(matching) == 1:
        return matching[0]
    if len(functions) == 1:
        return next(iter(functions))
    raise TemplateError(f"{len(matching) or 'no'} function(s) of the template have Handler "
                        f"{handler!r}: choose one with --function "
                        f"({', '.join(sorted(functions)) or 'no functions'})")


def _merged(globals_: Mapping[str, Any], props: Mapping[str, Any]) -> dict[str, Any]:
    """SAM's Globals merge: the function's value wins, maps (variables) are merged."""
    merged = {**globals_, **props}
    for key in ("Environment", "LoggingConfig"):
        if isinstance(globals_.get(key), dict) and isinstance(props.get(key), dict):
            merged[key] = {**globals_[key], **props[key]}
    variables = [((part.get("Environment") or {}).get("Variables") or {})
                 for part in (globals_, props)]
    if any(variables):
        merged["Environment"] = {**(merged.get("Environment") or {}),
                                 "Variables": {**variables[0], **variables[1]}}
    return merged


class _Resolver:
    """The local value of a template value, or ``None`` when only AWS can compute it."""

    def __init__(self, template: Mapping[str, Any], region: str) -> None:
        self.parameters = template.get("Parameters") or {}
        self.pseudo = {"AWS::Region": region, "AWS::AccountId": "123456789012",
                       "AWS::Partition": "aws", "AWS::URLSuffix": "amazonaws.com",
                       "AWS::StackName": "lamroute-local"}

    def value(self, raw: Any) -> str | None:
        if raw is None:
            return None
        if isinstance(raw, bool):
            return "true" if raw else "false"
        if isinstance(raw, (str, int, float)):
            return str(raw)
        if isinstance(raw, dict) and len(raw) == 1:
            (kind, argument), = raw.items()
            if kind == "Ref":
                return self.name(str(argument))
            if kind == "Fn::Sub" and isinstance(argument, str):
                names = _SUB.findall(argument)
                values = {name: self.name(name) for name in names}
                if all(value is not None for value in values.values()):
                    return _SUB.sub(lambda match: str(values[match.group(1)]), argument)
        return None

    def name(self, name: str) -> str | None:
        if name in self.pseudo:
            return self.pseudo[name]
        default = (self.parameters.get(name) or {}).get("Default")
        return None if default is None else str(default)
