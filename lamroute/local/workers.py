"""Worker processes running the real runtime client (``awslambdaric``), as Lambda runs a function.

Each worker is one execution environment: a ``python -m awslambdaric module.handler`` process
talking to its own :class:`~lamroute.local.runtime_api.RuntimeApi`. A worker handles one
invocation at a time; up to ``concurrency`` workers start on demand (a new process is a cold
start); beyond that an invocation is throttled. A worker that runs past the function's timeout
is killed; one that crashes or runs out of memory ends, and the next request gets a fresh one.

>>> from lamroute.local.function import FunctionConfig
>>> with LocalRuntime(FunctionConfig(handler="json.dumps"), concurrency=2) as runtime:
...     runtime.concurrency
2
"""

from __future__ import annotations

import itertools
import json
import logging
import math
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from types import TracebackType
from typing import IO, Any

from .answers import ColdStart
from .failures import ERROR_TYPES, describe_exit, format_error, import_traceback
from .function import FunctionConfig
from .invocation import Outcome
from .processes import Watchdog, WorkerOutput, limit_memory, max_memory_mb, runtime_client_dir
from .runtime_api import Invocation, RuntimeApi

logger = logging.getLogger("lamroute.local.runtime")

# The init phase of an on-demand function may take 10 s; past that Lambda retries it within
# the invocation, under the function's timeout.
# https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html#runtimes-lifecycle-ib
INIT_LIMIT = 10.0
# An address space this close to the limit means allocations were refused there.
OOM_MARGIN_MB = 16


class Worker:
    """One execution environment: a runtime client process and its Runtime API."""

    def __init__(self, pool: LocalRuntime, number: int) -> None:
        self.pool = pool
        self.number = number
        self.api = RuntimeApi(function_arn=pool.function.arn, timeout=pool.function.timeout,
                              listener=self)
        self.spawned = time.perf_counter()
        self.init_ms: float | None = None  # set when it first asks for an event
        self.invocations = 0
        # The cold start of its first invocation (by request id, one entry): the outcome's
        # mark and the REPORT line's Init Duration are this one value.
        self.cold_starts: dict[str, ColdStart] = {}
        self.busy: Invocation | None = None
        self.kill_reason: str | None = None
        self.retire = False
        self.output: WorkerOutput | None = None
        self.process = pool.start_process(self)

    # The Runtime API's listener (called from its server threads).
    def started(self, invocation: Invocation) -> None:
        if self.init_ms is None:
            self.init_ms = (time.perf_counter() - self.spawned) * 1000
        if self.invocations == 0:  # the environment's first: its init is this cold start's
            self.cold_starts[invocation.request_id] = ColdStart(self.init_ms)
        self.invocations += 1
        self.pool.watchdog.arm(time.monotonic() + self.pool.function.timeout,
                               lambda: self.kill_if_running(invocation))

    def kill_if_running(self, invocation: Invocation) -> None:
        """The function's timeout: kill the worker if ``invocation`` still runs there."""
        if self.busy is invocation and not invocation.done.is_set():
            self.kill("timeout")

    def kill_if_starting(self) -> None:
        """The init limit: kill the worker if it has not asked for an event yet."""
        if self.init_ms is None:
            self.kill("init timeout")

    def finished(self, invocation: Invocation) -> None:
        self.pool.release(self, invocation)

    def report(self, invocation: Invocation) -> None:
        self.pool.report(self, invocation)

    def init_failed(self, error: dict[str, Any]) -> None:
        pass  # kept by the Runtime API; the process exits next and the monitor reports it

    def kill(self, reason: str) -> None:
        if self.kill_reason is None:
            self.kill_reason = reason
        if self.process.poll() is None:
            self.process.kill()

    def max_memory_mb(self, field: bytes = b"VmHWM:") -> int | None:
        """The process's peak resident memory, Lambda's "Max Memory Used" (see
        :func:`~.processes.max_memory_mb`)."""
        return max_memory_mb(self.process.pid, field)

    def ran_out_of_memory(self) -> bool:
        """Whether the address space reached the memory limit: allocations failed there (a
        ``MemoryError`` the app may have caught), where Lambda would have killed the process."""
        if not self.pool.function.memory_limit:
            return False
        peak = self.max_memory_mb(b"VmPeak:")
        return peak is not None and peak >= self.pool.function.memory - OOM_MARGIN_MB


