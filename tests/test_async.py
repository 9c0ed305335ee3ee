"""Async handlers, dependencies, middleware and exception handlers: one event loop per
container, mixed freely with sync code, which never touches the loop."""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Annotated, Any

import httpx
import pytest
from fixtures import Records
from pydantic import BaseModel

from lamroute import App, Depends, HTTPError, Query, Request, Response, Router
from lamroute.params import clear_dependency_cache
from lamroute.routing.routes import Handler
from lamroute.security.guards import requires
from lamroute.testing import FORMATS, FakeContext, TestClient, TestResponse, make_event


class Item(BaseModel):
    name: str
    price: float


class Teapot(Exception):
    pass


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    clear_dependency_cache()
    yield
    clear_dependency_cache()


async def doubled(n: int = 1) -> int:
    await asyncio.sleep(0)
    return 2 * n


def plus_one(value: Annotated[int, Depends(doubled)]) -> int:  # a sync dependency on an async one
    return value + 1


def twin_app() -> App:
    """The same routes twice: ``/sync/...`` with sync code, ``/async/...`` with async code."""
    app = App()

    @app.exception_handler(Teapot)
    def teapot(request: Request, exc: Teapot) -> Response:
        return Response.json({"teapot": str(exc)}, 418, headers=[("X-Teapot", "1")])

    @app.get("/sync/items/{item_id}")
    def sync_item(item_id: int, q: Annotated[str, Query(min_length=2)] = "xx") -> dict[str, Any]:
        return {"id": item_id, "q": q}

    @app.get("/async/items/{item_id}")
    async def async_item(item_id: int, q: Annotated[str, Query(min_length=2)] = "xx"
                         ) -> dict[str, Any]:
        await asyncio.sleep(0)
        return {"id": item_id, "q": q}

    @app.post("/sync/items", status_code=201)
    def sync_create(item: Item) -> Item:
        return item

    @app.post("/async/items", status_code=201)
    async def async_create(item: Item) -> Item:
        await asyncio.sleep(0)
        return item

    @app.get("/sync/refused")
    def sync_refused() -> None:
        raise HTTPError(409, "taken", headers=[("X-Why", "taken")])

    @app.get("/async/refused")
    async def async_refused() -> None:
        await asyncio.sleep(0)
        raise HTTPError(409, "taken", headers=[("X-Why", "taken")])

    @app.get("/sync/crash")
    def sync_crash() -> None:
        raise RuntimeError("sync crash")

    @app.get("/async/crash")
    async def async_crash() -> None:
        await asyncio.sleep(0)
        raise RuntimeError("async crash")

    @app.get("/sync/teapot")
    def sync_teapot() -> None:
        raise Teapot("short")

    @app.get("/async/teapot")
    async def async_teapot() -> None:
        raise Teapot("short")

    @app.get("/sync/admin", auth=requires(scopes=["admin"]))
    def sync_admin() -> str:
        return "admin"

    @app.get("/async/admin", auth=requires(scopes=["admin"]))
    async def async_admin() -> str:
        return "admin"

    @app.get("/sync/deps")
    def sync_deps(value: Annotated[int, Depends(plus_one)]) -> dict[str, int]:
        return {"value": value}

    @app.get("/async/deps")
    async def async_deps(value: Annotated[int, Depends(plus_one)]) -> dict[str, int]:
        return {"value": value}

    return app


CASES = [
    ("GET", "/items/7?q=abc", None), ("GET", "/items/x", None), ("GET", "/items/7?q=a", None),
    ("POST", "/items", {"name": "pen", "price": 1.5}), ("POST", "/items", {"name": "pen"}),
    ("GET", "/refused", None), ("GET", "/crash", None), ("GET", "/teapot", None),
    ("GET", "/deps?n=4", None),
]


def _comparable(raw: dict[str, Any]) -> dict[str, Any]:
    """The answer without what differs between two requests (ids, the path itself)."""
    body = raw.get("body") or ""
    try:
        data = json.loads(body)
    except ValueError:
        data = body
    if isinstance(data, dict):
        data = {k: v for k, v in data.items() if k not in ("instance", "request_id")}
    headers = {k.lower(): v for k, v in (raw.get("headers") or {}).items()}
    return {"status": raw["statusCode"], "body": data, "headers": headers}


