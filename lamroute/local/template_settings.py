"""What ``lamroute serve --template template.yaml`` reads from a SAM or CloudFormation template.

One read of the file (:mod:`lamroute.local.sam`, the one template reader) gives both halves:

- the API: the REST or HTTP API's kind and stage, the REST API's gateway responses, binary
  media types and Lambda integration (the proxy, or lamroute's custom one), the stage's
  throttling, and the routes the API declares (when no ``ANY /{proxy+}`` catches everything):
  the local gateway then refuses, throttles, invokes and answers its own errors as the
  deployed API will;
- the function (``function``): its ``Timeout``, ``MemorySize``, ``Environment.Variables`` and
  ``LoggingConfig``, which the local runtime's workers (or the in-process app) run with.

YAML templates need PyYAML (CloudFormation's short tags such as ``!Ref`` are read); JSON
templates need nothing.

>>> settings = settings_from({"Resources": {"Api": {"Type": "AWS::Serverless::Api",
...     "Properties": {"StageName": "v1", "MethodSettings": [{"ResourcePath": "/*",
...     "HttpMethod": "*", "ThrottlingRateLimit": 5, "ThrottlingBurstLimit": 2}]}}}})
>>> settings.api, settings.stage, settings.throttle
('rest', 'v1', (5.0, 2))
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..formats import CUSTOM_MARKER
from .gateway_errors import DeclaredRoutes, GatewayErrors, GatewayResponses, Throttle
from .sam import (
    Resolver,
    TemplateFunction,
    TemplateSettingsError,
    parse_template,
    read_function,
    read_template,
)

__all__ = ["TemplateSettings", "TemplateSettingsError", "gateway_errors", "load_template",
           "parse_template", "settings_from"]

REST_TYPES = ("AWS::Serverless::Api", "AWS::ApiGateway::RestApi")
HTTP_TYPES = ("AWS::Serverless::HttpApi", "AWS::ApiGatewayV2::Api")
_ANY = "x-amazon-apigateway-any-method"
_METHODS = ("get", "post", "put", "patch", "delete", "head", "options")


@dataclass(frozen=True)
class TemplateSettings:
    """The API a template deploys, as far as the local gateway emulates it (``api`` is
    ``None`` when the template has no REST or HTTP API, e.g. a WebSocket-only app)."""

    api: str | None = None
    stage: str | None = None
    responses: GatewayResponses | None = None
    routes: tuple[tuple[str, str], ...] | None = None
    throttle: tuple[float, int] | None = None
    binary_media_types: tuple[str, ...] | None = None
    integration: str | None = None
    """``"proxy"``, ``"custom"`` or ``"custom-text"`` (``lamroute serve --integration``);
    ``None`` when the API definition does not say (SAM events: the proxy)."""
    integration_spec: dict[str, Any] | None = None
    """The custom integration the definition's operations share (their
    ``x-amazon-apigateway-integration``: request templates by content type, passthrough
    behavior, integration responses by selection pattern), which the local gateway runs."""
    function: TemplateFunction | None = None
    """The function's settings (``None``: the template has none, or several and no way to
    choose)."""


def gateway_errors(settings: TemplateSettings, *, api: str,
                   throttle: tuple[float, int] | None = None) -> GatewayErrors:
    """The local gateway's refusals for ``settings`` (``throttle`` overrides the template's)."""
    throttle = throttle or settings.throttle
    return GatewayErrors(api=api, responses=settings.responses if api == "rest" else None,
                         routes=DeclaredRoutes(settings.routes) if settings.routes else None,
                         throttle=Throttle(*throttle) if throttle else None)


def load_template(path: str | Path, *, api: str | None = None, handler: str | None = None,
                  function: str | None = None, region: str = "us-east-1") -> TemplateSettings:
    """Read ``path`` (YAML or JSON); ``api`` picks the REST or HTTP API when it has both,
    ``handler`` (``module.attribute``) or ``function`` (a logical id) the function."""
    return settings_from(read_template(str(path)), api=api, handler=handler, function=function,
                         region=region)


def settings_from(template: Mapping[str, Any], *, api: str | None = None,
                  handler: str | None = None, function: str | None = None,
                  region: str = "us-east-1") -> TemplateSettings:
    """The settings of the template's REST or HTTP API (``api`` to choose between them) and of
    its function (see :func:`lamroute.local.sam.read_function`)."""
    spec = read_function(template, handler=handler, logical_id=function, region=region)
    found = _api_settings(template, api, Resolver(template, region=region))
    return replace(found, function=spec)


def _api_settings(template: Mapping[str, Any], api: str | None,
                  resolver: Resolver) -> TemplateSettings:
    resources: Mapping[str, Any] = template.get("Resources") or {}
    found = [(lid, r) for lid, r in resources.items() if isinstance(r, Mapping)
             and _kind(r) in ("rest", "http") and (api is None or _kind(r) == api)]
    kinds = {_kind(r) for _, r in found}
    if len(found) > 1:
        if len(kinds) > 1:
            raise TemplateSettingsError("the template has a REST and an HTTP API: pass --api")
        raise TemplateSettingsError("the template has several APIs of that kind")
    if not found:
        implicit = _implicit_api(resources, api)
        if implicit is None:
            if api is not None and any(_kind(r) for r in resources.values()
                                       if isinstance(r, Mapping)):
                raise TemplateSettingsError(f"the template has no {api.upper()} API")
            return TemplateSettings()
        return implicit
    logical_id, resource = found[0]
    kind = "rest" if _kind(resource) == "rest" else "http"
    props = resource.get("Properties") or {}
    body = props.get("DefinitionBody") or props.get("Body") or {}
    stage_props = _stage_of(resources, logical_id) if "Serverless" not in resource["Type"] \
        else props
    stage = _value(stage_props.get("StageName"), resolver, "StageName")
    routes = list(_body_routes(body)) + list(_event_routes(resources, logical_id))
    responses = None
    binary = None
    if kind == "rest":
        responses = _responses(props, body, resources, logical_id)
        binary = _binary(props, body) or ()  # none declared: the API has none
    integration, spec = _integration(body)
    return TemplateSettings(api=kind, stage=stage, responses=responses,
                            routes=_declared(routes), throttle=_throttle(stage_props, kind),
                            binary_media_types=binary, integration=integration,
                            integration_spec=spec)


def _kind(resource: Mapping[str, Any]) -> str | None:
    kind = resource.get("Type")
    if kind in REST_TYPES:
        return "rest"
    if kind == "AWS::Serverless::HttpApi":
        return "http"
    if kind == "AWS::ApiGatewayV2::Api":
        protocol = (resource.get("Properties") or {}).get("ProtocolType")
        return "http" if protocol == "HTTP" else None
    return None


def _implicit_api(resources: Mapping[str, Any], api: str | None) -> TemplateSettings | None:
    """SAM's implicit API (events without ``RestApiId``/``ApiId``): stage ``Prod``/``$default``."""
    for kind, event_type in (("rest", "Api"), ("http", "HttpApi")):
        if api not in (None, kind):
            continue
        routes = list(_event_routes(resources, None, event_type))
        if routes:
            stage = "Prod" if kind == "rest" else "$default"
            return TemplateSettings(api=kind, stage=stage, routes=_declared(routes),
                                    binary_media_types=() if kind == "rest" else None)
    return None


