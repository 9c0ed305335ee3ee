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

No timer is armed per request: an invocation writes down when its budget ends (in the main
thread, in the alarm the last invocation left when nothing holds it: no object per request), and one
watchdog thread per process (started with the first deadline, asleep in between) sends the
main thread ``SIGALRM`` once a running invocation passes it. A request pays no system call
for its deadline, and no timer or signal is ever left pending between invocations. An answer
returned after the deadline (the watchdog needs the interpreter's lock to act) is a 504 too.

One deadline covers the whole chain: with app middleware it starts before the first one (the
app's budget, counted from there), so app and router middleware, route middleware, the guard,
dependencies and the handler all run under it; a route with its own ``timeout`` moves the same
deadline once it is routed (``timeout=None`` lifts it). A middleware's ``call_next`` that meets
the interrupt returns the 504 answer, which the middleware may decorate.

Where no interruption is possible (another thread, no ``SIGALRM``, or another handler's
``SIGALRM`` timer already running), the handler runs to its end; a late answer is still
replaced by the 504, and the first one in the container logs why handlers cannot be interrupted.

An ``async`` route runs as a task on the container's event loop, which the deadline cancels
first (:mod:`lamroute.safeguards.tasks`), and interrupts half the margin later if it lingers;
during the task's first step, taken at once (:mod:`lamroute.aio.eager`), there is nothing to
cancel yet: it is interrupted as a sync handler is.

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
from typing import TYPE_CHECKING

from ..exceptions import GatewayTimeout
from ..routing.routes import Timeout

if TYPE_CHECKING:
    from typing import Protocol

    from ..http.request import Request
    from ..http.response import Response
    from .watchdog import Watchdog

    class Watch(Protocol):
        """An async task the deadline watches (:class:`lamroute.safeguards.tasks.Watch`)."""

        def cancel(self) -> None: ...
        def aim(self, alarm: _Alarm) -> None: ...

# Only the C module: `signal.getsignal`/`signal.signal` convert to and from enums, which costs
# microseconds per request, and importing `signal` builds those enums (~1 ms of cold start).
_CAN_INTERRUPT = hasattr(_signal, "pthread_kill") and hasattr(_signal, "SIGALRM")
_SIGALRM = int(getattr(_signal, "SIGALRM", 14))
_ITIMER_REAL = int(getattr(_signal, "ITIMER_REAL", 0))
_SIG_DFL = int(_signal.SIG_DFL)
_MAIN_THREAD = threading.main_thread().ident
_get_ident = threading.get_ident
_getsignal = _signal.getsignal
_perf_counter = time.perf_counter
_NEVER = float("inf")  # the watchdog's "no wake-up planned"
_EARLY_S = 0.001  # a signal this close to the deadline is the deadline's (clock rounding)
_warned: set[str] = set()  # reasons already logged in this container
CANCEL_MESSAGE = "lamroute: the request reached its deadline"


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
    a route's own timeout may replace; ``None`` once lifted). ``armed`` while the watchdog may
    interrupt it; raises once, then stays inert. ``watch``: the async task running under it, if
    any (:mod:`lamroute.safeguards.tasks`), which it cancels first."""

    __slots__ = ("answer", "armed", "budget", "deadline", "fired", "remaining_ms", "reported",
                 "started", "thread", "watch")

    def __init__(self, deadline: Deadline, started: float, remaining_ms: float,
                 budget: float | None, thread: int | None) -> None:
        self.deadline = deadline
        self.started = started
        self.remaining_ms = remaining_ms
        self.budget = budget
        self.thread = thread
        self.armed = self.fired = self.reported = False
        self.answer: Response | None = None
        self.watch: Watch | None = None

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        budget = self.budget
        if not self.armed or budget is None or (
                _perf_counter() - self.started < budget - _EARLY_S):
            return  # not this invocation's deadline (a stray or foreign SIGALRM): ignored
        watch = self.watch
        if watch is not None and not self.fired:
            # An async task: cancel it (the loop unwinds it, cleanup included); the watchdog
            # comes back after the grace period in case it swallows the cancellation or blocks.
            self.fired = True
            watch.cancel()
            return
        self.armed = False
        self.fired = True
        raise DeadlineInterrupt("handler interrupted: deadline reached", self)

    def grace(self) -> float:
        """How long a cancelled task has to end: half the margin (at least 10 ms)."""
        timeout = self.deadline.timeout
        margin = timeout.margin_s if timeout is not None else 0.0
        return max(margin / 2, 0.01)


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
        main = thread == _MAIN_THREAD
        outer = _Current.alarm if main else getattr(_late, "alarm", None)
        if outer is not None and outer.thread == thread:  # a deadline already runs: adjust it
            if outer.deadline is not self and not outer.fired:
                self._aim(outer, request)
            return call(request)
        timeout = self.timeout
        if timeout is None:
            return call(request)
        try:
            remaining_ms = float(request.context.get_remaining_time_in_millis())
        except Exception:  # no Lambda context (a plain unit test): no deadline to keep
            return call(request)
        budget = timeout.budget(remaining_ms)
        if main and budget > 0 and _CAN_INTERRUPT and _getsignal(_SIGALRM) is _dispatch:
            return self._run_watched(call, request, remaining_ms, budget)
        alarm = _Alarm(self, _perf_counter(), remaining_ms, budget, thread)
        if budget <= 0:
            raise self._timed_out(request, alarm, "no time left to start the handler")
        if not main or not _CAN_INTERRUPT:
            return self._run_late(call, request, alarm, "not in the main thread" if
                                  _CAN_INTERRUPT else "no SIGALRM on this platform")
        return self._run_foreign(call, request, alarm)

    def _run_watched(self, call: Callable[[Request], Response], request: Request,
                     remaining_ms: float, budget: float) -> Response:
        """The usual case: ``call(request)`` in the main thread, which the watchdog interrupts
        once ``budget`` seconds have passed.

        Its alarm is the main thread's spare one when the last invocation left it (no interrupt,
        no task watching it: nothing holds it any more; no 504 logged: each invocation logs its
        own), else a new one."""
        current = _Current
        started = _perf_counter()
        alarm = current.spare
        if alarm is None:
            alarm = _Alarm(self, started, remaining_ms, budget, _MAIN_THREAD)
        else:  # as it ended: disarmed, never fired, no task, nothing reported
            current.spare = None
            alarm.deadline = self
            alarm.started = started
            alarm.remaining_ms = remaining_ms
            alarm.budget = budget
        try:
            try:
                alarm.armed = True
                current.alarm = alarm  # before the wake-up time is read (see .watchdog)
                dog = _watchdog or watchdog()
                wakes_at = dog.wakes_at
                # (Usually it wakes earlier already; a wake-up time gone by means it is late.)
                if started + budget < wakes_at or wakes_at < started:
                    dog.watch(started + budget)
                response = call(request)
            finally:
                # Disarm first: a signal arriving from here on finds the alarm inert.
                alarm.armed = False
                if current.alarm is alarm:
                    current.alarm = None
        except BaseException as exc:
            late = self._failed(request, alarm, exc)
            if late is None:
                raise
            raise late from exc
        if alarm.fired or (alarm.budget is not None
                           and _perf_counter() - started > alarm.budget):
            return self._late_answer(request, alarm, response)
        if alarm.watch is None and not alarm.reported:  # (a 504 logged: the next one's own)
            current.spare = alarm
        return response

    def _failed(self, request: Request, alarm: _Alarm,
                exc: BaseException) -> HandlerTimeout | None:
        """The 504 to raise when the guarded call raised ``exc`` because of the deadline (the
        interrupt itself, or what a handler made of it); ``None`` when it is not the cause."""
        if isinstance(exc, DeadlineInterrupt):
            alarm.armed = False  # the interrupt may have cut the `finally` short
            if _Current.alarm is alarm:
                _Current.alarm = None
        elif not alarm.fired or isinstance(exc, (SystemExit, KeyboardInterrupt)):
            return None
        return self._timed_out(request, alarm, "handler interrupted")

    def _late_answer(self, request: Request, alarm: _Alarm, response: Response) -> Response:
        """The call returned after the deadline: the 504, unless a middleware already answered
        the interrupt with it."""
        if alarm.fired:
            if response is alarm.answer:
                return response
            raise self._timed_out(request, alarm, "handler swallowed the interrupt")
        raise self._timed_out(request, alarm, "handler returned after its deadline")

    def _aim(self, outer: _Alarm, request: Request) -> None:
        """Give the running deadline ``outer`` this route's budget (``None`` lifts it)."""
        outer.deadline = self
        if self.timeout is None:  # this route lifts the deadline
            outer.budget = None
            outer.armed = False
        else:
            # The budget counts from the start of the invocation, as the gateway's timeout does.
            outer.budget = self.timeout.budget(outer.remaining_ms)
            if outer.budget - (_perf_counter() - outer.started) <= 0:
                raise self._timed_out(request, outer, "no time left to start the handler")
            if outer.armed:
                (_watchdog or watchdog()).watch(outer.started + outer.budget)
        if outer.watch is not None and not outer.armed:  # an async task's loop keeps the time
            outer.watch.aim(outer)

    def _run_foreign(self, call: Callable[[Request], Response], request: Request,
                     alarm: _Alarm) -> Response:
        """Another SIGALRM disposition is in place: lamroute's handler for this invocation (the
        default disposition gives way for good; any other is put back afterwards), unless
        another handler's timer runs or the handler lives outside Python."""
        previous = _getsignal(_SIGALRM)
        if previous is None:  # a handler installed outside Python: it cannot be put back
            return self._run_late(call, request, alarm, "SIGALRM is handled outside Python")
        if _signal.getitimer(_ITIMER_REAL)[0] > 0:  # someone else's timer: leave it be
            return self._run_late(call, request, alarm, "a SIGALRM timer is already running")
        _signal.signal(_SIGALRM, _dispatch)  # then run takes its usual way
        if previous == _SIG_DFL:  # our dispatcher stays: it ignores stray alarms
            return self.run(call, request)
        try:
            return self.run(call, request)
        finally:
            _signal.signal(_SIGALRM, previous)

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


class _MainThread:
    """``alarm``: the deadline of the invocation running in the main thread (signals are
    process-wide and one invocation runs at a time); ``None`` between invocations. ``spare``:
    the last invocation's alarm when nothing holds it, for the next one (a request allocates
    nothing for its deadline)."""

    __slots__ = ("alarm", "spare")

    def __init__(self) -> None:
        self.alarm: _Alarm | None = None
        self.spare: _Alarm | None = None


_Current = _MainThread()


_late = threading.local()
"""``alarm``: the deadline of the invocation running in this (non-main) thread, which cannot be
interrupted; ``None`` or unset between invocations."""


def _on_watchdog(now: float) -> float:
    """The watchdog's check: the main thread's invocation, once past its deadline, gets
    ``SIGALRM``; the next wake-up time is returned (a cancelled task that lingers: again after
    the grace period; a later deadline set since: that one)."""
    alarm = _Current.alarm
    budget = alarm.budget if alarm is not None and alarm.armed else None
    if alarm is None or budget is None:
        return _NEVER  # nothing runs, or nothing to interrupt: asleep until needed
    due = alarm.started + budget
    if now < due:  # a later invocation (or a longer route budget) since
        return due
    if _getsignal(_SIGALRM) is _dispatch:
        _signal.pthread_kill(_MAIN_THREAD, _SIGALRM)
    if alarm.watch is not None:
        return now + alarm.grace()
    return _NEVER


_watchdog: Watchdog | None = None  # made with the first deadline


def watchdog() -> Watchdog:
    """The process's watchdog, made (its module loaded) with the first deadline; its thread
    starts when it is first asked to wake up."""
    global _watchdog
    from .watchdog import Watchdog

    if _watchdog is None:
        _watchdog = Watchdog(_on_watchdog)
    return _watchdog


def current_alarm() -> _Alarm | None:
    """The deadline of the invocation running in this thread, if any."""
    if _get_ident() == _MAIN_THREAD:
        return _Current.alarm
    alarm: _Alarm | None = getattr(_late, "alarm", None)
    return alarm


def time_left() -> float | None:
    """Seconds left of the budget of the request running in this thread (``None`` without a
    deadline): how much slow work a handler may still start.

    >>> time_left() is None  # no request runs here
    True
    """
    alarm = current_alarm()
    if alarm is None or alarm.budget is None:
        return None
    return max(alarm.budget - (_perf_counter() - alarm.started), 0.0)


def _dispatch(signum: int, frame: FrameType | None) -> None:
    """The SIGALRM handler: passes the signal to the current invocation's alarm, if any."""
    alarm = _Current.alarm
    if alarm is not None:
        alarm(signum, frame)
