"""Compression: gzip when the client accepts it and it pays, never for compressed media."""

from __future__ import annotations

import gzip
from typing import Any

import pytest

from lamroute import App, Compression, Response, RouteDefinitionError
from lamroute.safeguards.compression import accepts_gzip
from lamroute.testing import FORMATS, TestClient

TEXT = "lamroute " * 500  # 4500 bytes, compresses well
SHARED = Response(TEXT, media_type="text/plain")


def make_app(**options: Any) -> App:
    app = App(**options)

    @app.get("/text")
    def text() -> str:
        return TEXT

    @app.get("/json")
    def json_list() -> list[int]:
        return list(range(2000))

    @app.get("/small")
    def small() -> str:
        return "tiny"

    @app.get("/image")
    def image() -> Response:
        return Response(b"\x89PNG" + b"\0" * 5000, media_type="image/png")

    @app.get("/svg")
    def svg() -> Response:
        return Response("<svg>" + "<g/>" * 1000 + "</svg>", media_type="image/svg+xml")

    @app.get("/zip")
    def archive() -> Response:
        return Response(b"PK" + b"\0" * 5000, media_type="application/zip")

    @app.get("/encoded")
    def encoded() -> Response:
        return Response(gzip.compress(TEXT.encode()), media_type="text/plain",
                        headers={"Content-Encoding": "gzip"})

    @app.get("/vary")
    def vary() -> Response:
        return Response(TEXT, media_type="text/plain",
                        headers=[("Vary", "Origin"), ("Content-Length", "4500")])

    @app.get("/shared")
    def shared() -> Response:
        return SHARED

    @app.get("/off", compress=False)
    def off() -> str:
        return TEXT

    return app


GZIP = {"Accept-Encoding": "gzip, deflate, br"}


@pytest.mark.parametrize(("header", "expected"), [
    ("gzip", True), ("GZIP", True), ("x-gzip", True), ("gzip; q=1", True),
    ("br, gzip;q=0.001", True), ("*", True), ("deflate, *;q=0.5", True),
    ("gzip;q=0", False), ("gzip;q=0.0", False), ("gzip;q=0, *", False),
    ("*, gzip;q=0", False), ("*;q=0", False), ("deflate, br", False), ("identity", False),
    ("", False), (None, False), ("gzip;q=abc", False), ("gzip;q=2", False),
])
def test_accept_encoding_q_values(header: str | None, expected: bool) -> None:
    assert accepts_gzip(header) is expected


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("path", ["/text", "/json", "/svg"])
def test_accepted_bodies_are_gzipped_and_base64_encoded(fmt: str, path: str) -> None:
    client = TestClient(make_app(compress=True), format=fmt)
    plain = client.get(path)
    packed = client.get(path, headers=GZIP)
    assert packed.status_code == plain.status_code == 200
    assert packed.raw["isBase64Encoded"] is True
    assert packed.headers["content-encoding"] == "gzip"
    assert packed.headers["vary"] == "Accept-Encoding"
    assert gzip.decompress(packed.content) == plain.content
    assert len(packed.content) < len(plain.content)


def test_the_identity_answer_says_it_varies_too() -> None:
    response = TestClient(make_app(compress=True), format="http").get("/text")
    assert "content-encoding" not in response.headers
    assert response.headers["vary"] == "Accept-Encoding"
    assert response.text == TEXT


@pytest.mark.parametrize("path", ["/small", "/image", "/zip", "/encoded"])
def test_small_compressed_or_encoded_bodies_are_left_alone(path: str) -> None:
    client = TestClient(make_app(compress=True), format="http")
    plain = make_app()
    expected = TestClient(plain, format="http").get(path, headers=GZIP)
    response = client.get(path, headers=GZIP)
    assert response.content == expected.content
    assert response.headers.getall("content-encoding") == expected.headers.getall(
        "content-encoding")
    assert "vary" not in response.headers


def test_gzip_q_zero_means_no() -> None:
    client = TestClient(make_app(compress=True), format="http")
    response = client.get("/text", headers={"Accept-Encoding": "gzip;q=0, br"})
    assert "content-encoding" not in response.headers and response.text == TEXT


def test_existing_vary_is_kept_and_content_length_dropped() -> None:
    response = TestClient(make_app(compress=True), format="rest").get("/vary", headers=GZIP)
    assert response.headers.getall("vary") == ["Origin", "Accept-Encoding"]
    assert "content-length" not in response.headers
    assert gzip.decompress(response.content).decode() == TEXT


def test_a_shared_response_object_is_not_changed() -> None:
    client = TestClient(make_app(compress=True), format="http")
    assert client.get("/shared", headers=GZIP).headers["content-encoding"] == "gzip"
    assert SHARED.body == TEXT.encode() and "content-encoding" not in SHARED.headers
    assert client.get("/shared").text == TEXT


def test_routes_override_the_app_setting() -> None:
    on = TestClient(make_app(compress=True), format="http")
    assert "content-encoding" not in on.get("/off", headers=GZIP).headers
    app = make_app()

    @app.get("/on", compress=Compression(min_size=10, level=1))
    def on_route() -> str:
        return "abc" * 10

    client = TestClient(app, format="http")
    assert client.get("/on", headers=GZIP).headers["content-encoding"] == "gzip"
    assert "content-encoding" not in client.get("/text", headers=GZIP).headers


def test_error_answers_are_not_compressed() -> None:
    response = TestClient(make_app(compress=True), format="http").get("/nope", headers=GZIP)
    assert response.status_code == 404 and "content-encoding" not in response.headers


@pytest.mark.parametrize("bad", [{"min_size": -1}, {"level": 0}, {"level": 10},
                                 {"min_size": 1.5}])
def test_invalid_compression_settings_are_rejected(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        Compression(**bad)


def test_compress_option_must_be_a_bool_or_compression() -> None:
    with pytest.raises(RouteDefinitionError):
        App(compress="yes")  # type: ignore[arg-type]
    with pytest.raises(RouteDefinitionError):
        App().get("/", compress="yes")(lambda: "x")  # type: ignore[call-overload]
