"""The local gateway's HTTP server: stdlib ``http.server`` on 127.0.0.1 in front of a Gateway.

Startable in-process (tests use ``port=0`` for an ephemeral port and always stop it):

>>> from lamroute import App
>>> with LocalGateway(App(access_log=False), api="http", port=0) as server:
...     server.url.startswith("http://127.0.0.1:")
True
"""

from __future__ import annotations

import logging
import re
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from ..logs import printable
from .answers import HttpAnswer, gateway_error
from .gateway import (
    DEFAULT_TIMEOUT,
    Gateway,
    GatewayConfig,
    HttpRequest,
    access_fields,
    access_line,
    loggable,
    logger,
)

HOST = "127.0.0.1"
# API Gateway's payload quota for a request: 10 MB.
# https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html
MAX_BODY = 10 * 1024 * 1024
# Body framing is read as strictly as RFC 9112 §6-7 allows: a front end that reads a body one way
# while the server behind it reads it another is how requests are smuggled.
# https://www.rfc-editor.org/rfc/rfc9112#section-6.3
_DECIMAL = re.compile(r"[0-9]+")  # not int(): it takes "+5", " 5", "0_5" and non-ASCII digits
_HEX = re.compile(rb"[0-9A-Fa-f]+")  # not int(x, 16): it takes "-1", "0x5", "+5" and "5_0"
MAX_LINE = 4096  # one chunk-size or trailer line
MAX_TRAILERS = 64
STOP_WAIT = 5.0  # seconds stop() waits for requests still being answered


class FramingError(ValueError):
    """The request body's framing is malformed or ambiguous: a 400, and the connection closed."""


ConnectionHook = Callable[[BaseHTTPRequestHandler], bool]


class _InFlight:
    """The requests being answered, so that :meth:`LocalGateway.stop` can wait for them: a
    request thread (a daemon, which ``server_close`` does not join) must not write its access
    line after the server was stopped, into a log its owner may have closed since."""

    def __init__(self) -> None:
        self._count = 0
        self._idle = threading.Condition()

    def __enter__(self) -> None:
        with self._idle:
            self._count += 1

    def __exit__(self, *exc_info: object) -> None:
        with self._idle:
            self._count -= 1
            if not self._count:
                self._idle.notify_all()

    def wait(self, timeout: float) -> bool:
        """Wait until no request is being answered (at most ``timeout`` seconds)."""
        with self._idle:
            return self._idle.wait_for(lambda: not self._count, timeout)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # concurrent clients wait in the backlog, not refused
    gateway: Gateway
    connection_hooks: list[ConnectionHook]
    in_flight: _InFlight


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body leave in separate writes: no 40 ms stall
    server: _Server

    def _serve(self) -> None:
        for hook in self.server.connection_hooks:
            if hook(self):  # the hook answered (e.g. took over a WebSocket upgrade)
                return
        with self.server.in_flight:
            started = time.perf_counter()
            request, answer = self._answer()
            self._reply(answer, head=self.command == "HEAD")
            seconds = time.perf_counter() - started
            logger.info("%s", access_line(request, answer, seconds),
                        extra=access_fields(request, answer, seconds))

    def _answer(self) -> tuple[HttpRequest, HttpAnswer]:
        """Read the body and invoke; a body refused (400 bad framing, 413 too long) gets the
        gateway's answer, the connection closed, and the same one access line."""
        try:
            body = self._read_body()
        except ValueError as exc:  # a FramingError: its message holds no client data
            self.close_connection = True
            return (HttpRequest(self.command, self.path, client_ip=self.client_address[0]),
                    gateway_error(400, str(exc)))
        request = HttpRequest(self.command, self.path, list(self.headers.items()), body or b"",
                              self.client_address[0])
        if body is None:  # the template's REQUEST_TOO_LARGE gateway response, when it has one
            self.close_connection = True
            return request, self.server.gateway.errors.answer("REQUEST_TOO_LARGE", 413,
                                                              "Request Too Long", request)
        return request, self._invoke(request)

    def _invoke(self, request: HttpRequest) -> HttpAnswer:
        try:
            return self.server.gateway.handle(request)
        except Exception:  # a local gateway bug must not look like an app failure
            logger.exception("the local gateway failed on %s", loggable(request))
            return gateway_error(500, "Internal server error")

    def _read_body(self) -> bytes | None:
        """The body, ``None`` past :data:`MAX_BODY`; :class:`FramingError` unless one framing
        is given unambiguously (RFC 9112 §6.3: both headers, a repeated or non-decimal
        ``Content-Length``, a coding other than ``chunked``, or a short body are refused)."""
        encodings = self.headers.get_all("Transfer-Encoding") or []
        lengths = self.headers.get_all("Content-Length") or []
        if encodings and lengths:
            raise FramingError("Both Content-Length and Transfer-Encoding")
        if encodings:
            if len(encodings) != 1 or encodings[0].strip(" \t").lower() != "chunked":
                raise FramingError("Unsupported Transfer-Encoding")
            return self._read_chunked()
        if not lengths:
            return b""
        if len(lengths) != 1 or not _DECIMAL.fullmatch(lengths[0].strip(" \t")):
            raise FramingError("Invalid Content-Length")
        length = int(lengths[0])
        if length > MAX_BODY:
            return None
        body = self.rfile.read(length)
        if len(body) != length:
            raise FramingError("Body shorter than Content-Length")
        return body

    def _read_chunked(self) -> bytes | None:
        chunks: list[bytes] = []
        total = 0
        while size := _chunk_size(self._line()):
            total += size
            if total > MAX_BODY:
                return None
            chunk = self.rfile.read(size)
            if len(chunk) != size or self._line() != b"":
                raise FramingError("Invalid chunk")
            chunks.append(chunk)
        for _ in range(MAX_TRAILERS):
            if self._line() == b"":  # the blank line after the trailers
                return b"".join(chunks)
        raise FramingError("Too many trailer fields")

    def _line(self) -> bytes:
        """One line of chunked framing without its CRLF (a bare LF or CR is not accepted)."""
        line = self.rfile.readline(MAX_LINE + 2)
        if not line.endswith(b"\r\n"):  # the connection ended, or the line is too long
            raise FramingError("Invalid chunked framing")
        return line[:-2]

    def _reply(self, answer: HttpAnswer, *, head: bool) -> None:
        self.send_response_only(answer.status)
        self.send_header("Date", self.date_time_string())
        for name, value in answer.headers:
            # http.server writes Latin-1; send other characters as their UTF-8 bytes.
            self.send_header(name, value.encode("utf-8").decode("latin-1"))
        self.send_header("Content-Length", str(len(answer.body)))
        self.end_headers()
        if not head:
            self.wfile.write(answer.body)

    def log_message(self, format: str, *args: Any) -> None:
        # Our own access line replaces http.server's; this one (a bad request line, say) may
        # hold the client's bytes: escaped before the terminal.
        logger.debug("%s", printable(format % args if args else format))

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve


