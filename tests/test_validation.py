"""Validation answers (422/400/415), secrets kept out of them, and response models."""

from __future__ import annotations

import json
import logging
from typing import Annotated, Any

import pytest
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from lamroute import App, Problem, Query, Request, Response
from lamroute.testing import TestClient

FORMATS = ["rest", "http"]


class Credentials(BaseModel):
    user: str
    password: Annotated[str, Field(min_length=12)]


class LineItem(BaseModel):
    sku: str
    price: float = Field(gt=0)


class Order(BaseModel):
    items: list[LineItem]


class NoteOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    note_id: int = Field(alias="noteId")
    text: str


class Secretive(BaseModel):
    name: str


class Row:
    """An ORM-like object (attributes, not a dict)."""

    def __init__(self) -> None:
        self.note_id, self.noteId, self.text = 1, 1, "from attributes"


def make_app(**options: Any) -> App:
    app = App(access_log=False, **options)

    @app.post("/login")
    def login(creds: Credentials) -> dict[str, str]:
        return {"user": creds.user}

    @app.post("/orders", status_code=201)
    def order(order: Order, limit: Annotated[int, Query(le=5)] = 1) -> dict[str, int]:
        return {"count": len(order.items)}

    @app.get("/notes/{note_id}")
    def note(note_id: int) -> NoteOut:
        return NoteOut(note_id=note_id, text="hi")

    @app.get("/notes-dicts")
    def notes_as_dicts() -> list[NoteOut]:
        return [{"note_id": 1, "text": "a", "internal": "dropped"}]  # type: ignore[list-item]

    @app.get("/orm")
    def orm() -> NoteOut:
        return Row()  # type: ignore[return-value]

    @app.get("/broken")
    def broken() -> NoteOut:
        return {"text": "no id", "password": "hunter2-secret"}  # type: ignore[return-value]

    @app.get("/declared", response_model=Secretive)
    def declared() -> dict[str, str]:
        return {"name": "public", "token": "never-leaves"}

    @app.get("/opt-out", response_model=None)
    def opt_out() -> NoteOut:
        return {"anything": "goes"}  # type: ignore[return-value]

    @app.get("/either")
    def either(raw: bool = False) -> NoteOut | Response:
        if raw:
            return Response("raw", media_type="text/plain")
        return NoteOut(note_id=2, text="model")

    @app.get("/plain")
    def plain() -> dict[str, Any]:
        return {"kept": SecretStr("x").get_secret_value()}

    @app.post("/echo")
    def echo(request: Request) -> dict[str, Any]:
        return {"json": request.json()}

    return app


@pytest.fixture(params=FORMATS)
def client(request: pytest.FixtureRequest) -> TestClient:
    return TestClient(make_app(), format=request.param)


def test_422_is_a_problem_with_locations(client: TestClient) -> None:
    response = client.post("/orders?limit=9", json={"items": [{"sku": "a", "price": 0}, {}]})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == 422 and body["title"] == "Unprocessable Entity"
    assert [e["loc"] for e in body["errors"]] == [
        ["body", "items", 0, "price"], ["body", "items", 1, "sku"],
        ["body", "items", 1, "price"], ["query", "limit"],
    ]
    assert all(set(e) == {"loc", "msg", "type"} for e in body["errors"])


def test_rejected_values_are_never_echoed(client: TestClient) -> None:
    secret = "s3cr3t-pw"
    response = client.post("/login", json={"user": "ann", "password": secret})
    assert response.status_code == 422
    assert secret not in response.text
    assert response.json()["errors"][0]["loc"] == ["body", "password"]
    bad_query = client.post("/orders?limit=sekrit-value", json={"items": []})
    assert "sekrit-value" not in bad_query.text


def test_malformed_json_is_400(client: TestClient) -> None:
    response = client.post("/login", body='{"user": ', headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["title"] == "Bad Request"


def test_wrong_content_type_is_415(client: TestClient) -> None:
    response = client.post("/login", body="user=ann", headers={
        "Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 415
    ok = client.post("/login", body='{"user":"a","password":"long enough pw"}',
                     headers={"Content-Type": "application/merge-patch+json; charset=utf-8"})
    assert ok.status_code == 200


def test_missing_body_is_422(client: TestClient) -> None:
    response = client.post("/login")
    assert response.status_code == 422
    assert response.json()["errors"] == [{"loc": ["body"], "msg": "Field required",
                                          "type": "missing"}]


def test_validation_goes_through_the_error_formatter() -> None:
    def formatter(problem: Problem, request: Request | None) -> dict[str, Any]:
        return {"code": problem.status, "fields": [e["loc"] for e in problem.extra["errors"]]}

    response = TestClient(make_app(error_formatter=formatter)).post("/login", json={})
    assert response.status_code == 422
    assert response.json() == {"code": 422, "fields": [["body", "user"], ["body", "password"]]}


def test_response_model_serialises_with_aliases(client: TestClient) -> None:
    assert client.get("/notes/5").json() == {"noteId": 5, "text": "hi"}
    assert client.get("/notes-dicts").json() == [{"noteId": 1, "text": "a"}]
    assert client.get("/orm").json() == {"noteId": 1, "text": "from attributes"}


def test_explicit_response_model_filters_fields(client: TestClient) -> None:
    response = client.get("/declared")
    assert response.json() == {"name": "public"}
    assert "never-leaves" not in response.text


def test_response_model_none_turns_validation_off(client: TestClient) -> None:
    assert client.get("/opt-out").json() == {"anything": "goes"}


def test_response_passes_through_a_union_with_response(client: TestClient) -> None:
    assert client.get("/either").json() == {"noteId": 2, "text": "model"}
    assert client.get("/either?raw=1").text == "raw"


def test_result_failing_its_model_is_a_logged_500(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR):
        response = client.get("/broken")
    assert response.status_code == 500
    assert response.json()["title"] == "Internal Server Error"
    assert "hunter2-secret" not in response.text and "errors" not in response.json()
    logged = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert logged and "noteId: Field required" in logged[0].getMessage()
    assert "hunter2-secret" not in logged[0].getMessage()


def test_annotations_that_need_no_validation_cost_nothing() -> None:
    from lamroute.params import build_response_model
    from lamroute.router import Route

    def plain() -> dict[str, Any]: ...
    def text() -> str: ...
    def nothing() -> None: ...
    def raw() -> Response: ...
    def model() -> NoteOut: ...

    made = {f.__name__: build_response_model(Route("/", ("GET",), f))
            for f in (plain, text, nothing, raw, model)}
    assert {k for k, v in made.items() if v is not None} == {"model"}


def test_plain_functions_still_return_models() -> None:
    app = make_app()
    route = next(r for r in app.routes if r.path == "/notes/{note_id}")
    assert route.handler(3) == NoteOut(note_id=3, text="hi")
    assert json.loads(TestClient(app).get("/notes/3").text)["noteId"] == 3
