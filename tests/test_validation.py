"""Validation answers (422/400/415), secrets kept out of them, and response models."""

from __future__ import annotations

import json
import logging
import sys
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
    from lamroute.routing.routes import Route

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


# -- numbers JSON cannot carry, and strings UTF-8 cannot ---------------------------------------

ALL_FORMATS = ["rest", "http-v1", "http", "url", "alb", "alb-multi"]
NON_FINITE = ["nan", "NaN", "inf", "-inf", "Infinity", "1e999", "-1e400"]


class Reading(BaseModel):
    value: float
    extra: dict[str, float] = {}


class Tolerant(BaseModel):
    model_config = ConfigDict(allow_inf_nan=True)
    value: float


class HalfTolerant(BaseModel):
    loose: Annotated[float, Field(allow_inf_nan=True)] = 0.0
    strict: float = 0.0


class Nested(BaseModel):
    reading: Reading


def echo_app() -> App:
    app = App(access_log=False)

    @app.get("/float")
    def float_param(v: float) -> dict[str, float]:
        return {"v": v}

    @app.get("/floats")
    def float_list(v: list[float]) -> dict[str, list[float]]:
        return {"v": v}

    @app.get("/bounded")
    def bounded(v: Annotated[float, Query(ge=0)]) -> dict[str, float]:
        return {"v": v}

    @app.post("/reading")
    def reading(body: Reading) -> Reading:
        return body

    @app.post("/reading-plain")
    def reading_plain(body: Reading) -> dict[str, float]:
        return {"value": body.value}  # a float taken out of the model

    @app.post("/nested")
    def nested(body: Nested) -> Nested:
        return body

    @app.post("/tolerant")
    def tolerant(body: Tolerant) -> Tolerant:
        return body

    @app.post("/tolerant-unannotated")
    def tolerant_unannotated(body: Tolerant):  # type: ignore[no-untyped-def]
        return body

    @app.post("/half")
    def half(body: HalfTolerant) -> HalfTolerant:
        return body

    @app.post("/dict")
    def plain_dict(body: dict) -> dict:  # type: ignore[type-arg]
        return body

    @app.post("/raw")
    def raw(request: Request) -> Any:
        return request.json()

    return app


@pytest.mark.parametrize("fmt", ALL_FORMATS)
@pytest.mark.parametrize("value", NON_FINITE)
def test_a_non_finite_float_parameter_is_a_422_not_a_500(fmt: str, value: str) -> None:
    client = TestClient(echo_app(), format=fmt)
    for path in (f"/float?v={value}", f"/floats?v=1&v={value}", f"/bounded?v={value}"):
        response = client.get(path)
        assert response.status_code == 422, (path, response.text)
        error = response.json()["errors"][0]
        assert error["type"] == "finite_number" and error["loc"][:2] == ["query", "v"]
    assert client.get("/float?v=1.5").json() == {"v": 1.5}


@pytest.mark.parametrize("fmt", ALL_FORMATS)
@pytest.mark.parametrize(("body", "loc"), [
    ('{"value": NaN}', ["body", "value"]),
    ('{"value": Infinity}', ["body", "value"]),
    ('{"value": -Infinity}', ["body", "value"]),
    ('{"value": 1e999}', ["body", "value"]),
    ('{"value": "NaN"}', ["body", "value"]),          # pydantic reads such strings as floats
    ('{"value": "1e999"}', ["body", "value"]),
    ('{"value": 1, "extra": {"x": NaN}}', ["body", "extra", "x"]),
])
def test_a_non_finite_number_in_a_model_body_is_a_422(fmt: str, body: str, loc: list[Any]) -> None:
    client = TestClient(echo_app(), format=fmt)
    for path in ("/reading", "/reading-plain"):
        response = client.post(path, body=body, headers={"content-type": "application/json"})
        assert response.status_code == 422, (path, response.text)
        assert response.json()["errors"][0] == {
            "loc": loc, "msg": "Input should be a finite number", "type": "finite_number"}
    nested = client.post("/nested", body=f'{{"reading": {body}}}',
                         headers={"content-type": "application/json"})
    assert nested.status_code == 422
    assert nested.json()["errors"][0]["loc"] == ["body", "reading", *loc[1:]]


@pytest.mark.parametrize("fmt", ALL_FORMATS)
@pytest.mark.parametrize("body", ['{"v": NaN}', '{"v": [1, Infinity]}', '{"v": {"w": -1e999}}'])
def test_a_non_finite_number_in_an_untyped_body_is_a_422(fmt: str, body: str) -> None:
    client = TestClient(echo_app(), format=fmt)
    for path in ("/dict", "/raw"):
        response = client.post(path, body=body, headers={"content-type": "application/json"})
        assert response.status_code == 422, (path, response.text)
        error = response.json()["errors"][0]
        assert error["type"] == "finite_number" and error["loc"][:2] == ["body", "v"]


