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

One timer covers the whole chain: with app middleware it is armed before the first one (the
app's budget, counted from there), so app and router middleware, route middleware, the guard,
dependencies and the handler all run under it; a route with its own ``timeout`` re-aims the same
timer once it is routed (``timeout=None`` stops it). A middleware's ``call_next`` that meets the
interrupt returns the 504 answer, which the middleware may decorate.

Where no interruption is possible (another thread, no ``SIGALRM``, or a ``SIGALRM`` timer
already running), the handler runs to its end; a late answer is still replaced by the 504, and
the first one in the container logs why handlers cannot be interrupted.

An ``async`` route runs as a task on the container's event loop, which the alarm cancels
first (:mod:`lamroute.safeguards.tasks`), and interrupts half the margin later if it lingers.

>>> Timeout(integration_s=10.0, margin_s=0.2).budget(remaining_ms=3000)
2.8
"""

from __future__ import annotations

import _signal  # type: ignore[import-not-found]  # no stubs: the C half of `signal`
import logging
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import TYPE_CHECKING, Any

from ..exceptions import GatewayTimeout
from ..routing.routes import Timeout

if TYPE_CHECKING:
    import asyncio

    from ..http.request import Request
    from ..http.response import Response

# Only the C module: `signal.getsignal`/`signal.signal` convert to and from enums, which costs
# microseconds per request, and importing `signal` builds those enums (~1 ms of cold start).
_CAN_INTERRUPT = hasattr(_signal, "setitimer") and hasattr(_signal, "SIGALRM")
_SIGALRM = int(getattr(_signal, "SIGALRM", 14))
_ITIMER_REAL = int(getattr(_signal, "ITIMER_REAL", 0))
_SIG_DFL = int(_signal.SIG_DFL)
_MAIN_THREAD = threading.main_thread().ident
_get_ident = threading.get_ident
_perf_counter = time.perf_counter
_warned: set[str] = set()  # reasons already logged in this container


class DeadlineInterrupt(BaseException):
    """Raised inside a handler when its time is up; not an ``Exception``, so
    ``except Exception`` blocks let it through while ``finally`` blocks still run."""

    def __init__(self, message: str, alarm: _Alarm | None = None) -> None:
        super().__init__(message)
        self.alarm = alarm

    def answer(self, request: Request, on_error: Callable[[BaseException, Request], Response],
               ) -> Response:
        """The 504 answer, for a middleware's ``call_next`` that catches the interrupt: the
        middleware sees (and may decorate) the answer the client gets."""
        alarm = self.alarm
        if alarm is None:  # raised by hand, not by a deadline
            return on_error(self, request)
        timeout = alarm.deadline._timed_out(request, alarm, "handler interrupted")
        timeout.__cause__ = self
        alarm.answer = on_error(timeout, request)
        return alarm.answer


class HandlerTimeout(GatewayTimeout):
    """504: the handler did not finish in its budget (``app.exception_handler(HandlerTimeout)``
    or ``(GatewayTimeout)`` customises the answer)."""

    def __init__(self, elapsed_s: float, budget_s: float) -> None:
        super().__init__("The request took too long to process.")
        self.elapsed_s = elapsed_s
        self.budget_s = budget_s


class _Alarm:
    """One invocation's deadline: when it started, the Lambda time left then, its budget (which
    a route's own timeout may replace), and the SIGALRM handler state. Raises once, then stays
    inert until restored. ``watch``: the async task running under it, if any
    (:mod:`lamroute.safeguards.tasks`), which it cancels first."""

    __slots__ = ("answer", "armed", "budget", "deadline", "fired", "remaining_ms", "reported",
                 "started", "thread", "watch")

    def __init__(self, deadline: Deadline, started: float, remaining_ms: float,
                 budget: float | None, thread: int) -> None:
        self.deadline = deadline
        self.started = started
        self.remaining_ms = remaining_ms
        self.budget = budget
        self.thread = thread
        self.armed = False  # True while a SIGALRM timer runs for it
        self.fired = False
        self.reported = False
        self.answer: Response | None = None
        self.watch: Watch | None = None

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        if self.armed:
            watch = self.watch
            if watch is not None and not self.fired:
                # An async task: cancel it (the loop unwinds it, cleanup included) and come
                # back after the grace period in case it swallows the cancellation or blocks.
                self.fired = True
                watch.cancel()
                _signal.setitimer(_ITIMER_REAL, self.grace())
                return
            self.armed = False
            self.fired = True
            raise DeadlineInterrupt("handler interrupted: deadline reached", self)

    def grace(self) -> float:
        """How long a cancelled task has to end: half the margin (at least 10 ms)."""
        timeout = self.deadline.timeout
        margin = timeout.margin_s if timeout is not None else 0.0
        return max(margin / 2, 0.01)


class Watch:
    """An async task running under an alarm, its loop, and the loop's deadline timer when no
    ``SIGALRM`` serves (see :mod:`lamroute.safeguards.tasks`)."""

    __slots__ = ("hard", "loop", "task", "timer")

    def __init__(self, task: asyncio.Task[Any], loop: asyncio.AbstractEventLoop,
                 hard: bool) -> None:
        self.task = task
        self.loop = loop
        self.hard = hard  # the loop timer may stop the loop when the cancelled task lingers
        self.timer: asyncio.TimerHandle | None = None

    def cancel(self) -> None:
        """Cancel the task, from a signal handler or any thread (call_soon_threadsafe also
        wakes the loop if it waits in select() when the signal arrives)."""
        self.loop.call_soon_threadsafe(self.task.cancel, CANCEL_MESSAGE)


class Deadline:
    """Runs a call within its :class:`Timeout` budget: the app's covers its whole middleware
    chain, a route's own replaces the app's budget once the route is known.

    ``timeout=None`` on a route lifts the app's deadline for the rest of the request.
    """

    __slots__ = ("logger", "timeout")

    def __init__(self, timeout: Timeout | None, logger: logging.Logger) -> None:
        self.timeout = timeout
        self.logger = logger

    def run(self, call: Callable[[Request], Response], request: Request) -> Response:
        """``call(request)``, interrupted or replaced by :class:`HandlerTimeout` when late."""
        thread = _get_ident()
        outer = _Current.alarm if thread == _MAIN_THREAD else getattr(_late, "alarm", None)
        if outer is not None and outer.thread == thread:  # a deadline already runs: adjust it
            return self._within(outer, call, request)
        if self.timeout is None:
            return call(request)
        remaining = getattr(request.context, "get_remaining_time_in_millis", None)
        if remaining is None:
            return call(request)
        try:
            remaining_ms = float(remaining())
        except Exception:  # a context that is not Lambda's: no deadline to keep
            return call(request)
        budget = self.timeout.budget(remaining_ms)
        alarm = _Alarm(self, _perf_counter(), remaining_ms, budget, thread)
        if budget <= 0:
            raise self._timed_out(request, alarm, "no time left to start the handler")
        if not _CAN_INTERRUPT:
            return self._run_late(call, request, alarm, "no SIGALRM on this platform")
        if thread != _MAIN_THREAD:
            return self._run_late(call, request, alarm, "not in the main thread")
        return self._run_interruptible(call, request, alarm)

    def _within(self, outer: _Alarm, call: Callable[[Request], Response],
                request: Request) -> Response:
        """``call(request)`` under a deadline that already runs (the app's, armed before its
        middleware): the same timer, re-aimed when this route has its own timeout."""
        if outer.deadline is not self and not outer.fired:
            self._aim(outer, request)
        return call(request)

    def _aim(self, outer: _Alarm, request: Request) -> None:
        """Give the running deadline ``outer`` this route's budget (``None`` lifts it)."""
        outer.deadline = self
        if self.timeout is None:  # this route lifts the deadline
            outer.budget = None
            if outer.armed:
                outer.armed = False
                _signal.setitimer(_ITIMER_REAL, 0)
            if outer.watch is not None:
                aim_timer(outer)
            return
        # The budget counts from the start of the invocation, as the gateway's timeout does.
        outer.budget = self.timeout.budget(outer.remaining_ms)
        left = outer.budget - (time.perf_counter() - outer.started)
        if left <= 0:
            raise self._timed_out(request, outer, "no time left to start the handler")
        if outer.armed:
            _signal.setitimer(_ITIMER_REAL, left)
        elif outer.watch is not None:  # an async task's loop keeps the time
            aim_timer(outer)

    def _run_interruptible(self, call: Callable[[Request], Response], request: Request,
                           alarm: _Alarm) -> Response:
        previous = _signal.getsignal(_SIGALRM)
        if previous is None:  # a handler installed outside Python: it cannot be put back
            return self._run_late(call, request, alarm, "SIGALRM is handled outside Python")
        # Installing a handler costs two sigaction calls per request, so with the default
        # disposition our (inert between invocations) dispatcher stays; anyone else's handler is
        # put back after every invocation.
        install = previous is not _dispatch
        restore = install and previous != _SIG_DFL
        try:
            try:
                if install:
                    _signal.signal(_SIGALRM, _dispatch)
                alarm.armed = True
                outer = _signal.setitimer(_ITIMER_REAL, alarm.budget)
                if outer[0] > 0:  # someone else's timer (a test runner's...): leave it be
                    alarm.armed = False
                    _signal.setitimer(_ITIMER_REAL, *outer)
                    if install:
                        _signal.signal(_SIGALRM, previous)
                    return self._run_late(call, request, alarm,
                                          "a SIGALRM timer is already running")
                _Current.alarm = alarm
                response = call(request)
            finally:
                # Disarm first: a signal arriving from here on finds the alarm inert.
                if _Current.alarm is alarm:
                    alarm.armed = False
                    _disarm(previous if restore else None)
        except DeadlineInterrupt as exc:
            # The interrupt may have cut the `finally` above short.
            alarm.armed = False
            _disarm(previous if restore else None)
            raise self._timed_out(request, alarm, "handler interrupted") from exc
        except BaseException as exc:
            if alarm.fired and not isinstance(exc, (SystemExit, KeyboardInterrupt)):
                raise self._timed_out(request, alarm, "handler interrupted") from exc
            raise
        if alarm.fired:
            if response is alarm.answer:  # a middleware answered the interrupt with the 504
                return response
            raise self._timed_out(request, alarm, "handler swallowed the interrupt")
        return response

    def _run_late(self, call: Callable[[Request], Response], request: Request, alarm: _Alarm,
                  reason: str) -> Response:
        main = alarm.thread == _MAIN_THREAD
        if main:
            _Current.alarm = alarm  # inert (never armed): lets a route's own timeout adjust it
        else:
            _late.alarm = alarm
        try:
            response = call(request)
        except DeadlineInterrupt as exc:  # an async task cancelled by a timer of the loop
            raise self._timed_out(request, alarm, "handler cancelled") from exc
        finally:
            if main:
                _Current.alarm = None
            else:
                _late.alarm = None
        if alarm.budget is not None and time.perf_counter() - alarm.started > alarm.budget:
            # Said when it happens, not at the first request: async handlers are cancelled in
            # time here by the loop's timer (then the alarm has fired); sync ones are not.
            if not alarm.fired and reason not in _warned:
                _warned.add(reason)
                self.logger.warning("handlers cannot be interrupted at their deadline: %s; a "
                                     "sync handler (or an async one blocking the loop) runs to "
                                     "its end, and its late answer becomes the 504", reason)
            raise self._timed_out(request, alarm, "handler returned after its deadline")
        return response

    def _timed_out(self, request: Request, alarm: _Alarm, what: str) -> HandlerTimeout:
        elapsed = time.perf_counter() - alarm.started
        budget = alarm.budget if alarm.budget is not None else elapsed
        if not alarm.reported:  # one line per invocation, whoever answers the interrupt
            alarm.reported = True
            self.logger.error("deadline reached: %s", what, extra={
                "route": request.route, "elapsed_ms": round(elapsed * 1000, 3),
                "budget_ms": round(budget * 1000, 3)})
        return HandlerTimeout(elapsed, budget)


class _Current:
    """The deadline of the invocation running in the main thread (signals are process-wide and
    one invocation runs at a time); ``None`` between invocations."""

    alarm: _Alarm | None = None


_late = threading.local()
"""``alarm``: the deadline of the invocation running in this (non-main) thread, which cannot be
interrupted; ``None`` or unset between invocations."""


CANCEL_MESSAGE = "lamroute: the request reached its deadline"


def aim_timer(alarm: _Alarm) -> None:
    """(Re)start the loop timer that cancels the watched task at the budget (no SIGALRM)."""
    watch = alarm.watch
    if watch is None:
        return
    if watch.timer is not None:
        watch.timer.cancel()
        watch.timer = None
    if alarm.budget is None or alarm.fired:
        return
    left = alarm.budget - (_perf_counter() - alarm.started)
    watch.timer = watch.loop.call_later(left if left > 0 else 0.0, _soft_shot, alarm, watch)


def _soft_shot(alarm: _Alarm, watch: Watch) -> None:
    """The loop timer's deadline (in the loop's thread): cancel the task, then stop the loop
    if it has not ended after the grace period."""
    alarm.fired = True
    if watch.task.done():
        return
    watch.task.cancel(CANCEL_MESSAGE)
    if watch.hard:
        watch.timer = watch.loop.call_later(alarm.grace(), _hard_shot, watch)


def _hard_shot(watch: Watch) -> None:
    if not watch.task.done():
        watch.loop.stop()  # run_until_complete raises: the runner answers the 504


def current_alarm() -> _Alarm | None:
    """The deadline of the invocation running in this thread, if any."""
    if _get_ident() == _MAIN_THREAD:
        return _Current.alarm
    alarm: _Alarm | None = getattr(_late, "alarm", None)
    return alarm


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
