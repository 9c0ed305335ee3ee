"""SnapStart: lamroute's runtime hooks through ``snapshot_restore_py``.

The module exists only in the Lambda managed runtimes; a fake one stands in for it, with the
documented API (``register_before_snapshot(func, *args, **kwargs)``,
``register_after_restore(func, *args, **kwargs)``, registries the runtime reads with
``get_before_snapshot()``/``get_after_restore()``) and the runtime's order: before-snapshot
hooks last registered first, after-restore hooks in registration order
(https://docs.aws.amazon.com/lambda/latest/dg/snapstart-runtime-hooks-python.html).
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from collections.abc import Iterator
from typing import Annotated, Any

import pytest
from fixtures import Records

from lamroute import App, Depends
from lamroute.params import clear_dependency_cache
from lamroute.testing import TestClient

FAKE_MODULE = '''
import sys, types

class SnapshotRestore(types.ModuleType):
    """snapshot_restore_py's API, and the runtime's way of running the hooks."""

    def __init__(self):
        super().__init__("snapshot_restore_py")
        self._before, self._after = [], []

    def register_before_snapshot(self, func, *args, **kwargs):
        self._before.append((func, args, kwargs))
        return func

    def register_after_restore(self, func, *args, **kwargs):
        self._after.append((func, args, kwargs))
        return func

    def get_before_snapshot(self):
        return self._before

    def get_after_restore(self):
        return self._after

    def snapshot(self):  # the runtime: reverse order of registration
        for func, args, kwargs in reversed(self._before):
            func(*args, **kwargs)

    def restore(self):  # the runtime: order of registration
        for func, args, kwargs in self._after:
            func(*args, **kwargs)

hooks = sys.modules["snapshot_restore_py"] = SnapshotRestore()
'''


@pytest.fixture
def runtime(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    namespace: dict[str, Any] = {}
    saved = sys.modules.get("snapshot_restore_py")
    exec(FAKE_MODULE, namespace)  # puts the fake in sys.modules
    try:
        yield namespace["hooks"]
    finally:
        if saved is None:
            sys.modules.pop("snapshot_restore_py", None)
        else:
            sys.modules["snapshot_restore_py"] = saved
        clear_dependency_cache()


def test_without_the_module_nothing_is_registered_and_nothing_loads() -> None:
    code = ("import sys, lamroute; app = lamroute.App();"
            "print([m for m in sys.modules if m.startswith('lamroute.lifecycle')"
            " or m == 'snapshot_restore_py'])")
    env = {"PATH": "/usr/bin:/bin"}
    assert subprocess.check_output([sys.executable, "-c", code], env=env,
                                   text=True).strip() == "[]"


def test_each_app_registers_its_two_hooks(runtime: Any) -> None:
    from lamroute.lifecycle.snapstart import after_restore, before_snapshot

    app = App()
    assert runtime.get_before_snapshot() == [(before_snapshot, (app,), {})]
    assert runtime.get_after_restore() == [(after_restore, (app,), {})]


@pytest.mark.parametrize("kind", ["on-demand", "provisioned-concurrency",
                                  "lambda-managed-instances"])
def test_no_hooks_when_lambda_names_an_initialization_type_without_snapshot(
        runtime: Any, monkeypatch: pytest.MonkeyPatch, kind: str) -> None:
    # Lambda takes no snapshot of these: the hooks' module would only cost their cold start.
    monkeypatch.setenv("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001")
    monkeypatch.setenv("AWS_LAMBDA_INITIALIZATION_TYPE", kind)
    App()
    assert runtime.get_before_snapshot() == [] and runtime.get_after_restore() == []
    apps = []
    for other in ("snap-start", "a-type-lambda-adds-later"):  # a snapshot may be taken: kept
        monkeypatch.setenv("AWS_LAMBDA_INITIALIZATION_TYPE", other)
        apps.append(App())
    assert [args for _, args, _ in runtime.get_before_snapshot()] == [(app,) for app in apps]


def test_before_snapshot_starts_the_app_then_runs_its_own_hooks(runtime: Any) -> None:
    events: list[str] = []
    app = App(access_log=False)

    @app.on_startup
    async def connect() -> None:
        events.append("startup")

    @app.before_snapshot
    def close_connections() -> None:
        events.append("before snapshot")

    @app.after_restore
    def reconnect() -> None:
        events.append("after restore")

    @app.get("/x")
    def x() -> str:
        events.append("request")
        return "x"

    runtime.snapshot()
    assert events == ["startup", "before snapshot"]
    runtime.restore()
    assert TestClient(app).get("/x").text == "x"
    assert events == ["startup", "before snapshot", "after restore", "request"]


def test_a_failing_startup_fails_the_snapshot_rather_than_snapshotting_a_503(
        runtime: Any) -> None:
    app = App(access_log=False)

    @app.on_startup
    def broken() -> None:
        raise ConnectionError("no database at publish time")

    with pytest.raises(RuntimeError, match="no snapshot") as failure:
        runtime.snapshot()
    assert isinstance(failure.value.__cause__, ConnectionError)


def test_after_restore_resets_what_must_differ_between_environments(runtime: Any,
                                                                    logs: Records) -> None:
    built = {"kept": 0, "rebuilt": 0, "closed": 0}

    def kept() -> int:
        built["kept"] += 1
        return built["kept"]

    def rebuilt() -> Iterator[int]:
        built["rebuilt"] += 1
        yield built["rebuilt"]
        built["closed"] += 1

    app = App()
    seen: dict[str, Any] = {}

    @app.after_restore
    def check() -> None:  # lamroute's reset ran first
        seen["cold"] = app._cold_start
        seen["closed"] = built["closed"]

    @app.get("/values")
    def values(a: Annotated[int, Depends(kept, cache="container")],
               b: Annotated[int, Depends(rebuilt, cache="container", restore="rebuild")]
               ) -> dict[str, int]:
        return {"kept": a, "rebuilt": b}

    def cold_starts() -> list[bool]:
        return [r.cold_start for r in logs.records if r.getMessage() == "request"]

    client = TestClient(app)
    runtime.snapshot()
    assert client.get("/values").json() == {"kept": 1, "rebuilt": 1}
    assert client.get("/values").json() == {"kept": 1, "rebuilt": 1}
    random.seed(42)  # as if seeded before the snapshot: every environment would repeat it
    state = random.getstate()
    runtime.restore()
    assert random.getstate() != state
    assert seen == {"cold": True, "closed": 1}
    assert client.get("/values").json() == {"kept": 1, "rebuilt": 2}
    assert cold_starts() == [True, False, True]


def test_restore_rebuild_is_for_container_values_only() -> None:
    with pytest.raises(ValueError, match="container"):
        Depends(lambda: 1, restore="rebuild")
    with pytest.raises(ValueError, match="restore"):
        Depends(lambda: 1, cache="container", restore="never")  # type: ignore[arg-type]


FIRST_REQUESTS = '''
import asyncio, json, sys
from typing import Annotated
from pydantic import BaseModel
from lamroute import App, Depends

class Order(BaseModel):
    item: "Item"        # defined below: its validator is left for the first request

app = App()

@app.post("/orders", status_code=201)
def create(order: Order) -> Order:
    return order

@app.get("/users/{user_id}")
async def user(user_id: int) -> dict:
    await asyncio.sleep(0)
    return {"id": user_id}

@app.websocket("$default")
def ws(body) -> dict:
    return {"echo": body}

class Item(BaseModel):
    name: str

import lamroute.testing  # (only to build the events below, before the snapshot)
from lamroute.testing import FakeContext, make_event, make_websocket_event
events = [make_event(fmt, "GET", "/users/1") for fmt in ("rest", "http-v1", "http", "url", "alb",
                                                          "alb-multi")]
events += [make_event("rest", "POST", "/orders", json={"item": {"name": "pen"}}),
           make_event("http", "POST", "/orders", json={"item": {}}),
           make_event("rest", "POST", "/orders", body="{not json"),
           make_event("alb", "GET", "/nowhere"), make_websocket_event("$default", body="{}")]
if sys.argv[2:] == ["custom"]:  # a REST API with lamroute's custom (non-proxy) integration
    events = [make_event("custom", "GET", "/users/1"),
              make_event("custom", "POST", "/orders", json={"item": {"name": "pen"}}),
              make_event("custom", "GET", "/nowhere")]
contexts = [FakeContext() for _ in events]
import logging, io
for handler in logging.getLogger("lamroute").handlers:
    handler.stream = io.StringIO()

if sys.argv[1] == "snapstart":
    hooks.snapshot()
    hooks.restore()
    import lamroute.params.validation as validation
    def no_late_build(*args):
        raise AssertionError("a validator was built by a request")
    validation.finite_validator = no_late_build
before = set(sys.modules)
statuses = [app(event, context)["statusCode"] for event, context in zip(events, contexts)]
print(json.dumps({"statuses": statuses, "imported": sorted(set(sys.modules) - before)}))
'''


def _first_requests(mode: str, *events: str) -> dict[str, Any]:
    code = FAKE_MODULE + FIRST_REQUESTS
    out = subprocess.check_output([sys.executable, "-c", code, mode, *events], text=True)
    return json.loads(out.splitlines()[-1])  # type: ignore[no-any-return]


def test_before_the_snapshot_the_lazy_work_of_first_requests_is_done() -> None:
    cold = _first_requests("cold")
    warmed = _first_requests("snapstart")
    expected = [200] * 6 + [201, 422, 400, 404, 200]
    assert cold["statuses"] == warmed["statuses"] == expected
    assert cold["imported"]  # without the hooks, first requests import modules (http, ...)
    assert warmed["imported"] == []


def test_snapstart_warms_the_custom_integration_format_before_the_snapshot() -> None:
    """The custom integration's event format is loaded by the first custom event: before the
    snapshot too, so that a restored environment behind a custom integration does not import it
    on its first request."""
    cold = _first_requests("cold", "custom")
    warmed = _first_requests("snapstart", "custom")
    assert cold["statuses"] == warmed["statuses"] == [200, 201, 404]
    assert "lamroute.formats.custom" in cold["imported"]
    assert warmed["imported"] == []


def test_hooks_registered_for_an_app_built_inside_lambda(runtime: Any,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    # In Lambda the module is importable (not yet imported): App() imports it.
    saved = sys.modules.pop("snapshot_restore_py")
    finder_calls: list[str] = []

    class Finder:
        @staticmethod
        def find_spec(name: str, path: Any = None, target: Any = None) -> Any:
            if name != "snapshot_restore_py":
                return None
            finder_calls.append(name)
            import importlib.machinery

            class Loader:
                @staticmethod
                def create_module(spec: Any) -> Any:
                    return saved

                @staticmethod
                def exec_module(module: Any) -> None:
                    pass

            return importlib.machinery.ModuleSpec(name, Loader())

    monkeypatch.setenv("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001")
    monkeypatch.setattr(sys, "meta_path", [Finder(), *sys.meta_path])
    app = App()
    assert finder_calls == ["snapshot_restore_py"]
    assert saved.get_after_restore()[-1][1] == (app,)
    sys.modules["snapshot_restore_py"] = saved