@pytest.mark.parametrize("fmt", ALL_FORMATS)
def test_a_model_that_allows_non_finite_numbers_gets_them_and_answers_json(fmt: str) -> None:
    """allow_inf_nan=True is respected; the answer is what pydantic writes to JSON (null)."""
    client = TestClient(echo_app(), format=fmt)
    for path in ("/tolerant", "/tolerant-unannotated"):
        for body in ('{"value": NaN}', '{"value": 1e999}', '{"value": "-Infinity"}'):
            response = client.post(path, body=body, headers={"content-type": "application/json"})
            assert (response.status_code, response.json()) == (200, {"value": None}), path
    half = client.post("/half", body='{"loose": Infinity}',
                       headers={"content-type": "application/json"})
    assert (half.status_code, half.json()) == (200, {"loose": None, "strict": 0.0})
    refused = client.post("/half", body='{"loose": 1, "strict": Infinity}',
                          headers={"content-type": "application/json"})
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["loc"] == ["body", "strict"]


def test_the_field_setting_wins_for_parameters() -> None:
    app = App(access_log=False)

    @app.get("/loose")
    def loose(v: Annotated[float, Field(allow_inf_nan=True)]) -> dict[str, str]:
        return {"v": repr(v)}

    assert TestClient(app).get("/loose?v=inf").json() == {"v": "inf"}


def test_a_handler_returning_nan_itself_is_a_logged_500(caplog: pytest.LogCaptureFixture) -> None:
    app = App(access_log=False)
    app.get("/nan")(lambda: {"ratio": float("nan")})
    with caplog.at_level(logging.ERROR, logger="lamroute"):
        response = TestClient(app).get("/nan")
    assert response.status_code == 500
    assert any(r.getMessage().startswith("invalid handler result") and
               "Out of range float" in r.getMessage() for r in caplog.records)


def _with_text(event: Any, text: str) -> Any:
    """``event`` with PLACEHOLDER replaced everywhere: a gateway delivering ``\\ud800``."""
    if isinstance(event, dict):
        return {_with_text(k, text): _with_text(v, text) for k, v in event.items()}
    if isinstance(event, list):
        return [_with_text(v, text) for v in event]
    return event.replace("PLACEHOLDER", text) if isinstance(event, str) else event


@pytest.mark.parametrize("fmt", ALL_FORMATS)
def test_a_lone_surrogate_in_a_json_body_is_a_400(fmt: str) -> None:
    client = TestClient(echo_app(), format=fmt)
    for body in ('{"v": "\\ud800"}', '{"\\udfff": 1}', '["a\\ud83d"]'):
        for path in ("/raw", "/dict"):
            response = client.post(path, body=body, headers={"content-type": "application/json"})
            assert response.status_code == 400, (path, body, response.text)
            assert "lone surrogate" in response.json()["detail"]
    paired = client.post("/raw", body='{"v": "\\ud83d\\ude00", "w": "\\\\ud800"}',
                         headers={"content-type": "application/json"})
    assert paired.json() == {"v": "😀", "w": "\\ud800"}  # a pair, and an escaped backslash
    raw_bytes = client.post("/raw", body=b'{"v": "\xed\xa0\x80"}',  # a surrogate as UTF-8 bytes
                            headers={"content-type": "application/json"})
    assert raw_bytes.status_code == 400


@pytest.mark.parametrize("fmt", ALL_FORMATS)
def test_a_lone_surrogate_in_a_parameter_is_a_400(fmt: str) -> None:
    from lamroute import Cookie, Header
    from lamroute.testing import make_event

    app = App(access_log=False)

    @app.get("/q")
    def query(q: str, many: list[str] = []) -> dict[str, Any]:  # noqa: B006
        return {"q": q, "many": many}

    @app.get("/p/{name}")
    def path(name: str) -> dict[str, str]:
        return {"name": name}

    @app.get("/h")
    def header(x_name: Annotated[str, Header()],
               session: Annotated[str | None, Cookie()] = None) -> dict[str, str]:
        return {"h": x_name}

    @app.get("/c")
    def bounded(q: Annotated[str, Query(max_length=10)]) -> dict[str, str]:
        return {"q": q}

    cases = [("/q", {"query": {"q": "PLACEHOLDER"}}),
             ("/q", {"query": {"q": "ok", "many": "PLACEHOLDER"}}),
             ("/p/PLACEHOLDER", {}), ("/h", {"headers": {"X-Name": "PLACEHOLDER"}}),
             ("/h", {"headers": {"X-Name": "ok"}, "cookies": {"session": "PLACEHOLDER"}}),
             ("/c", {"query": {"q": "PLACEHOLDER"}})]
    for path_, options in cases:
        lone = app(_with_text(make_event(fmt, "GET", path_, **options), "a\ud800"), None)
        assert lone["statusCode"] == 400, (path_, options, lone)
        assert "lone surrogate" in json.loads(lone["body"])["detail"]
        fine = app(_with_text(make_event(fmt, "GET", path_, **options), "é😀"), None)
        assert fine["statusCode"] == 200, (path_, options, fine)


