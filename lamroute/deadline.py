"""Deadlines: answer 504 before Lambda or the gateway gives up on a slow handler.

A handler's time budget is the earlier of the Lambda deadline
(``context.get_remaining_time_in_millis()``) and the gateway's integration timeout (29 s by
default for REST APIs, at most 30 s for HTTP APIs:
https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html,
https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html), minus a
``margin`` kept for rendering the answer. When the budget runs out the handler is interrupted
(``SIGALRM``, in the main thread, which is where Lambda's Python runtime calls it): a
:class:`DeadlineInterrupt` (a ``BaseException``, so ``except Exception`` does not swallow it)
is raised where the handler is, its ``finally`` blocks and context managers run, and the
client gets a formatted 504 problem (:class:`HandlerTimeout`).

Where no interruption is possible (another thread, no ``SIGALRM``, or a ``SIGALRM`` timer
already running), the handler runs to its end; a late answer is still replaced by the 504, and
the log says once per container that handlers cannot be interrupted.

>>> Timeout(integration_s=10.0, margin_s=0.2).budget(remaining_ms=3000)
2.8
"""

from __future__ import annotations

import _signal  # type: ignore[import-not-found]  # no stubs: the C half of `signal`
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType
from typing import TYPE_CHECKING, Any

from .errors import GatewayTimeout

if TYPE_CHECKING:
    from .request import Request
    from .response import Response

# Only the C module: `signal.getsignal`/`signal.signal` convert to and from enums, which costs
# microseconds per request, and importing `signal` builds those enums (~1 ms of cold start).
_CAN_INTERRUPT = hasattr(_signal, "setitimer") and hasattr(_signal, "SIGALRM")
_SIGALRM = int(getattr(_signal, "SIGALRM", 14))
_ITIMER_REAL = int(getattr(_signal, "ITIMER_REAL", 0))
_SIG_DFL = int(_signal.SIG_DFL)
_MAIN_THREAD = threading.main_thread().ident
_warned: set[str] = set()  # reasons already logged in this container


@dataclass(frozen=True)
class Timeout:
    """The time budget of a handler.

    ``integration_s``: the gateway's integration timeout (``None`` when only Lambda's deadline
    counts, as for Function URLs and ALB); ``margin_s``: how long before the earlier deadline
    the handler is interrupted, the time left for cleanup and the 504 answer.
    """

    integration_s: float | None = 29.0
    margin_s: float = 0.5

    def __post_init__(self) -> None:
        for name in ("integration_s", "margin_s"):
            value = getattr(self, name)
            if value is None and name == "integration_s":
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
                raise ValueError(f"Timeout.{name} must be a number >= 0, not {value!r}.")

    def budget(self, remaining_ms: float) -> float:
        """Seconds the handler may run, given the Lambda time left (never below 0)."""
        available = remaining_ms / 1000
        if self.integration_s is not None:
            available = min(available, self.integration_s)
        return max(0.0, round(available - self.margin_s, 6))


class DeadlineInterrupt(BaseException):
    """Raised inside a handler when its time is up; not an ``Exception``, so
    ``except Exception`` blocks let it through while ``finally`` blocks still run."""


class HandlerTimeout(GatewayTimeout):
    """504: the handler did not finish in its budget (``app.exception_handler(HandlerTimeout)``
    or ``(GatewayTimeout)`` customises the answer)."""

    def __init__(self, elapsed_s: float, budget_s: float) -> None:
        super().__init__("The request took too long to process.")
        self.elapsed_s = elapsed_s
        self.budget_s = budget_s


class _Alarm:
    """One invocation's SIGALRM handler: raises once, then stays inert until restored."""

    __slots__ = ("armed", "fired")

    def __init__(self) -> None:
        self.armed = True
        self.fired = False

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        if self.armed:
            self.armed = False
            self.fired = True
            raise DeadlineInterrupt("handler interrupted: deadline reached")


