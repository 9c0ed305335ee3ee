"""``make bench``: lamroute against a hand-written handler and the peers, with the budgets.

Usage: ``python -m tests.benchmarks.run [--rounds N] [--cold-runs N] [--quick] [--no-cold]
[--no-write]``. Prints the tables and writes them to ``tests/benchmarks/RESULTS.md`` and the
README's Performance section. Every log line (lamroute's access log, the peers' error logs) goes
to ``os.devnull``, so terminal speed does not count.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from pathlib import Path

from lamroute.testing import FakeContext

from . import cold, report, warm
from .apps import FRAMEWORKS
from .events import event_for

ROOT = Path(__file__).resolve().parents[2]
RESULTS = Path(__file__).with_name("RESULTS.md")
README = ROOT / "README.md"
START, END = "<!-- bench:start -->", "<!-- bench:end -->"
ROUTE_COUNTS = (10, 200)
# Cold starts of GET /health, with a sync and with an async handler (the event loop's cost).
COLD_HEALTH = ("lamroute-health", "lamroute-async-health")
README_INTRO = """## Performance

`make bench` runs the same small API (static fillers, `GET /health` registered last,
`GET /users/{user_id}` as an int, `POST /items` validated by a pydantic model, a route that
raises, an unknown path) on lamroute, a hand-written handler (dict dispatch + `json.dumps`, the
floor), Powertools' `APIGatewayRestResolver`, Chalice and FastAPI + Mangum, with realistic REST API
events (stage, 21 browser headers, full `requestContext`), and prints every budget as PASS or
MISS with its figures: issue 18's "fast as shipped" (lamroute as shipped, access log and
deadline on, at most 0.8x Chalice; the access line at most half of one python-json-logger line
with the same fields and destination; the deadline guard at most 1 µs, measured against the same
app with `timeout=None`; the access log off at most 3x the hand-written handler; cold start,
memory, routing and the error path no worse), issue 8's, and issue 14's (`health` and `user`
also run with `async def` handlers: at most 1.5x the same sync route, as shipped). All log lines
go to `/dev/null`.
`make bench-micro` runs a pytest-benchmark suite of the hot paths (routing, parsing,
rendering). The latest run (numbers from a shared machine: compare the ratios, not the absolute
times):

"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=41, help="warm rounds (default 41)")
    parser.add_argument("--sample-ms", type=float, default=3.0,
                        help="target duration of one warm sample (default 3 ms)")
    # 31: a paired ratio's median moved by about ±0.01 between runs of 15 (the cold budget's
    # margin is about that); 31 narrow it to about ±0.007 (1/√n), for ~15 s more.
    parser.add_argument("--cold-runs", type=int, default=31,
                        help="cold runs per framework (default 31)")
    parser.add_argument("--quick", action="store_true", help="few rounds, for a smoke test")
    parser.add_argument("--no-cold", action="store_true", help="skip the cold starts")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.cold_runs, args.sample_ms = 5, 3, 2.0
    out = sys.stdout
    began = time.perf_counter()

    def say(text: str) -> None:
        out.write(text + "\n")
        out.flush()

    devnull = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the process
    sys.stdout = sys.stderr = devnull
    try:
        say(f"warm: building {len(FRAMEWORKS)} apps at {ROUTE_COUNTS} routes ...")
        # One context serves every warm call, so its deadline is the whole run's: Lambda's
        # longest timeout (900 s), or a warm phase slowed past 29.5 s by another job on the
        # machine would have every deadline-guarded call answer 504 (its budget gone). Each
        # call still reads the time left and computes its budget (the gateway's 29 s here).
        calls = warm.make_cells(ROUTE_COUNTS, FakeContext(timeout_ms=900_000), devnull)
        say(f"warm: {len(calls)} cells x {args.rounds} rounds")
        results = warm.run(calls, rounds=args.rounds, target_s=args.sample_ms / 1000,
                           progress=lambda i: say(f"  round {i}/{args.rounds}")
                           if i % 10 == 0 or i == args.rounds else None)
        cold_results = None
        if not args.no_cold:
            names = [*FRAMEWORKS, *COLD_HEALTH]
            say(f"cold: {len(names)} apps x {args.cold_runs} runs ...")
            events = {name: event_for(name, "create_item") for name in FRAMEWORKS}
            events.update({name: event_for("lamroute", "health") for name in COLD_HEALTH})
            cold_results = cold.measure(names, events, runs=args.cold_runs)
    finally:
        sys.stdout, sys.stderr = out, sys.__stderr__
    text = report.render(results, cold_results, ROUTE_COUNTS, rounds=args.rounds,
                         cold_runs=args.cold_runs)
    say("\n" + text)
    say(f"(benchmark took {time.perf_counter() - began:.0f} s)")
    if not args.no_write:
        RESULTS.write_text("# Benchmark results\n\nWritten by `make bench` "
                           "(`python -m tests.benchmarks.run`).\n\n" + text)
        update_readme(text)
        say(f"wrote {RESULTS.relative_to(ROOT)} and the README's Performance section")
    return 0


def update_readme(text: str) -> None:
    """Replace the table between the bench markers in the README (added once if absent)."""
    readme = README.read_text()
    block = f"{START}\n{text}{END}"
    if START in readme and END in readme:
        readme = re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _: block, readme,
                        flags=re.DOTALL)
    else:
        readme = readme.rstrip("\n") + "\n\n" + README_INTRO + block + "\n"
    README.write_text(readme)


if __name__ == "__main__":
    sys.exit(main())