class LocalRuntime:
    """Lambda for one function on this machine: workers started on demand, up to
    ``concurrency`` at a time. The workers' stdout and stderr go to ``lines`` one line at a
    time (``lamroute serve``: :meth:`lamroute.local.terminal.Terminal.app_line`), else to the
    ``output`` file, else to this process's; ``cwd`` is the function's code folder
    (``LAMBDA_TASK_ROOT``).

    Give it to :class:`~lamroute.local.LocalGateway` in place of an app; ``close()`` (or the
    ``with`` block) stops every worker.
    """

    def __init__(self, function: FunctionConfig, *, concurrency: int = 10,
                 cwd: str | None = None, output: IO[Any] | None = None,
                 lines: Callable[[str], None] | None = None,
                 base_environment: dict[str, str] | None = None) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.runtime_dir = runtime_client_dir()
        self.function = function
        self.concurrency = concurrency
        self.cwd = os.path.abspath(cwd or os.getcwd())
        self.output = output
        self.lines = lines
        self.base_environment = base_environment
        self.watchdog = Watchdog()
        self._lock = threading.Lock()
        self._workers: list[Worker] = []
        self._idle: list[Worker] = []
        self._monitors: list[threading.Thread] = []
        self._outputs: list[WorkerOutput] = []
        self._numbers = itertools.count(1)
        self._closed = False

    def environment(self, runtime_api: str) -> dict[str, str]:
        return self.function.environment(runtime_api, base=self.base_environment,
                                         task_root=self.cwd, runtime_dir=self.runtime_dir)

    def start_process(self, worker: Worker) -> subprocess.Popen[bytes]:
        """``python -m awslambdaric module.handler``, in its own session (Ctrl-C in the
        terminal stops the gateway, which stops the workers), with the memory limit."""
        output: Any = subprocess.PIPE if self.lines is not None else self.output
        process = subprocess.Popen(
            [sys.executable, "-m", "awslambdaric", self.function.handler], cwd=self.cwd,
            env=self.environment(worker.api.address), stdin=subprocess.DEVNULL, stdout=output,
            stderr=subprocess.STDOUT if output is not None else None,
            start_new_session=True)
        if self.function.memory_limit:
            limit_memory(process.pid, self.function.memory)
        if self.lines is not None:
            worker.output = WorkerOutput(process, self.lines)
            self._outputs.append(worker.output)
        return process

    def invoke_event(self, event: Any, *, wait: float) -> Outcome:
        """Invoke the function with ``event``; an :class:`Outcome` after at most ``wait``
        seconds (``timed_out`` then, while the invocation goes on in its worker)."""
        trace = f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]};Sampled=0"
        invocation = Invocation(str(uuid.uuid4()), json.dumps(event).encode(), trace_id=trace)
        worker = self._acquire(invocation)
        if worker is None:
            return Outcome(failure="throttled", error_document={
                "errorType": ERROR_TYPES["throttled"], "errorMessage": "Rate Exceeded."},
                trace=f"Rate Exceeded: all {self.concurrency} workers are busy (--concurrency)")
        cold = worker.invocations == 0
        worker.api.submit(invocation)
        if not invocation.done.wait(wait):
            invocation.abandoned = True
            if invocation.done.is_set():  # it ended just now: its REPORT may be ours to write
                self._report_once(worker, invocation)
            return Outcome(timed_out=True, cold_start=self._cold_start(worker, invocation, cold))
        if worker.output is not None:
            worker.output.drain()  # the app's lines first, then REPORT, then the access line
        self._report_once(worker, invocation)
        return self._outcome(worker, invocation, cold)

    @staticmethod
    def _cold_start(worker: Worker, invocation: Invocation, cold: bool) -> ColdStart | None:
        """The invocation's cold-start mark (its init not measured yet when the gateway gave
        up before the worker asked for the event)."""
        found = worker.cold_starts.get(invocation.request_id)
        return found or (ColdStart() if cold else None)

    def _acquire(self, invocation: Invocation) -> Worker | None:
        with self._lock:
            if self._closed:
                raise RuntimeError("the local runtime is closed")
            if self._idle:
                worker = self._idle.pop()  # the most recently used: warm, as on Lambda
            elif len(self._workers) < self.concurrency:
                worker = Worker(self, next(self._numbers))
                self._workers.append(worker)
                monitor = threading.Thread(target=self._monitor, args=(worker,), daemon=True,
                                           name=f"lamroute-worker-{worker.number}")
                self._monitors.append(monitor)
                monitor.start()
                self.watchdog.arm(time.monotonic() + INIT_LIMIT + self.function.timeout,
                                  worker.kill_if_starting)
            else:
                return None
            worker.busy = invocation
            return worker

    def _outcome(self, worker: Worker, invocation: Invocation, cold: bool) -> Outcome:
        cold_start = self._cold_start(worker, invocation, cold)
        if invocation.failure is None:
            try:
                payload = json.loads(invocation.payload or b"null")
            except ValueError:
                payload = (invocation.payload or b"").decode("utf-8", "replace")
            return Outcome(payload=payload, cold_start=cold_start)
        error = dict(invocation.error or {})
        error.setdefault("errorType", ERROR_TYPES.get(invocation.failure) or "Error")
        return Outcome(failure=invocation.failure, error_document=error,
                       trace=format_error(error), cold_start=cold_start)

    def release(self, worker: Worker, invocation: Invocation) -> None:
        """An invocation ended with an answer or an error: the worker is free again."""
        if invocation.failure is None and worker.ran_out_of_memory():
            invocation.failure, invocation.payload = "memory", None
            invocation.error = {
                "errorType": ERROR_TYPES["memory"],
                "errorMessage": f"RequestId: {invocation.request_id} Error: Runtime exited "
                                f"with error: signal: killed (the address space reached "
                                f"{self.function.memory} MB; the app's answer is dropped, as "
                                "Lambda would have stopped the process)"}
        with self._lock:
            worker.busy = None
            ended = worker.retire or invocation.failure == "memory" or self._closed
            if ended:
                self._forget(worker)
            elif worker in self._workers:
                self._idle.append(worker)
        if ended:
            # Lambda ends an environment that ran out of memory; a recycled one is replaced.
            worker.kill("out of memory" if invocation.failure == "memory" else "recycled")

    def report(self, worker: Worker, invocation: Invocation) -> None:
        """An invocation ended: its ``REPORT`` line is written here only when the gateway has
        stopped waiting for it (the integration timeout), else by the request's own thread,
        after the worker's output (:meth:`invoke_event`)."""
        if invocation.abandoned:
            self._report_once(worker, invocation)

    def _report_once(self, worker: Worker, invocation: Invocation) -> None:
        with self._lock:
            if invocation.reported:
                return
            invocation.reported = True
        self._write_report(worker, invocation)

    def _write_report(self, worker: Worker, invocation: Invocation) -> None:
        """Lambda's ``REPORT`` line for the invocation (``Init Duration`` on a cold start)."""
        duration = invocation.duration_ms
        fields = [f"REPORT RequestId: {invocation.request_id}", f"Duration: {duration:.2f} ms",
                  f"Billed Duration: {math.ceil(duration)} ms",
                  f"Memory Size: {self.function.memory} MB"]
        used = worker.max_memory_mb()
        if used is not None:
            fields.append(f"Max Memory Used: {used} MB")
        cold_start = worker.cold_starts.get(invocation.request_id)
        if cold_start is not None and cold_start.init_ms is not None:
            fields.append(f"Init Duration: {cold_start.init_ms:.2f} ms")
        if invocation.failure is not None:
            fields.append(f"Status: {invocation.failure}")
        logger.info("%s", "\t".join(fields))
        if invocation.abandoned:
            logger.warning("the timed-out invocation %s ended after %.1fs; its answer was "
                           "dropped", invocation.request_id, duration / 1000)

    def _monitor(self, worker: Worker) -> None:
        """Wait for the worker's process to end; fail its invocation if it had one."""
        code = worker.process.wait()
        with self._lock:
            self._forget(worker)
            invocation = worker.busy or worker.api.current
        if invocation is not None and not invocation.done.is_set():
            self._fail(worker, invocation, code)
            invocation.done.set()
            self.report(worker, invocation)
        elif worker.kill_reason is None and not self._closed:
            logger.warning("worker %s (pid %s) ended between invocations: %s", worker.number,
                           worker.process.pid, describe_exit(code))
        worker.api.close()

    def _fail(self, worker: Worker, invocation: Invocation, code: int) -> None:
        invocation.finished = time.perf_counter()
        request = f"RequestId: {invocation.request_id} Error: "
        if worker.kill_reason == "timeout":
            invocation.failure = "timeout"
            invocation.error = {"errorType": ERROR_TYPES["timeout"],
                                "errorMessage": f"{request}Task timed out after "
                                                f"{self.function.timeout:.2f} seconds"}
        elif worker.init_ms is None:
            invocation.failure = "init"
            invocation.error = self._init_error(worker, code)
        elif worker.kill_reason == "out of memory":
            invocation.failure = "memory"
            invocation.error = {"errorType": ERROR_TYPES["memory"],
                                "errorMessage": f"{request}Runtime exited with error: "
                                                f"{describe_exit(code)}"}
        else:
            invocation.failure = "crash"
            invocation.error = {"errorType": ERROR_TYPES["crash"],
                                "errorMessage": f"{request}Runtime exited with error: "
                                                f"{describe_exit(code)}"}

    def _init_error(self, worker: Worker, code: int) -> dict[str, Any]:
        error = dict(worker.api.init_error or {})
        if not error:
            reason = ("took longer than the init limit" if worker.kill_reason == "init timeout"
                      else f"exited before asking for an event: {describe_exit(code)}")
            error = {"errorType": "Runtime.ExitError", "errorMessage": f"The runtime {reason}"}
        if not error.get("stackTrace") and error.get("errorType") == "Runtime.ImportModuleError":
            module = self.function.handler.rpartition(".")[0]
            text = import_traceback(module, env=worker.pool.environment("127.0.0.1:9"),
                                    cwd=self.cwd)
            error["stackTrace"] = [line + "\n" for line in text.splitlines()[1:-1]]
        return error

    def _forget(self, worker: Worker) -> None:
        """Take an ending worker out of the pool (under the lock): it no longer counts
        toward the concurrency, and is never handed an invocation again."""
        if worker in self._workers:
            self._workers.remove(worker)
        if worker in self._idle:
            self._idle.remove(worker)

    def recycle(self) -> None:
        """Replace every worker (``--reload``): idle ones stop now, busy ones when done."""
        with self._lock:
            idle, self._idle = self._idle, []
            for worker in self._workers:
                worker.retire = True
            for worker in idle:
                self._forget(worker)
        for worker in idle:
            worker.kill("recycled")

    @property
    def workers(self) -> int:
        """How many workers are running (busy or idle)."""
        with self._lock:
            return len(self._workers)

    @property
    def busy(self) -> int:
        """How many workers are running an invocation."""
        with self._lock:
            return sum(worker.busy is not None for worker in self._workers)

    def close(self) -> None:
        """Stop every worker and the watchdog; waits for them."""
        with self._lock:
            self._closed = True
            workers = list(self._workers)
            self._workers.clear()
            self._idle.clear()
        for worker in workers:
            worker.kill("closed")
        for monitor in list(self._monitors):
            monitor.join()
        for output in list(self._outputs):
            output.close()
        self.watchdog.close()

    def __enter__(self) -> LocalRuntime:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
