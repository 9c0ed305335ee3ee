"""Cold starts: a fresh interpreter imports a framework, builds the app and serves one request.

The parent (``measure``) runs the children interleaved and times each from spawn to its answer
(the cold start: Lambda's Init phase and first Invoke) and from spawn to exit; the child
(``python -m tests.benchmarks.cold NAME``) reads the event as JSON on stdin and prints the
monotonic clock when it had its answer, its peak RSS and the status it answered.

Exit is not part of a cold start: Lambda never runs the interpreter's teardown in Init or Invoke,
it freezes the environment and later ends the process in its Shutdown phase
(https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html). Teardown is
still reported (``exit_ms``): it frees the whole heap, ~15 ms of a ~100 ms run here.

``lamroute-no-models`` builds an app without a pydantic model (and no async code) and reports
whether pydantic (or asyncio) was imported anyway; ``lamroute-health`` and
``lamroute-async-health`` serve ``GET /health``, sync or async.
"""

from __future__ import annotations

import compileall
import json
import random
import re
import resource
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from statistics import median
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
CHILD = Path(__file__).with_name("coldchild.py")


@dataclass
class ColdResults:
    answer_ms: dict[str, list[float]] = field(default_factory=dict)
    exit_ms: dict[str, list[float]] = field(default_factory=dict)
    rss_kib: dict[str, list[int]] = field(default_factory=dict)
    cpu_ms: dict[str, list[float]] = field(default_factory=dict)
    status: dict[str, int] = field(default_factory=dict)
    pydantic_without_models: bool | None = None
    asyncio_without_async: bool | None = None
    import_ms: list[float] = field(default_factory=list)
    import_cumulative_us: list[int] = field(default_factory=list)

    def median_answer(self, name: str) -> float:
        """Spawn to answer (the cold start), ms."""
        return median(self.answer_ms[name])

    def median_exit(self, name: str) -> float:
        return median(self.exit_ms[name])

    def paired_answer(self, name: str, base: str) -> float:
        return _paired(self.answer_ms[name], self.answer_ms[base])

    def paired_exit(self, name: str, base: str) -> float:
        return _paired(self.exit_ms[name], self.exit_ms[base])

    def paired_cpu(self, name: str, base: str) -> float:
        pairs = zip(self.cpu_ms[name], self.cpu_ms[base], strict=True)
        return median(a / b for a, b in pairs)

    def median_rss_mib(self, name: str) -> float:
        return median(self.rss_kib[name]) / 1024


def _paired(values: list[float], base: list[float]) -> float:
    """The median ratio of runs made side by side (interleaved)."""
    return median(a / b for a, b in zip(values, base, strict=True))


def monotonic_ms() -> float:
    """``CLOCK_MONOTONIC`` in ms: one clock for the whole machine, so a child's reading and its
    parent's compare (``time.perf_counter`` is the same clock on Linux, but not by contract)."""
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC) / 1e6


def _child(name: str, event_json: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(CHILD), name], input=event_json,
        capture_output=True, text=True, cwd=ROOT, check=False,
    )


def _cpu_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run_child(name: str, event_json: str) -> dict[str, Any]:
    cpu, start = _cpu_children(), monotonic_ms()
    done = _child(name, event_json)
    end = monotonic_ms()
    if done.returncode != 0 or not done.stdout.strip():
        raise RuntimeError(f"cold child {name} failed:\n{done.stderr[-2000:]}")
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    report["cpu_ms"] = (_cpu_children() - cpu) * 1000
    report["answer_ms"], report["exit_ms"] = report["answered_ms"] - start, end - start
    return report


def measure(names: list[str], events: dict[str, dict[str, Any]], *, runs: int,
            seed: int = 8) -> ColdResults:
    """``runs`` interleaved cold starts of every framework in ``names``."""
    compile_bytecode()
    results = ColdResults({n: [] for n in names}, {n: [] for n in names},
                          {n: [] for n in names})
    payloads = {n: json.dumps(events[n]) for n in names}
    rng = random.Random(seed)
    for name in names:  # warm the page cache and __pycache__ once, unmeasured
        _run_child(name, payloads[name])
    for _ in range(runs):
        order = list(names)
        rng.shuffle(order)
        for name in order:
            report = _run_child(name, payloads[name])
            results.answer_ms[name].append(report["answer_ms"])
            results.exit_ms[name].append(report["exit_ms"])
            results.rss_kib[name].append(report["maxrss_kib"])
            results.cpu_ms.setdefault(name, []).append(report["cpu_ms"])
            results.status[name] = report["status"]
    report = _run_child("lamroute-no-models", payloads["lamroute"])
    results.pydantic_without_models = report["pydantic"]
    results.asyncio_without_async = report["asyncio"]
    measure_import(results, runs=runs)
    return results


def compile_bytecode() -> None:
    """Write the ``.pyc`` files of lamroute and the benchmark apps, as pip does for installed
    packages (the peers'): an editable install under ``PYTHONDONTWRITEBYTECODE`` would otherwise
    compile lamroute from source at every cold start, which no deployed function does."""
    for folder in (ROOT / "lamroute", Path(__file__).parent):
        compileall.compile_dir(folder, quiet=1)


def measure_import(results: ColdResults, *, runs: int) -> None:
    """``import lamroute`` alone: ``-X importtime`` cumulative µs, and wall time over ``pass``."""
    def wall(code: str) -> float:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
        return (time.perf_counter() - start) * 1000

    for _ in range(runs):
        base, with_import = wall("pass"), wall("import lamroute")
        results.import_ms.append(with_import - base)
        done = subprocess.run([sys.executable, "-X", "importtime", "-c", "import lamroute"],
                              cwd=ROOT, capture_output=True, text=True, check=True)
        found = re.search(r"\|\s*(\d+)\s*\|\s*lamroute\s*$", done.stderr, re.MULTILINE)
        if found:
            results.import_cumulative_us.append(int(found.group(1)))


