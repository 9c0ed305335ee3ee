"""Reading a SAM (or CloudFormation) template for ``lamroute serve --template``: the one reader.

:func:`parse_template` reads JSON, or YAML with CloudFormation's short tags (``!Ref``,
``!GetAtt``, ``!Sub``...) as their long forms; :class:`Resolver` gives a template value its
local value where one exists (a ``!Ref`` to a parameter with a ``Default``, pseudo parameters
such as ``AWS::Region``, a ``!Sub`` of those) and ``None`` where only AWS can compute it
(``!Ref Table``, ``!GetAtt``). What the template says about the API (stage, gateway responses,
throttling, routes, integration) is read by :mod:`lamroute.local.template_settings`; what it
says about the function is read here (:func:`read_function`): ``Timeout``, ``MemorySize``,
``Environment.Variables`` and ``LoggingConfig`` of the function whose ``Handler`` is the app's
(or the only function, or ``--function LogicalId``), merged with ``Globals.Function`` as SAM
merges them
(https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-specification-template-anatomy-globals.html).

>>> spec = read_function({"Resources": {"Api": {"Type": "AWS::Serverless::Function",
...     "Properties": {"Handler": "app.app", "Timeout": 5,
...                    "Environment": {"Variables": {"STAGE": "dev"}}}}}}, handler="app.app")
>>> spec.name, spec.timeout, spec.variables
('Api', 5.0, {'STAGE': 'dev'})
>>> Resolver(parse_template('{"Parameters": {"S": {"Default": "v1"}}, "Resources": {}}'),
...          region="eu-west-3").value({"Fn::Sub": "${S}-${AWS::Region}"})
'v1-eu-west-3'
"""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

FUNCTION_TYPES = ("AWS::Serverless::Function", "AWS::Lambda::Function")
_SUB = re.compile(r"\$\{([^}!]+)\}")


class TemplateSettingsError(ValueError):
    """A template the local gateway cannot read, or that names no function to serve (said in
    one line)."""


def read_template(path: str) -> dict[str, Any]:
    """The template at ``path`` as a dict (see :func:`parse_template`)."""
    try:
        with open(path, encoding="utf-8") as file:
            text = file.read()
    except OSError as exc:
        raise TemplateSettingsError(f"cannot read {path}: {exc.strerror or exc}") from None
    return parse_template(text, str(path))


def parse_template(text: str, name: str = "template") -> dict[str, Any]:
    """A template's text as a dict: JSON, or YAML with CloudFormation's short tags."""
    if text.lstrip().startswith("{"):
        try:
            loaded: Any = json.loads(text)
        except ValueError as exc:
            raise TemplateSettingsError(f"{name} is not valid JSON: {exc}") from None
    else:
        try:
            yaml: Any = importlib.import_module("yaml")
        except ImportError:
            raise TemplateSettingsError("a YAML template needs PyYAML: pip install "
                                        "'lamroute[local]' (or pass a JSON template)") from None
        try:
            loaded = yaml.load(text, Loader=_cloudformation_loader(yaml))
        except yaml.YAMLError as exc:
            raise TemplateSettingsError(f"{name} is not valid YAML: {exc}") from None
    if not isinstance(loaded, dict) or not isinstance(loaded.get("Resources"), dict):
        raise TemplateSettingsError(f"{name} is not a template (no Resources)")
    return loaded


def _cloudformation_loader(yaml: Any) -> Any:
    """A SafeLoader that reads ``!Ref x`` as ``{"Ref": "x"}``, ``!GetAtt a.b`` as
    ``{"Fn::GetAtt": ["a", "b"]}`` and any other ``!Tag`` as ``{"Fn::Tag": ...}``."""
    class Loader(yaml.SafeLoader):  # type: ignore[misc]
        pass

    def construct(loader: Any, suffix: str, node: Any) -> Any:
        if isinstance(node, yaml.ScalarNode):
            value: Any = loader.construct_scalar(node)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        if suffix == "Ref":
            return {"Ref": value}
        if suffix == "GetAtt" and isinstance(value, str):
            value = value.split(".", 1)
        return {f"Fn::{suffix}": value}

    Loader.add_multi_constructor("!", construct)
    return Loader


class Resolver:
    """The local value of a template value, or ``None`` when only AWS can compute it."""

    def __init__(self, template: Mapping[str, Any], *, region: str = "us-east-1") -> None:
        self.parameters: Mapping[str, Any] = template.get("Parameters") or {}
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
        if isinstance(raw, Mapping) and len(raw) == 1:
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
        parameter = self.parameters.get(name)
        default = parameter.get("Default") if isinstance(parameter, Mapping) else None
        return None if default is None else str(default)


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


def read_function(template: Mapping[str, Any], *, handler: str | None,
                  logical_id: str | None = None,
                  region: str = "us-east-1") -> TemplateFunction | None:
    """The settings of the function serving ``handler`` (``module.attribute``), ``None`` when
    the template has no function. Several candidates without ``logical_id`` are an error
    (``handler=None``: ``None`` then, nothing to choose by)."""
    resources = template.get("Resources") or {}
    functions = {key: value for key, value in resources.items()
                 if isinstance(value, dict) and value.get("Type") in FUNCTION_TYPES}
    if not functions and logical_id is None:
        return None
    globals_ = ((template.get("Globals") or {}).get("Function") or {})
    chosen = _choose(functions, globals_, handler, logical_id)
    if chosen is None:
        return None
    props = _merged(globals_, functions[chosen].get("Properties") or {})
    resolver = Resolver(template, region=region)
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


def _choose(functions: Mapping[str, Any], globals_: Mapping[str, Any], handler: str | None,
            logical_id: str | None) -> str | None:
    if logical_id is not None:
        if logical_id not in functions:
            raise TemplateSettingsError(
                f"no function {logical_id!r} in the template (functions: "
                f"{', '.join(sorted(functions)) or 'none'})")
        return logical_id
    matching = [key for key, value in functions.items()
                if ((value.get("Properties") or {}).get("Handler") or globals_.get("Handler"))
                == handler]
    if len(matching) == 1:
        return matching[0]
    if len(functions) == 1:
        return next(iter(functions))
    if handler is None:
        return None
    raise TemplateSettingsError(
        f"{len(matching) or 'no'} function(s) of the template have Handler {handler!r}: "
        f"choose one with --function ({', '.join(sorted(functions))})")


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
