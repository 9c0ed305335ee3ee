"""The deadline without a timer per request (issue 18): one watchdog thread per process sends
``SIGALRM`` once a running invocation passes its deadline; nothing is left pending between
invocations, stray alarms are ignored, and a late answer is a 504 even when the watchdog could
not act in time."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
from fixtures import deadline_watchdogs

from lamroute import App, Timeout
from lamroute.safeguards import deadline
from lamroute.testing import TestClient

FAST = Timeout(margin_s=0.05)


@pytest.fixture(autouse=True)
def nothing_left() -> Iterator[None]:
    yield
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    assert deadline._Current.alarm is None


def test_a_sigalrm_before_the_deadline_does_not_interrupt_the_handler() -> None:
    # Someone else's alarm (or a stray one) is not the deadline: the handler runs on.
    app = App(timeout=FAST)

    @app.get("/")
    def index() -> str:
        signal.raise_signal(signal.SIGALRM)
        time.sleep(0.01)
        return "done"

    client = TestClient(app, timeout_ms=3000)
    assert client.get("/").text == "done"  # lamroute's handler in place from here on
    assert client.get("/").text == "done"


def test_the_watchdog_is_one_daemon_thread_and_sleeps_between_invocations() -> None:
    app = App(timeout=FAST)
    app.get("/")(lambda: "ok")
    client = TestClient(app, timeout_ms=3000)
    for _ in range(3):
        assert client.get("/").text == "ok"
    assert len(deadline_watchdogs()) == 1
    assert deadline.time_left() is None  # between invocations: no deadline runs
    # A daemon: asleep until a deadline 29 s away, it does not keep a process from exiting.
    code = ("import sys, lamroute\n"
            "from lamroute.testing import TestClient\n"
            "app = lamroute.App(access_log=False)\n"
            "app.get('/')(lambda: 'ok')\n"
            "assert TestClient(app, timeout_ms=60_000).get('/').text == 'ok'\n"
            "from lamroute.safeguards import deadline\n"
            "assert deadline._watchdog is not None and deadline._watchdog.started\n")
    started = time.monotonic()
    subprocess.run([sys.executable, "-c", code], check=True, timeout=20)
    assert time.monotonic() - started < 10


def test_a_late_answer_is_a_504_even_when_the_watchdog_could_not_act(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # The watchdog needs the interpreter's lock to act: an answer that comes back after the
    # deadline before it could is still the 504 (here its signal never arrives).
    monkeypatch.setattr(deadline._signal, "pthread_kill", lambda thread, signum: None)
    app = App(timeout=Timeout(integration_s=0.05, margin_s=0.0))

    @app.get("/")
    def index() -> str:
        time.sleep(0.1)
        return "late"

    response = TestClient(app, timeout_ms=60_000).get("/")
    assert response.status_code == 504


def test_the_deadline_interrupts_in_time_invocation_after_invocation() -> None:
    # Each invocation's deadline counts, not only the first one the watchdog was woken for.
    app = App(timeout=Timeout(integration_s=0.15, margin_s=0.0))

    @app.get("/{seconds}")
    def wait(seconds: float) -> str:
        time.sleep(seconds)
        return "done"

    client = TestClient(app, timeout_ms=60_000)
    for seconds, status in ((0.0, 200), (5.0, 504), (0.05, 200), (5.0, 504)):
        started = time.perf_counter()
        assert client.get(f"/{seconds}").status_code == status
        assert time.perf_counter() - started < 1.0


def test_time_left_is_the_budget_left_of_the_running_request() -> None:
    app = App(timeout=Timeout(integration_s=2.0, margin_s=0.5))
    seen: list[float | None] = []

    @app.get("/")
    def index() -> str:
        seen.append(deadline.time_left())
        time.sleep(0.1)
        seen.append(deadline.time_left())
        return "ok"

    assert TestClient(app, timeout_ms=60_000).get("/").text == "ok"
    first, second = seen
    assert first is not None and second is not None
    assert 1.4 < first <= 1.5 and 0.05 < first - second < 0.5


@pytest.mark.skipif(not hasattr(os, "fork") or sys.platform == "darwin",
                    reason="fork (Linux: how Lambda Managed Instances make processes)")
def test_a_forked_child_gets_a_watchdog_of_its_own() -> None:
    app = App(timeout=Timeout(integration_s=0.1, margin_s=0.0))

    @app.get("/slow")
    def slow() -> str:
        time.sleep(5)
        return "never"

    app.get("/ok")(lambda: "ok")
    assert TestClient(app, timeout_ms=60_000).get("/ok").text == "ok"  # the parent's watchdog
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through the pipe
        status = TestClient(app, timeout_ms=60_000).get("/slow").status_code
        os.write(write, str(status).encode())
        os._exit(0)
    os.close(write)
    started = time.perf_counter()
    reported = os.read(read, 16).decode()
    os.close(read)
    os.waitpid(pid, 0)
    assert reported == "504" and time.perf_counter() - started < 3
