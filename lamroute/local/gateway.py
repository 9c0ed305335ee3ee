"""The local gateway's pipeline, free of sockets: HTTP request → event → app → HTTP answer.

Each step is a small method so other features can hook in (``request_hooks`` run between the
event and the invocation, e.g. a local authorizer). Events are built by
:func:`lamroute.testing.make_event`, the factory the TestClient uses.

>>> from lamroute import App
>>> app = App(access_log=False)
>>> @app.get("/hi")
... def hi() -> str:
...     return "hello"
>>> gateway = Gateway(app, GatewayConfig(api="rest"))
>>> gateway.handle(HttpRequest("GET", "/prod/hi")).body    # REST URLs carry the stage
b'hello'
>>> gateway.handle(HttpRequest("GET", "/prod/nowhere")).status
404
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import parse_qsl

from ..logs import printable, redact_text
from ..testing.bodies import delivered_body
from ..testing.events import make_event
from ..testing.gateway_auth import AuthorizerOutcome
from .answers import HttpAnswer, gateway_error, to_http_answer
from .gateway_errors import AUTHORIZER_TYPES, GatewayErrors
from .invocation import InProcess, Outcome

logger = logging.getLogger("lamroute.local")

APIS = ("rest", "http", "url")
INTEGRATIONS = ("proxy", "custom", "custom-text")
"""``proxy``; ``custom``: lamroute's custom (non-proxy) integration (lamroute.local.custom),
binary bodies both ways; ``custom-text``: the same with text-only answers."""
# The integration timeout: 29 s by default for REST and HTTP APIs.
# https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html
DEFAULT_TIMEOUT = 29.0
_HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "upgrade"})
_FORWARDED = frozenset({"x-forwarded-for", "x-forwarded-proto"})

RequestHook = Callable[["HttpRequest", dict[str, Any]], "HttpAnswer | None"]


@dataclass(frozen=True)
class GatewayConfig:
    """What kind of gateway to emulate.

    ``api``: ``"rest"`` (payload 1.0, URLs start with the stage, ``prod`` by default),
    ``"http"`` (payload ``2.0`` or ``1.0``; ``$default`` stage or a named one) or ``"url"``
    (a Function URL). ``timeout`` is the integration timeout in seconds (504 after it);
    ``binary_media_types`` the REST API's setting (``*/*`` as ``lamroute template`` writes it);
    ``integration`` one of :data:`INTEGRATIONS` (REST APIs only for the custom ones);
    ``function_timeout`` the function's own (Lambda's ``Timeout``, ``None``: no other than the
    integration timeout) for an app called in-process (worker processes have their
    :class:`~lamroute.local.function.FunctionConfig`'s).
    """

    api: str = "rest"
    stage: str | None = None
    payload_version: str = "2.0"
    timeout: float = DEFAULT_TIMEOUT
    binary_media_types: tuple[str, ...] = ("*/*",)
    integration: str = "proxy"
    function_timeout: float | None = None

    def __post_init__(self) -> None:
        if self.api not in APIS:
            raise ValueError(f"api must be one of {APIS}, not {self.api!r}")
        if self.integration not in INTEGRATIONS:
            raise ValueError(f"integration must be one of {INTEGRATIONS}")
        if self.integration != "proxy" and self.api != "rest":
            raise ValueError("custom (non-proxy) Lambda integrations exist for REST APIs only")
        if self.payload_version not in ("1.0", "2.0"):
            raise ValueError("payload_version must be '1.0' or '2.0'")
        if self.api == "url" and self.stage not in (None, "$default"):
            raise ValueError("Function URLs have no stages")
        if self.timeout <= 0 or (self.function_timeout is not None
                                 and self.function_timeout <= 0):
            raise ValueError("timeout must be positive")

    @property
    def format(self) -> str:
        """The event factory's name for this gateway's payload."""
        if self.api == "http":
            return "http" if self.payload_version == "2.0" else "http-v1"
        return self.api

    @property
    def stage_name(self) -> str:
        return self.stage or ("prod" if self.api == "rest" else "$default")

    @property
    def prefix(self) -> str:
        """The path prefix every public URL starts with (``/prod``; empty for ``$default``)."""
        return "" if self.stage_name == "$default" else "/" + self.stage_name


@dataclass(frozen=True)
class HttpRequest:
    """One HTTP request as received: ``target`` is the raw path and query string."""

    method: str
    target: str
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    client_ip: str = "127.0.0.1"

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        return next((v for k, v in self.headers if k.lower() == wanted), None)


# The gateway's answer when the integration timeout passes. REST APIs: 504 "Endpoint request
# timed out" (https://repost.aws/knowledge-center/api-gateway-5xx-error). HTTP APIs answer
# 503 {"message":"Service Unavailable"} instead: not in AWS's reference pages, but what captured
# HTTP API answers show (cortexlabs/cortex#1225, serverless/serverless#11222).
_TIMEOUT_ANSWERS = {"rest": (504, "Endpoint request timed out"),
                    "http": (503, "Service Unavailable")}


class Gateway:
    """Emulates one API Gateway stage (or Function URL) in front of one Lambda function.

    ``app`` is called in this process (one container: :class:`~.invocation.InProcess`, its
    cold start measured as ``init_ms`` when the caller timed the import), or is a
    :class:`~lamroute.local.workers.LocalRuntime` whose worker processes run it.
    """

    def __init__(self, app: Callable[[Any, Any], Any], config: GatewayConfig, *,
                 init_ms: float | None = None) -> None:
        self.app = app
        self.config = config
        # A LocalRuntime (worker processes) in place of an in-process app.
        self.runtime: Any = app if hasattr(app, "invoke_event") else None
        self.function: Any = self.runtime or InProcess(
            app, function_timeout=config.function_timeout, init_ms=init_ms)
        self.request_hooks: list[RequestHook] = []
        # The gateway's own refusals and error bodies (gateway responses: --template).
        self.errors = GatewayErrors(api=config.api)
        self.integration_spec: dict[str, Any] | None = None
        """The custom integration's ``x-amazon-apigateway-integration`` (``--template``'s, or
        the one written for the app); ``None``: the one written for the in-process app."""
        self._custom_integration: Any = None

    def handle(self, request: HttpRequest) -> HttpAnswer:
        """The whole pipeline for one request: stage, event, hooks, invocation, answer."""
        raw_path, _, raw_query = request.target.partition("?")
        app_path = self.strip_stage(raw_path)
        if isinstance(app_path, HttpAnswer):
            return app_path
        refused = self.errors.refuse(request, app_path)
        if refused is not None:
            return refused
        event = self.build_event(request, app_path, raw_query)
        for hook in self.request_hooks:
            early = hook(request, event)
            if early is not None:
                return early
        if self.config.integration != "proxy":  # mapping templates around the invocation
            answer: HttpAnswer = self._custom().handle(request, event, loggable(request))
            return answer
        outcome = self.invoke(event)
        answer = self.answer(outcome, request, event)
        answer.cold_start = outcome.cold_start
        return answer

    def _custom(self) -> Any:
        if self._custom_integration is None:
            from .custom import CustomIntegration  # loads the template engine (airspeed)

            self._custom_integration = CustomIntegration(
                self, binary=self.config.integration == "custom", spec=self.integration_spec)
        return self._custom_integration

    def strip_stage(self, raw_path: str) -> str | HttpAnswer:
        """The path after the stage, or the gateway's answer for a URL outside the stage."""
        prefix = self.config.prefix
        if not prefix:
            return raw_path or "/"
        if raw_path == prefix or raw_path.startswith(prefix + "/"):
            return raw_path[len(prefix):] or "/"
        logger.warning("%s is outside the stage: URLs of this %s API start with %s/",
                       printable(raw_path), self.config.api, prefix)
        if self.config.api == "rest":
            return gateway_error(403, "Forbidden")
        return gateway_error(404, "Not Found")

    def build_event(self, request: HttpRequest, app_path: str, raw_query: str) -> dict[str, Any]:
        """The proxy event the service would send for ``request``."""
        fmt = self.config.format
        headers = [(k, v) for k, v in request.headers if k.lower() not in _HOP_BY_HOP]
        cookies: list[str] = []
        if fmt in ("http", "url"):
            # Payload 2.0 moves Cookie headers into the `cookies` list.
            cookies = [part.strip() for k, v in headers if k.lower() == "cookie"
                       for part in v.split(";") if part.strip()]
            headers = [(k, v) for k, v in headers if k.lower() != "cookie"]
        headers = forwarded_headers(headers, request.client_ip)
        event = make_event(
            fmt, request.method, app_path,
            query=parse_qsl(raw_query, keep_blank_values=True), headers=headers,
            body=self.event_body(request), stage=self.config.stage_name if fmt != "url" else None,
            source_ip=request.client_ip,
        )
        if fmt in ("http", "url"):
            event["rawQueryString"] = raw_query  # as the client sent it, not re-encoded
            if cookies:
                event["cookies"] = cookies
        return event

    def event_body(self, request: HttpRequest) -> str | bytes | None:
        """The body as text, or as bytes (the factory base64-encodes those), or ``None``: the
        service's rules, shared with the TestClient (:func:`lamroute.testing.bodies.delivered_body`:
        a REST API by its binary media types, the others by the ``Content-Type``)."""
        return delivered_body(self.config.format, request.body, request.header("content-type"),
                              binary_media_types=self.config.binary_media_types)

    def invoke(self, event: Any) -> Outcome:
        """Invoke the function with ``event`` (in this process or in a worker), waiting at
        most the integration timeout."""
        outcome: Outcome = self.function.invoke_event(event, wait=self.config.timeout)
        return outcome

    def answer(self, outcome: Outcome, request: HttpRequest, event: dict[str, Any]) -> HttpAnswer:
        """Turn the invocation's outcome into the gateway's HTTP answer, loudly on failure."""
        what = loggable(request)
        request_id = event.get("requestContext", {}).get("requestId")
        if outcome.timed_out:
            status, message = _TIMEOUT_ANSWERS.get(self.config.api, _TIMEOUT_ANSWERS["rest"])
            logger.error("!!! %s %s: no answer within the %ss integration timeout; %s answers "
                         "%s %s", status, what, self.config.timeout, self.service, status,
                         message)
            return self.errors.answer("INTEGRATION_TIMEOUT", status, message,
                                      request, request_id=request_id)
        if outcome.failure is not None:
            answer = self.errors.invocation_failed(outcome.failure, request,
                                                   request_id=request_id)
            why = _FAILURE_WORDS.get(outcome.failure, "the invocation failed")
            logger.error("!!! %s %s: %s (%s); %s answers %s\n%s", answer.status, what, why,
                         outcome.error_type, self.service, _said(answer),
                         outcome.trace.rstrip())
            return answer
        done = to_http_answer(self.config.format, outcome.payload,
                              accept=request.header("accept"),
                              binary_media_types=self.config.binary_media_types)
        if done.problems:
            answer = self.errors.invocation_failed("malformed", request, request_id=request_id)
            logger.error("!!! %s %s: the app returned a malformed %s proxy response (%s); %s "
                         "answers %s. Response: %.500r", answer.status, what,
                         self.config.format, "; ".join(done.problems), self.service,
                         _said(answer), outcome.payload)
            return answer
        for warning in done.warnings:
            logger.warning("%s: %s", what, warning)
        if request_id:
            name = "x-amzn-RequestId" if self.config.api == "rest" else "Apigw-Requestid"
            done.answer.headers.append((name, request_id))
        return done.answer

    @property
    def service(self) -> str:
        return "the Function URL" if self.config.api == "url" else "API Gateway"