@pytest.mark.parametrize("fmt", FORMATS)
def test_async_routes_answer_exactly_as_the_same_sync_routes(fmt: str, logs: Records) -> None:
    app = twin_app()
    for method, path, body in CASES:
        target, _, query = path.partition("?")
        pairs = [tuple(p.split("=", 1)) for p in query.split("&") if p]
        answers = []
        for kind in ("sync", "async"):
            event = make_event(fmt, method, f"/{kind}{target}", query=pairs, json=body)
            answers.append(_comparable(app(event, FakeContext())))
        assert answers[0] == answers[1], (method, path)
    # The crash is logged the same way, its traceback starting at the handler.
    crashes = [r for r in logs.records if r.getMessage() == "unhandled exception"]
    assert len(crashes) == 2
    for record, name in zip(crashes, ("sync_crash", "async_crash"), strict=True):
        assert record.exc_info is not None
        tb = record.exc_info[2]
        assert tb is not None and tb.tb_frame.f_code.co_name == name


def test_async_routes_through_the_test_client(logs: Records) -> None:
    client = TestClient(twin_app())
    assert client.get("/async/items/3").json() == {"id": 3, "q": "xx"}
    assert client.post("/async/items", json={"name": "a", "price": 2}).status_code == 201
    assert client.get("/async/items/3?q=a").status_code == 422
    assert client.get("/async/teapot").headers["x-teapot"] == "1"
    assert client.get("/async/admin", identity={"scopes": ["read"]}).status_code == 403
    assert client.get("/async/admin", identity={"scopes": ["admin"]}).text == "admin"
    assert client.get("/async/deps?n=5").json() == {"value": 11}


class _Lines(logging.Handler):
    """Keeps (logger, level, message) only: a kept record's exc_info would keep the exception,
    and so the task, alive."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[tuple[str, int, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append((record.name, record.levelno, record.getMessage().split("\n")[0]))


def test_async_handler_raising_system_exit_logs_as_a_sync_one_no_task_never_retrieved(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """SystemExit escapes the task (asyncio lets it through the loop): the task was left with
    an exception nobody retrieved, and asyncio logged "Task exception was never retrieved"
    when it was collected; a sync handler's SystemExit leaves nothing behind."""
    import gc

    from lamroute.aio import eager

    tasks: list[asyncio.Task[Any]] = []  # (after other tests something may keep one alive
    real_begin = eager.EagerLoop.begin  # past gc.collect(): the log alone could miss it)

    def recording(self: eager.EagerLoop, coro: Any) -> Any:
        made = real_begin(self, coro)
        tasks.append(made[0])
        return made

    monkeypatch.setattr(eager.EagerLoop, "begin", recording)
    app = App(access_log=False)

    @app.get("/sync/exit")
    def sync_exit() -> None:
        raise SystemExit(3)

    @app.get("/async/exit")
    async def async_exit() -> None:
        raise SystemExit(3)

    lines = {kind: _Lines() for kind in ("sync", "async")}
    loggers = [logging.getLogger(name) for name in ("lamroute", "asyncio")]
    propagate = [logger.propagate for logger in loggers]
    for kind, handler in lines.items():
        for logger in loggers:
            logger.addHandler(handler)
            logger.propagate = False  # no other handler keeps the records (and the task)
        try:
            assert TestClient(app).get(f"/{kind}/exit").status_code == 500
            gc.collect()  # the task, its exception and the runner's frame form a cycle
        finally:
            for logger, value in zip(loggers, propagate, strict=True):
                logger.removeHandler(handler)
                logger.propagate = value
    assert lines["sync"].lines == [("lamroute", logging.ERROR, "unhandled exception")]
    assert lines["async"].lines == lines["sync"].lines
    assert tasks and all(task.done() and not task._log_traceback for task in tasks)  # retrieved


def test_the_access_line_of_an_async_route_is_the_sync_one(logs: Records) -> None:
    app = twin_app()
    for kind in ("sync", "async"):
        app(make_event("rest", "GET", f"/{kind}/items/1", stage="prod",
                       request_id=f"req-{kind}"), FakeContext())
    lines = [r for r in logs.records if r.getMessage() == "request"]
    assert len(lines) == 2
    fields = ("method", "status", "request_id", "cold_start", "source_ip", "user_agent")
    sync, other = ({f: getattr(r, f) for f in (*fields, "path", "route")} for r in lines)
    assert sync["status"] == other["status"] == 200
    assert (sync["route"], other["route"]) == ("/sync/items/{item_id}", "/async/items/{item_id}")
    assert (sync["request_id"], other["request_id"]) == ("req-sync", "req-async")


