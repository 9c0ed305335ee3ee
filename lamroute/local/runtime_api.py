"""The Lambda Runtime API of one execution environment, served on 127.0.0.1 for one worker.

The documented HTTP interface the runtime client (``awslambdaric``) talks to
(https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html): ``GET
/2018-06-01/runtime/invocation/next`` waits for an event and answers it with the
``Lambda-Runtime-Aws-Request-Id``, ``-Deadline-Ms``, ``-Invoked-Function-Arn`` and
``-Trace-Id`` headers; ``POST .../invocation/{id}/response`` and ``.../{id}/error`` end it;
``POST .../init/error`` reports a failed start. Answers are HTTP/1.1 with a ``Content-Length``
(the runtime client's HTTP library waits for more on an HTTP/1.0 answer).

>>> api = RuntimeApi(function_arn="arn:aws:lambda:us-east-1:123456789012:function:f",
...                  timeout=3.0, listener=None)
>>> api.address.startswith("127.0.0.1:")
True
>>> api.close()
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol

PREFIX = "/2018-06-01/runtime"
# What Lambda accepts for a synchronous response (6 MB documented; enforced at this size).
# https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
MAX_RESPONSE = 6_291_556


class Invocation:
    """One event on its way through a worker, and how it ended.

    ``failure`` is ``None`` for an answer (``payload``), else ``"function"`` (the handler
    raised: ``error``), ``"timeout"``, ``"crash"`` (the process ended), ``"memory"`` or
    ``"init"`` (the function could not start).
    """

    def __init__(self, request_id: str, body: bytes, *, trace_id: str = "") -> None:
        self.request_id = request_id
        self.body = body
        self.trace_id = trace_id
        self.started: float | None = None  # perf_counter when the worker took it
        self.finished: float | None = None
        self.payload: bytes | None = None
        self.error: dict[str, Any] | None = None
        self.failure: str | None = None
        self.abandoned = False  # the gateway stopped waiting (integration timeout)
        self.reported = False  # its REPORT line was written
        self.done = threading.Event()

    @property
    def duration_ms(self) -> float:
        if self.started is None:
            return 0.0
        return ((self.finished or time.perf_counter()) - self.started) * 1000


class Listener(Protocol):
    """What the worker pool hears from a Runtime API (called from its server threads)."""

    def started(self, invocation: Invocation) -> None: ...

    def finished(self, invocation: Invocation) -> None: ...

    def report(self, invocation: Invocation) -> None: ...

    def init_failed(self, error: dict[str, Any]) -> None: ...


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    api: RuntimeApi

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A worker killed mid-request (timeout, crash, shutdown) resets its connection: the
        # pool reports the failure; socketserver's traceback on stderr would only be noise.
        logging.getLogger("lamroute.local.runtime").debug(
            "runtime API connection from %s ended abruptly", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _Server

    def do_GET(self) -> None:
        if self.path != PREFIX + "/invocation/next":
            return self._reply(404, {"errorMessage": "Unknown resource",
                                     "errorType": "NotFound"})
        invocation = self.server.api.next_invocation()
        if invocation is None:  # the environment is shutting down: no answer
            self.close_connection = True
            return None
        api = self.server.api
        deadline = int(time.time() * 1000 + api.timeout * 1000)
        self.send_response_only(200)
        self.send_header("Lambda-Runtime-Aws-Request-Id", invocation.request_id)
        self.send_header("Lambda-Runtime-Deadline-Ms", str(deadline))
        self.send_header("Lambda-Runtime-Invoked-Function-Arn", api.function_arn)
        self.send_header("Lambda-Runtime-Trace-Id", invocation.trace_id)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(invocation.body)))
        self.end_headers()
        self.wfile.write(invocation.body)
        return None

    def do_POST(self) -> None:
        body = self._body()
        api = self.server.api
        if self.path == PREFIX + "/init/error":
            api.init_failed(_error(body, self.headers.get("Lambda-Runtime-Function-Error-Type")))
            return self._reply(202, {"status": "OK"})
        head, _, kind = self.path.rpartition("/")
        request_id = head.removeprefix(PREFIX + "/invocation/")
        current = api.current
        if kind not in ("response", "error") or current is None \
                or request_id != current.request_id:
            return self._reply(400, {"errorMessage": "Invalid request ID",
                                     "errorType": "InvalidRequestID"})
        if kind == "error":
            error = _error(body, self.headers.get("Lambda-Runtime-Function-Error-Type"))
            api.finish(current, error=error)
            return self._reply(202, {"status": "OK"})
        if len(body) > MAX_RESPONSE:
            api.finish(current, error={
                "errorType": "Function.ResponseSizeTooLarge",
                "errorMessage": f"Response payload size ({len(body)} bytes) exceeded maximum "
                                f"allowed payload size ({MAX_RESPONSE} bytes)."})
            return self._reply(413, {"errorMessage": "Exceeded maximum allowed payload size",
                                     "errorType": "RequestEntityTooLarge"})
        api.finish(current, payload=body)
        return self._reply(202, {"status": "OK"})

    def _body(self) -> bytes:
        if (self.headers.get("Transfer-Encoding") or "").lower() == "chunked":
            chunks = []
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass
            return b"".join(chunks)
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _reply(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response_only(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the pool logs what matters (REPORT lines, failures)


def _error(body: bytes, error_type: str | None) -> dict[str, Any]:
    """The runtime's error document (``errorType``, ``errorMessage``, ``stackTrace``)."""
    try:
        error = json.loads(body)
    except ValueError:
        error = None
    if not isinstance(error, dict):
        error = {"errorMessage": body.decode("utf-8", "replace")}
    if error_type and not error.get("errorType"):
        error["errorType"] = error_type
    return error


