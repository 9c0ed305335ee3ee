"""Lifecycle: yield dependencies, startup hooks (INIT phase, first request, failures) and
``app.dependency_overrides``."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Annotated, Any

import pytest
from fixtures import Records
from pydantic import BaseModel, field_serializer

from lamroute import App, Conflict, Depends, HTTPError, Request, Response, RouteDefinitionError
from lamroute.params import clear_dependency_cache
from lamroute.testing import FORMATS, FakeContext, TestClient, TestResponse, make_event

EVENTS: list[str] = []


@pytest.fixture(autouse=True)
def _reset() -> Iterator[None]:
    EVENTS.clear()
    clear_dependency_cache()
    yield
    clear_dependency_cache()


class Note(BaseModel):
    text: str

    @field_serializer("text")
    def _text(self, value: str) -> str:
        EVENTS.append("response built")
        return value


def session() -> Iterator[str]:
    EVENTS.append("enter session")
    try:
        yield "db"
    except Exception as exc:
        EVENTS.append(f"session saw {type(exc).__name__}")
        raise
    finally:
        EVENTS.append("exit session")


async def asession() -> AsyncIterator[str]:
    EVENTS.append("enter asession")
    await asyncio.sleep(0)
    try:
        yield "adb"
    except Exception as exc:
        EVENTS.append(f"asession saw {type(exc).__name__}")
        raise
    finally:
        await asyncio.sleep(0)
        EVENTS.append("exit asession")


class Duplicate(Exception):
    pass


def translating() -> Iterator[str]:
    try:
        yield "tx"
    except Duplicate:
        raise Conflict("That note exists.") from None


def swallowing() -> Iterator[str]:
    try:
        yield "quiet"
    except Exception:
        EVENTS.append("swallowed")


def no_yield() -> Iterator[str]:
    if False:
        yield "never"


def yield_app() -> App:
    app = App(access_log=False)

    @app.get("/sync")
    def sync_route(db: Annotated[str, Depends(session)]) -> Note:
        EVENTS.append(f"handler {db}")
        return Note(text=db)

    @app.get("/async")
    async def async_route(db: Annotated[str, Depends(session)],
                          adb: Annotated[str, Depends(asession)]) -> Note:
        EVENTS.append(f"handler {db} {adb}")
        return Note(text=adb)

    @app.get("/sync-fails")
    def sync_fails(db: Annotated[str, Depends(session)]) -> None:
        raise RuntimeError("boom")

    @app.get("/async-fails")
    async def async_fails(adb: Annotated[str, Depends(asession)]) -> None:
        raise HTTPError(418, "teapot")

    @app.get("/translate")
    def translate(tx: Annotated[str, Depends(translating)]) -> None:
        raise Duplicate

    @app.get("/swallow")
    def swallow(q: Annotated[str, Depends(swallowing)]) -> None:
        raise HTTPError(400, "bad")

    @app.get("/invalid")
    async def invalid(db: Annotated[str, Depends(session)], n: int) -> str:
        return "never"

    @app.get("/no-yield")
    def broken(x: Annotated[str, Depends(no_yield)]) -> str:
        return x

    return app


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("path,expected", [
    ("/sync", ["enter session", "handler db", "response built", "exit session"]),
    ("/async", ["enter session", "enter asession", "handler db adb", "response built",
                "exit asession", "exit session"]),
])
def test_code_after_yield_runs_once_the_response_is_built(fmt: str, path: str,
                                                          expected: list[str]) -> None:
    answer = TestResponse(yield_app()(make_event(fmt, "GET", path), FakeContext()))
    assert answer.status_code == 200
    assert expected == EVENTS


@pytest.mark.parametrize("path,status,expected", [
    ("/sync-fails", 500, ["enter session", "session saw RuntimeError", "exit session"]),
    ("/async-fails", 418, ["enter asession", "asession saw HTTPError", "exit asession"]),
    # a validation error after the dependency was entered: it is finished with it
    ("/invalid", 422, ["enter session", "session saw RequestValidationError",
                       "exit session"]),
])
def test_code_after_yield_sees_the_exception(path: str, status: int,
                                             expected: list[str]) -> None:
    assert TestClient(yield_app()).get(path).status_code == status
    assert expected == EVENTS


def test_a_dependency_may_turn_the_exception_into_another_answer() -> None:
    answer = TestClient(yield_app()).get("/translate")
    assert (answer.status_code, answer.json()["detail"]) == (409, "That note exists.")


def test_a_dependency_that_swallows_the_exception_does_not_turn_it_into_a_success() -> None:
    assert TestClient(yield_app()).get("/swallow").status_code == 400
    assert EVENTS == ["swallowed"]


def test_a_dependency_that_never_yields_is_a_500(logs: Records) -> None:
    assert TestClient(yield_app()).get("/no-yield").status_code == 500
    (record,) = [r for r in logs.records if r.getMessage() == "unhandled exception"]
    assert "without yielding" in str(record.exc_info[1])  # type: ignore[index]


def test_an_exception_after_yield_becomes_the_answer() -> None:
    def closing() -> Iterator[str]:
        yield "x"
        raise HTTPError(503, "could not commit")

    app = App(access_log=False)

    @app.get("/commit")
    async def commit(x: Annotated[str, Depends(closing)]) -> str:
        return x

    assert TestClient(app).get("/commit").status_code == 503


def test_yield_dependencies_in_every_scope() -> None:
    counter = {"enter": 0, "exit": 0}

    def resource() -> Iterator[int]:
        counter["enter"] += 1
        yield counter["enter"]
        counter["exit"] += 1

    async def aresource() -> AsyncIterator[int]:
        counter["enter"] += 1
        yield counter["enter"]
        counter["exit"] += 1

    app = App(access_log=False)

    @app.get("/request")
    def per_request(a: Annotated[int, Depends(resource)],
                    b: Annotated[int, Depends(resource)]) -> dict[str, int]:
        return {"a": a, "b": b}

    @app.get("/none")
    def every_time(a: Annotated[int, Depends(resource, cache="none")],
                   b: Annotated[int, Depends(resource, cache="none")]) -> dict[str, int]:
        return {"a": a, "b": b}

    @app.get("/container")
    async def container(a: Annotated[int, Depends(aresource, cache="container")]
                        ) -> dict[str, int]:
        return {"a": a}

    client = TestClient(app)
    assert client.get("/request").json() == {"a": 1, "b": 1}
    assert counter == {"enter": 1, "exit": 1}
    assert client.get("/none").json() == {"a": 2, "b": 3}
    assert counter == {"enter": 3, "exit": 3}
    assert client.get("/container").json() == {"a": 4}
    assert client.get("/container").json() == {"a": 4}
    assert counter == {"enter": 4, "exit": 3}  # kept for the container
    clear_dependency_cache()  # the value is dropped: its clean-up runs
    assert counter == {"enter": 4, "exit": 4}
    assert client.get("/container").json() == {"a": 5}


def test_yield_dependencies_in_websocket_routes() -> None:
    app = App(access_log=False)

    @app.websocket("$default")
    async def default(connection_id: str, db: Annotated[str, Depends(session)],
                      adb: Annotated[str, Depends(asession)]) -> dict[str, str]:
        EVENTS.append("handler")
        return {"db": db, "adb": adb}

    with TestClient(app).websocket_connect() as ws:
        assert ws.send_json({"x": 1}).json() == {"db": "db", "adb": "adb"}
    assert EVENTS == ["enter session", "enter asession", "handler", "exit asession",
                      "exit session"]


# -- startup hooks -----------------------------------------------------------------------------


def startup_app(**options: Any) -> App:
    app = App(access_log=False, **options)

    @app.on_startup
    def first() -> None:
        EVENTS.append("sync hook")

    @app.on_startup
    async def second() -> None:
        await asyncio.sleep(0)
        EVENTS.append("async hook")

    @app.get("/x")
    def x() -> str:
        EVENTS.append("request")
        return "x"

    return app


def test_startup_hooks_run_once_before_the_first_request() -> None:
    app = startup_app()
    assert EVENTS == []  # not at import
    client = TestClient(app)
    client.get("/x")
    client.get("/x")
    assert EVENTS == ["sync hook", "async hook", "request", "request"]
    assert app.startup() is None and EVENTS.count("sync hook") == 1


def test_app_startup_runs_them_at_once() -> None:
    app = startup_app()
    assert app.startup() is None
    assert EVENTS == ["sync hook", "async hook"]
    app(make_event("http", "GET", "/x"), FakeContext())
    assert EVENTS == ["sync hook", "async hook", "request"]


def test_a_hook_added_after_the_start_is_refused() -> None:
    app = startup_app()
    app.startup()
    with pytest.raises(RouteDefinitionError, match="after the app has started"):
        app.on_startup(lambda: None)


@pytest.mark.parametrize("fmt", [*FORMATS, "websocket"])
def test_a_failing_startup_hook_answers_503_to_every_request_and_is_logged_once(
        fmt: str, logs: Records) -> None:
    from lamroute import CORS

    app = startup_app(cors=CORS(allow_origins=["https://app.example"]))

    @app.on_startup
    def broken() -> None:
        raise ConnectionError("the database is down")

    @app.on_startup
    def never() -> None:
        EVENTS.append("never")

    for _ in range(3):
        if fmt == "websocket":
            from lamroute.testing import make_websocket_event

            raw = app(make_websocket_event("$default", body="{}"), FakeContext())
            assert raw["statusCode"] == 503
            continue
        answer = TestResponse(app(make_event(fmt, "GET", "/x"), FakeContext()))
        assert answer.status_code == 503
        assert answer.json()["title"] == "Service Unavailable"
        assert answer.headers["content-type"] == "application/problem+json"
    preflight = TestClient(app).options("/x", headers={
        "Origin": "https://app.example", "Access-Control-Request-Method": "GET"})
    assert preflight.status_code == 503
    assert EVENTS == ["sync hook", "async hook"]
    failures = [r for r in logs.records if r.levelname == "ERROR"]
    assert len(failures) == 1 and "startup hook failed" in failures[0].getMessage()
    assert failures[0].exc_info is not None
    assert isinstance(failures[0].exc_info[1], ConnectionError)


def test_two_threads_asking_at_once_run_the_hooks_once() -> None:
    import threading

    app = App(access_log=False)
    gate = threading.Event()

    @app.on_startup
    def slow() -> None:
        EVENTS.append("hook")
        gate.wait(5)

    @app.get("/x")
    def x() -> str:
        return "x"

    answers: list[int] = []
    threads = [threading.Thread(target=lambda: answers.append(
        TestClient(app).get("/x").status_code)) for _ in range(4)]
    for thread in threads:
        thread.start()
    gate.set()
    for thread in threads:
        thread.join(10)
    assert answers == [200] * 4 and EVENTS == ["hook"]


HANDLER_MODULE = '''
import asyncio, sys
from lamroute import App

app = App(access_log=False)
LOG = []

@app.on_startup
def connect() -> None:
    LOG.append(("connect", settings()))     # defined further down: runs after the import

@app.on_startup
async def warm() -> None:
    LOG.append(("loop", id(asyncio.get_running_loop())))

@app.get("/log")
async def log() -> dict:
    return {"log": LOG, "loop": id(asyncio.get_running_loop())}

def settings() -> str:
    return "settings"

LOG.append(("module", "end"))
'''


def _project(tmp_path: Path) -> Path:
    (tmp_path / "handler_mod.py").write_text(textwrap.dedent(HANDLER_MODULE))
    return tmp_path


def _lambda_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "LAMROUTE_SKIP_STARTUP"}
    env.update({"AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001", "_HANDLER": "handler_mod.app",
                "AWS_LAMBDA_FUNCTION_NAME": "fn", **extra})
    return env


def test_startup_hooks_run_in_the_init_phase_when_lambda_imports_the_app(
        tmp_path: Path) -> None:
    # What the Lambda runtime does: import the handler's module, take the handler, then wait
    # for invocations. The hooks have run once the import returns, after the whole module.
    code = """
