"""The benchmark's results as committed: ``make bench`` writes the same text to
``tests/benchmarks/RESULTS.md`` and to the README's performance section (issue 18: the budgets
are reported there, and the README's table is regenerated from that run)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
START, END = "<!-- bench:start -->", "<!-- bench:end -->"
HEADER = "# Benchmark results\n\nWritten by `make bench` (`python -m tests.benchmarks.run`).\n\n"


def test_results_md_and_the_readme_show_the_same_benchmark_run() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme[readme.index(START) + len(START) + 1:readme.index(END)]
    results = (ROOT / "tests" / "benchmarks" / "RESULTS.md").read_text(encoding="utf-8")
    assert results.startswith(HEADER)
    assert results[len(HEADER):] == block
