"""The watchdog thread: one per process, asleep until a deadline may have passed.

A :class:`Watchdog` sleeps until its wake-up time (``time.perf_counter`` seconds; never while
nobody needs it), then calls ``check(now)``, which acts on what it finds and returns the next
wake-up time (``NEVER`` to sleep until :meth:`Watchdog.watch` is called again). Callers write
to it only when they need it earlier than planned, so the usual request takes no lock and makes
no system call. The thread starts with the first :meth:`~Watchdog.watch`; a forked child starts
its own (the parent's thread does not come along). It is a bare ``_thread`` thread, a daemon
that ``threading.enumerate()`` does not list: registering it with ``threading`` (to name it)
made its start hold the interpreter lock ~0.08 ms longer, in the middle of the first request.

>>> import threading
>>> seen = threading.Event()
>>> def check(now: float) -> float:
...     seen.set()
...     return NEVER
>>> dog = Watchdog(check)
>>> dog.watch(time.perf_counter())   # wake up now
>>> seen.wait(5.0)
True
"""

from __future__ import annotations

import _thread
import os
import threading
import time
from collections.abc import Callable

NEVER = float("inf")
_perf_counter = time.perf_counter

__all__ = ["NEVER", "Watchdog"]


class Watchdog:
    """A thread that calls ``check(now)`` once ``wakes_at`` has passed (see the module)."""

    def __init__(self, check: Callable[[float], float]) -> None:
        self.check = check
        self.forget()
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=self.forget)

    def forget(self) -> None:
        """A fresh state, without a thread (at creation, and in a forked child)."""
        self.lock = threading.Lock()
        self.wake = threading.Condition(self.lock)
        self.wakes_at = NEVER
        self.started = False

    def watch(self, due: float) -> None:
        """Wake up by ``due`` at the latest (or now, when the planned wake-up has gone by:
        the thread is late)."""
        with self.lock:
            if due < self.wakes_at or self.wakes_at < _perf_counter():
                self.wakes_at = due
                if not self.started:
                    # The low-level start: threading.Thread.start() would wait for the thread
                    # to be scheduled (a quarter of a millisecond of the first request).
                    self.started = True
                    _thread.start_new_thread(self._loop, ())
                self.wake.notify()

    def _loop(self) -> None:
        with self.lock:
            while True:
                delay = self.wakes_at - _perf_counter()
                if delay > 0:
                    self.wake.wait(None if delay == NEVER else delay)
                    continue
                # Reset before `check` reads what runs: a caller that sets what runs before
                # it reads `wakes_at` then always sees one or the other (see its use).
                self.wakes_at = NEVER
                self.wakes_at = self.check(_perf_counter())
