"""Deadlines: a slow handler gets a formatted 504 before Lambda or the gateway gives up."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fixtures import Records, deadline_watchdogs

from lamroute import App, GatewayTimeout, Request, RouteDefinitionError, Timeout
from lamroute.safeguards import deadline
from lamroute.safeguards.deadline import HandlerTimeout
from lamroute.testing import FORMATS, FakeContext, TestClient, make_event
from lamroute.testing.rules import check_proxy_response

FAST = Timeout(margin_s=0.05)




@pytest.fixture(autouse=True)
def no_timer_left() -> Iterator[None]:
    before = signal.getsignal(signal.SIGALRM)
    yield
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    assert deadline._Current.alarm is None
    after = signal.getsignal(signal.SIGALRM)
    # The default disposition may give way to lamroute's inert dispatcher; any other is back.
    assert after is before or (before is signal.SIG_DFL and after is deadline._dispatch)


def slow_app(events: list[str]) -> App:
    app = App(timeout=FAST)

    class Resource:
        def __enter__(self) -> Resource:
            events.append("enter")
            return self

        def __exit__(self, *exc: object) -> None:
            events.append("exit")

    @app.get("/slow")
    def slow() -> str:
        with Resource():
            try:
                time.sleep(10)
            finally:
                events.append("finally")
        return "never"

    @app.get("/except-exception")
    def except_exception() -> str:
        try:
            time.sleep(10)
        except Exception:
            return "swallowed"
        return "never"

    @app.get("/except-everything")
    def except_everything() -> str:
        try:
            time.sleep(10)
        except BaseException:
            events.append("swallowed")
        return "too late"

    @app.get("/busy")
    def busy() -> str:
        while True:
            pass

    @app.get("/fast")
    def fast() -> str:
        return "quick"

    return app


@pytest.mark.parametrize("fmt", FORMATS)
def test_slow_handler_is_interrupted_with_504_and_cleanup_runs(fmt: str, logs: Records) -> None:
    events: list[str] = []
    client = TestClient(slow_app(events), format=fmt, timeout_ms=300)
    response = client.get("/slow")
    assert response.status_code == 504
    body = response.json()
    assert body["title"] == "Gateway Timeout" and body["status"] == 504
    assert response.headers["content-type"] == "application/problem+json"
    assert events == ["enter", "finally", "exit"]
    line = next(r for r in logs.records if r.getMessage().startswith("deadline reached"))
    assert line.__dict__["route"] == "/slow"
    assert 0 < line.__dict__["elapsed_ms"] < 10_000
    assert line.__dict__["budget_ms"] == pytest.approx(250, abs=10)


@pytest.mark.parametrize("path", ["/except-exception", "/except-everything", "/busy"])
def test_handlers_cannot_escape_the_deadline(path: str) -> None:
    events: list[str] = []
    response = TestClient(slow_app(events), format="http", timeout_ms=200).get(path)
    assert response.status_code == 504
    assert events == (["swallowed"] if path == "/except-everything" else [])


def test_fast_handler_is_untouched_and_sees_its_time_left() -> None:
    app = App(timeout=FAST)
    seen: list[float | None] = []

    @app.get("/")
    def index() -> str:
        seen.append(deadline.time_left())
        assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)  # no timer per request
        return "ok"

    assert TestClient(app, timeout_ms=3000).get("/").text == "ok"
    assert seen[0] is not None and 2.0 < seen[0] <= 2.95
    app(make_event("rest", "GET", "/"), None)  # no Lambda context: no deadline
    assert seen[1] is None


def test_integration_timeout_is_the_earlier_deadline() -> None:
    app = App(timeout=Timeout(integration_s=0.2, margin_s=0.0))

    @app.get("/")
    def index() -> str:
        time.sleep(5)
        return "never"

    assert TestClient(app, timeout_ms=60_000).get("/").status_code == 504


def test_route_timeout_overrides_the_app() -> None:
    app = App(timeout=None)
    seen: list[float | None] = []

    @app.get("/guarded", timeout=Timeout(integration_s=0.1, margin_s=0.0))
    def guarded() -> str:
        time.sleep(5)
        return "never"

    @app.get("/free")
    def free() -> str:
        seen.append(deadline.time_left())
        return "ok"

    client = TestClient(app, timeout_ms=60_000)
    assert client.get("/guarded").status_code == 504
    assert client.get("/free").status_code == 200
    assert seen == [None]


def test_no_time_left_answers_504_without_calling_the_handler() -> None:
    app = App(timeout=Timeout(margin_s=0.5))
    calls: list[int] = []

    @app.get("/")
    def index() -> str:
        calls.append(1)
        return "ok"

    assert TestClient(app, timeout_ms=400).get("/").status_code == 504
    assert calls == []


def test_in_another_thread_a_late_answer_still_becomes_504(
    logs: Records, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(deadline, "_warned", set())  # a fresh container
    app = App(timeout=FAST)

    @app.get("/late")
    def late() -> str:
        time.sleep(0.35)
        return "late"

    @app.get("/quick")
    def quick() -> str:
        return "quick"

    answers: list[Any] = []

    def work() -> None:
        for path in ("/late", "/quick", "/late"):
            event = make_event("http", "GET", path)
            answers.append(app(event, FakeContext(timeout_ms=300)))

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert [a["statusCode"] for a in answers] == [504, 200, 504]
    assert all(check_proxy_response("http", a) == [] for a in answers)
    warnings = [m for m in logs.messages() if "cannot be interrupted" in m]
    assert len(warnings) == 1 and "not in the main thread" in warnings[0]  # once per container


def test_an_outer_timer_is_left_alone() -> None:
    app = App(timeout=FAST)
    outer_fired: list[int] = []

    def outer(signum: int, frame: Any) -> None:
        outer_fired.append(signum)

    @app.get("/")
    def index() -> str:
        return "ok"

    previous = signal.signal(signal.SIGALRM, outer)
    try:
        signal.setitimer(signal.ITIMER_REAL, 30)
        assert TestClient(app).get("/").status_code == 200
        assert signal.getsignal(signal.SIGALRM) is outer
        assert 29 < signal.getitimer(signal.ITIMER_REAL)[0] <= 30
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert outer_fired == []


def test_the_timeout_answer_is_customisable() -> None:
    app = App(timeout=FAST)

    @app.exception_handler(GatewayTimeout)
    def too_slow(request: Request, exc: HandlerTimeout) -> dict[str, Any]:
        return {"error": "slow", "budget_ms": round(exc.budget_s * 1000)}

    @app.get("/")
    def index() -> str:
        time.sleep(5)
        return "never"

    response = TestClient(app, format="alb", timeout_ms=300).get("/")
    assert response.status_code == 504
    assert response.json()["error"] == "slow"
    assert 200 <= response.json()["budget_ms"] <= 250


def test_answers_near_the_deadline_are_never_cut_in_rendering() -> None:
    """Handlers finishing right around the deadline: every answer is 200 or 504, valid, and
    no timer or handler is left behind (the autouse fixture checks)."""
    app = App(timeout=Timeout(margin_s=0.0))

    @app.get("/{n}")
    def spin(n: str) -> dict[str, int]:
        end = time.perf_counter() + int(n) / 10_000
        while time.perf_counter() < end:
            pass
        return {"n": int(n)}

    statuses = set()
    for n in range(30, 70):
        event = make_event("rest", "GET", f"/{n}")
        answer = app(event, FakeContext(timeout_ms=5))
        assert check_proxy_response("rest", answer) == []
        statuses.add(answer["statusCode"])
    assert statuses <= {200, 504} and 504 in statuses


@pytest.mark.parametrize("bad", [{"integration_s": -1.0}, {"margin_s": "1"},
                                 {"margin_s": float("nan")}, {"integration_s": True}])
def test_invalid_timeouts_are_rejected(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        Timeout(**bad)


def test_a_route_timeout_must_be_a_timeout() -> None:
    app = App()
    with pytest.raises(RouteDefinitionError):
        app.get("/", timeout=5)(lambda: "x")  # type: ignore[call-overload]


def test_budget_is_the_earlier_deadline_minus_the_margin() -> None:
    assert Timeout(integration_s=29.0, margin_s=0.5).budget(remaining_ms=3000) == 2.5
    assert Timeout(integration_s=1.0, margin_s=0.5).budget(remaining_ms=3000) == 0.5
    assert Timeout(integration_s=None, margin_s=0.5).budget(remaining_ms=900_000) == 899.5
    assert Timeout(margin_s=0.5).budget(remaining_ms=100) == 0.0


def test_middleware_does_not_turn_the_timeout_into_a_500() -> None:
    seen: list[str] = []

    def app_wide(request: Request, call_next: Any) -> Any:
        response = call_next(request)
        seen.append(f"app saw {response.status}")
        return response

    def route_level(request: Request, call_next: Any) -> Any:
        response = call_next(request)  # gets the boundary's answer to the interrupt
        seen.append("route middleware returned")
        return response

    app = App(timeout=FAST, middleware=[app_wide])

    @app.get("/slow", middleware=[route_level])
    def slow() -> str:
        time.sleep(5)
        return "never"

    assert TestClient(app, timeout_ms=300).get("/slow").status_code == 504
    assert seen == ["route middleware returned", "app saw 504"]


def test_a_foreign_sigalrm_handler_is_put_back_and_still_works() -> None:
    app = App(timeout=FAST)
    app.get("/")(lambda: "ok")
    received: list[int] = []
    previous = signal.signal(signal.SIGALRM, lambda signum, frame: received.append(signum))
    try:
        mine = signal.getsignal(signal.SIGALRM)
        assert TestClient(app).get("/").text == "ok"
        assert signal.getsignal(signal.SIGALRM) is mine
        signal.raise_signal(signal.SIGALRM)
        assert received == [signal.SIGALRM]
    finally:
        signal.signal(signal.SIGALRM, previous)


def test_between_invocations_a_stray_sigalrm_is_harmless() -> None:
    app = App(timeout=FAST)
    app.get("/")(lambda: "ok")
    previous = signal.signal(signal.SIGALRM, signal.SIG_DFL)
    try:
        assert TestClient(app).get("/").text == "ok"
        assert signal.getsignal(signal.SIGALRM) is deadline._dispatch  # kept: no sigaction cost
        signal.raise_signal(signal.SIGALRM)  # the default would end the process
        assert TestClient(app).get("/").text == "ok"
    finally:
        signal.signal(signal.SIGALRM, previous)


# -- one timer for the whole chain ---------------------------------------------------------------

LAYERS = ["app middleware before call_next", "app middleware after call_next",
          "router middleware", "route middleware", "guard", "dependency", "handler"]


def chain_app(slow: str, *, timeout: Timeout | None = FAST, seconds: float = 5.0) -> App:
    """An app with every layer of the chain; the layer named ``slow`` sleeps ``seconds``."""
    from typing import Annotated

    from lamroute import Depends, Router

    def nap(layer: str) -> None:
        if layer == slow:
            time.sleep(seconds)

    def app_wide(request: Request, call_next: Any) -> Any:
        nap("app middleware before call_next")
        response = call_next(request)
        nap("app middleware after call_next")
        return response

    def router_wide(request: Request, call_next: Any) -> Any:
        nap("router middleware")
        return call_next(request)

    def route_level(request: Request, call_next: Any) -> Any:
        nap("route middleware")
        return call_next(request)

    def guard(identity: Any) -> bool:
        nap("guard")
        return True

    def dependency() -> int:
        nap("dependency")
        return 1

    app = App(timeout=timeout, middleware=[app_wide])
    router = Router(middleware=[router_wide])

    @router.get("/chain", middleware=[route_level], auth=guard)
    def handler(value: Annotated[int, Depends(dependency)]) -> dict[str, int]:
        nap("handler")
        return {"value": value}

    app.include_router(router)
    return app


@pytest.mark.parametrize("slow", LAYERS)
def test_the_deadline_covers_every_layer_of_the_chain(slow: str, logs: Records) -> None:
    client = TestClient(chain_app(slow), format="http", timeout_ms=300,
                        identity={"principal_id": "u1"})
    started = time.perf_counter()
    response = client.get("/chain")
    elapsed = time.perf_counter() - started
    assert response.status_code == 504, response.text
    assert elapsed < 1.0  # answered at the deadline, not after the 5 s sleep
    assert len([m for m in logs.messages() if m.startswith("deadline reached")]) == 1


@pytest.mark.parametrize("fmt", FORMATS)
def test_slow_app_middleware_is_interrupted_at_the_deadline(fmt: str) -> None:
    """App middleware that sleeps past the deadline: the 504 comes at the deadline, before
    Lambda would kill the function, in every payload format."""
    identity = None if fmt.startswith("alb") else {"principal_id": "u1"}
    app = chain_app("app middleware before call_next")
    if identity is None:
        app.get("/open")(lambda: "ok")
    client = TestClient(app, format=fmt, timeout_ms=300, identity=identity)
    started = time.perf_counter()
    response = client.get("/chain" if identity is not None else "/open")
    assert response.status_code == 504
    assert response.json()["title"] == "Gateway Timeout"
    assert time.perf_counter() - started < 1.0


def test_the_budget_counts_from_the_first_middleware() -> None:
    """The gateway's integration timeout runs from the request's arrival: time spent in app
    middleware counts."""
    app = chain_app("app middleware before call_next", seconds=0.2,
                    timeout=Timeout(integration_s=1.0, margin_s=0.0))
    seen: list[float | None] = []

    @app.get("/timer")
    def timer() -> str:
        seen.append(deadline.time_left())
        return "ok"

    assert TestClient(app, timeout_ms=60_000).get("/timer").text == "ok"
    assert seen[0] is not None
    assert 0.7 < seen[0] < 0.81  # 1 s of budget, 0.2 s of it spent in the middleware


def test_no_timer_system_call_per_request(monkeypatch: pytest.MonkeyPatch) -> None:
    # The deadline is kept by the watchdog thread: a request arms no timer and, once lamroute's
    # SIGALRM handler is in place, changes no signal disposition.
    calls: list[str] = []
    for name in ("setitimer", "getitimer", "signal"):
        real = getattr(deadline._signal, name)
        monkeypatch.setattr(deadline._signal, name,
                            lambda *args, name=name, real=real: calls.append(name) or real(*args))
    client = TestClient(chain_app("nothing"), format="http", timeout_ms=3000,
                        identity={"principal_id": "u1"})
    assert client.get("/chain").status_code == 200
    calls.clear()  # (the first request may put the handler in place of the default)
    assert client.get("/chain").status_code == 200
    assert client.get("/missing").status_code == 404  # app middleware runs for 404s too
    assert calls == []
    assert len(deadline_watchdogs()) == 1


def test_a_route_timeout_replaces_the_app_budget_under_app_middleware() -> None:
    app = chain_app("nothing", timeout=Timeout(integration_s=0.1, margin_s=0.0))

    @app.get("/longer", timeout=Timeout(integration_s=2.0, margin_s=0.0))
    def longer() -> str:
        time.sleep(0.3)  # over the app's 0.1 s, within the route's 2 s
        return "done"

    @app.get("/shorter", timeout=Timeout(integration_s=0.05, margin_s=0.0))
    def shorter() -> str:
        time.sleep(5)
        return "never"

    @app.get("/unlimited", timeout=None)
    def unlimited() -> str:
        time.sleep(0.3)
        return "done"

    client = TestClient(app, timeout_ms=60_000)
    assert client.get("/longer").text == "done"
    started = time.perf_counter()
    assert client.get("/shorter").status_code == 504
    assert time.perf_counter() - started < 1.0
    assert client.get("/unlimited").text == "done"


def test_in_another_thread_slow_app_middleware_still_becomes_504(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(deadline, "_warned", set())
    app = chain_app("app middleware after call_next", seconds=0.35,
                    timeout=Timeout(integration_s=0.25, margin_s=0.0))

    @app.get("/longer", timeout=Timeout(integration_s=5.0, margin_s=0.0))
    def longer() -> str:
        return "done"

    answers: list[Any] = []

    def work() -> None:
        for path in ("/chain", "/longer"):
            event = make_event("http", "GET", path, authorizer={"principalId": "u1"})
            answers.append(app(event, FakeContext(timeout_ms=60_000)))

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    # /chain: the middleware's 0.35 s is over the 0.25 s budget; /longer has 5 s of its own.
    assert [a["statusCode"] for a in answers] == [504, 200]


def add_nap(app: App) -> None:
    """``GET /nap/{seconds}``: sleeps, then answers ``rested``."""

    @app.get("/nap/{seconds}")
    def nap(seconds: float) -> str:
        time.sleep(seconds)
        return "rested"


def test_each_invocation_keeps_its_own_deadline_when_the_alarm_is_reused() -> None:
    """The main thread reuses the last invocation's alarm when nothing holds it: a route's
    shorter budget, or an interrupt, never carries over to the next invocation."""
    app = App(timeout=Timeout(margin_s=0.05))

    @app.middleware  # the app's deadline starts before it; a route with its own re-aims it
    def passthrough(request: Request, call_next: Any) -> Any:
        return call_next(request)

    @app.get("/short", timeout=Timeout(integration_s=0.2, margin_s=0.05))
    def short() -> str:
        return "quick"

    add_nap(app)

    client = TestClient(app, format="http", timeout_ms=1_000)
    assert client.get("/nap/0").status_code == 200
    reused = deadline._Current.spare
    assert client.get("/nap/0").status_code == 200
    assert deadline._Current.spare is reused is not None  # the same alarm, nothing allocated
    assert client.get("/short").text == "quick"  # re-aimed at the route's 0.15 s
    assert client.get("/nap/0.3").text == "rested"  # the app's 0.95 s again
    assert client.get("/nap/5").status_code == 504  # interrupted: its alarm is not reused
    assert deadline._Current.spare is not reused
    assert client.get("/nap/0.3").text == "rested"
    assert client.get("/nap/5").status_code == 504


def test_a_reused_alarm_still_logs_the_next_invocations_deadline(logs: Records) -> None:
    """An invocation whose route found no time left (its 504 logged) but that still answered in
    time (a middleware's fallback route lifts the deadline) leaves its alarm for the next one:
    that one's interrupt is logged too, as every invocation's deadline is."""
    app = App(timeout=Timeout(margin_s=0.05))

    @app.middleware
    def fallback(request: Request, call_next: Any) -> Any:
        if request.path != "/tight":
            return call_next(request)
        time.sleep(0.05)  # past /tight's 0.01 s budget before it is routed
        response = call_next(request)
        if response.status == 504:
            request.path = "/relaxed"
            return call_next(request)
        return response

    @app.get("/tight", timeout=Timeout(integration_s=0.06, margin_s=0.05))
    def tight() -> str:
        return "never"

    @app.get("/relaxed", timeout=None)
    def relaxed() -> str:
        return "cached"

    add_nap(app)

    client = TestClient(app, format="http", timeout_ms=1_000)
    assert client.get("/tight").text == "cached"
    assert [m for m in logs.messages() if m.startswith("deadline reached")] == [
        "deadline reached: no time left to start the handler"]
    assert client.get("/nap/5").status_code == 504
    assert [m for m in logs.messages() if m.startswith("deadline reached")][1:] == [
        "deadline reached: handler interrupted"]