class RuntimeApi:
    """The Runtime API of one execution environment: one invocation at a time.

    ``submit(invocation)`` hands the next event to the worker's ``/next`` call; ``listener``
    hears when an invocation starts and ends and when initialisation fails.
    """

    def __init__(self, *, function_arn: str, timeout: float, listener: Listener | None,
                 host: str = "127.0.0.1") -> None:
        self.function_arn = function_arn
        self.timeout = timeout
        self.listener = listener
        self.current: Invocation | None = None
        self.init_error: dict[str, Any] | None = None
        self._pending: queue.SimpleQueue[Invocation | None] = queue.SimpleQueue()
        self._host = host
        self._server = _Server((host, 0), _Handler)
        self._server.api = self
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.1}, daemon=True,
                                        name="lamroute-runtime-api")
        self._thread.start()

    @property
    def address(self) -> str:
        """``host:port``, the value of ``AWS_LAMBDA_RUNTIME_API``."""
        return f"{self._host}:{self._server.server_address[1]}"

    def submit(self, invocation: Invocation) -> None:
        self._pending.put(invocation)

    def next_invocation(self) -> Invocation | None:
        invocation = self._pending.get()
        if invocation is not None:
            invocation.started = time.perf_counter()
            self.current = invocation
            if self.listener is not None:
                self.listener.started(invocation)
        return invocation

    def finish(self, invocation: Invocation, *, payload: bytes | None = None,
               error: dict[str, Any] | None = None) -> None:
        """End ``invocation`` with an answer or the runtime's error (once)."""
        if self.current is not invocation or invocation.done.is_set():
            return
        invocation.finished = time.perf_counter()
        invocation.payload, invocation.error = payload, error
        if error is not None:
            is_memory = error.get("errorType") == "MemoryError"
            invocation.failure = "memory" if is_memory else "function"
        self.current = None
        if self.listener is not None:
            self.listener.finished(invocation)
        invocation.done.set()
        if self.listener is not None:  # after the answer left: off the request's path
            self.listener.report(invocation)

    def init_failed(self, error: dict[str, Any]) -> None:
        self.init_error = error
        if self.listener is not None:
            self.listener.init_failed(error)

    def close(self) -> None:
        """Stop serving; a ``/next`` call still waiting gets no answer."""
        self._pending.put(None)
        self._server.shutdown()
        self._server.server_close()
