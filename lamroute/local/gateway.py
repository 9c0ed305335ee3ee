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
from typing import Any
from urllib.parse import parse_qsl

from ..logs import printable, redact_text
from ..testing.client import FakeContext
from ..testing.events import make_event
from ..testing.gateway_auth import GatewayAuthorizer
from .answers import HttpAnswer, gateway_error, is_text_type, matches_media_types, to_http_answer
from .failures import failure_answer

logger = logging.getLogger("lamroute.local")

APIS = ("rest", "http", "url")
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
    ``function_timeout`` the function's own (Lambda's ``Timeout``; in-process, an invocation
    still running then is a failed function, though its thread cannot be stopped).
    """

    api: str = "rest"
    stage: str | None = None
    payload_version: str = "2.0"
    timeout: float = DEFAULT_TIMEOUT
    binary_media_types: tuple[str, ...] = ("*/*",)
    function_timeout: float | None = None

    def __post_init__(self) -> None:
        if self.api not in APIS:
            raise ValueError(f"api must be one of {APIS}, not {self.api!r}")
        if self.payload_version not in ("1.0", "2.0"):
            raise ValueError("payload_version must be '1.0' or '2.0'")
        if self.api == "url" and self.stage not in (None, "$default"):
            raise ValueError("Function URLs have no stages")
        if self.timeout <= 0 or (self.function_timeout or 1) <= 0:
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
    """How one invocation ended: a payload, an exception, or no answer within the timeout.

    ``failure`` names a failed invocation (see :mod:`lamroute.local.failures`): ``throttled``,
    ``function`` (an unhandled error), ``timeout``, ``crash``, ``memory`` or ``init``, with the
    runtime's ``error_type`` and ``trace``. ``cold_start_ms`` is the init duration when the
    invocation started a new execution environment.
    """

    payload: Any = None
    error: BaseException | None = None
    trace: str = ""
    timed_out: bool = False
    failure: str | None = None
    error_type: str = ""
    cold_start_ms: float | None = None


class Gateway:
    """Emulates one API Gateway stage (or Function URL) in front of one Lambda container."""

    def __init__(self, app: Callable[[Any, Any], Any], config: GatewayConfig) -> None:
        self.app = app
        self.config = config
        # A LocalRuntime (worker processes) in place of an in-process app.
        self.runtime: Any = app if hasattr(app, "invoke_event") else None
        self.request_hooks: list[RequestHook] = []
        # One container handles one invocation at a time; other requests wait their turn.
        self._lock = threading.Lock()

    def handle(self, request: HttpRequest) -> HttpAnswer:
        """The whole pipeline for one request: stage, event, hooks, invocation, answer."""
        raw_path, _, raw_query = request.target.partition("?")
        app_path = self.strip_stage(raw_path)
        if isinstance(app_path, HttpAnswer):
            return app_path
        event = self.build_event(request, app_path, raw_query)
        for hook in self.request_hooks:
            early = hook(request, event)
            if early is not None:
                return early
        outcome = self.invoke(event)
        return self.answer(outcome, request, event)

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
        """The body as text, or as bytes (the factory base64-encodes those), or ``None``."""
        if not request.body:
            return None
        content_type = request.header("content-type")
        if self.config.api == "rest":
            # REST APIs base64-encode a body whose Content-Type is a binary media type, and
            # pass any other as (UTF-8) text.
            if matches_media_types(content_type, self.config.binary_media_types):
                return request.body
            return request.body.decode("utf-8", errors="replace")
        if is_text_type(content_type):
            try:
                return request.body.decode("utf-8")
            except UnicodeDecodeError:
                pass
        return request.body

    def invoke(self, event: dict[str, Any]) -> Outcome:
        """Call the app in a worker thread, one invocation at a time, within the timeout.

        The timeout counts from the start of the invocation, not from the wait in the queue.
        A timed-out invocation keeps the container busy until it ends, as in Lambda.
        """
        if self.runtime is not None:
            return self.runtime.invoke_event(event, wait=self.config.timeout)  # type: ignore[no-any-return]
        started, done, abandoned = threading.Event(), threading.Event(), threading.Event()
        outcome = Outcome()
        timeout = self.config.timeout
        function_timeout = self.config.function_timeout or timeout

        def run() -> None:
            with self._lock:
                started.set()
                begun = time.perf_counter()
                try:
                    context = FakeContext(timeout_ms=int(function_timeout * 1000),
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
        if not done.wait(min(timeout, function_timeout)):
            abandoned.set()
            if function_timeout < timeout:  # the function's own timeout came first
                return Outcome(failure="timeout", error_type="Sandbox.Timedout",
                               trace=f"Task timed out after {function_timeout:.2f} seconds")
            return Outcome(timed_out=True)
        if outcome.error is not None:
            outcome.failure, outcome.error_type = "function", type(outcome.error).__name__
        return outcome

    def answer(self, outcome: Outcome, request: HttpRequest, event: dict[str, Any]) -> HttpAnswer:
        """Turn the invocation's outcome into the gateway's HTTP answer, loudly on failure."""
        what = loggable(request)
        if outcome.timed_out:
            logger.error("!!! 504 %s: no answer within the %ss integration timeout; API Gateway "
                         "answers 504 Endpoint request timed out", what, self.config.timeout)
            return gateway_error(504, "Endpoint request timed out")
        if outcome.failure is not None:
            return self.failed(outcome, what)
        done = to_http_answer(self.config.format, outcome.payload,
                              accept=request.header("accept"),
                              binary_media_types=self.config.binary_media_types)
        if done.problems:
            done.answer = failure_answer(self.config.api, "malformed")
            logger.error("!!! %s %s: the app returned a malformed %s proxy response (%s); %s "
                         "answers %s. Response: %.500r", done.answer.status, what,
                         self.config.format, "; ".join(done.problems), self.service,
                         _said(done.answer), outcome.payload)
        for warning in done.warnings:
            logger.warning("%s: %s", what, warning)
        request_id = event.get("requestContext", {}).get("requestId")
        if request_id:
            name = "x-amzn-RequestId" if self.config.api == "rest" else "Apigw-Requestid"
            done.answer.headers.append((name, request_id))
        done.answer.cold_start_ms = outcome.cold_start_ms
        return done.answer

    @property
    def service(self) -> str:
        return "the Function URL" if self.config.api == "url" else "API Gateway"

    def failed(self, outcome: Outcome, what: str) -> HttpAnswer:
        """The gateway's answer to a throttled or failed invocation, said loudly in the log.

        https://docs.aws.amazon.com/lambda/latest/dg/services-apigateway-errors.html
        """
        kind = "throttled" if outcome.failure == "throttled" else "function"
        answer = failure_answer(self.config.api, kind)
        answer.cold_start_ms = outcome.cold_start_ms
        why = _FAILURE_WORDS.get(outcome.failure or "", "the invocation failed")
        logger.error("!!! %s %s: %s (%s); %s answers %s\n%s", answer.status, what, why,
                     outcome.error_type, self.service, _said(answer), outcome.trace.rstrip())
        return answer


_FAILURE_WORDS = {
    "throttled": "throttled: every worker is busy",
    "function": "the function raised an unhandled error",
    "timeout": "the function ran past its timeout and was stopped",
    "crash": "the function's process crashed",
    "memory": "the function ran out of memory",
    "init": "the function failed to initialise (init error)",
}


def _said(answer: HttpAnswer) -> str:
    return f"{answer.status} {answer.body.decode()}"


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
    followed by ``(cold start, init 120ms)`` when the request started a new worker.

    The request line is the client's: see :func:`loggable`.
    """
    init = answer.cold_start_ms
    cold = "" if init is None else f" (cold start, init {init:.0f}ms)"
    return (f'{printable(request.client_ip)} "{loggable(request)}" {answer.status} '
            f"{len(answer.body)}B {seconds * 1000:.1f}ms{cold}")


