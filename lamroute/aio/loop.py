"""The container's event loop: created on first use, reused by every invocation.

Lambda calls the handler synchronously (``app(event, context)``); an async route runs as a task
on one event loop per container (per process: under Lambda Managed Instances each concurrent
request has its own process, and its own loop). The loop outlives the invocation, so what a
handler builds once (a ``cache="container"`` client, a module-level ``httpx.AsyncClient``) keeps
working on the next request; between invocations it does not run, as Lambda freezes the
environment: a task a handler starts without awaiting it only progresses while an invocation
runs the loop. ``asyncio.run`` per request would close the loop and break those clients.

The task is a real ``asyncio.Task`` (``asyncio.current_task()`` works in the handler, as anyio
and httpx need). A handler that awaits nothing ends in the loop's first pass; one that awaits
runs to its end with ``loop.run_until_complete``.
The deadline watches it (:mod:`lamroute.safeguards.tasks`). One thread runs the loop at a time
(a lock): from threads (``lamroute serve``, tests) async requests take turns on the one loop,
while sync routes never touch it.

>>> async def answer() -> int:
...     return 42
>>> run(answer())
42
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import os
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar, cast

from ..params import dependencies
from ..safeguards.deadline import DeadlineInterrupt, current_alarm
from ..safeguards.tasks import unwatch, watch_task
from .eager import EagerLoop, eager_loop

T = TypeVar("T")

_loop: asyncio.AbstractEventLoop | None = None
_lock = threading.Lock()  # one thread runs the loop at a time
_get_running_loop = asyncio._get_running_loop
_logger = logging.getLogger("lamroute")
_warned = False


def event_loop() -> asyncio.AbstractEventLoop:
    """The container's event loop, created on first use (for code that prepares work on it
    outside a request; handlers use ``asyncio.get_running_loop()``)."""
    global _loop
    loop = _loop
    if loop is None or loop.is_closed():
        loop = _loop = eager_loop()
    return loop


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to completion as a task on the container's loop, from synchronous code.

    The deadline of the invocation running in this thread may cancel it (then
    :class:`~lamroute.safeguards.deadline.DeadlineInterrupt` is raised here). Called where a
    loop already runs in this thread (a test that is itself async), the task runs on the
    container's loop in a helper thread meanwhile; from inside one of the app's own handlers it
    is an error (``await`` instead).
    """
    running = _get_running_loop()
    if running is not None:
        return _run_beside(coro, running)
    with _lock:
        return _run(coro, None)


def _run(coro: Coroutine[Any, Any, T], alarm: Any) -> T:
    loop = _loop
    eager = type(loop) is EagerLoop and loop.eager()  # (open, no task factory, no debug mode)
    if loop is None or (not eager and loop.is_closed()):
        loop = event_loop()
        eager = type(loop) is EagerLoop and loop.eager()
    if eager:
        # Its first step at once, where a handler that awaits nothing ends; the loop runs
        # only if something waits for it. While the step runs there is nothing to cancel: the
        # deadline interrupts it as it would a sync handler.
        started = cast(EagerLoop, loop)
        task = started.start(coro)
        if task.done() and started.idle():
            return task.result()
    else:
        task = loop.create_task(coro)
    watch = watch_task(task, loop, alarm)
    try:
        # One pass of the loop first (stop() before run_forever(): "poll the I/O selector once
        # with a timeout of zero, run all callbacks ... and then exit"): the task's first step,
        # where a handler that awaits nothing ends; run_until_complete's own stop callback
        # would take a second pass.
        loop.stop()
        loop.run_forever()
        if not task.done():
            loop.run_until_complete(task)
        return task.result()
    except asyncio.CancelledError:
        if watch is not None and watch.fired:  # cancelled at the deadline: the 504
            raise DeadlineInterrupt("handler cancelled: deadline reached", watch) from None
        raise
    except RuntimeError:
        if watch is not None and watch.fired and not task.done():  # the loop was stopped
            raise DeadlineInterrupt("handler cancelled: deadline reached", watch) from None
        raise
    except (SystemExit, KeyboardInterrupt):
        # asyncio lets these through the loop, leaving them on the task too: retrieved here
        # (the boundary answers the one raised), or asyncio logs "Task exception was never
        # retrieved" when the task is collected, which a sync handler's SystemExit never does.
        if task.done() and not task.cancelled():
            task.exception()
        raise
    finally:
        if watch is not None:
            unwatch(watch)
        if not task.done():  # interrupted: it runs on, cancelled, at the next invocation
            _abandon(task)


def _abandon(task: asyncio.Task[Any]) -> None:
    global _warned
    task.cancel()
    task.add_done_callback(_retrieve)
    task._log_destroy_pending = False  # type: ignore[attr-defined]  # logged here, once
    if not _warned:
        _warned = True
        _logger.warning("a cancelled handler did not stop; it stays on the event loop, "
                        "cancelled, and runs on when the next invocation runs the loop")


def _retrieve(task: asyncio.Task[Any]) -> None:
    if not task.cancelled():
        task.exception()  # retrieved: no "exception was never retrieved" at exit


def _run_beside(coro: Coroutine[Any, Any, T], running: asyncio.AbstractEventLoop) -> T:
    """``run`` where a loop already runs in this thread: on a helper thread, unless it is the
    container's own loop (a handler calling the app: it would wait for itself)."""
    if running is _loop:
        coro.close()
        raise RuntimeError(
            "The app was invoked from inside one of its own async handlers, on the event loop "
            "that runs them; await the code instead of calling app(event, context)."
        )
    alarm = current_alarm()  # the caller's deadline still counts
    outcome: dict[str, Any] = {}

    def helper() -> None:
        try:
            with _lock:
                outcome["value"] = _run(coro, alarm)
        except BaseException as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=helper, name="lamroute-loop", daemon=True)
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]  # type: ignore[no-any-return]


def _forget_after_fork() -> None:
    """A forked child gets a loop of its own (the parent's shares its selector and self-pipe)."""
    global _loop, _lock
    _loop = None
    _lock = threading.Lock()


def _close_at_exit() -> None:
    """At interpreter exit: cancel what still runs (a second at most), then close the loop."""
    loop = _loop
    if loop is None or loop.is_closed() or loop.is_running():
        return
    try:
        pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
        for task in pending:
            task.cancel()
        if pending:
            loop.run_until_complete(asyncio.wait(pending, timeout=1))
        loop.run_until_complete(loop.shutdown_asyncgens())
    finally:
        loop.close()


os.register_at_fork(after_in_child=_forget_after_fork)
atexit.register(_close_at_exit)
dependencies.run_coroutine = run