class Tree(BaseModel):
    name: str
    branches: list[Any] = []


@pytest.mark.parametrize("fmt", ["rest", "http", "alb"])
def test_a_typed_body_the_fast_parser_refuses_gets_json_s_answer(fmt: str) -> None:
    """A model body goes through pydantic's JSON parser first; what it refuses and ``json``
    reads (nesting past its limit) is still read, and what both refuse keeps json's answer."""
    app = App(access_log=False)

    @app.post("/tree")
    def tree(body: Tree) -> dict[str, Any]:
        depth, node = 0, body.branches
        while isinstance(node, list) and node:
            depth, node = depth + 1, node[0]
        return {"name": body.name, "depth": depth}

    client = TestClient(app, format=fmt)
    deep = '{"name": "oak", "branches": ' + "[" * 300 + "]" * 300 + "}"
    response = client.post("/tree", body=deep, headers={"content-type": "application/json"})
    assert response.status_code == 200, response.text
    assert response.json() == {"name": "oak", "depth": 299}
    for body in ('{"name": "\\ud800"}', '{"name": "a", "branches": [NaN, Infinity]}'):
        response = client.post("/tree", body=body, headers={"content-type": "application/json"})
        if "NaN" in body:  # json reads the constants; the model's list of Any takes them
            assert response.status_code == 200, response.text
        else:
            assert response.status_code == 400
            assert "lone surrogate" in response.json()["detail"]
    malformed = client.post("/tree", body='{"name": "oak",', headers={
        "content-type": "application/json"})
    assert malformed.status_code == 400
    assert "line 1 column" in malformed.json()["detail"]


class Count(BaseModel):
    n: int


@pytest.mark.parametrize("fmt", ["rest", "http", "alb"])
def test_a_typed_body_keeps_the_interpreters_integer_digit_limit(fmt: str) -> None:
    """An interpreter limiting integers below 4300 digits (``PYTHONINTMAXSTRDIGITS``,
    ``sys.set_int_max_str_digits``) has json refuse a longer one: a 400, typed body or not.
    pydantic's parser reads up to 4300 digits whatever the limit, so it must not decide."""
    app = App(access_log=False)

    @app.post("/count")
    def count(body: Count) -> dict[str, bool]:
        return {"big": body.n > 10 ** 700}

    @app.post("/raw")
    def raw(request: Request) -> dict[str, bool]:
        return {"big": request.json()["n"] > 10 ** 700}

    client = TestClient(app, format=fmt)
    body = '{"n": ' + "7" * 1000 + "}"
    before = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(640)
    try:
        for path in ("/raw", "/count"):
            response = client.post(path, body=body, headers={"content-type": "application/json"})
            assert response.status_code == 400, (path, response.text)
            assert "limit" in response.json()["detail"]
        fits = client.post("/count", body='{"n": ' + "7" * 640 + "}",
                           headers={"content-type": "application/json"})
        assert fits.status_code == 200, fits.text
    finally:
        sys.set_int_max_str_digits(before)
    assert client.post("/count", body=body, headers={
        "content-type": "application/json"}).json() == {"big": True}


class Measure(BaseModel):
    label: str = Field(serialization_alias="Label")
    tiny: float
    huge: float
    note: str


def test_a_response_model_answer_is_the_bytes_pydantic_writes() -> None:
    """The answer of a typed route is ``model_dump_json(by_alias=True)``: its aliases, its float
    spelling (``1e-7``, where Python's json writes ``1e-07``) and its characters unescaped."""
    app = App(access_log=False)
    measure = Measure(label="ruler", tiny=1e-7, huge=1e16, note="é\u2028/")

    @app.get("/measure")
    def get_measure() -> Measure:
        return measure

    response = TestClient(app).get("/measure")
    assert response.status_code == 200
    assert response.content == measure.model_dump_json(by_alias=True).encode()
    assert b'"tiny":1e-7' in response.content
