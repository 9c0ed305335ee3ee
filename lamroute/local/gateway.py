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
>>> gateway.handle(HttpRequest("GET", "/prod/hi")).body
b'hello'
>>> gateway.handle(HttpRequest("GET", "/hi")).status       # REST URLs carry the stage
403
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import parse_qsl

from ..logs import printable, redact_text
from ..testing.bodies import delivered_body
from ..testing.client import FakeContext
from ..testing.events import make_event
from ..testing.gateway_auth import AuthorizerOutcome
from .answers import HttpAnswer, gateway_error, to_http_answer
from .gateway_errors import AUTHORIZER_TYPES, GatewayErrors

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
    ``integration`` one of :data:`INTEGRATIONS` (REST APIs only for the custom ones).
    """

    api: str = "rest"
    stage: str | None = None
    payload_version: str = "2.0"
    timeout: float = DEFAULT_TIMEOUT
    binary_media_types: tuple[str, ...] = ("*/*",)
    integration: str = "proxy"

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
        if self.timeout <= 0:
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


@dataclass
class Outcome:
    """How one invocation ended: a payload, an exception, or no answer within the timeout;
    ``cold`` when it was the container's first."""

    payload: Any = None
    error: BaseException | None = None
    trace: str = ""
    timed_out: bool = False
    cold: bool = False


class Gateway:
    """Emulates one API Gateway stage (or Function URL) in front of one Lambda container."""

    def __init__(self, app: Callable[[Any, Any], Any], config: GatewayConfig) -> None:
        self.app = app
        self.config = config
        self.request_hooks: list[RequestHook] = []
        # The gateway's own refusals and error bodies (gateway responses: --template).
        self.errors = GatewayErrors(api=config.api)
        # One container handles one invocation at a time; other requests wait their turn.
        self._lock = threading.Lock()
        self._cold = True  # the app was imported for this container: its first call is cold
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
        answer.cold = outcome.cold
        return answer

    def _custom(self) -> Any:
        if self._custom_integration is None:
            from .custom import CustomIntegration  # loads the template engine (airspeed)

            self._custom_integration = CustomIntegration(
                self, binary=self.config.integration == "custom")
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

    def invoke(self, event: dict[str, Any]) -> Outcome:
        """Call the app in a worker thread, one invocation at a time, within the timeout.

        The timeout counts from the start of the invocation, not from the wait in the queue.
        A timed-out invocation keeps the container busy until it ends, as in Lambda.
        """
        started, done, abandoned = threading.Event(), threading.Event(), threading.Event()
        outcome = Outcome()
        timeout = self.config.timeout

        def run() -> None:
            with self._lock:
                outcome.cold, self._cold = self._cold, False
                started.set()
                begun = time.perf_counter()
                try:
                    context = FakeContext(timeout_ms=int(timeout * 1000),
                                          function_name="lamroute-local")
                    outcome.payload = self.app(event, context)
                except BaseException as exc:  # a crashed invocation, reported by answer()
                    outcome.error, outcome.trace = exc, traceback.format_exc()
                finally:
                    done.set()
                    if abandoned.is_set():
                        logger.warning("the timed-out invocation ended after %.1fs; its answer "
                                       "was dropped", time.perf_counter() - begun)

        threading.Thread(target=run, name="lamroute-invocation", daemon=True).start()
        started.wait()
        if not done.wait(timeout):
            abandoned.set()
            return Outcome(timed_out=True, cold=outcome.cold)
        return outcome

    def answer(self, outcome: Outcome, request: HttpRequest, event: dict[str, Any]) -> HttpAnswer:
        """Turn the invocation's outcome into the gateway's HTTP answer, loudly on failure."""
        what = loggable(request)
        request_id = event.get("requestContext", {}).get("requestId")
        if outcome.timed_out:
            logger.error("!!! 504 %s: no answer within the %ss integration timeout; API Gateway "
                         "answers 504 Endpoint request timed out", what, self.config.timeout)
            return self.errors.answer("INTEGRATION_TIMEOUT", 504, "Endpoint request timed out",
                                      request, request_id=request_id)
        if outcome.error is not None:
            # A failed invocation: API Gateway answers with its generic internal error.
            # https://docs.aws.amazon.com/lambda/latest/dg/services-apigateway-errors.html
            logger.error("!!! 500 %s: the invocation crashed; API Gateway answers 500 Internal "
                         "server error\n%s", what, outcome.trace.rstrip())
            return self.errors.answer("DEFAULT_5XX", 500, "Internal server error", request,
                                      request_id=request_id)
        done = to_http_answer(self.config.format, outcome.payload,
                              accept=request.header("accept"),
                              binary_media_types=self.config.binary_media_types)
        if done.problems:
            logger.error("!!! 502 %s: the app returned a malformed %s proxy response (%s); API "
                         "Gateway answers 502 Internal server error. Response: %.500r", what,
                         self.config.format, "; ".join(done.problems), outcome.payload)
            return self.errors.answer("DEFAULT_5XX", 502, "Internal server error", request,
                                      request_id=request_id)
        for warning in done.warnings:
            logger.warning("%s: %s", what, warning)
        if request_id:
            name = "x-amzn-RequestId" if self.config.api == "rest" else "Apigw-Requestid"
            done.answer.headers.append((name, request_id))
        return done.answer


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
    ``cold`` at the end for a cold start.

    The request line is the client's: see :func:`loggable`.
    """
    return (f'{printable(request.client_ip)} "{loggable(request)}" {answer.status} '
            f"{len(answer.body)}B {seconds * 1000:.1f}ms" + (" cold" if answer.cold else ""))


def access_fields(request: HttpRequest, answer: HttpAnswer,
                  seconds: float) -> dict[str, tuple[str, str, int, float, bool]]:
    """The access record's ``extra``: what the pretty terminal line shows
    (:func:`lamroute.local.terminal.render_access`)."""
    method, _, target = loggable(request).partition(" ")
    return {"http_access": (method, target, answer.status, seconds, answer.cold)}


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
