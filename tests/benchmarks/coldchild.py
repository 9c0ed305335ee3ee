"""One cold start: ``python tests/benchmarks/coldchild.py NAME < event.json``.

Imports only what the framework under test needs (run by path: ``apps`` is a top-level package
here), builds the 50-route app, serves the event once and prints when it had the answer
(``answered_ms``, ``CLOCK_MONOTONIC``: the parent's clock too), its peak RSS and the status.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

COLD_ROUTES = 50


class Context:
    function_name = "bench"
    memory_limit_in_mb = 128
    aws_request_id = "3bcdb8e8-82fd-4d22-8bdc-12a1bdd95b13"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def serve(name: str, event: dict[str, Any]) -> dict[str, Any]:
    if name == "lamroute-no-models":
        from lamroute import App

        app = App(title="no models")
        app.get("/items")(lambda: {"status": "ok"})
        app.get("/health")(lambda: {"status": "ok"})
        response = app(event, Context())
        return {"status": response["statusCode"], "pydantic": "pydantic" in sys.modules,
                "asyncio": "asyncio" in sys.modules}
    from apps import build  # type: ignore[import-not-found]

    if name in ("lamroute-health", "lamroute-async-health"):  # GET /health, sync or async
        handler = build("lamroute", COLD_ROUTES, asynchronous=name == "lamroute-async-health")
    else:
        handler = build(name, COLD_ROUTES)
    return {"status": handler(event, Context())["statusCode"]}


def peak_rss_kib() -> int:
    """This process's peak RSS (``VmHWM``).

    Not ``getrusage``: its ``ru_maxrss`` survives ``execve`` and so reports the parent's peak
    when the parent is larger (https://man7.org/linux/man-pages/man2/getrusage.2.html).
    """
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def main() -> None:
    event = json.loads(sys.stdin.read())
    out = sys.stdout
    sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - log lines go nowhere
    report = serve(sys.argv[1], event)
    report["answered_ms"] = time.clock_gettime_ns(time.CLOCK_MONOTONIC) / 1e6
    report["maxrss_kib"] = peak_rss_kib()
    out.write(json.dumps(report) + "\n")


if __name__ == "__main__":
    main()