def test_handler_log_lines_carry_the_request_fields_inside_the_task(logs: Records) -> None:
    app = App(access_log=False)

    @app.get("/log/{n}")
    async def log(n: int) -> str:
        await asyncio.sleep(0)
        app.app_logger.info("inside %s", n)
        return "ok"

    records: list[Any] = []

    class Keep(Records):
        def emit(self, record: Any) -> None:
            records.append(record)

    from lamroute.logs import RequestFieldsFilter

    keep = Keep()
    keep.addFilter(RequestFieldsFilter())
    app.app_logger.addHandler(keep)
    try:
        app(make_event("http", "GET", "/log/6", request_id="rid-6"), FakeContext())
    finally:
        app.app_logger.removeHandler(keep)
    (line,) = [r for r in records if r.getMessage() == "inside 6"]
    assert (line.request_id, line.route) == ("rid-6", "/log/{n}")


# -- mixing sync and async --------------------------------------------------------------------


def trail(name: str, seen: list[str], *, is_async: bool) -> Any:
    if is_async:
        async def amiddleware(request: Request, call_next: Any) -> Response:
            seen.append(f"{name}>")
            response: Response = await call_next(request)
            seen.append(f"<{name}")
            response.headers.add("X-Trail", name)
            return response

        return amiddleware

    def middleware(request: Request, call_next: Handler) -> Response:
        seen.append(f"{name}>")
        response = call_next(request)
        seen.append(f"<{name}")
        response.headers.add("X-Trail", name)
        return response

    return middleware


@pytest.mark.parametrize("pattern", ["sssa", "asss", "sasa", "asas", "aass", "aaaa", "ssas",
                                     "saas"])
def test_middleware_and_handlers_mix_freely(pattern: str) -> None:
    # pattern: app, router, route middleware, handler; s = sync, a = async. In "sasa" and
    # "asas" a sync middleware sits between async layers (it runs in a worker thread).
    seen: list[str] = []
    app = App(access_log=False, middleware=[trail("app", seen, is_async=pattern[0] == "a")])
    router = Router(middleware=[trail("router", seen, is_async=pattern[1] == "a")])
    route_mw = [trail("route", seen, is_async=pattern[2] == "a")]
    if pattern[3] == "a":
        @router.get("/x", middleware=route_mw)
        async def handler_async() -> str:
            await asyncio.sleep(0)
            seen.append("handler")
            return "x"
    else:
        @router.get("/x", middleware=route_mw)
        def handler_sync() -> str:
            seen.append("handler")
            return "x"
    app.include_router(router, prefix="/r")
    for call in (lambda: app(make_event("rest", "GET", "/r/x"), FakeContext()),
                 lambda: TestClient(app).get("/r/x").raw):
        seen.clear()
        raw = call()
        assert raw["statusCode"] == 200 and raw["body"] == "x"
        assert seen == ["app>", "router>", "route>", "handler", "<route", "<router", "<app"]
        assert TestResponse(raw).headers.getall("x-trail") == ["route", "router", "app"]