def _stage_of(resources: Mapping[str, Any], api_id: str) -> Mapping[str, Any]:
    for resource in resources.values():
        if isinstance(resource, Mapping) and resource.get("Type") in (
                "AWS::ApiGateway::Stage", "AWS::ApiGatewayV2::Stage"):
            props = resource.get("Properties") or {}
            ref = props.get("RestApiId") or props.get("ApiId")
            if ref == {"Ref": api_id}:
                return props
    return {}


def _value(value: Any, resolver: Resolver, what: str) -> str | None:
    if value is None:
        return None
    found = resolver.value(value)
    if found is None:
        raise TemplateSettingsError(f"{what} {value!r} cannot be resolved locally: pass it on "
                                    "the command line")
    return found


def _body_routes(body: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    for path, item in (body.get("paths") or {}).items():
        if not isinstance(item, Mapping):
            continue
        for key in item:
            if key == _ANY:
                yield path, "ANY"
            elif key in _METHODS:
                yield path, key.upper()


def _event_routes(resources: Mapping[str, Any], api_id: str | None,
                  event_type: str | None = None) -> Iterator[tuple[str, str]]:
    """Routes from SAM function events that attach to ``api_id`` (``None``: the implicit API)."""
    for resource in resources.values():
        if not isinstance(resource, Mapping) or resource.get("Type") != (
                "AWS::Serverless::Function"):
            continue
        for event in ((resource.get("Properties") or {}).get("Events") or {}).values():
            if event_type is not None and event.get("Type") != event_type:
                continue
            if event.get("Type") not in ("Api", "HttpApi"):
                continue
            props = event.get("Properties") or {}
            ref = props.get("RestApiId") or props.get("ApiId")
            attached = (api_id is None and ref is None) or ref == {"Ref": api_id}
            if attached and "Path" in props:
                method = str(props.get("Method", "ANY")).upper()
                yield props["Path"], "ANY" if method in ("ANY", "X-AMAZON-APIGATEWAY-ANY-"
                                                         "METHOD") else method


def _integration(body: Mapping[str, Any]) -> tuple[str | None, dict[str, Any] | None]:
    """The Lambda integration of the definition's operations: the proxy (``aws_proxy``) or
    lamroute's custom one (``aws``, whose request template writes lamroute's marker), in
    binary or text mode, and the custom one's spec (what the gateway runs of it); any other
    one, or custom integrations that differ between operations, cannot be emulated."""
    found: set[str] = set()
    specs: dict[str, dict[str, Any]] = {}
    for item in (body.get("paths") or {}).values():
        for key, operation in (item.items() if isinstance(item, Mapping) else ()):
            spec = operation.get("x-amazon-apigateway-integration") if isinstance(
                operation, Mapping) and (key == _ANY or key in _METHODS) else None
            if isinstance(spec, Mapping):
                kind = _integration_kind(spec)
                found.add(kind)
                if kind != "proxy":
                    run = {k: spec[k] for k in _RUN if k in spec}
                    specs.setdefault(json.dumps(run, sort_keys=True, default=str), run)
    if len(found) > 1:
        raise TemplateSettingsError(f"the API mixes integrations ({', '.join(sorted(found))}): "
                                    "the local gateway runs one")
    if len(specs) > 1:
        raise TemplateSettingsError("the operations' custom integrations differ (request "
                                    "templates, passthrough or integration responses): the "
                                    "local gateway runs one for every route")
    if not specs:
        return (found.pop() if found else None), None
    from .custom import check_spec  # the module that runs them says what it cannot

    (spec,) = specs.values()
    try:
        check_spec(spec)
    except ValueError as exc:
        raise TemplateSettingsError(f"the custom integration: {exc}") from None
    return found.pop(), spec


# What the local gateway runs of a custom integration (not its uri, timeout or credentials).
_RUN = ("requestTemplates", "passthroughBehavior", "contentHandling", "responses")


def _integration_kind(spec: Mapping[str, Any]) -> str:
    kind = spec.get("type")
    if kind == "aws_proxy":
        return "proxy"
    templates = spec.get("requestTemplates") or {}
    if kind == "aws" and any(f'"lamroute": "{CUSTOM_MARKER}"' in str(t)
                             for t in templates.values()):
        # Binary answers (`custom`) when the default response, which applies the app's
        # answers, turns the base64 lamroute sends back into bytes.
        default = (spec.get("responses") or {}).get("default")
        handling = default.get("contentHandling") if isinstance(default, Mapping) else None
        return "custom" if handling == "CONVERT_TO_BINARY" else "custom-text"
    raise TemplateSettingsError(f"an integration of type {kind!r} that is not lamroute's: the "
                                "local gateway runs Lambda proxy integrations and lamroute's "
                                "custom one")


def _declared(routes: list[tuple[str, str]]) -> tuple[tuple[str, str], ...] | None:
    """The declared routes, or ``None`` when ``ANY /{proxy+}`` (with ``ANY /``) takes all."""
    if not routes or ("/{proxy+}", "ANY") in routes:
        return None
    return tuple(sorted(set(routes)))


def _responses(props: Mapping[str, Any], body: Mapping[str, Any], resources: Mapping[str, Any],
               api_id: str) -> GatewayResponses | None:
    found: dict[str, Any] = {}
    extension = body.get("x-amazon-apigateway-gateway-responses") or {}
    found.update(GatewayResponses.from_definition(extension).responses)
    found.update(GatewayResponses.from_sam(props.get("GatewayResponses") or {}).responses)
    for resource in resources.values():
        if isinstance(resource, Mapping) and resource.get("Type") == (
                "AWS::ApiGateway::GatewayResponse"):
            spec = resource.get("Properties") or {}
            if spec.get("RestApiId") == {"Ref": api_id} and spec.get("ResponseType"):
                found.update(GatewayResponses.from_definition(
                    {spec["ResponseType"]: spec}).responses)
    return GatewayResponses(found) if found else None


def _binary(props: Mapping[str, Any], body: Mapping[str, Any]) -> tuple[str, ...] | None:
    values = props.get("BinaryMediaTypes") or body.get("x-amazon-apigateway-binary-media-types")
    if not values:
        return None
    return tuple(str(v).replace("~1", "/") for v in values)


def _throttle(props: Mapping[str, Any], kind: str) -> tuple[float, int] | None:
    if kind == "rest":
        settings = next((s for s in props.get("MethodSettings") or ()
                         if s.get("ResourcePath") == "/*" and s.get("HttpMethod") == "*"), None)
    else:
        settings = props.get("DefaultRouteSettings")
    if not settings or "ThrottlingRateLimit" not in settings:
        return None
    rate = float(settings["ThrottlingRateLimit"])
    return rate, int(settings.get("ThrottlingBurstLimit", max(1, int(rate))))
