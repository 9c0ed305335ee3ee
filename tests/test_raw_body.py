"""Raw bodies: ``Annotated[bytes, Body()]`` takes any media type (a JSON body route answers 415
to ``application/octet-stream``); ``Body(media_type=...)`` restricts it; base64 or text as each
service delivers it."""

from __future__ import annotations

import os
from typing import Annotated, Any

import pytest

from lamroute import App, Body
from lamroute.testing import TestClient

FORMATS = [("rest", ("*/*",)), ("rest", ("image/*",)), ("http-v1", ()), ("http", ()),
           ("url", ()), ("alb", ()), ("alb-multi", ())]
IDS = ["rest-binary", "rest-images", "http-v1", "http", "url", "alb", "alb-multi"]


def raw_app() -> App:
    app = App()

    @app.put("/blob")
    def blob(body: Annotated[bytes, Body()]) -> dict[str, Any]:
        return {"size": len(body), "head": list(body[:4])}

    @app.put("/image")
    def image(body: Annotated[bytes, Body(media_type="image/*")]) -> dict[str, int]:
        return {"size": len(body)}

    @app.put("/csv")
    def csv(body: Annotated[bytes | None, Body(media_type="text/csv")] = None
            ) -> dict[str, Any]:
        return {"text": None if body is None else body.decode()}

    return app


@pytest.fixture(params=FORMATS, ids=IDS)
def client(request: pytest.FixtureRequest) -> TestClient:
    fmt, binary = request.param
    return TestClient(raw_app(), format=fmt, binary_media_types=binary)


@pytest.mark.parametrize("content_type", ["application/octet-stream", "image/png",
                                          "application/json", "text/plain; charset=utf-8",
                                          None])
def test_a_raw_body_takes_any_media_type(client: TestClient, content_type: str | None) -> None:
    payload = b"\x89PNG" + os.urandom(64) if content_type == "image/png" else b"abcd" * 8
    headers = {"Content-Type": content_type} if content_type else {}
    response = client.put("/blob", body=payload, headers=headers)
    if client.format == "rest" and client.binary_media_types == ("image/*",) and \
            content_type != "image/png":  # a REST API passes other types as UTF-8 text
        assert response.status_code == 200
        return
    assert response.json() == {"size": len(payload), "head": list(payload[:4])}


def test_media_type_restricts_a_raw_body_with_a_415(client: TestClient) -> None:
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
    assert client.put("/image", body=png, headers={"Content-Type": "image/png"}).json() == {
        "size": len(png)}
    refused = client.put("/image", body=b"a,b", headers={"Content-Type": "text/csv"})
    assert refused.status_code == 415
    assert refused.json()["detail"] == "The body must be image/*, not text/csv."
    assert client.put("/image", body=png).status_code == 415  # no Content-Type at all


def test_an_empty_raw_body_is_missing_or_the_default(client: TestClient) -> None:
    response = client.put("/blob", body=b"", headers={"Content-Type": "image/png"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body"]
    assert client.put("/csv", headers={"Content-Type": "text/csv"}).json() == {"text": None}
    csv = client.put("/csv", body="a,b\n1,2", headers={"Content-Type": "text/csv"})
    assert csv.json() == {"text": "a,b\n1,2"}


def test_a_json_route_still_answers_415_to_octet_stream() -> None:
    app = App()

    @app.post("/json")
    def json_body(data: Annotated[dict[str, int], Body()]) -> dict[str, int]:
        return data

    client = TestClient(app, format="http")
    response = client.post("/json", body=b"\x00",
                           headers={"Content-Type": "application/octet-stream"})
    assert response.status_code == 415