def test_an_async_middleware_sees_error_answers_from_sync_and_async_layers() -> None:
    app = App(access_log=False)

    @app.middleware
    async def stamp(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        response.headers["X-Status"] = str(response.status)
        return response

    @app.get("/sync")
    def sync_fail() -> None:
        raise HTTPError(400, "no")

    @app.get("/async")
    async def async_fail() -> None:
        raise RuntimeError("no")

    client = TestClient(app)
    assert client.get("/sync").headers["x-status"] == "400"
    assert client.get("/async").headers["x-status"] == "500"
    assert client.get("/missing").headers["x-status"] == "404"


def test_sync_handlers_in_an_async_app_run_directly_in_the_calling_thread() -> None:
    seen: dict[str, Any] = {}
    app = App(access_log=False)

    @app.get("/sync")
    def sync_route() -> str:
        seen["sync"] = (threading.current_thread(), asyncio._get_running_loop())
        return "s"

    @app.get("/async")
    async def async_route() -> str:
        seen["async"] = (threading.current_thread(), asyncio.get_running_loop())
        return "a"

    client = TestClient(app)
    client.get("/async")
    client.get("/sync")
    main = threading.main_thread()
    assert seen["sync"] == (main, None)  # no thread pool, and no loop either
    assert seen["async"][0] is main

    @app.middleware
    async def outer(request: Request, call_next: Any) -> Response:
        return await call_next(request)  # type: ignore[no-any-return]

    client.get("/sync")
    assert seen["sync"][0] is main  # under async middleware: on the loop, still not in a pool


def test_an_app_without_async_code_never_imports_asyncio() -> None:
    code = """
import sys
from typing import Annotated
from lamroute import App, Depends
app = App(access_log=False)
def session():
    yield "db"
@app.middleware
def mw(request, call_next):
    return call_next(request)
@app.get('/x')
def x(db: Annotated[str, Depends(session)]) -> dict:
    return {'db': db}
event = {'resource': '/x', 'path': '/x', 'httpMethod': 'GET', 'headers': None,
         'requestContext': {'stage': 'prod', 'requestId': 'r'}, 'body': None}
assert app(event, None)['body'] == '{"db":"db"}'
print(sorted(m for m in ('asyncio', 'lamroute.aio.loop', 'concurrent.futures')
             if m in sys.modules))
"""
    out = subprocess.check_output([sys.executable, "-c", code], text=True)
    assert out.strip() == "[]"


# -- the event loop -----------------------------------------------------------------------------


class Downstream(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: a client's pooled connection is reused
    peers: list[int] = []

    def do_GET(self) -> None:
        Downstream.peers.append(self.client_address[1])
        body = json.dumps({"path": self.path}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def downstream() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Downstream)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    Downstream.peers.clear()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_a_module_level_httpx_client_keeps_working_across_invocations(downstream: str) -> None:
    client = httpx.AsyncClient(base_url=downstream)  # built once, as at module level
    app = App(access_log=False)

    @app.get("/fan-out")
    async def fan_out() -> dict[str, Any]:
        users, orders = await asyncio.gather(client.get("/users"), client.get("/orders"))
        return {"users": users.json()["path"], "orders": orders.json()["path"],
                "loop": id(asyncio.get_running_loop())}

    answers = [TestClient(app).get("/fan-out").json() for _ in range(3)]
    answers.append(json.loads(app(make_event("http", "GET", "/fan-out"), FakeContext())["body"]))
    assert {a["users"] for a in answers} == {"/users"}
    assert len({a["loop"] for a in answers}) == 1  # one loop per container
    # Two connections for the concurrent calls, reused by every later invocation.
    assert len(Downstream.peers) == 8 and len(set(Downstream.peers)) == 2
    from lamroute.aio.loop import run

    run(client.aclose())


def test_a_container_dependency_built_on_the_loop_serves_every_invocation() -> None:
    built: list[int] = []

    async def queue() -> asyncio.Queue[int]:  # bound to the loop that first uses it
        built.append(1)
        return asyncio.Queue()

    app = App(access_log=False)

    @app.post("/put/{n}")
    async def put(n: int, q: Annotated[asyncio.Queue[int], Depends(queue, cache="container")]
                  ) -> dict[str, int]:
        await q.put(n)
        return {"size": q.qsize()}

    client = TestClient(app)
    assert [client.post(f"/put/{n}").json()["size"] for n in range(3)] == [1, 2, 3]
    assert built == [1]


def test_current_task_and_the_running_loop_are_there_in_handlers_and_dependencies() -> None:
    async def task_name() -> str:
        task = asyncio.current_task()
        assert task is not None
        return "task"

    app = App(access_log=False)

    @app.get("/t")
    async def t(name: Annotated[str, Depends(task_name)]) -> dict[str, Any]:
        return {"dep": name, "handler": asyncio.current_task() is not None}

    assert TestClient(app).get("/t").json() == {"dep": "task", "handler": True}


def test_the_test_client_works_from_an_async_test() -> None:
    app = twin_app()

    async def async_test() -> dict[str, Any]:
        await asyncio.sleep(0)  # a loop of the test's own runs in this thread
        return TestClient(app).get("/async/items/9").json()  # type: ignore[no-any-return]

    assert asyncio.run(async_test()) == {"id": 9, "q": "xx"}


def test_an_app_invoked_from_its_own_async_handler_says_so(logs: Records) -> None:
    app = App(access_log=False)

    @app.get("/inner")
    async def inner() -> str:
        return "inner"

    @app.get("/outer")
    async def outer() -> str:
        return str(app(make_event("rest", "GET", "/inner"), None)["statusCode"])

    # The inner invocation answers a 500 (its own boundary), which the outer handler returns.
    assert TestClient(app).get("/outer").text == "500"
    (record,) = [r for r in logs.records if r.getMessage() == "unhandled exception"]
    assert "await the code instead" in str(record.exc_info[1])  # type: ignore[index]


def test_async_exception_handlers_are_awaited_in_sync_and_async_chains() -> None:
    app = App(access_log=False)

    @app.exception_handler(Teapot)
    async def teapot(request: Request, exc: Teapot) -> Response:
        await asyncio.sleep(0)
        return Response.json({"teapot": str(exc)}, 418)

    @app.get("/sync")
    def sync_route() -> None:
        raise Teapot("sync")

    @app.get("/async")
    async def async_route() -> None:
        raise Teapot("async")

    @app.get("/mw", middleware=[trail("route", [], is_async=True)])
    async def behind_middleware() -> None:
        raise Teapot("mw")

    client = TestClient(app)
    answer = client.get("/sync")
    assert (answer.status_code, answer.json()) == (418, {"teapot": "sync"})
    assert client.get("/async").json() == {"teapot": "async"}
    assert client.get("/mw").json() == {"teapot": "mw"}
    assert client.get("/mw").headers["x-trail"] == "route"


# -- WebSocket ----------------------------------------------------------------------------------


def test_async_websocket_handlers() -> None:
    app = App(access_log=False)
    joined: list[str] = []

    async def room(name: str = "lobby") -> str:
        await asyncio.sleep(0)
        return name

    @app.websocket("$connect")
    async def connect(connection_id: str, where: Annotated[str, Depends(room)]) -> None:
        await asyncio.sleep(0)
        joined.append(where)

    @app.websocket("say")
    async def say(connection_id: str, connections: Any, body) -> dict[str, str]:  # type: ignore[no-untyped-def]
        await asyncio.sleep(0)
        connections.send(connection_id, {"echo": body["text"]})
        return {"ok": "yes"}

    client = TestClient(app)
    with client.websocket_connect(query={"name": "kitchen"}) as session:
        assert session.send_json({"action": "say", "text": "hi"}).json() == {"ok": "yes"}
        assert session.receive_json() == {"echo": "hi"}
    assert joined == ["kitchen"]


# -- lamroute serve -----------------------------------------------------------------------------


def test_lamroute_serve_runs_async_apps_unchanged() -> None:
    import http.client

    from lamroute import Timeout
    from lamroute.local import LocalGateway

    app = App(access_log=False, timeout=Timeout(integration_s=None, margin_s=0.5))
    state: dict[str, Any] = {}

    @app.on_startup
    async def connect() -> None:
        state["queue"] = asyncio.Queue()  # bound to the loop every invocation then uses

    @app.post("/put/{n}")
    async def put(n: int) -> dict[str, int]:
        await state["queue"].put(n)
        return {"size": state["queue"].qsize()}

    @app.get("/slow")
    async def slow() -> str:
        await asyncio.sleep(10)
        return "never"

    server = LocalGateway(app, port=0, api="http", timeout=1.5).start()  # the app's: 1 s
    try:
        def call(method: str, path: str) -> tuple[int, bytes]:
            connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
            try:
                connection.request(method, path)
                response = connection.getresponse()
                return response.status, response.read()
            finally:
                connection.close()

        # Each invocation runs in a thread of its own, on the one loop of the "container".
        assert [json.loads(call("POST", f"/put/{n}")[1])["size"] for n in range(3)] == [1, 2, 3]
        # Under `lamroute serve` (a thread) a loop timer cancels the task before the timeout.
        status, body = call("GET", "/slow")
        assert status == 504 and json.loads(body)["title"] == "Gateway Timeout"
    finally:
        server.stop()
