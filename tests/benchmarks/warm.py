"""Warm invocations: µs per call, every cell once per round, rounds interleaved.

A cell is (routes, workload, variant). Each round times every cell once in a shuffled order, so
the machine's slow and fast moments fall on every variant alike; ratios are taken within a
round (paired) and their median reported. One sample is the best of ``BATCHES`` short batches,
which drops the batches another process interrupted (the machine may be shared).
"""

from __future__ import annotations

import gc
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from statistics import median
from typing import Any

from .apps import FRAMEWORKS, build
from .events import HEADERS, WORKLOADS, event_for, expected_status

Call = Callable[[], Any]
Cell = tuple[int, str, str]  # (routes, workload, variant)

LOG_OFF, LOG_ON, LINE = "lamroute", "lamroute+log", "json-logger line"
# Log off and ``App(timeout=None)``: what the deadline guard costs is LOG_OFF - NO_DEADLINE.
NO_DEADLINE = "lamroute, timeout=None"
LINE_AFTER = "lamroute, then a json-logger line"
# The same app with ``async def`` handlers for these workloads (issue 14's budget).
ASYNC_OFF, ASYNC_ON = "lamroute async", "lamroute async+log"
ASYNC_WORKLOADS = ("health", "user")
BATCHES = 4
ACCESS_FIELDS = ("method", "path", "route", "status", "duration_ms", "request_id",
                 "aws_request_id", "cold_start", "source_ip", "user_agent")


@dataclass
class WarmResults:
    """Per-cell samples (µs per call), one per round, in round order."""

    samples: dict[Cell, list[float]] = field(default_factory=dict)

    def median(self, cell: Cell) -> float | None:
        values = self.samples.get(cell)
        return median(values) if values else None

    def paired(self, num: Cell, den: Cell) -> float | None:
        """Median over rounds of ``num / den`` timed in the same round."""
        a, b = self.samples.get(num), self.samples.get(den)
        if not a or not b:
            return None
        return median(x / y for x, y in zip(a, b, strict=True))

    def paired_values(self, cells: list[Cell]) -> list[list[float]]:
        """Per round, the samples of ``cells`` (cells without samples left out)."""
        present = [self.samples[c] for c in cells if self.samples.get(c)]
        return [list(row) for row in zip(*present, strict=True)]


def json_logger_line(stream: Any) -> Call:
    """One bare python-json-logger line with the access line's fields, for reference."""
    from pythonjsonlogger.json import JsonFormatter

    logger = logging.getLogger("bench.json-logger-line")
    logger.handlers.clear()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter("%(levelname)s %(name)s %(message)s",
                                       rename_fields={"levelname": "level"}))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    extra = {
        "method": "GET", "path": "/users/42", "route": "/users/{user_id}", "status": 200,
        "duration_ms": 0.042, "request_id": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
        "aws_request_id": "3bcdb8e8-82fd-4d22-8bdc-12a1bdd95b13", "cold_start": False,
        "source_ip": "203.0.113.7", "user_agent": HEADERS["User-Agent"],
    }
    return lambda: logger.info("request", extra=extra)


def _invoker(handler: Callable[[Any, Any], Any], event: dict[str, Any], context: Any,
             expected: int) -> Call:
    response = _call_safely(handler, event, context)
    if response is not None and response.get("statusCode") != expected:
        raise AssertionError(f"expected {expected}, got {response}")
    if response is None:  # the framework re-raises (Powertools on an unhandled error)
        def call() -> Any:
            try:
                return handler(event, context)
            except Exception:
                return None
        return call
    return lambda: handler(event, context)


def _call_safely(handler: Callable[[Any, Any], Any], event: Any, context: Any) -> Any:
    try:
        return handler(event, context)
    except Exception:
        return None


def make_cells(route_counts: tuple[int, ...], context: Any, stream: Any,
               frameworks: tuple[str, ...] = tuple(FRAMEWORKS)) -> dict[Cell, Call]:
    """Every (routes, workload, variant) with the zero-argument call that runs it once."""
    calls: dict[Cell, Call] = {}
    line = json_logger_line(stream)
    for routes in route_counts:
        handlers: dict[str, Callable[[Any, Any], Any]] = {}
        for name in frameworks:
            if name == "lamroute":
                handlers[LOG_OFF] = build(name, routes, access_log=False)
                handlers[LOG_ON] = build(name, routes, access_log=True)
                handlers[NO_DEADLINE] = build(name, routes, access_log=False, deadline=False)
                handlers[ASYNC_OFF] = build(name, routes, access_log=False, asynchronous=True)
                handlers[ASYNC_ON] = build(name, routes, access_log=True, asynchronous=True)
            else:
                handlers[name] = build(name, routes)
        for workload in WORKLOADS:
            for variant, handler in handlers.items():
                if variant in (ASYNC_OFF, ASYNC_ON) and workload not in ASYNC_WORKLOADS:
                    continue
                calls[routes, workload, variant] = _invoker(
                    handler, event_for(variant, workload), context,
                    expected_status(variant, workload))
            if LOG_ON in handlers and (routes, workload, LOG_OFF) in calls:
                calls[routes, workload, LINE] = line
                # The same line emitted after the same request (log off): the request's work
                # leaves colder caches behind, which a line in a tight loop never sees.
                calls[routes, workload, LINE_AFTER] = _then(calls[routes, workload, LOG_OFF], line)
    return calls


def _then(first: Call, second: Call) -> Call:
    def both() -> None:
        first()
        second()

    return both


def _loops_for(call: Call, target_s: float) -> int:
    for _ in range(3):
        call()
    n, elapsed = 1, 0.0
    while elapsed < target_s / 10:
        start = time.perf_counter()
        for _ in range(n):
            call()
        elapsed = time.perf_counter() - start
        if elapsed < target_s / 10:
            n *= 4
    return max(1, round(n * target_s / max(elapsed, 1e-9)))


def run(calls: dict[Cell, Call], *, rounds: int, target_s: float, seed: int = 8,
        progress: Callable[[int], None] | None = None) -> WarmResults:
    """Time every cell once per round for ``rounds`` rounds, in a shuffled order each round."""
    gc.collect()
    gc.freeze()  # the apps' own objects are not the garbage being measured
    loops = {cell: _loops_for(call, target_s / BATCHES) for cell, call in calls.items()}
    results = WarmResults({cell: [] for cell in calls})
    order = list(calls)
    rng = random.Random(seed)
    perf = time.perf_counter
    for index in range(rounds):
        rng.shuffle(order)
        for cell in order:
            call, n = calls[cell], loops[cell]
            best = float("inf")
            for _ in range(BATCHES):  # best of a few short batches: skips the moments
                start = perf()        # another process held the CPU
                for _ in range(n):
                    call()
                best = min(best, perf() - start)
            results.samples[cell].append(best / n * 1e6)
        if progress is not None:
            progress(index + 1)
    return results


__all__ = ["ASYNC_OFF", "ASYNC_ON", "ASYNC_WORKLOADS", "LINE", "LINE_AFTER", "LOG_OFF", "LOG_ON",
           "NO_DEADLINE", "WarmResults", "make_cells", "run"]