def loggable(request: HttpRequest) -> str:
    r"""``METHOD target`` for a terminal: secrets in the query string redacted as in the app's
    JSON logs, control characters escaped (a path may carry ESC sequences that would drive
    the developer's terminal).

    >>> loggable(HttpRequest("GET", "/prod/a\x1b[2J?access_token=abc&q=1"))
    'GET /prod/a\\x1b[2J?access_token=[REDACTED]&q=1'
    """
    path, mark, query = request.target.partition("?")
    return printable(f"{request.method} {path}{mark}{redact_text(query)}")


def local_gateway_hook(gate: GatewayAuthorizer, format: str) -> RequestHook:
    """A ``Gateway.request_hooks`` entry for ``lamroute serve --authorizer``: runs ``gate``
    between the event and the invocation, answers refusals itself and says why in the log."""
    def hook(request: Any, event: dict[str, Any]) -> HttpAnswer | None:
        outcome = gate.authorize(event, format)
        if outcome.allowed:
            return None
        if outcome.status == 500:
            logger.error("!!! 500: the Lambda authorizer's invocation or answer is unusable (%s); "
                         "API Gateway answers 500", outcome.reason)
        elif outcome.cached:
            logger.warning("%s from the authorizer cache: %s", outcome.status, outcome.reason)
        answer = outcome.proxy_answer()
        return HttpAnswer(outcome.status, list(answer["headers"].items()),
                          answer["body"].encode())

    return hook
