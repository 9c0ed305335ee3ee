"""The plumbing of the local runtime's worker processes: where the runtime client lives, their
memory limit and peak memory, their output, and one watchdog thread for their deadlines.

>>> import sys
>>> process = subprocess.Popen([sys.executable, "-c", "print('one'); print('two')"],
...                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
>>> seen = []
>>> output = WorkerOutput(process, seen.append)
>>> process.wait(), output.close(), seen
(0, None, ['one\\n', 'two\\n'])
"""

from __future__ import annotations

import fcntl
import heapq
import importlib.util
import itertools
import logging
import math
import os
import select
import struct
import subprocess
import termios
import threading
import time
from collections.abc import Callable

logger = logging.getLogger("lamroute.local.runtime")


def runtime_client_dir() -> str:
    """Where ``awslambdaric`` is installed (``LAMBDA_RUNTIME_DIR``); an error if it is not."""
    spec = importlib.util.find_spec("awslambdaric")
    if spec is None or not spec.origin:
        raise RuntimeError("the local runtime needs the runtime interface client: "
                           "pip install 'lamroute[local]' (or serve with --in-process)")
    return os.path.dirname(os.path.dirname(spec.origin))


def limit_memory(pid: int, megabytes: int) -> None:
    """Cap the worker's address space (``RLIMIT_AS``): allocations past it fail, as the
    function's memory runs out on Lambda (which counts resident memory, not address space)."""
    import resource

    limit = megabytes * 1024 * 1024
    try:
        resource.prlimit(pid, resource.RLIMIT_AS, (limit, limit))
    except (AttributeError, OSError, ValueError) as exc:  # not Linux, or already gone
        logger.warning("cannot limit worker memory to %s MB: %s", megabytes, exc)


def max_memory_mb(pid: int, field: bytes = b"VmHWM:") -> int | None:
    """A process's peak resident memory (Linux), Lambda's "Max Memory Used"; ``b"VmPeak:"``
    for its peak address space. ``None`` when it cannot be read (gone, not Linux)."""
    try:
        with open(f"/proc/{pid}/status", "rb") as status:
            for line in status:
                if line.startswith(field):
                    return math.ceil(int(line.split()[1]) / 1024)
    except (OSError, ValueError, IndexError):
        return None
    return None


class WorkerOutput:
    """A worker's standard output (its stderr merged in), handed to ``lines`` one line at a
    time by a thread, until the worker closes it.

    :meth:`drain` waits until everything the worker has written so far has been handed over:
    called when an invocation ends, it puts the app's log lines before the gateway's access
    line, in the order the developer expects. The pipe is only read under a lock, after
    ``select`` says it has data: holding the lock with an empty pipe means nothing written is
    still on its way.
    """

    def __init__(self, process: subprocess.Popen[bytes], lines: Callable[[str], None]) -> None:
        if process.stdout is None:
            raise ValueError("the worker's output must be a pipe")
        self._file = process.stdout
        self._fd = process.stdout.fileno()
        self._lines = lines
        self._lock = threading.Condition()
        self._pending = b""
        self._ended = False
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name=f"lamroute-worker-output-{process.pid}")
        self._thread.start()

    def _run(self) -> None:
        try:
            while True:
                select.select([self._fd], [], [])
                with self._lock:
                    chunk = os.read(self._fd, 65536)
                    if not chunk:
                        break
                    *complete, self._pending = (self._pending + chunk).split(b"\n")
                    for line in complete:
                        self._hand(line + b"\n")
                    self._lock.notify_all()
            if self._pending:
                self._hand(self._pending)
        finally:
            with self._lock:  # closed under the lock: drain() never reads a reused fd number
                self._ended = True
                self._file.close()
                self._lock.notify_all()

    def _hand(self, raw: bytes) -> None:
        try:
            self._lines(raw.decode("utf-8", "replace"))
        except Exception:  # a broken terminal must not stop the worker's output
            logger.exception("a worker's output line could not be shown")

    def drain(self, timeout: float = 0.2) -> None:
        """Wait (at most ``timeout`` seconds) until the pipe is read empty."""
        with self._lock:
            self._lock.wait_for(lambda: self._ended or not _unread(self._fd), timeout)

    def close(self, timeout: float = 5.0) -> None:
        """Wait for the thread (the worker has ended; a child of it may hold the pipe)."""
        self._thread.join(timeout)


def _unread(fd: int) -> int:
    """How many bytes wait in the pipe (``FIONREAD``)."""
    try:
        buffer = fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0")
    except OSError:  # closed: nothing more to read
        return 0
    return int(struct.unpack("@i", buffer)[0])


class Watchdog:
    """One thread that runs actions at their deadlines (a worker past the function's timeout,
    or past the init limit, is killed this way)."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name="lamroute-runtime-watchdog")
        self._thread.start()

    def arm(self, when: float, action: Callable[[], None]) -> None:
        """Run ``action`` at ``when`` (``time.monotonic()``), unless closed first."""
        with self._cond:
            heapq.heappush(self._heap, (when, next(self._seq), action))
            self._cond.notify()

    def _run(self) -> None:
        while True:
            expired = []
            with self._cond:
                if self._closed:
                    return
                now = time.monotonic()
                while self._heap and self._heap[0][0] <= now:
                    expired.append(heapq.heappop(self._heap))
                if not expired:
                    self._cond.wait(self._heap[0][0] - now if self._heap else None)
            for _, _, action in expired:
                try:
                    action()
                except Exception:
                    logger.exception("a runtime watchdog action failed")

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify()
        self._thread.join()
