"""How the local gateway invokes the function, and how an invocation ended.

Two ways run the same function behind the same gateway, both answering
``invoke_event(event, wait=seconds)`` with an :class:`Outcome`: :class:`InProcess` calls the
app in a thread of the server (``lamroute serve --in-process``), and
:class:`~lamroute.local.workers.LocalRuntime` hands the event to a worker process running the
AWS runtime interface client (the default).

>>> function = InProcess(lambda event, context: {"statusCode": 200, "body": event["x"]})
>>> outcome = function.invoke_event({"x": "hi"}, wait=5.0)
>>> outcome.payload["body"], outcome.failure, outcome.cold_start
('hi', None, ColdStart(init_ms=None))
>>> function.invoke_event({"x": "again"}, wait=5.0).cold_start is None   # warm
True
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..testing.client import FakeContext
from .answers import ColdStart

logger = logging.getLogger("lamroute.local")


@dataclass
class Outcome:
    """How one invocation ended: a ``payload``, or a ``failure`` (one of
    :data:`lamroute.local.failures.FAILURES` but ``malformed``, which the gateway judges), or
    no answer within the gateway's integration timeout (``timed_out``).

    A failure carries Lambda's error document (``error_document``: ``errorType``,
    ``errorMessage``, ``stackTrace``, what a custom integration's responses see), or, in
    process, the exception (``error``); ``trace`` is the text for the log. ``cold_start`` is
    set when the invocation started a new execution environment.
    """

    payload: Any = None
    error: BaseException | None = None
    trace: str = ""
    timed_out: bool = False
    failure: str | None = None
    error_document: dict[str, Any] | None = None
    cold_start: ColdStart | None = None

    def __post_init__(self) -> None:
        if self.error is not None and self.failure is None:  # an exception: a failed function
            self.failure = "function"

    @property
    def error_type(self) -> str:
        return str(self.error_payload().get("errorType") or "")

    def error_payload(self) -> dict[str, Any]:
        """Lambda's error document for this failure (empty for an answer)."""
        if self.error_document is not None:
            return self.error_document
        if self.error is not None:
            return exception_document(self.error)
        return {}


def exception_document(error: BaseException) -> dict[str, Any]:
    """The error document Lambda's Python runtime reports for an unhandled exception.
    https://docs.aws.amazon.com/lambda/latest/dg/python-exceptions.html
    """
    return {"errorMessage": str(error) or type(error).__name__,
            "errorType": type(error).__name__,
            "stackTrace": traceback.format_tb(error.__traceback__)}


class InProcess:
    """The app called in a thread of this process, as one Lambda container: one invocation at a
    time (the others wait their turn), its first one a cold start (``init_ms``: how long the
    app took to import, when the caller measured it).

    ``function_timeout`` is the function's own timeout (the context's deadline): an invocation
    still running then is a failed function (``Task timed out``), though its thread cannot be
    stopped; without it, only the gateway's ``wait`` applies. The timeouts count from the start
    of the invocation, not from the wait in the queue; a timed-out invocation keeps the
    container busy until it ends, as in Lambda.
    """

    def __init__(self, app: Callable[[Any, Any], Any], *, function_timeout: float | None = None,
                 init_ms: float | None = None, function_name: str = "lamroute-local") -> None:
        if function_timeout is not None and function_timeout <= 0:
            raise ValueError("the function's timeout must be positive")
        self.app = app
        self.function_timeout = function_timeout
        self.function_name = function_name
        self._lock = threading.Lock()
        self._cold: ColdStart | None = ColdStart(init_ms)  # the next invocation's mark

    def invoke_event(self, event: Any, *, wait: float) -> Outcome:
        started, done, abandoned = threading.Event(), threading.Event(), threading.Event()
        outcome = Outcome()
        function_timeout = self.function_timeout or wait

        def run() -> None:
            with self._lock:
                outcome.cold_start, self._cold = self._cold, None
                started.set()
                begun = time.perf_counter()
                try:
                    context = FakeContext(timeout_ms=int(function_timeout * 1000),
                                          function_name=self.function_name)
                    outcome.payload = self.app(event, context)
                except BaseException as exc:  # a failed function, reported by the gateway
                    outcome.error, outcome.trace = exc, traceback.format_exc()
                    outcome.failure = "function"
                finally:
                    done.set()
                    if abandoned.is_set():
                        logger.warning("the timed-out invocation ended after %.1fs; its answer "
                                       "was dropped", time.perf_counter() - begun)

        threading.Thread(target=run, name="lamroute-invocation", daemon=True).start()
        started.wait()
        if done.wait(min(wait, function_timeout)):
            return outcome
        abandoned.set()
        if function_timeout < wait:  # the function's own timeout came first
            message = f"Task timed out after {function_timeout:.2f} seconds"
            return Outcome(failure="timeout", trace=message, cold_start=outcome.cold_start,
                           error_document={"errorType": "Sandbox.Timedout",
                                           "errorMessage": message})
        return Outcome(timed_out=True, cold_start=outcome.cold_start)