_FAILURE_WORDS = {
    "throttled": "throttled: every worker is busy (--concurrency)",
    "function": "the function raised an unhandled error",
    "timeout": "the function ran past its timeout and was stopped",
    "crash": "the function's process crashed",
    "memory": "the function ran out of memory",
    "init": "the function failed to initialise (init error)",
}


def _said(answer: HttpAnswer) -> str:
    """The answer's status and body for a log line (a gateway response's body may be long)."""
    return f"{answer.status} {printable(answer.body[:300].decode('utf-8', 'replace'))}"


def forwarded_headers(headers: list[tuple[str, str]], peer: str) -> list[tuple[str, str]]:
    """The headers with ``X-Forwarded-For`` ending in ``peer`` and ``X-Forwarded-Proto`` set.

    The gateway appends the address of the TCP peer it saw to whatever ``X-Forwarded-For`` the
    client sent, and that peer is ``sourceIp``: only the last entry is the gateway's word.
    https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-mapping-template-reference.html#context-variable-reference
    https://repost.aws/questions/QU-xMNlCuTT5m6fL60GYEcgg

    >>> forwarded_headers([("X-Forwarded-For", "6.6.6.6"), ("X-Forwarded-Proto", "https")],
    ...                   "1.2.3.4")
    [('X-Forwarded-For', '6.6.6.6, 1.2.3.4'), ('X-Forwarded-Proto', 'http')]
    """
    claimed = [v.strip() for k, v in headers if k.lower() == "x-forwarded-for" and v.strip()]
    kept = [(k, v) for k, v in headers if k.lower() not in _FORWARDED]
    # The scheme is the one the client really used (plain HTTP here), whatever it claims.
    return [*kept, ("X-Forwarded-For", ", ".join([*claimed, peer])), ("X-Forwarded-Proto", "http")]