class LocalGateway:
    """A local API Gateway for ``app`` on ``host``:``port`` (``0`` picks a free port).

    ``app`` is called in this process, or is a :class:`~lamroute.local.workers.LocalRuntime`
    whose worker processes run it (closed by its owner, not by ``stop()``).

    ``host`` is 127.0.0.1 unless given (``0.0.0.0`` exposes it to the network); ``init_ms``
    how long an in-process app took to import (shown with its cold start); other options as
    :class:`GatewayConfig`. ``start()`` serves in a background thread,
    ``serve_forever()`` in the calling one (Ctrl-C stops it cleanly); ``stop()`` closes it.
    ``connection_hooks`` see each request's handler before the HTTP pipeline; a hook returning
    ``True`` has answered it itself. ``gateway.request_hooks`` run between event and invocation.
    """

    connection_hooks: list[ConnectionHook]

    def __init__(
        self, app: Callable[[Any, Any], Any], *, api: str = "rest", stage: str | None = None,
        payload_version: str = "2.0", timeout: float = DEFAULT_TIMEOUT,
        binary_media_types: tuple[str, ...] = ("*/*",), port: int = 3000, host: str = HOST,
        integration: str = "proxy", function_timeout: float | None = None,
        init_ms: float | None = None,
    ) -> None:
        config = GatewayConfig(api=api, stage=stage, payload_version=payload_version,
                               timeout=timeout, binary_media_types=binary_media_types,
                               integration=integration, function_timeout=function_timeout)
        self.gateway = Gateway(app, config, init_ms=init_ms)
        self.host = host
        self._server = _Server((host, port), _Handler, bind_and_activate=True)
        self._server.gateway = self.gateway
        self._server.connection_hooks = self.connection_hooks = []
        self._server.in_flight = _InFlight()
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """The base URL clients call, stage included: ``http://127.0.0.1:3000/prod``."""
        return f"http://{self.host}:{self.port}{self.gateway.config.prefix}"

    def start(self) -> LocalGateway:
        """Serve in a daemon thread and return at once (a second call changes nothing)."""
        if self._thread is not None:
            return self
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.1}, daemon=True,
                                        name="lamroute-local-gateway")
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in this thread until Ctrl-C (or SIGTERM turned into KeyboardInterrupt)."""
        try:
            self._server.serve_forever(poll_interval=0.2)
        except KeyboardInterrupt:
            logger.info("stopping")
        finally:
            self._server.server_close()

    def stop(self) -> None:
        """Stop serving and close the socket; waits for the serving thread and (up to
        :data:`STOP_WAIT` seconds) for the requests being answered, access lines included."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()
        self._server.in_flight.wait(STOP_WAIT)

    def __enter__(self) -> LocalGateway:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


def _chunk_size(line: bytes) -> int:
    """``chunk-size [BWS ; chunk-ext]`` → the size; hex digits only (RFC 9112 §7.1).

    Whitespace may only precede the ``;`` of an extension (BWS, §7.1.1): ``"5 "`` is refused.
    """
    digits, semicolon, _ = line.partition(b";")
    if semicolon:
        digits = digits.rstrip(b" \t")
    if not _HEX.fullmatch(digits):
        raise FramingError("Invalid chunk size")
    return int(digits, 16)


class _Stderr(logging.Handler):
    """Writes to ``sys.stderr`` as it is at each line, not as it was when configured (a test
    harness swaps and closes it; a line must not go to a closed stream)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            stream = sys.stderr
            stream.write(self.format(record) + "\n")
            stream.flush()
        except Exception:
            self.handleError(record)


def configure_logging(level: int = logging.INFO) -> None:
    """Plain-text local log lines on stderr (the app's own JSON lines stay on stdout)."""
    # Our own handler, once: another one (a test harness's capture handler) is no reason to skip.
    if not any(isinstance(handler, _Stderr) for handler in logger.handlers):
        handler = _Stderr()
        handler.setFormatter(logging.Formatter("%(asctime)s lamroute %(levelname)s %(message)s",
                                               "%H:%M:%S"))
        logger.addHandler(handler)
        logger.propagate = False  # not also through the app's JSON handler on stdout
    logger.setLevel(level)
