"""The deadline of async routes: a task on the container's loop, cancelled in time.

An ``async`` route runs as a task on the container's event loop (:mod:`lamroute.aio.loop`),
which hands it to :func:`watch_task` while it runs. At the deadline the task is cancelled: a
``CancelledError`` is raised where it awaits, ``finally`` blocks and ``async with`` exits run,
and the client gets the formatted 504, as ``asyncio.Runner`` turns Ctrl-C into a
cancellation. A task still running half the margin later (it swallowed the cancellation, or
blocks without awaiting) is interrupted as a sync handler is (:mod:`.deadline`): ``SIGALRM``
raises :class:`~lamroute.safeguards.deadline.DeadlineInterrupt` where it is; the answer is the
504 all the same, and the log says what happened. Without ``SIGALRM`` (another thread, as
under ``lamroute serve``) a timer of the loop cancels the task, and stops the loop if it
lingers.

Loaded only by apps with async code. The cancellation carries a message a handler may test:

>>> from lamroute.safeguards.deadline import CANCEL_MESSAGE
>>> CANCEL_MESSAGE
'lamroute: the request reached its deadline'
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from .deadline import (
    _MAIN_THREAD,
    CANCEL_MESSAGE,
    Deadline,
    _Alarm,
    _Current,
    _get_ident,
    _late,
    _perf_counter,
    current_alarm,
)

if TYPE_CHECKING:
    from ..http.request import Request
    from ..http.response import Response


class Watch:
    """An async task running under an alarm, its loop, and the loop's deadline timer when no
    ``SIGALRM`` serves."""

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

    def aim(self, alarm: _Alarm) -> None:
        """The loop keeps the time of ``alarm`` (its budget moved): see :func:`aim_timer`."""
        aim_timer(alarm)


def aim_timer(alarm: _Alarm) -> None:
    """(Re)start the loop timer that cancels the watched task at the budget (no SIGALRM)."""
    watch = _watch_of(alarm)
    if watch is None:
        return
    if watch.timer is not None:
        watch.timer.cancel()
        watch.timer = None
    if alarm.budget is None or alarm.fired:
        return
    left = alarm.budget - (_perf_counter() - alarm.started)
    watch.timer = watch.loop.call_later(left if left > 0 else 0.0, _soft_shot, alarm, watch)


def _watch_of(alarm: _Alarm) -> Watch | None:
    """``alarm.watch``: the deadline knows it by its protocol, it is always one of these."""
    return alarm.watch  # type: ignore[return-value]


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


def watch_task(task: asyncio.Task[Any], loop: asyncio.AbstractEventLoop,
               alarm: _Alarm | None = None, *, hard: bool = True) -> _Alarm | None:
    """Let the deadline of the invocation running in this thread (or ``alarm``) cancel
    ``task``, which runs on ``loop``; the alarm watching it (for :func:`unwatch`), or ``None``.

    With ``SIGALRM`` the alarm cancels the task at the deadline and interrupts it half the
    margin later; otherwise a timer of the loop cancels it, and (``hard``) stops the loop half
    the margin later if it lingers.
    """
    if alarm is None:
        thread = _get_ident()
        alarm = _Current.alarm if thread == _MAIN_THREAD else getattr(_late, "alarm", None)
        if alarm is None or alarm.thread != thread:
            return None
    if alarm.fired:
        return None
    alarm.watch = Watch(task, loop, hard)
    if not alarm.armed:  # no SIGALRM for this invocation: the loop keeps the time
        aim_timer(alarm)
    return alarm


def unwatch(alarm: _Alarm) -> None:
    """The task :func:`watch_task` registered has ended (or was abandoned)."""
    watch, alarm.watch = _watch_of(alarm), None
    if watch is not None and watch.timer is not None:
        watch.timer.cancel()


def cancelled_at_deadline() -> _Alarm | None:
    """The alarm whose deadline cancelled the task running in this thread, if that is why it
    was cancelled (an async ``call_next`` answers the 504 then)."""
    alarm = current_alarm()
    return alarm if alarm is not None and alarm.fired and alarm.watch is not None else None


async def run_within(deadline: Deadline, call: Callable[[Request], Awaitable[Response]],
                     request: Request) -> Response:
    """:meth:`Deadline.run` for an awaited call, inside the loop (a route under async app
    middleware). The app's deadline, if any, already runs and is re-aimed; otherwise this
    route's budget is kept by a timer of the loop, which cancels the task (code that blocks
    without awaiting runs to its end, and a late answer becomes the 504)."""
    thread = _get_ident()
    outer = current_alarm()
    if outer is not None and outer.thread == thread:
        if outer.deadline is not deadline and not outer.fired:
            deadline._aim(outer, request)
        return await call(request)
    remaining = getattr(request.context, "get_remaining_time_in_millis", None)
    if deadline.timeout is None or remaining is None:
        return await call(request)
    try:
        remaining_ms = float(remaining())
    except Exception:  # a context that is not Lambda's: no deadline to keep
        return await call(request)
    alarm = _Alarm(deadline, _perf_counter(), remaining_ms,
                   deadline.timeout.budget(remaining_ms), thread)
    if alarm.budget is not None and alarm.budget <= 0:
        raise deadline._timed_out(request, alarm, "no time left to start the handler")
    main = thread == _MAIN_THREAD
    if main:
        _Current.alarm = alarm
    else:
        _late.alarm = alarm
    task = asyncio.current_task()
    if task is not None:
        watch_task(task, asyncio.get_running_loop(), alarm, hard=False)
    try:
        response = await call(request)
    except asyncio.CancelledError as exc:
        if alarm.fired:
            raise deadline._timed_out(request, alarm, "handler cancelled") from exc
        raise
    finally:
        unwatch(alarm)
        if main:
            _Current.alarm = None
        else:
            _late.alarm = None
    if alarm.fired or (alarm.budget is not None
                       and _perf_counter() - alarm.started > alarm.budget):
        raise deadline._timed_out(request, alarm, "handler returned after its deadline")
    return response