def access_line(request: HttpRequest, answer: HttpAnswer, seconds: float) -> str:
    """One access log line: ``127.0.0.1 "GET /prod/notes?token=[REDACTED]" 200 123B 4.1ms``,
    with the cold-start mark at the end when the request started a new execution environment
    (``cold (init 128ms)``, see :class:`~.answers.ColdStart`).

    The request line is the client's: see :func:`loggable`.
    """
    cold = "" if answer.cold_start is None else " " + answer.cold_start.mark
    return (f'{printable(request.client_ip)} "{loggable(request)}" {answer.status} '
            f"{len(answer.body)}B {seconds * 1000:.1f}ms{cold}")


def access_fields(request: HttpRequest, answer: HttpAnswer,
                  seconds: float) -> dict[str, tuple[str, str, int, float, str]]:
    """The access record's ``extra``: what the pretty terminal line shows
    (:func:`lamroute.local.terminal.render_access`), the cold-start mark included."""
    method, _, target = loggable(request).partition(" ")
    cold = "" if answer.cold_start is None else answer.cold_start.mark
    return {"http_access": (method, target, answer.status, seconds, cold)}


def loggable(request: HttpRequest) -> str:
    r"""``METHOD target`` for a terminal: secrets in the query string redacted as in the app's
    JSON logs, control characters escaped (a path may carry ESC sequences that would drive
    the developer's terminal).

    >>> loggable(HttpRequest("GET", "/prod/a\x1b[2J?access_token=abc&q=1"))
    'GET /prod/a\\x1b[2J?access_token=[REDACTED]&q=1'
    """
    path, mark, query = request.target.partition("?")
    return printable(f"{request.method} {path}{mark}{redact_text(query)}")


