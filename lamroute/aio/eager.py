"""The container's loop class: a request's task takes its first step at once.

Most async handlers that answer quickly never wait on anything in their first step (a cache
hit, a computed answer): running the loop for them (an iteration, a poll of the selector)
costs more than the handler. Like Python 3.12's eager tasks (``eager_start``), the task
lamroute makes for a request runs its first step as soon as it is made, in the calling thread,
with the loop set as the running loop and the task as the current one (``get_running_loop()``,
``current_task()``, ``asyncio.timeout()``, ``loop.is_running()`` work as usual). If the handler
finished there and nothing else waits on the loop (no callback ready, no timer pending, no
task of the handlers' own still running), the loop does not run at all; otherwise it runs as
before.

Used when the event loop policy is asyncio's default on a platform whose default loop is the
selector one (another policy, uvloop's say, gets its own loop, run the usual way), without a
task factory and outside debug mode. The loop's own queues (``_ready``, ``_scheduled``) and
settings are read from this subclass of it.

>>> loop = EagerLoop()
>>> async def answer() -> int:
...     return 42
>>> task = loop.start(answer())
>>> task.done(), task.result(), loop.idle()
(True, 42, True)
>>> loop.close()
"""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import Callable, Coroutine
from contextvars import Context
from typing import Any, TypeVar

T = TypeVar("T")
_set_running_loop = asyncio._set_running_loop
_get_ident = threading.get_ident
_get_hooks, _set_hooks = sys.get_asyncgen_hooks, sys.set_asyncgen_hooks

__all__ = ["EagerLoop", "eager_loop"]


class EagerLoop(asyncio.SelectorEventLoop):
    """A selector event loop that starts a request's task at once (see the module)."""

    def __init__(self) -> None:
        super().__init__()
        self.tasks = 0  # tasks made by create_task (the handlers' own) still running
        self._taking: list[Any] | None = None  # set while a request's task is being made
        # (firstiter, finalizer), passed by position: sys.set_asyncgen_hooks([firstiter]
        # [, finalizer]) parses keywords at a quarter of a microsecond per request more.
        self._hooks = (self._asyncgen_firstiter_hook,  # type: ignore[attr-defined]
                       self._asyncgen_finalizer_hook)  # type: ignore[attr-defined]

    def eager(self) -> bool:
        """Whether :meth:`begin` may hold the first step back (no task factory, no debug mode,
        open)."""
        return (self._task_factory is None and not self._debug  # type: ignore[attr-defined]
                and not self._closed)  # type: ignore[attr-defined]

    def begin(self, coro: Coroutine[Any, Any, T]) -> tuple[asyncio.Task[T], list[Any] | None]:
        """A task for ``coro`` and its first step, held back for :meth:`take` (``None`` when
        the task scheduled it otherwise: the loop runs it, as usual)."""
        taking: list[Any] = []
        self._taking = taking
        try:
            task = asyncio.Task(coro, loop=self)  # hands its first step to call_soon
        finally:
            self._taking = None
        return task, taking or None

    def take(self, step: list[Any]) -> None:
        """Run a task's first step now, the loop set as running, as an iteration would (an
        exception that escapes it goes to the loop's exception handler, as there)."""
        callback, args, context = step
        hooks = _get_hooks()  # as run_forever sets them while the loop runs
        _set_hooks(*self._hooks)
        # What makes loop.is_running() true, as in run_forever: code that asks it (a sync
        # bridge choosing between run_until_complete and a thread) sees the loop it runs on.
        self._thread_id = _get_ident()
        _set_running_loop(self)
        try:
            context.run(callback, *args)
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:  # what Handle._run does with it
            self.call_exception_handler({"message": "Exception in a task's first step",
                                         "exception": exc})
        finally:
            _set_running_loop(None)
            self._thread_id = None  # type: ignore[assignment]  # (typeshed: int; asyncio: None)
            _set_hooks(*hooks)  # (an asyncgen_hooks is the pair firstiter, finalizer)

    def start(self, coro: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
        """A task for ``coro``, its first step taken already (it may be done)."""
        task, step = self.begin(coro)
        if step is not None:
            try:
                self.take(step)
            except (SystemExit, KeyboardInterrupt):
                # The task keeps it too (Task.__step sets it, then re-raises): retrieved here,
                # or asyncio logs "Task exception was never retrieved" when it is collected.
                if task.done() and not task.cancelled():
                    task.exception()
                raise
        return task

    def idle(self) -> bool:
        """Whether nothing waits for an iteration (no callback ready, no timer, no task)."""
        return not self._ready and not self._scheduled and not self.tasks  # type: ignore[attr-defined]

    def call_soon(self, callback: Callable[..., Any], *args: Any,  # type: ignore[override]
                  context: Context | None = None) -> asyncio.Handle:
        taking = self._taking
        if taking is not None and context is not None:  # the request task's first step
            self._taking = None
            taking += (callback, args, context)
            return None  # type: ignore[return-value]  # (asyncio.Task does not keep it)
        return super().call_soon(callback, *args, context=context)

    def create_task(self, coro: Any, **options: Any) -> asyncio.Task[Any]:
        task = super().create_task(coro, **options)
        self.tasks += 1
        task.add_done_callback(self._task_ended)
        return task

    def _task_ended(self, task: asyncio.Task[Any]) -> None:
        self.tasks -= 1


def eager_loop() -> asyncio.AbstractEventLoop:
    """A new loop for the container: an :class:`EagerLoop` under asyncio's default policy on a
    platform whose default loop is the selector one, else the policy's own loop."""
    policy = asyncio.get_event_loop_policy()
    if type(policy).__module__.startswith("asyncio.") and sys.platform != "win32":
        return EagerLoop()
    return asyncio.new_event_loop()
