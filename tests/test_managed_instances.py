"""Lambda Managed Instances and threads: nothing written to disk, per-request state in context
variables only, container values built once per process, ``request.tenant_id``.

Under Managed Instances the Python runtime runs one process per concurrent request and they
share ``/tmp``
(https://docs.aws.amazon.com/lambda/latest/dg/lambda-managed-instances-python-runtime.html);
``lamroute serve`` and tests call apps from threads.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Annotated, Any

import pytest
from fixtures import Records

from lamroute import App, Depends, Header, Request
from lamroute.logs import RequestFieldsFilter
from lamroute.params import clear_dependency_cache
from lamroute.testing import FORMATS, FakeContext, TestClient, TestResponse, make_event

THREADS = 8
PER_THREAD = 24


@pytest.fixture
def capture(logs: Records) -> Records:
    """Every record of the lamroute loggers, with the request fields the filter adds."""
    logs.addFilter(RequestFieldsFilter())
    return logs


@pytest.fixture(autouse=True)
def _fresh() -> Iterator[None]:
    clear_dependency_cache()
    yield
    clear_dependency_cache()


def caller(n: Annotated[str, Header(alias="X-N")]) -> str:
    return n


def threaded_app() -> App:
    app = App()

    @app.get("/sync/{n}")
    def sync_route(n: str, request: Request, who: Annotated[str, Depends(caller)]
                   ) -> dict[str, Any]:
        time.sleep(0.001)  # let the other threads interleave
        app.app_logger.info("handled %s", n)
        return {"n": n, "who": who, "request_id": request.request_id,
                "tenant": request.tenant_id}

    @app.get("/async/{n}")
    async def async_route(n: str, request: Request, who: Annotated[str, Depends(caller)]
                          ) -> dict[str, Any]:
        await asyncio.sleep(0.001)
        app.app_logger.info("handled %s", n)
        return {"n": n, "who": who, "request_id": request.request_id,
                "tenant": request.tenant_id}

    return app


def test_eight_threads_each_get_their_own_answers_and_log_lines(capture: Records) -> None:
    app = threaded_app()
    barrier = threading.Barrier(THREADS)
    answers: list[tuple[str, str, TestResponse]] = []
    failures: list[BaseException] = []

    def worker(index: int) -> None:
        try:
            barrier.wait(5)
            client = TestClient(app, format="http", tenant_id=f"tenant-{index}")
            for i in range(PER_THREAD):
                n = f"{index}-{i}"
                kind = "async" if i % 2 else "sync"
                if i % 3 == 0:  # straight through the entry point, another format each time
                    fmt = FORMATS[i % len(FORMATS)]
                    event = make_event(fmt, "GET", f"/{kind}/{n}", headers={"X-N": n},
                                       request_id=f"rid-{n}")
                    raw = app(event, FakeContext(tenant_id=f"tenant-{index}"))
                    answer = TestResponse(raw)
                else:
                    answer = client.get(f"/{kind}/{n}", headers={"X-N": n},
                                        request_id=f"rid-{n}")
                answers.append((n, f"tenant-{index}", answer))
        except BaseException as exc:  # reported below
            failures.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not failures, failures
    assert len(answers) == THREADS * PER_THREAD
    for n, tenant, answer in answers:
        assert answer.status_code == 200
        assert answer.json() == {"n": n, "who": n, "request_id": f"rid-{n}", "tenant": tenant}
    handled = [r for r in capture.records if r.getMessage().startswith("handled ")]
    access = [r for r in capture.records if r.getMessage() == "request"]
    assert len(handled) == len(access) == THREADS * PER_THREAD
    for record in handled:
        n = record.getMessage().removeprefix("handled ")
        assert record.request_id == f"rid-{n}"  # type: ignore[attr-defined]
        assert record.tenant_id == f"tenant-{n.split('-')[0]}"  # type: ignore[attr-defined]
    for record in access:
        n = record.path.rsplit("/", 1)[-1]  # type: ignore[attr-defined]
        assert record.request_id == f"rid-{n}"  # type: ignore[attr-defined]
        assert record.tenant_id == f"tenant-{n.split('-')[0]}"  # type: ignore[attr-defined]


def test_a_request_leaves_no_state_on_the_app_or_in_module_globals() -> None:
    app = threaded_app()
    client = TestClient(app)
    client.get("/sync/1", headers={"X-N": "1"})  # the cold start
    client.get("/async/1", headers={"X-N": "1"})  # the event loop, created on first use

    def snapshot() -> dict[str, Any]:
        state: dict[str, Any] = {f"app.{k}": v for k, v in vars(app).items()}
        for name, module in list(sys.modules.items()):
            if name.startswith("lamroute") and module is not None:
                state.update({f"{name}.{k}": v for k, v in vars(module).items()})
        return {k: id(v) for k, v in state.items()}

    before = snapshot()
    client.get("/sync/2", headers={"X-N": "2"})
    client.get("/async/3", headers={"X-N": "3"})
    after = snapshot()
    assert {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)} == set()
    from lamroute.safeguards.deadline import _Current

    assert _Current.alarm is None


@pytest.mark.parametrize("is_async", [False, True])
def test_a_container_value_is_built_once_when_threads_ask_at_the_same_time(
        is_async: bool) -> None:
    builds: list[int] = []

    def build_sync() -> dict[str, int]:
        builds.append(1)
        time.sleep(0.05)  # long enough for every thread to ask meanwhile
        return {"client": len(builds)}

    async def build_async() -> dict[str, int]:
        builds.append(1)
        await asyncio.sleep(0.05)
        return {"client": len(builds)}

    factory = build_async if is_async else build_sync
    app = App(access_log=False)

    @app.get("/client")
    def client_route(c: Annotated[dict[str, int], Depends(factory, cache="container")]
                     ) -> dict[str, int]:
        return c

    barrier = threading.Barrier(THREADS)
    answers: list[Any] = []

    def worker() -> None:
        barrier.wait(5)
        answers.append(TestClient(app).get("/client").json())

    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert builds == [1]
    assert answers == [{"client": 1}] * THREADS


@pytest.mark.parametrize("fmt", FORMATS)
def test_request_tenant_id_comes_from_the_context_and_is_logged(fmt: str,
                                                                capture: Records) -> None:
    app = threaded_app()
    event = make_event(fmt, "GET", "/async/7", headers={"X-N": "7"})
    body = TestResponse(app(event, FakeContext(tenant_id="blue"))).json()
    assert body["tenant"] == "blue"
    (line,) = [r for r in capture.records if r.getMessage() == "request"]
    assert line.tenant_id == "blue"  # type: ignore[attr-defined]
    capture.records.clear()
    body = TestClient(app, format=fmt).get("/sync/8", headers={"X-N": "8"}).json()
    assert body["tenant"] is None  # not in tenant isolation mode: no tenant, no field
    assert not any(hasattr(r, "tenant_id") for r in capture.records)


WRITES_PROBE = '''
import os, sys

writes = []

def audit(event, args):
    if event == "open":
        path, mode, flags = (list(args) + [None, None, None])[:3]
        writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
            isinstance(flags, int) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT))
        if writing and not str(path).startswith("/dev/"):
            writes.append(str(path))
    elif event in ("os.mkdir", "os.rename", "os.remove", "shutil.copyfile", "os.symlink"):
        writes.append(f"{event} {args[0]}")

sys.addaudithook(audit)

import asyncio, json, types
from typing import Annotated
hooks = types.ModuleType("snapshot_restore_py")
hooks.before, hooks.after = [], []
hooks.register_before_snapshot = lambda f, *a: hooks.before.append((f, a))
hooks.register_after_restore = lambda f, *a: hooks.after.append((f, a))
sys.modules["snapshot_restore_py"] = hooks

from pydantic import BaseModel
from lamroute import App, CORS, Compression, Depends, requires
from lamroute.testing import FakeContext, make_event, make_websocket_event

class Note(BaseModel):
    text: str

app = App(cors=CORS(allow_origins=["https://a.example"]), compress=Compression(min_size=1))

@app.on_startup
async def start():
    await asyncio.sleep(0)

def session():
    yield "db"

@app.post("/notes", status_code=201)
async def create(note: Note, db: Annotated[str, Depends(session)],
                 c: Annotated[dict, Depends(lambda: {}, cache="container")]) -> Note:
    return note

@app.get("/admin", auth=requires(scopes=["admin"]))
def admin() -> dict:
    return {"x": "y" * 2000}

@app.websocket("$default")
async def ws(body) -> dict:
    return {"echo": body}

for f, a in reversed(hooks.before):
    f(*a)
for f, a in hooks.after:
    f(*a)
for fmt in ("rest", "http", "alb"):
    app(make_event(fmt, "POST", "/notes", json={"text": "hi"}), FakeContext())
    app(make_event(fmt, "GET", "/admin", headers={"Accept-Encoding": "gzip"}), FakeContext())
    app(make_event(fmt, "GET", "/missing"), FakeContext())
app(make_websocket_event("$default", body="{}"), FakeContext())
print(json.dumps(writes))
'''


def test_nothing_lamroute_does_writes_to_the_filesystem(tmp_path: Any) -> None:
    # An audit hook sees every file the process opens for writing (bytecode caches off).
    out = subprocess.check_output([sys.executable, "-B", "-c", WRITES_PROBE], cwd=tmp_path,
                                  text=True)
    assert out.strip().splitlines()[-1] == "[]"
    assert list(tmp_path.iterdir()) == []