import importlib, json
module = importlib.import_module("handler_mod")
after_import = list(module.LOG)
handler = getattr(module, "app")
event = {"version": "2.0", "rawPath": "/log", "rawQueryString": "", "headers": {},
         "requestContext": {"http": {"method": "GET", "path": "/log"}, "requestId": "r",
                            "stage": "$default"}}
first = json.loads(handler(event, None)["body"])
print(json.dumps({"after_import": after_import, "first": first}))
"""
    out = subprocess.check_output([sys.executable, "-c", code], cwd=_project(tmp_path),
                                  env=_lambda_env(), text=True)
    import json

    result = json.loads(out)
    steps = [step for step, _ in result["after_import"]]
    assert steps == ["module", "connect", "loop"]
    assert result["after_import"][1] == ["connect", "settings"]
    # The loop the async hook ran on at INIT serves the first request.
    assert result["first"]["loop"] == result["after_import"][2][1]


@pytest.mark.parametrize("command", ["routes", "openapi", "template"])
def test_startup_hooks_never_run_when_lamroute_commands_import_the_app(
        tmp_path: Path, command: str) -> None:
    project = _project(tmp_path)
    (project / "handler_mod.py").write_text(textwrap.dedent(HANDLER_MODULE) + textwrap.dedent('''
        @app.on_startup
        def shout() -> None:
            print("STARTUP RAN", file=sys.stderr)
        '''))
    result = subprocess.run([sys.executable, "-m", "lamroute", command, "handler_mod:app"],
                            cwd=project, env=_lambda_env(), capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "STARTUP RAN" not in result.stderr + result.stdout


def test_outside_lambda_the_import_runs_no_hook(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("AWS_LAMBDA_RUNTIME_API", "_HANDLER")}
    out = subprocess.check_output([sys.executable, "-c",
                                   "import handler_mod; print(handler_mod.LOG)"],
                                  cwd=_project(tmp_path), env=env, text=True)
    assert out.strip() == "[('module', 'end')]"


# -- dependency overrides ----------------------------------------------------------------------


def real_db() -> str:
    return "real"


def repository(db: Annotated[str, Depends(real_db)]) -> str:
    return f"repo({db})"


def overrides_app() -> App:
    app = App(access_log=False)

    @app.get("/direct")
    def direct(db: Annotated[str, Depends(real_db)]) -> str:
        return db

    @app.get("/nested")
    async def nested(repo: Annotated[str, Depends(repository)]) -> str:
        return repo

    @app.websocket("$default")
    def ws(db: Annotated[str, Depends(real_db)]) -> str:
        return db

    return app


def test_dependency_overrides_replace_a_dependency_wherever_it_is_used() -> None:
    app = overrides_app()
    client = TestClient(app)
    assert (client.get("/direct").text, client.get("/nested").text) == ("real", "repo(real)")

    async def fake_db(x: str = "q") -> str:  # async, with a parameter of its own
        await asyncio.sleep(0)
        return f"fake-{x}"

    app.dependency_overrides[real_db] = fake_db
    assert client.get("/direct?x=1").text == "fake-1"
    assert client.get("/nested").text == "repo(fake-q)"
    assert app(make_event("rest", "GET", "/direct"), FakeContext())["body"] == "fake-q"
    with client.websocket_connect() as ws:
        assert ws.send("hi").text == "fake-q"
    del app.dependency_overrides[real_db]
    assert client.get("/direct").text == "real"
    app.dependency_overrides[repository] = lambda: "stub"
    assert client.get("/nested").text == "stub"
    app.dependency_overrides = {}  # the FastAPI way to reset
    assert client.get("/nested").text == "repo(real)"
    app.dependency_overrides.update({real_db: lambda: "updated"})
    assert client.get("/direct").text == "updated"
    app.dependency_overrides.clear()
    assert client.get("/direct").text == "real"


def test_an_override_that_makes_a_route_sync_under_async_middleware() -> None:
    async def async_db() -> str:
        return "async"

    app = App(access_log=False)

    @app.middleware
    async def outer(request: Request, call_next: Any) -> Response:
        return await call_next(request)  # type: ignore[no-any-return]

    @app.get("/db")
    def db_route(db: Annotated[str, Depends(async_db)]) -> str:
        return db

    client = TestClient(app)
    assert client.get("/db").text == "async"
    app.dependency_overrides[async_db] = lambda: "sync"
    assert client.get("/db").text == "sync"
    app.dependency_overrides.clear()
    assert client.get("/db").text == "async"


def test_an_override_must_be_callable() -> None:
    app = overrides_app()
    with pytest.raises(TypeError, match="callables"):
        app.dependency_overrides[real_db] = "not callable"  # type: ignore[assignment]


def test_overrides_apply_to_routes_registered_later() -> None:
    app = App(access_log=False)
    app.dependency_overrides[real_db] = lambda: "early"

    @app.get("/later")
    def later(db: Annotated[str, Depends(real_db)]) -> str:
        return db

    assert TestClient(app).get("/later").text == "early"


def test_exception_handlers_see_errors_of_yield_dependencies() -> None:
    app = yield_app()

    @app.exception_handler(RuntimeError)
    def crashed(request: Request, exc: RuntimeError) -> Response:
        return Response.json({"crashed": str(exc)}, 500)

    assert TestClient(app).get("/sync-fails").json() == {"crashed": "boom"}
    assert EVENTS[-1] == "exit session"
