"""Middleware: order, scope (app, router, route), the error boundary, built at registration."""

from __future__ import annotations

from typing import Any

import pytest

from lamroute import App, NotFound, Request, Response, RouteDefinitionError, Router
from lamroute.routing.routes import Handler
from lamroute.security.guards import requires
from lamroute.testing import TestClient


def tagger(name: str, seen: list[str]) -> Any:
    def middleware(request: Request, call_next: Handler) -> Response:
        seen.append(f"{name}>")
        response = call_next(request)
        seen.append(f"<{name}")
        response.headers.add("X-Trail", name)
        return response

    middleware.__name__ = name
    return middleware


def build(seen: list[str]) -> App:
    app = App(access_log=False, middleware=[tagger("app1", seen)])
    app.middleware(tagger("app2", seen))
    router = Router(middleware=[tagger("router", seen)])

    @router.get("/r", middleware=[tagger("route", seen)], auth=requires())
    def routed(request: Request) -> str:
        seen.append("handler")
        return "r"

    outer = Router(middleware=[tagger("outer", seen)])
    outer.include_router(router, prefix="/in")
    app.include_router(outer, prefix="/out")

    @app.get("/plain")
    def plain() -> str:
        seen.append("handler")
        return "plain"

    return app


def test_documented_order() -> None:
    seen: list[str] = []
    response = TestClient(build(seen), format="rest").get("/out/in/r", identity={})
    assert response.text == "r"
    assert seen == ["app1>", "app2>", "outer>", "router>", "route>", "handler",
                    "<route", "<router", "<outer", "<app2", "<app1"]
    assert response.headers.getall("x-trail") == ["route", "router", "outer", "app2", "app1"]


def test_route_middleware_runs_before_the_guard_and_app_middleware_sees_404() -> None:
    seen: list[str] = []
    client = TestClient(build(seen), format="rest")
    denied = client.get("/out/in/r")
    assert denied.status_code == 401
    assert seen[:5] == ["app1>", "app2>", "outer>", "router>", "route>"]
    assert "handler" not in seen
    seen.clear()
    missing = client.get("/nowhere")
    assert missing.status_code == 404 and missing.headers.getall("x-trail") == ["app2", "app1"]
    seen.clear()
    assert client.get("/plain").headers.getall("x-trail") == ["app2", "app1"]
    assert seen == ["app1>", "app2>", "handler", "<app2", "<app1"]


@pytest.mark.parametrize("format", ["rest", "http", "alb"])
def test_exceptions_in_middleware_go_through_the_boundary(format: str) -> None:
    app = App(access_log=False)

    @app.middleware
    def broken(request: Request, call_next: Handler) -> Response:
        if request.path == "/crash":
            raise RuntimeError("secret token abc123")
        if request.path == "/gone":
            raise NotFound("nothing here")
        return call_next(request)

    @app.exception_handler(KeyError)
    def on_key_error(request: Request, exc: KeyError) -> Response:
        return Response.json({"missing": str(exc.args[0])}, 409)

    @app.get("/key")
    def key() -> str:
        raise KeyError("k")

    client = TestClient(app, format=format)
    crash = client.get("/crash")
    assert crash.status_code == 500 and "abc123" not in crash.text
    assert crash.headers["content-type"] == "application/problem+json"
    assert client.get("/gone").json()["detail"] == "nothing here"
    assert client.get("/key").json() == {"missing": "k"}


def test_call_next_returns_error_answers_that_middleware_can_decorate() -> None:
    app = App(access_log=False)
    statuses: list[int] = []

    @app.middleware
    def record(request: Request, call_next: Handler) -> Response:
        response = call_next(request)
        statuses.append(response.status)
        return response

    @app.get("/fail")
    def fail() -> str:
        raise RuntimeError("x")

    client = TestClient(app, format="http")
    client.get("/fail")
    client.get("/missing")
    assert statuses == [500, 404]


def test_middleware_may_short_circuit_and_return_plain_values() -> None:
    app = App(access_log=False)

    @app.middleware
    def maintenance(request: Request, call_next: Handler) -> Any:
        if request.headers.get("x-maintenance"):
            return {"maintenance": True}
        return call_next(request)

    @app.get("/")
    def index() -> str:
        return "up"

    client = TestClient(app, format="rest")
    assert client.get("/").text == "up"
    assert client.get("/", headers={"X-Maintenance": "1"}).json() == {"maintenance": True}


def test_middleware_returning_garbage_is_a_formatted_500() -> None:
    app = App(access_log=False)

    @app.get("/", middleware=[lambda request, call_next: object()])
    def index() -> str:
        return "x"

    assert TestClient(app).get("/").status_code == 500


def test_chains_are_built_at_registration() -> None:
    app = App(access_log=False)

    @app.get("/", middleware=[lambda r, n: n(r)])
    def index() -> str:
        return "x"

    @app.get("/bare")
    def bare() -> str:
        return "y"

    compiled = {target.route.path: target for _, _, target in app.table.entries()}
    assert compiled["/"].chain is not None and compiled["/bare"].chain is None
    handle = app._handle
    TestClient(app).get("/")
    assert app._handle is handle


@pytest.mark.parametrize("bad", [42, lambda: None, lambda a, b, c: None])
def test_bad_middleware_fails_at_registration(bad: Any) -> None:
    app = App(access_log=False)
    with pytest.raises(RouteDefinitionError):
        app.middleware(bad)
    with pytest.raises(RouteDefinitionError):
        app.get("/x", middleware=[bad])(lambda: None)
    with pytest.raises(RouteDefinitionError):
        Router(middleware=[bad])
