"""``lamroute serve --integration custom``: the custom (non-proxy) Lambda integration, locally.

The gateway builds its REST proxy event as usual (stage, headers, authorizer hook); this module
takes what a mapping template can see from it, renders the request template for the request's
``Content-Type`` (no template: the ``passthroughBehavior``), invokes the function with the
result, picks the integration response (a function error's ``errorMessage`` against each
``selectionPattern``, else ``default``), applies its ``responseParameters``, renders its
template and converts the output (``contentHandling``).

The integration is the one ``lamroute template --integration custom`` writes for the app (its
error answers in the app's error formatter's shape, with its CORS headers), or, with
``lamroute serve --template``, the template's own (``x-amazon-apigateway-integration``: its
request templates and content types, passthrough behavior, selection patterns, response
templates and parameters); :func:`check_spec` says what cannot be emulated.

What the gateway answers itself (no request template for the ``Content-Type``, a template
that cannot be applied) goes through the gateway's errors, so ``lamroute serve --template``
answers it with the template's gateway responses (``UNSUPPORTED_MEDIA_TYPE``,
``API_CONFIGURATION_ERROR``), as the deployed API does.

The invocation goes through the gateway's function, in-process or in the local runtime's worker
processes. A failed function (an exception, its own timeout, a crash, out of memory, an init
error) gives the integration response the error document Lambda reports (``errorMessage``,
``errorType``, ``stackTrace``), so the templates answer it as they would on AWS (the SAM
template keeps the function's timeout below the integration's). What Lambda or the gateway
decide without the function (a throttled invocation, the integration timeout) is the gateway's
own answer, as for a proxy integration.
https://docs.aws.amazon.com/lambda/latest/dg/python-exceptions.html
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
from collections.abc import Mapping
from typing import Any, Protocol

from ..deploy.custom_integration import ErrorShape, integration
from .answers import HttpAnswer, matches_media_types, media_type
from .gateway_errors import GatewayErrors, HttpRequest
from .vtl import TemplateError, jsonpath, render

logger = logging.getLogger("lamroute.local")


# What this module needs of lamroute.local.gateway, which imports it (no import back).
class _Request(HttpRequest, Protocol):
    @property
    def body(self) -> bytes: ...


class _Outcome(Protocol):
    payload: Any
    timed_out: bool
    failure: str | None
    cold_start: Any
    def error_payload(self) -> dict[str, Any]: ...


class _Config(Protocol):
    @property
    def binary_media_types(self) -> tuple[str, ...]: ...


class _Gateway(Protocol):
    @property
    def config(self) -> _Config: ...
    @property
    def errors(self) -> GatewayErrors: ...
    def invoke(self, event: Any) -> Any: ...
    def answer(self, outcome: Any, request: Any, event: dict[str, Any]) -> HttpAnswer: ...


class CustomIntegration:
    """One method's ``x-amazon-apigateway-integration`` of type ``aws``, run locally: ``spec``
    (a template's, checked by :func:`check_spec`), else the one lamroute writes for the app
    the gateway calls in-process (``binary``: ``custom``, else ``custom-text``)."""

    def __init__(self, gateway: _Gateway, *, binary: bool = True,
                 spec: Mapping[str, Any] | None = None) -> None:
        self.gateway = gateway
        self.spec = spec if spec is not None else integration(
            "local", binary=binary, shape=ErrorShape.of(getattr(gateway, "app", None)))
        # API Gateway picks a request template by the media type, whatever its case.
        self.templates = {media_type(kind): template for kind, template
                          in (self.spec.get("requestTemplates") or {}).items()}

    def handle(self, request: _Request, event: dict[str, Any], what: str) -> HttpAnswer:
        """``request``'s answer; ``event`` is the REST proxy event the gateway built for it,
        ``what`` names the request in log lines."""
        # A request without Content-Type counts as application/json.
        # https://docs.aws.amazon.com/apigateway/latest/developerguide/integration-passthrough-behaviors.html
        kind = media_type(request.header("content-type")) or "application/json"
        template = self.templates.get(kind)
        request_id = _request_id(event)
        if template is None:
            payload = self._passthrough(request, kind, what, request_id)
            if isinstance(payload, HttpAnswer):
                return payload
        else:
            try:
                rendered = render(template, body=self._input_body(request, kind),
                                  params=_params(event), context=_context(event))
                payload = json.loads(rendered.output)
            except (TemplateError, ValueError) as exc:
                logger.error("!!! 500 %s: the request template does not give JSON (%s); API "
                             "Gateway answers 500 Internal server error", what, exc)
                return self._configuration_error(request, request_id)
        outcome = self.gateway.invoke(payload)
        if outcome.timed_out or outcome.failure == "throttled":  # no function error to map
            answer = self.gateway.answer(outcome, request, event)
        else:
            answer = self.answer(outcome, event, what, request)
        answer.cold_start = outcome.cold_start
        return answer

    def _passthrough(self, request: _Request, kind: str, what: str,
                     request_id: str | None) -> Any:
        """The payload for a request whose ``Content-Type`` has no template, or the gateway's
        answer: ``NEVER`` refuses it (415), ``WHEN_NO_TEMPLATES`` too when there are templates,
        ``WHEN_NO_MATCH`` (API Gateway's default) sends the body unchanged: Lambda takes a JSON
        payload (an empty body is ``{}``) and refuses anything else (a failed invocation, the
        gateway's 500)."""
        behavior = str(self.spec.get("passthroughBehavior") or "WHEN_NO_MATCH").upper()
        if behavior == "NEVER" or (behavior == "WHEN_NO_TEMPLATES" and self.templates):
            logger.warning("415 %s: no request template for Content-Type %s (passthrough "
                           "behavior %s)", what, kind, behavior)
            return self.gateway.errors.answer("UNSUPPORTED_MEDIA_TYPE", 415,
                                              "Unsupported Media Type", request,
                                              request_id=request_id)
        try:
            return json.loads(request.body or b"{}")
        except ValueError:
            logger.error("!!! 500 %s: passthrough (%s) of a body that is not JSON: Lambda "
                         "refuses the payload; API Gateway answers 500", what, behavior)
            return self.gateway.errors.answer("DEFAULT_5XX", 500, "Internal server error",
                                              request, request_id=request_id)

    def _configuration_error(self, request: _Request, request_id: str | None) -> HttpAnswer:
        """A mapping that cannot be applied (API_CONFIGURATION_ERROR: "when base64 decoding
        fails on binary data", among others), the API's 500.
        https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html
        """
        return self.gateway.errors.answer("API_CONFIGURATION_ERROR", 500,
                                          "Internal server error", request,
                                          request_id=request_id)

    def _input_body(self, request: _Request, kind: str) -> str:
        """``$input.body`` under ``contentHandling: CONVERT_TO_TEXT``: a binary payload (its
        Content-Type among the API's binaryMediaTypes) base64-encoded, text as it is."""
        if not request.body:
            return ""
        if request.header("content-type") is not None and matches_media_types(
                kind, self.gateway.config.binary_media_types):
            return base64.b64encode(request.body).decode("ascii")
        return request.body.decode("utf-8", errors="replace")

    def answer(self, outcome: _Outcome, event: dict[str, Any], what: str,
               request: _Request) -> HttpAnswer:
        """The method response for an invocation's ``outcome`` (``request`` for the gateway's
        own 500 when the integration response cannot be applied)."""
        result, error_message = self._result(outcome)
        if error_message is not None:
            logger.error("!!! %s: function error %r", what, error_message[:300])
        chosen = (self.spec.get("responses") or {}).get(self.select(error_message))
        try:
            if chosen is None:
                raise TemplateError("no integration response matches and there is no default")
            headers = _parameters(chosen, result, event)
            template = _response_template(chosen, request.header("accept"))
            rendered = render(template if template is not None else "$input.body",
                              body=result, params=_params(event), context=_context(event))
            body = _convert(rendered.output, chosen.get("contentHandling"))
        except TemplateError as exc:
            logger.error("!!! 500 %s: the integration response cannot be applied (%s); API "
                         "Gateway answers 500 Internal server error", what, exc)
            return self._configuration_error(request, _request_id(event))
        status = rendered.status or int(chosen["statusCode"])
        overridden = {name.lower() for name in rendered.headers}  # overrides are final
        answer = HttpAnswer(status, [*((k, v) for k, v in headers.items()
                                       if k.lower() not in overridden),
                                     *rendered.headers.items()], body)
        if answer.header("content-type") is None:
            answer.headers.append(("Content-Type", "application/json"))
        request_id = _request_id(event)
        if request_id:
            answer.headers.append(("x-amzn-RequestId", request_id))
        return answer

    def select(self, error_message: str | None) -> str:
        """The integration response for an invocation: for a function error, the first whose
        ``selectionPattern`` matches the whole ``errorMessage`` (Java's ``matches``), else
        ``default`` (a successful invocation always gets ``default``)."""
        if error_message is None:
            return "default"
        return next((pattern for pattern in self.spec.get("responses") or {}
                     if pattern != "default" and re.fullmatch(pattern, error_message)),
                    "default")

    def _result(self, outcome: _Outcome) -> tuple[str, str | None]:
        """The invocation result as the integration response payload, and the error message
        when it is a function error."""
        if outcome.failure is not None:
            error = outcome.error_payload()
            message = str(error.get("errorMessage") or error.get("errorType") or "")
            return json.dumps(error), message
        try:
            return json.dumps(outcome.payload), None
        except (TypeError, ValueError) as exc:
            message = f"Unable to marshal response: {exc}"
            return json.dumps({"errorMessage": message, "errorType": "Runtime.MarshalError"}), \
                message


def _request_id(event: Mapping[str, Any]) -> str | None:
    found = (event.get("requestContext") or {}).get("requestId")
    return found if isinstance(found, str) else None


def _response_template(response: Mapping[str, Any], accept: str | None) -> str | None:
    """The integration response's template for the request's ``Accept`` (its first media
    type that has one), else ``application/json``'s, else the first; ``None`` when it has
    none (the integration's output passes through)."""
    templates = {media_type(k): v for k, v in (response.get("responseTemplates") or {}).items()}
    for wanted in (accept or "").split(","):
        if media_type(wanted) in templates:
            return str(templates[media_type(wanted)])
    found = templates.get("application/json", next(iter(templates.values()), None))
    return None if found is None else str(found)


def _parameters(response: Mapping[str, Any], result: str,
                event: Mapping[str, Any]) -> dict[str, str]:
    """The method response headers an integration response's ``responseParameters`` map
    (``'static'``, ``integration.response.body[.path]``, ``context.name``; see
    :func:`check_spec`); a value that is not there sets no header.
    https://docs.aws.amazon.com/apigateway/latest/developerguide/rest-api-parameter-mapping-sources.html
    """
    headers: dict[str, str] = {}
    for key, source in (response.get("responseParameters") or {}).items():
        name, value = str(key)[len(_HEADER):], str(source)
        found: Any
        if len(value) >= 2 and value[0] == value[-1] == "'":
            found = value[1:-1]
        elif value.startswith(_BODY):
            document = json.loads(result) if result else None
            found = jsonpath(document, "$" + value[len(_BODY):])
            found = found if isinstance(found, str) or found is None else json.dumps(found)
        else:
            found = _context(event).get(value[len("context."):])
        if found is not None:
            headers[name] = str(found)
    return headers


_HEADER = "method.response.header."
_BODY = "integration.response.body"
_PASSTHROUGH = ("NEVER", "WHEN_NO_MATCH", "WHEN_NO_TEMPLATES")
_HANDLING = (None, "CONVERT_TO_TEXT", "CONVERT_TO_BINARY")


def check_spec(spec: Mapping[str, Any]) -> None:
    """Raise ``ValueError`` (in a line) for what this module cannot emulate of a custom
    integration: a request ``contentHandling`` other than ``CONVERT_TO_TEXT`` (lamroute's
    request template reads bodies base64-encoded), an unknown passthrough behavior or
    ``contentHandling``, a ``responseParameters`` source other than a static value, the
    integration response's body or a ``$context`` variable."""
    if spec.get("contentHandling") != "CONVERT_TO_TEXT":
        raise ValueError(f"request contentHandling {spec.get('contentHandling')!r}: the local "
                         "gateway emulates CONVERT_TO_TEXT (what lamroute template writes)")
    behavior = str(spec.get("passthroughBehavior") or "WHEN_NO_MATCH").upper()
    if behavior not in _PASSTHROUGH:
        raise ValueError(f"passthroughBehavior {behavior!r} is not one of {_PASSTHROUGH}")
    for pattern, response in (spec.get("responses") or {}).items():
        where = f"integration response {pattern!r}"
        if response.get("contentHandling") not in _HANDLING:
            raise ValueError(f"{where}: contentHandling {response.get('contentHandling')!r}")
        try:
            re.compile(pattern)
            int(response["statusCode"])
        except (re.error, KeyError, TypeError, ValueError):
            raise ValueError(f"{where}: a selection pattern and a statusCode are needed") from None
        for key, source in (response.get("responseParameters") or {}).items():
            value = str(source)
            if not str(key).startswith(_HEADER) or not (
                    (len(value) >= 2 and value[0] == value[-1] == "'")
                    or value == _BODY or value.startswith(_BODY + ".")
                    or value.startswith("context.")):
                raise ValueError(f"{where}: responseParameters {key!r}: {value!r} is not "
                                 "emulated locally (static values, integration.response.body"
                                 "[.path] and context.* are)")


def _convert(output: str, handling: str | None) -> bytes:
    """``CONVERT_TO_BINARY``: the template's output is base64, the client gets its bytes (a
    failed conversion is the gateway's 500); ``CONVERT_TO_TEXT`` or none: UTF-8 text."""
    if handling == "CONVERT_TO_BINARY":
        try:
            return base64.b64decode(output.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise TemplateError("CONVERT_TO_BINARY: the template's output is not base64") from None
    return output.encode("utf-8")


def _params(event: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    """``$input.params()``: one value per name (the last, as ``queryStringParameters``)."""
    return {"path": dict(event.get("pathParameters") or {}),
            "querystring": dict(event.get("queryStringParameters") or {}),
            "header": dict(event.get("headers") or {})}


def _context(event: Mapping[str, Any]) -> dict[str, Any]:
    """``$context``, from the REST proxy event the gateway built (same request id, identity
    and authorizer output). ``$context.path`` carries the stage, as on execute-api."""
    ctx = event.get("requestContext") or {}
    identity = ctx.get("identity") or {}
    return {
        "accountId": ctx.get("accountId"), "apiId": ctx.get("apiId"),
        "authorizer": dict(ctx.get("authorizer") or {}) or None,
        "domainName": ctx.get("domainName"), "domainPrefix": ctx.get("domainPrefix"),
        "extendedRequestId": ctx.get("requestId"), "httpMethod": event.get("httpMethod"),
        "identity": dict(identity), "path": ctx.get("path"), "protocol": ctx.get("protocol"),
        "requestId": ctx.get("requestId"), "requestTime": ctx.get("requestTime"),
        "requestTimeEpoch": ctx.get("requestTimeEpoch"), "resourceId": ctx.get("resourceId"),
        "resourcePath": ctx.get("resourcePath"), "stage": ctx.get("stage"),
    }