class Deadline:
    """Runs a handler call within its :class:`Timeout` budget (one per route)."""

    __slots__ = ("logger", "timeout")

    def __init__(self, timeout: Timeout, logger: logging.Logger) -> None:
        self.timeout = timeout
        self.logger = logger

    def run(self, call: Callable[[Request], Response], request: Request) -> Response:
        """``call(request)``, interrupted or replaced by :class:`HandlerTimeout` when late."""
        remaining = getattr(request.context, "get_remaining_time_in_millis", None)
        if remaining is None:
            return call(request)
        try:
            remaining_ms = float(remaining())
        except Exception:  # a context that is not Lambda's: no deadline to keep
            return call(request)
        budget = self.timeout.budget(remaining_ms)
        started = time.perf_counter()
        if budget <= 0:
            raise self._timed_out(request, started, budget, "no time left to start the handler")
        if not _CAN_INTERRUPT:
            return self._run_late(call, request, budget, started, "no SIGALRM on this platform")
        if threading.get_ident() != _MAIN_THREAD:
            return self._run_late(call, request, budget, started, "not in the main thread")
        return self._run_interruptible(call, request, budget, started)

    def _run_interruptible(self, call: Callable[[Request], Response], request: Request,
                           budget: float, started: float) -> Response:
        previous = _signal.getsignal(_SIGALRM)
        if previous is None:  # a handler installed outside Python: it cannot be put back
            return self._run_late(call, request, budget, started,
                                  "SIGALRM is handled outside Python")
        # Installing a handler costs two sigaction calls per request, so with the default
        # disposition our (inert between invocations) dispatcher stays; anyone else's handler is
        # put back after every invocation.
        install = previous is not _dispatch
        restore = install and previous != _SIG_DFL
        alarm = _Alarm()
        try:
            try:
                if install:
                    _signal.signal(_SIGALRM, _dispatch)
                outer = _signal.setitimer(_ITIMER_REAL, budget)
                if outer[0] > 0:  # someone else's timer (a test runner's...): leave it be
                    alarm.armed = False
                    _signal.setitimer(_ITIMER_REAL, *outer)
                    if install:
                        _signal.signal(_SIGALRM, previous)
                    return self._run_late(call, request, budget, started,
                                          "a SIGALRM timer is already running")
                _Current.alarm = alarm
                response = call(request)
            finally:
                # Disarm first: a signal arriving from here on finds the alarm inert.
                if alarm.armed or alarm.fired:
                    alarm.armed = False
                    _disarm(previous if restore else None)
        except DeadlineInterrupt as exc:
            # The interrupt may have cut the `finally` above short.
            alarm.armed = False
            _disarm(previous if restore else None)
            raise self._timed_out(request, started, budget, "handler interrupted") from exc
        except BaseException as exc:
            if alarm.fired and not isinstance(exc, (SystemExit, KeyboardInterrupt)):
                raise self._timed_out(request, started, budget, "handler interrupted") from exc
            raise
        if alarm.fired:  # the handler caught the interrupt and carried on
            raise self._timed_out(request, started, budget, "handler swallowed the interrupt")
        return response

    def _run_late(self, call: Callable[[Request], Response], request: Request, budget: float,
                  started: float, reason: str) -> Response:
        if reason not in _warned:
            _warned.add(reason)
            self.logger.warning("handlers cannot be interrupted at their deadline: %s; a late "
                                 "answer becomes a 504 only once the handler returns", reason)
        response = call(request)
        if time.perf_counter() - started > budget:
            raise self._timed_out(request, started, budget, "handler returned after its deadline")
        return response

    def _timed_out(self, request: Request, started: float, budget: float,
                   what: str) -> HandlerTimeout:
        elapsed = time.perf_counter() - started
        self.logger.error("deadline reached: %s", what, extra={
            "route": request.route, "elapsed_ms": round(elapsed * 1000, 3),
            "budget_ms": round(budget * 1000, 3)})
        return HandlerTimeout(elapsed, budget)


class _Current:
    """The alarm of the invocation running in the main thread (signals are process-wide and
    one invocation runs at a time); ``None`` between invocations."""

    alarm: _Alarm | None = None


def _dispatch(signum: int, frame: FrameType | None) -> None:
    """The SIGALRM handler: passes the signal to the current invocation's alarm, if any."""
    alarm = _Current.alarm
    if alarm is not None:
        alarm(signum, frame)


def _disarm(previous: Any) -> None:
    _Current.alarm = None
    _signal.setitimer(_ITIMER_REAL, 0)
    if previous is not None:
        _signal.signal(_SIGALRM, previous)
