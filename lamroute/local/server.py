"""The local gateway's HTTP server: stdlib ``http.server`` on 127.0.0.1 in front of a Gateway.

Startable in-process (tests use ``port=0`` for an ephemeral port and always stop it):

>>> from lamroute import App
>>> with LocalGateway(App(access_log=False), api="http", port=0) as server:
...     server.url.startswith("http://127.0.0.1:")
True
"""

from __future__ import annotations

import logging
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
    access_line,
    loggable,
    logger,
)

HOST = "127.0.0.1"
# API Gateway's payload quota for a request: 10 MB.
# https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html
MAX_BODY = 10 * 1024 * 1024


ConnectionHook = Callable[[BaseHTTPRequestHandler], bool]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # concurrent clients wait in the backlog, not refused
    gateway: Gateway
    connection_hooks: list[ConnectionHook]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body leave in separate writes: no 40 ms stall
    server: _Server

    def _serve(self) -> None:
        for hook in self.server.connection_hooks:
            if hook(self):  # the hook answered (e.g. took over a WebSocket upgrade)
                return
        started = time.perf_counter()
        try:
            body = self._read_body()
        except ValueError:
            self._reply(gateway_error(400, "Invalid Content-Length or chunk size"), head=False)
            self.close_connection = True
            return
        if body is None:
            answer = gateway_error(413, "Request Too Long")
            request = HttpRequest(self.command, self.path, client_ip=self.client_address[0])
            self.close_connection = True
        else:
            request = HttpRequest(self.command, self.path, list(self.headers.items()), body,
                                  self.client_address[0])
            try:
                answer = self.server.gateway.handle(request)
            except Exception:  # a local gateway bug must not look like an app failure
                logger.exception("the local gateway failed on %s", loggable(request))
                answer = gateway_error(500, "Internal server error")
        self._reply(answer, head=self.command == "HEAD")
        logger.info("%s", access_line(request, answer, time.perf_counter() - started))

    def _read_body(self) -> bytes | None:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0:
            raise ValueError("Invalid Content-Length")
        if length > MAX_BODY:
            return None
        return self.rfile.read(length)

    def _read_chunked(self) -> bytes | None:
        chunks: list[bytes] = []
        total = 0
        while True:
            size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(chunks)
            total += size
            if total > MAX_BODY:
                return None
            chunks.append(self.rfile.read(size))
            self.rfile.readline()

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
    """A local API Gateway for ``app`` on 127.0.0.1:``port`` (``0`` picks a free port).

    Options as :class:`GatewayConfig`. ``start()`` serves in a background thread,
    ``serve_forever()`` in the calling one (Ctrl-C stops it cleanly); ``stop()`` closes it.
    ``connection_hooks`` see each request's handler before the HTTP pipeline; a hook returning
    ``True`` has answered it itself. ``gateway.request_hooks`` run between event and invocation.
    """

    connection_hooks: list[ConnectionHook]

    def __init__(
        self, app: Callable[[Any, Any], Any], *, api: str = "rest", stage: str | None = None,
        payload_version: str = "2.0", timeout: float = DEFAULT_TIMEOUT,
        binary_media_types: tuple[str, ...] = ("*/*",), port: int = 3000,
    ) -> None:
        config = GatewayConfig(api=api, stage=stage, payload_version=payload_version,
                               timeout=timeout, binary_media_types=binary_media_types)
        self.gateway = Gateway(app, config)
        self._server = _Server((HOST, port), _Handler, bind_and_activate=True)
        self._server.gateway = self.gateway
        self._server.connection_hooks = self.connection_hooks = []
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """The base URL clients call, stage included: ``http://127.0.0.1:3000/prod``."""
        return f"http://{HOST}:{self.port}{self.gateway.config.prefix}"

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
        """Stop serving and close the socket; waits for the serving thread."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> LocalGateway:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


def configure_logging(level: int = logging.INFO) -> None:
    """Plain-text local log lines on stderr (the app's own JSON lines stay on stdout)."""
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s lamroute %(levelname)s %(message)s",
                                               "%H:%M:%S"))
        logger.addHandler(handler)
        logger.propagate = False  # not also through the app's JSON handler on stdout
    logger.setLevel(level)
