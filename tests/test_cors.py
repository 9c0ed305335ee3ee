"""CORS: preflights from the route table, headers on every answer, origins and patterns."""

from __future__ import annotations

from typing import Any

import pytest

from lamroute import App, Response, RouteDefinitionError
from lamroute.security.cors import CORS
from lamroute.security.guards import requires
from lamroute.testing import TestClient

FORMATS = ["rest", "http-v1", "http", "url", "alb", "alb-multi"]
ORIGIN = "https://app.example.com"


def make_app(cors: CORS) -> App:
    app = App(access_log=False, cors=cors, auth=requires())

    @app.get("/notes/{note_id}")
    def get_note(note_id: str) -> dict[str, str]:
        return {"id": note_id}

    @app.route("/notes", methods=["POST", "PUT"])
    def write() -> str:
        return "ok"

    @app.get("/boom", public=True)
    def boom() -> str:
        raise RuntimeError("kaput")

    @app.get("/public", public=True)
    def public() -> str:
        return "hi"

    return app


DEFAULT = CORS(allow_origins=[ORIGIN, "https://*.example.org"], allow_headers=["Authorization"],
               expose_headers=["X-Request-Id"], allow_credentials=True, max_age=300)


def preflight(client: TestClient, path: str, method: str, origin: str = ORIGIN,
              headers: str | None = None) -> Any:
    sent = {"Origin": origin, "Access-Control-Request-Method": method}
    if headers:
        sent["Access-Control-Request-Headers"] = headers
    return client.options(path, headers=sent)


@pytest.mark.parametrize("format", FORMATS)
def test_preflight_for_a_route_without_options(format: str) -> None:
    response = preflight(TestClient(make_app(DEFAULT), format=format), "/notes/7", "GET",
                         headers="authorization")
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert response.headers["access-control-allow-methods"] == "GET, HEAD, OPTIONS"
    assert response.headers["access-control-allow-headers"] == "Authorization"
    assert response.headers["access-control-allow-credentials"] == "true"
    assert response.headers["access-control-max-age"] == "300"
    assert response.headers["vary"] == "Origin"
    assert "access-control-expose-headers" not in response.headers


def test_preflight_skips_guards_but_actual_request_does_not() -> None:
    client = TestClient(make_app(DEFAULT), format="http")
    assert preflight(client, "/notes", "PUT").status_code == 204
    actual = client.put("/notes", headers={"Origin": ORIGIN})
    assert actual.status_code == 401
    assert actual.headers["access-control-allow-origin"] == ORIGIN


@pytest.mark.parametrize("format", FORMATS)
def test_headers_on_every_answer_including_404_and_500(format: str) -> None:
    client = TestClient(make_app(DEFAULT), format=format)
    for path, status in (("/public", 200), ("/missing", 404), ("/boom", 500)):
        response = client.get(path, headers={"Origin": ORIGIN})
        assert response.status_code == status
        assert response.headers["access-control-allow-origin"] == ORIGIN
        assert response.headers["access-control-expose-headers"] == "X-Request-Id"
        assert response.headers["vary"] == "Origin"
    assert client.delete("/notes", headers={"Origin": ORIGIN}).headers[
        "access-control-allow-origin"] == ORIGIN  # 405


def test_origin_patterns_and_refusals() -> None:
    client = TestClient(make_app(DEFAULT), format="http")
    assert preflight(client, "/public", "GET", "https://a.b.example.org").status_code == 204
    for origin in ("https://example.org", "http://a.example.org", "https://evil.com",
                   "https://a.example.org.evil.com", "https://app.example.com.evil.com", "null"):
        refused = preflight(client, "/public", "GET", origin)
        assert refused.status_code == 403, origin
        assert "access-control-allow-origin" not in refused.headers
        plain = client.get("/public", headers={"Origin": origin})
        assert plain.status_code == 200 and "access-control-allow-origin" not in plain.headers
        assert plain.headers["vary"] == "Origin"


def test_preflight_refusals_are_problems() -> None:
    client = TestClient(make_app(DEFAULT), format="rest")
    assert preflight(client, "/missing", "GET").status_code == 404
    method = preflight(client, "/notes/1", "DELETE")
    assert method.status_code == 403
    assert method.headers["content-type"] == "application/problem+json"
    assert preflight(client, "/notes/1", "GET", headers="X-Secret").status_code == 403
    assert preflight(client, "/notes/1", "GET", headers="Content-Type").status_code == 204


def test_restricted_methods_and_echoed_headers() -> None:
    cors = CORS(allow_origins=["*"], allow_methods=["GET"], allow_headers=["*"], max_age=None)
    client = TestClient(make_app(cors), format="http")
    ok = preflight(client, "/notes/1", "GET", headers="X-A, X-B")
    assert ok.headers["access-control-allow-methods"] == "GET, OPTIONS"
    assert ok.headers["access-control-allow-headers"] == "X-A, X-B"
    assert ok.headers["access-control-allow-origin"] == "*"
    assert "access-control-max-age" not in ok.headers and "vary" not in ok.headers
    assert preflight(client, "/notes", "POST").status_code == 403


def test_plain_options_answers_allow_to_callers_the_guard_admits() -> None:
    client = TestClient(make_app(DEFAULT), format="http")
    response = client.options("/notes/1", headers={"Origin": ORIGIN}, identity={})
    assert response.status_code == 204 and response.headers["allow"] == "GET, HEAD, OPTIONS"
    # Not a preflight: an anonymous caller gets the guard's answer (with the CORS headers).
    anonymous = client.options("/notes/1", headers={"Origin": ORIGIN})
    assert anonymous.status_code == 401 and "allow" not in anonymous.headers
    assert anonymous.headers["access-control-allow-origin"] == ORIGIN


def test_existing_vary_and_handler_set_origin_are_kept() -> None:
    app = App(access_log=False, cors=DEFAULT)

    @app.get("/v")
    def v() -> Response:
        return Response("x", headers={"Vary": "Accept-Encoding"})

    @app.get("/own")
    def own() -> Response:
        return Response("x", headers={"Access-Control-Allow-Origin": "https://other.example"})

    client = TestClient(app, format="http")
    assert client.get("/v", headers={"Origin": ORIGIN}).headers["vary"] == (
        "Accept-Encoding, Origin")
    own_answer = client.get("/own", headers={"Origin": ORIGIN})
    assert own_answer.headers["access-control-allow-origin"] == "https://other.example"


@pytest.mark.parametrize("options", [
    {"allow_origins": ["*"], "allow_credentials": True},
    {"allow_origins": "https://a.com"},
    {"allow_origins": ["https://a.*.com"]},
    {"allow_origins": ["*.example.com"]},
    {"allow_origins": ["https://a.com\r\nX: y"]},
    {"allow_origins": ["https://a.com"], "max_age": -1},
    {"allow_origins": ["https://a.com"], "allow_headers": "Authorization"},
])
def test_bad_settings_fail_at_construction(options: dict[str, Any]) -> None:
    with pytest.raises(RouteDefinitionError):
        CORS(**options)


def test_cors_is_frozen() -> None:
    import dataclasses

    with pytest.raises(dataclasses.FrozenInstanceError):
        DEFAULT.max_age = 5  # type: ignore[misc]
