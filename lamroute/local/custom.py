"""``lamroute serve --integration custom``: the custom (non-proxy) Lambda integration, locally.

The gateway builds its REST proxy event as usual (stage, headers, authorizer hook); this module
takes what a mapping template can see from it, renders the request template of
``lamroute.deploy.custom_integration``, invokes the app with the result, picks the integration
response (a function error's ``errorMessage`` against each ``selectionPattern``, else
``default``), renders its template and converts the output (``contentHandling``).

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

from ..deploy.custom_integration import integration
from .answers import HttpAnswer, matches_media_types, media_type
from .gateway_errors import GatewayErrors
from .vtl import TemplateError, render

logger = logging.getLogger("lamroute.local")


# What this module needs of lamroute.local.gateway, which imports it (no import back).
class _Request(Protocol):
    @property
    def method(self) -> str: ...
    @property
    def target(self) -> str: ...
    @property
    def client_ip(self) -> str: ...
    @property
    def body(self) -> bytes: ...
    def header(self, name: str) -> str | None: ...


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
    """One method's ``x-amazon-apigateway-integration`` of type ``aws``, run locally."""

    def __init__(self, gateway: _Gateway, *, binary: bool = True) -> None:
        self.gateway = gateway
        self.spec = integration("local", binary=binary)

    def handle(self, request: _Request, event: dict[str, Any], what: str) -> HttpAnswer:
        """``request``'s answer; ``event`` is the REST proxy event the gateway built for it,
        ``what`` names the request in log lines."""
        kind = media_type(request.header("content-type")) or "application/json"
        template = self.spec["requestTemplates"].get(kind)
        request_id = _request_id(event)
        if template is None:  # passthroughBehavior NEVER: no template, no invocation
            logger.warning("415 %s: no request template for Content-Type %s (passthrough "
                           "behavior NEVER)", what, kind)
            return self.gateway.errors.answer("UNSUPPORTED_MEDIA_TYPE", 415,
                                              "Unsupported Media Type", request,
                                              request_id=request_id)
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
        chosen = self.spec["responses"][self.select(error_message)]
        try:
            rendered = render(chosen["responseTemplates"]["application/json"], body=result,
                              params=_params(event), context=_context(event))
            body = _convert(rendered.output, chosen["contentHandling"])
        except TemplateError as exc:
            logger.error("!!! 500 %s: the integration response cannot be applied (%s); API "
                         "Gateway answers 500 Internal server error", what, exc)
            return self._configuration_error(request, _request_id(event))
        status = rendered.status or int(chosen["statusCode"])
        headers = list(rendered.headers.items())
        if not any(k.lower() == "content-type" for k, _ in headers):
            headers.append(("Content-Type", "application/json"))
        request_id = _request_id(event)
        if request_id:
            headers.append(("x-amzn-RequestId", request_id))
        return HttpAnswer(status, headers, body)

    def select(self, error_message: str | None) -> str:
        """The integration response for an invocation: for a function error, the first whose
        ``selectionPattern`` matches the whole ``errorMessage`` (Java's ``matches``), else
        ``default`` (a successful invocation always gets ``default``)."""
        if error_message is None:
            return "default"
        return next((pattern for pattern in self.spec["responses"] if pattern != "default"
                     and re.fullmatch(pattern, error_message)), "default")

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


def _convert(output: str, handling: str) -> bytes:
    """``CONVERT_TO_BINARY``: the template's output is base64, the client gets its bytes (a
    failed conversion is the gateway's 500); ``CONVERT_TO_TEXT``: UTF-8 text."""
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
