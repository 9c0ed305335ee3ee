"""`lamroute serve` with the local runtime against `--in-process`, on examples.notes (HTTP API).

    .venv/bin/python -m tests.benchmarks.local_runtime

Prints the start-up time (process start to listening, median of 5), the first request (the
cold start with workers), and the warm request time (medians of 41 interleaved rounds of 20
requests over a kept-alive connection) with the paired difference. The README quotes it.
"""

from __future__ import annotations

import http.client
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MODES = ("workers", "in-process")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(mode: str) -> tuple[subprocess.Popen[bytes], int, float]:
    port = free_port()
    argv = [sys.executable, "-m", "lamroute", "serve", "examples.notes.app:app", "--port",
            str(port), "--api", "http", *(["--in-process"] if mode == "in-process" else [])]
    began = time.perf_counter()
    env = {**os.environ, "NOTES_DB": ":memory:"}
    process = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, env=env)
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.05).close()
            return process, port, time.perf_counter() - began
        except OSError:
            if time.perf_counter() - began > 10:
                raise RuntimeError("the server did not start") from None
            time.sleep(0.002)


def request(connection: http.client.HTTPConnection) -> float:
    began = time.perf_counter()
    connection.request("GET", "/notes/1")
    connection.getresponse().read()
    return time.perf_counter() - began


def main() -> None:
    startups: dict[str, list[float]] = {mode: [] for mode in MODES}
    firsts: dict[str, list[float]] = {mode: [] for mode in MODES}
    for _ in range(5):
        for mode in MODES:
            process, port, startup = start(mode)
            startups[mode].append(startup)
            firsts[mode].append(request(http.client.HTTPConnection("127.0.0.1", port)))
            process.terminate()
            process.wait()
    servers = {mode: start(mode) for mode in MODES}
    connections = {mode: http.client.HTTPConnection("127.0.0.1", servers[mode][1])
                   for mode in MODES}
    for connection in connections.values():
        for _ in range(50):
            request(connection)
    warm: dict[str, list[float]] = {mode: [] for mode in MODES}
    for _ in range(41):
        for mode in MODES:
            warm[mode].append(statistics.median(request(connections[mode]) for _ in range(20)))
    for process, _, _ in servers.values():
        process.terminate()
        process.wait()
    for mode in MODES:
        print(f"{mode}: listening after {statistics.median(startups[mode]) * 1000:.0f} ms, "
              f"first request {statistics.median(firsts[mode]) * 1000:.1f} ms, "
              f"warm request {statistics.median(warm[mode]) * 1000:.3f} ms")
    paired = [a - b for a, b in zip(warm["workers"], warm["in-process"], strict=True)]
    print(f"warm overhead of a worker: {statistics.median(paired) * 1000:.3f} ms")


if __name__ == "__main__":
    main()
