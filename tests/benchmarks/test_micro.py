"""pytest-benchmark micro-suite of the hot paths: routing, request parsing, rendering.

Run with ``make bench-micro``; excluded from ``make test`` (see ``conftest.py``). Each benchmark
also checks what it timed, so a fast wrong answer cannot pass.
"""

from __future__ import annotations

import io
from typing import Any

import pytest

from lamroute import App
from lamroute.formats import detect
from lamroute.formats.rest import REST
from lamroute.http.response import to_response
from lamroute.routing.table import RouteTable
from lamroute.testing import FakeContext

from .apps import build, filler_paths
from .events import rest_event

pytest.importorskip("pytest_benchmark")


@pytest.fixture(scope="module")
def table() -> RouteTable[str]:
    routes: RouteTable[str] = RouteTable()
    for path in filler_paths(200):
        routes.add(path, ["GET"], path)
    routes.add("/users/{user_id}", ["GET"], "get_user")
    routes.add("/health", ["GET"], "health")
    return routes


def test_route_static(benchmark: Any, table: RouteTable[str]) -> None:
    found = benchmark(table.match, "GET", "/health")
    assert (found.status, found.target) == (200, "health")


def test_route_dynamic(benchmark: Any, table: RouteTable[str]) -> None:
    found = benchmark(table.match, "GET", "/users/42")
    assert (found.target, found.params) == ("get_user", {"user_id": "42"})


def test_route_not_found(benchmark: Any, table: RouteTable[str]) -> None:
    assert benchmark(table.match, "GET", "/no/such/path").status == 404


def test_detect_and_parse_rest(benchmark: Any) -> None:
    event = rest_event("user")
    request = benchmark(lambda: detect(event).parse(event, None))
    assert (request.method, request.path, request.root_path) == ("GET", "/users/42", "/prod")


def test_headers_of_a_browser_request(benchmark: Any) -> None:
    event = rest_event("user")
    request = REST.parse(event, None)

    def headers() -> Any:
        request._headers = None
        return request.headers

    assert benchmark(headers).get("user-agent", "").startswith("Mozilla/5.0")


def test_render_json(benchmark: Any) -> None:
    request = REST.parse(rest_event("health"), None)
    out = benchmark(lambda: REST.render(to_response({"status": "ok"}, 200), request))
    assert out["statusCode"] == 200 and out["body"] == '{"status":"ok"}'
    assert out["headers"] == {"Content-Type": "application/json"}


@pytest.mark.parametrize("access_log", [False, True], ids=["log-off", "log-on"])
def test_app_call_health(benchmark: Any, access_log: bool) -> None:
    app = build("lamroute", 200, access_log=access_log)
    assert isinstance(app, App)
    stream = io.StringIO()
    for handler in app.logger.handlers:
        handler.setStream(stream)  # type: ignore[attr-defined]
    event, context = rest_event("health"), FakeContext()
    assert benchmark(app, event, context)["statusCode"] == 200
    assert ('"path": "/health"' in stream.getvalue()) is access_log
