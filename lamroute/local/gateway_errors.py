"""The local gateway's own refusals: throttling, undeclared routes, and the bodies of every
error the gateway answers itself, shaped by a REST API's gateway responses when it has some.

Without a template the answers are API Gateway's defaults (``{"message": "..."}``). With
``lamroute serve --template template.yaml`` (see :mod:`lamroute.local.template_settings`) they
are what the template's gateway responses say, rendered as API Gateway renders them: the status,
header mappings (``'static'`` values and ``method.request.header.*``) and the body template with
``$context`` variables substituted (no VTL).
https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-gatewayResponse-definition.html

>>> from lamroute.local.gateway import HttpRequest
>>> errors = GatewayErrors(responses=GatewayResponses({"THROTTLED": GatewayResponse(
...     429, {"Content-Type": "'application/problem+json'"},
...     {"application/json": '{"detail": $context.error.messageString}'})}))
>>> answer = errors.answer("THROTTLED", 429, "Too Many Requests", HttpRequest("GET", "/prod/x"))
>>> answer.status, answer.body, answer.header("content-type")
(429, b'{"detail": "Too Many Requests"}', 'application/problem+json')
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..routing.table import RouteTable
from .answers import HttpAnswer, gateway_error
from .failures import failure_status

logger = logging.getLogger("lamroute.local")

_VARIABLE = re.compile(r"\$(?:\{context\.([A-Za-z0-9_.]+)\}|context\.([A-Za-z0-9_.]+))")
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
# What the gateway's own answers say by default (the message of each type).
AUTHORIZER_TYPES = {"UnauthorizedException": "UNAUTHORIZED",
                    "AccessDeniedException": "ACCESS_DENIED",
                    "AuthorizerConfigurationException": "AUTHORIZER_CONFIGURATION_ERROR"}


class HttpRequest(Protocol):
    """What these answers read of a request (:class:`lamroute.local.gateway.HttpRequest`)."""

    @property
    def method(self) -> str: ...
    @property
    def target(self) -> str: ...
    @property
    def client_ip(self) -> str: ...
    def header(self, name: str) -> str | None: ...


@dataclass(frozen=True)
class GatewayResponse:
    """One gateway response: its status (``None`` keeps the error's own), header mappings
    (``{"Access-Control-Allow-Origin": "method.request.header.Origin"}``) and body templates by
    content type."""

    status: int | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    templates: Mapping[str, str] = field(default_factory=dict)


class GatewayResponses:
    """A REST API's gateway responses by type (``THROTTLED``, ``DEFAULT_4XX``...)."""

    def __init__(self, responses: Mapping[str, GatewayResponse]) -> None:
        self.responses = dict(responses)

    @classmethod
    def from_sam(cls, value: Mapping[str, Any]) -> GatewayResponses:
        """From SAM's ``GatewayResponses`` property (``ResponseParameters.Headers``)."""
        found = {}
        for kind, spec in value.items():
            headers = dict((spec.get("ResponseParameters") or {}).get("Headers") or {})
            found[kind] = GatewayResponse(_status(spec.get("StatusCode")), headers,
                                          dict(spec.get("ResponseTemplates") or {}))
        return cls(found)

    @classmethod
    def from_definition(cls, value: Mapping[str, Any]) -> GatewayResponses:
        """From ``x-amazon-apigateway-gateway-responses`` or ``AWS::ApiGateway::GatewayResponse``
        properties (``gatewayresponse.header.*`` parameters), by type."""
        found = {}
        for kind, spec in value.items():
            status = spec.get("statusCode", spec.get("StatusCode"))
            parameters = spec.get("responseParameters") or spec.get("ResponseParameters") or {}
            templates = spec.get("responseTemplates") or spec.get("ResponseTemplates") or {}
            headers = {key[len("gatewayresponse.header."):]: v for key, v in parameters.items()
                       if key.startswith("gatewayresponse.header.")}
            found[kind] = GatewayResponse(_status(status), headers, dict(templates))
        return cls(found)

    def find(self, kind: str, status: int) -> GatewayResponse | None:
        """The response for ``kind``, else the DEFAULT_4XX/DEFAULT_5XX of its status class."""
        found = self.responses.get(kind)
        if found is None and status >= 400:
            found = self.responses.get("DEFAULT_5XX" if status >= 500 else "DEFAULT_4XX")
        return found


class Throttle:
    """A token bucket: ``rate`` requests per second, bursts of ``burst`` (a stage's throttling).
    https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-request-throttling.html
    """

    def __init__(self, rate: float, burst: int) -> None:
        if rate < 0 or burst < 0:
            raise ValueError("throttling rate and burst are >= 0")
        self.rate, self.burst = float(rate), int(burst)
        self._tokens = float(burst)
        self._last = time.monotonic()
        self._lock = threading.Lock()

    def allow(self) -> bool:
        with self._lock:
            now = time.monotonic()
            self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
            self._last = now
            if self._tokens >= 1:
                self._tokens -= 1
                return True
            return False


class DeclaredRoutes:
    """The routes an API declares (``--per-route`` templates): a request none of them matches
    is refused by the gateway without invoking the function."""

    def __init__(self, routes: Iterable[tuple[str, str]]) -> None:
        self.table: RouteTable[bool] = RouteTable()
        by_path: dict[str, set[str]] = {}
        for path, method in routes:
            methods = METHODS if method.upper() == "ANY" else (method.upper(),)
            by_path.setdefault(path, set()).update(methods)
        for path, declared in by_path.items():
            self.table.add(path, sorted(declared), True)

    def declares(self, method: str, path: str) -> bool:
        return self.table.match(method, path, path if "%" in path else None).status == 200


@dataclass
class GatewayErrors:
    """How the gateway answers what it refuses itself (see the module's docstring)."""

    api: str = "rest"
    responses: GatewayResponses | None = None
    routes: DeclaredRoutes | None = None
    throttle: Throttle | None = None

    def refuse(self, request: HttpRequest, app_path: str) -> HttpAnswer | None:
        """The answer to a request the gateway refuses before the function, else ``None``."""
        if self.throttle is not None and not self.throttle.allow():
            logger.warning("429 %s %s: over the stage's throttling limits (rate %g/s, burst "
                           "%d)", request.method, app_path, self.throttle.rate,
                           self.throttle.burst)
            return self.answer("THROTTLED", 429, "Too Many Requests", request)
        if self.routes is not None and not self.routes.declares(request.method, app_path):
            if self.api != "rest":
                # https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-routes.html
                return gateway_error(404, "Not Found")
            return self.answer("MISSING_AUTHENTICATION_TOKEN", 403,
                               "Missing Authentication Token", request)
        return None

    def answer(self, kind: str, status: int, message: str | None, request: HttpRequest, *,
               request_id: str | None = None, message_key: str = "message",
               headers: Iterable[tuple[str, str]] = ()) -> HttpAnswer:
        """The gateway's answer of type ``kind`` (default ``status`` and ``message``)."""
        response = self.responses.find(kind, status) if self.responses is not None else None
        request_id = request_id or str(uuid.uuid4())
        if response is None:
            # HTTP APIs write their bodies without spaces ({"message":"Internal Server
            # Error"}), REST APIs with ({"message": "Internal server error"}).
            separators = (",", ":") if self.api == "http" else (", ", ": ")
            body = json.dumps({message_key: message}, separators=separators).encode()
            answer = HttpAnswer(status, [("Content-Type", "application/json"), *headers], body)
        else:
            answer = self._render(response, kind, status, message, request, request_id)
            answer.headers.extend(headers)
        if self.api == "rest":
            answer.headers.append(("x-amzn-RequestId", request_id))
        return answer

    def invocation_failed(self, failure: str, request: HttpRequest, *,
                          request_id: str | None = None) -> HttpAnswer:
        """The gateway's answer to an invocation that failed as ``failure`` (see
        :data:`lamroute.local.failures.FAILURES`): AWS's status for this API and failure
        (a REST API's 502 for a failed function, 500 for a throttled one...), with API
        Gateway's default body, or the ``DEFAULT_5XX`` gateway response of the template the
        gateway is served from (its body, and its status when it sets one, as on AWS). The
        one decision point for failed invocations, in-process and in worker processes.
        https://docs.aws.amazon.com/lambda/latest/dg/services-apigateway-errors.html
        """
        status, message = failure_status(self.api, failure)
        return self.answer("DEFAULT_5XX", status, message, request, request_id=request_id)

    def _render(self, response: GatewayResponse, kind: str, status: int, message: str | None,
                request: HttpRequest, request_id: str) -> HttpAnswer:
        context = {
            "requestId": request_id, "path": request.target.partition("?")[0],
            "httpMethod": request.method, "error.responseType": kind,
            "error.message": message if message is not None else "",
            "error.messageString": json.dumps(message),
            "identity.sourceIp": request.client_ip,
        }
        templates = response.templates
        template = templates.get("application/json")
        if template is None and templates:
            template = next(iter(templates.values()))
        body = _substitute(template or "", context)
        headers: list[tuple[str, str]] = []
        for name, mapping in response.headers.items():
            value = _header_value(mapping, request)
            if value is not None:
                headers.append((name, value))
        if not any(name.lower() == "content-type" for name, _ in headers):
            headers.append(("Content-Type", "application/json"))
        return HttpAnswer(response.status or status, headers, body.encode())


def _substitute(template: str, context: Mapping[str, str]) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        if name not in context:
            logger.warning("gateway response: $context.%s is not emulated locally (empty)", name)
            return ""
        return context[name]

    return _VARIABLE.sub(replace, template)


def _header_value(mapping: str, request: HttpRequest) -> str | None:
    """A header mapping's value: ``'static'``, or a request header/query value."""
    mapping = str(mapping).strip()
    if len(mapping) >= 2 and mapping[0] == mapping[-1] == "'":
        return mapping[1:-1]
    if mapping.lower().startswith("method.request.header."):
        return request.header(mapping[len("method.request.header."):])
    if mapping.startswith("method.request.querystring."):
        from urllib.parse import parse_qsl

        wanted = mapping[len("method.request.querystring."):]
        query = parse_qsl(request.target.partition("?")[2], keep_blank_values=True)
        return next((v for k, v in query if k == wanted), None)
    logger.warning("gateway response: header mapping %r is not emulated locally", mapping)
    return None


def _status(value: Any) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(str(value))
    except ValueError:
        raise ValueError(f"gateway response status {value!r} is not a number") from None