class Authorizing(Protocol):
    def authorize(self, event: dict[str, Any], format: str) -> AuthorizerOutcome | None: ...


def local_gateway_hook(gate: Authorizing, format: str,
                       errors: GatewayErrors | None = None) -> RequestHook:
    """A ``Gateway.request_hooks`` entry for ``lamroute serve --authorizer``/``--jwt-claims``:
    runs ``gate`` (a ``GatewayAuthorizer``, or ``RouteAuthorizers`` that pick one per route)
    between the event and the invocation, answers refusals itself and says why in the log
    (with ``errors``' gateway responses when it has some)."""
    def hook(request: Any, event: dict[str, Any]) -> HttpAnswer | None:
        outcome = gate.authorize(event, format)
        if outcome is None or outcome.allowed:
            return None
        if outcome.status == 500:
            logger.error("!!! 500: the Lambda authorizer's invocation or answer is unusable (%s); "
                         "API Gateway answers 500", outcome.reason)
        elif outcome.cached:
            logger.warning("%s from the authorizer cache: %s", outcome.status, outcome.reason)
        elif outcome.www_authenticate is not None:
            logger.warning("401 from the JWT authorizer: %s", outcome.reason)
        answer = outcome.proxy_answer()
        headers = list(answer["headers"].items())
        if errors is not None and errors.responses is not None:
            kind = AUTHORIZER_TYPES.get(outcome.error_type or "", "")
            extra = [(k, v) for k, v in headers if k.lower() == "x-amzn-errortype"]
            return errors.answer(kind, outcome.status, outcome.message, request,
                                 request_id=event.get("requestContext", {}).get("requestId"),
                                 message_key=outcome.message_key, headers=extra)
        return HttpAnswer(outcome.status, headers, answer["body"].encode())

    return hook
