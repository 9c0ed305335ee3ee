"""Binding handler parameters by signature: path, query, headers, cookies, body, injections."""

from __future__ import annotations

import datetime
import enum
import json
import subprocess
import sys
import uuid
from typing import Annotated, Any

import pytest
from pydantic import BaseModel, Field

from lamroute import (
    App,
    Body,
    Cookie,
    Header,
    LambdaContext,
    Path,
    Query,
    Request,
    RouteDefinitionError,
)
from lamroute.params import build_binder
from lamroute.testing import FakeContext, TestClient

FORMATS = ["rest", "http", "http-v1"]


class Color(str, enum.Enum):
    red = "red"
    blue = "blue"


class Level(enum.IntEnum):
    low = 1
    high = 2


class Item(BaseModel):
    name: str
    price: float = Field(gt=0)


class Filters(BaseModel):
    q: str | None = None
    tags: list[str] = []
    limit: int = Field(10, ge=1, le=100)


def make_app() -> App:
    app = App(access_log=False)

    @app.get("/ints/{item_id}")
    def ints(item_id: int) -> dict[str, Any]:
        return {"value": item_id, "type": type(item_id).__name__}

    @app.get("/typed/{f}/{b}/{u}/{c}/{d}/{lvl}")
    def typed(f: float, b: bool, u: uuid.UUID, c: Color, d: datetime.date, lvl: Level
              ) -> dict[str, Any]:
        return {"f": f, "b": b, "u": str(u), "c": c.value, "d": d.isoformat(),
                "lvl": int(lvl), "types": [type(f).__name__, type(b).__name__,
                                           type(u).__name__, type(c).__name__,
                                           type(d).__name__, type(lvl).__name__]}

    @app.get("/files/{path+}")
    def files(path: str) -> dict[str, str]:
        return {"path": path}

    @app.get("/search")
    def search(q: str | None = None, limit: int = 10, tags: list[str] = [],  # noqa: B006
               ids: list[int] | None = None, exact: bool = False) -> dict[str, Any]:
        return {"q": q, "limit": limit, "tags": tags, "ids": ids, "exact": exact}

    @app.get("/required")
    def required(token: str) -> dict[str, str]:
        return {"token": token}

    @app.get("/markers/{key}")
    def markers(
        key: Annotated[int, Path(ge=1)],
        page: Annotated[int, Query(alias="p", ge=1)] = 1,
        trace: Annotated[str | None, Header(alias="X-Trace-Id")] = None,
        user_agent: Annotated[str | None, Header()] = None,
        session: Annotated[str | None, Cookie()] = None,
        forwarded: Annotated[list[str], Header(alias="X-Forwarded-For")] = [],  # noqa: B006
    ) -> dict[str, Any]:
        return {"key": key, "page": page, "trace": trace, "ua": user_agent,
                "session": session, "forwarded": forwarded}

    @app.get("/filters")
    def filters(f: Annotated[Filters, Query()]) -> dict[str, Any]:
        return f.model_dump()

    @app.post("/items")
    def create(item: Item) -> dict[str, Any]:
        return {"name": item.name, "price": item.price, "type": type(item).__name__}

    @app.post("/bulk")
    def bulk(items: list[Item]) -> dict[str, Any]:
        return {"names": [i.name for i in items]}

    @app.post("/meta")
    def meta(data: dict[str, int]) -> dict[str, Any]:
        return {"sum": sum(data.values())}

    @app.post("/embedded")
    def embedded(item: Item, note: Annotated[str, Body()] = "") -> dict[str, Any]:
        return {"name": item.name, "note": note}

    @app.post("/scalar")
    def scalar(count: Annotated[int, Body(embed=True, ge=0)]) -> dict[str, int]:
        return {"count": count}

    @app.post("/optional")
    def optional(item: Item | None = None) -> dict[str, Any]:
        return {"item": item.name if item else None}

    @app.get("/inject")
    def inject(request: Request, context: LambdaContext) -> dict[str, Any]:
        return {"method": request.method, "fn": context.function_name}

    @app.get("/inject-by-name")
    def inject_by_name(request, context) -> dict[str, Any]:  # type: ignore[no-untyped-def]
        return {"path": request.path, "has_deadline": context.get_remaining_time_in_millis() > 0}

    return app


@pytest.fixture(scope="module")
def app() -> App:
    return make_app()


@pytest.fixture(params=FORMATS)
def client(request: pytest.FixtureRequest, app: App) -> TestClient:
    return TestClient(app, format=request.param)


def test_int_path_param_is_converted(client: TestClient) -> None:
    assert client.get("/ints/42").json() == {"value": 42, "type": "int"}
    response = client.get("/ints/4x2")
    assert response.status_code == 422
    assert response.json()["errors"] == [{
        "loc": ["path", "item_id"],
        "msg": "Input should be a valid integer, unable to parse string as an integer",
        "type": "int_parsing",
    }]


@pytest.mark.parametrize("bad", ["1_000", "٣", "1.5"])
def test_int_rejects_what_python_int_is_lax_about(app: App, bad: str) -> None:
    assert TestClient(app).get(f"/ints/{bad}").status_code == 422


def test_path_params_of_every_simple_type(client: TestClient) -> None:
    u = uuid.uuid4()
    body = client.get(f"/typed/1.5/yes/{u}/blue/2024-02-29/2").json()
    assert body["f"] == 1.5 and body["b"] is True and body["u"] == str(u)
    assert body["c"] == "blue" and body["d"] == "2024-02-29" and body["lvl"] == 2
    assert body["types"] == ["float", "bool", "UUID", "Color", "date", "Level"]


def test_bad_path_values_name_each_parameter(client: TestClient) -> None:
    response = client.get("/typed/x/maybe/nope/green/2024-02-30/7")
    assert response.status_code == 422
    locs = [tuple(e["loc"]) for e in response.json()["errors"]]
    assert locs == [("path", n) for n in ("f", "b", "u", "c", "d", "lvl")]


def test_greedy_path_binds_the_rest_as_str(client: TestClient) -> None:
    assert client.get("/files/a/b/c.txt").json() == {"path": "a/b/c.txt"}


def test_query_defaults_and_conversion(client: TestClient) -> None:
    assert client.get("/search").json() == {
        "q": None, "limit": 10, "tags": [], "ids": None, "exact": False}
    got = client.get("/search?q=hi&limit=5&tags=a&tags=b&ids=3&ids=4&exact=true").json()
    assert got == {"q": "hi", "limit": 5, "tags": ["a", "b"], "ids": [3, 4], "exact": True}


def test_repeated_keys_stay_apart_even_with_commas(client: TestClient) -> None:
    got = client.get("/search", query=[("tags", "a,b"), ("tags", "c")]).json()
    assert got["tags"] == ["a,b", "c"]


def test_list_item_errors_carry_their_index(client: TestClient) -> None:
    response = client.get("/search?ids=1&ids=x&limit=ten")
    assert response.status_code == 422
    locs = [e["loc"] for e in response.json()["errors"]]
    assert locs == [["query", "limit"], ["query", "ids", 1]]


def test_missing_required_query_param(client: TestClient) -> None:
    response = client.get("/required")
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"loc": ["query", "token"], "msg": "Field required", "type": "missing"}]
    assert client.get("/required?token=abc").json() == {"token": "abc"}


def test_markers_alias_constraints_headers_cookies(client: TestClient) -> None:
    got = client.get(
        "/markers/3?p=2",
        headers=[("X-Trace-Id", "t-1"), ("User-Agent", "ua/1"), ("X-Forwarded-For", "1.1.1.1")],
        cookies={"session": "s3"},
    ).json()
    assert got == {"key": 3, "page": 2, "trace": "t-1", "ua": "ua/1", "session": "s3",
                   "forwarded": ["1.1.1.1"]}
    response = client.get("/markers/0?p=0")
    assert response.status_code == 422
    assert [e["loc"] for e in response.json()["errors"]] == [["path", "key"], ["query", "p"]]
    assert {e["type"] for e in response.json()["errors"]} == {"greater_than_equal"}


def test_list_header_is_the_same_repeated_or_comma_joined(client: TestClient) -> None:
    got = client.get("/markers/1", headers=[("X-Forwarded-For", "1.1.1.1, 2.2.2.2"),
                                            ("X-Forwarded-For", "3.3.3.3")]).json()
    assert got["forwarded"] == ["1.1.1.1", "2.2.2.2", "3.3.3.3"]


def test_query_model_groups_parameters(client: TestClient) -> None:
    assert client.get("/filters?q=x&tags=a&tags=b&limit=5").json() == {
        "q": "x", "tags": ["a", "b"], "limit": 5}
    response = client.get("/filters?limit=500")
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["query", "limit"]


def test_model_parameter_is_the_json_body(client: TestClient) -> None:
    got = client.post("/items", json={"name": "pen", "price": 2}).json()
    assert got == {"name": "pen", "price": 2.0, "type": "Item"}
    assert client.post("/bulk", json=[{"name": "a", "price": 1}, {"name": "b", "price": 2}]
                       ).json() == {"names": ["a", "b"]}
    assert client.post("/meta", json={"a": 1, "b": 2}).json() == {"sum": 3}


def test_several_body_parameters_are_embedded_by_name(client: TestClient) -> None:
    got = client.post("/embedded", json={"item": {"name": "a", "price": 1}, "note": "n"})
    assert got.json() == {"name": "a", "note": "n"}
    response = client.post("/embedded", json={"name": "a", "price": 1})
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "item"]


def test_embedded_scalar_body(client: TestClient) -> None:
    assert client.post("/scalar", json={"count": 3}).json() == {"count": 3}
    response = client.post("/scalar", json={"count": -1})
    assert response.json()["errors"][0]["loc"] == ["body", "count"]


def test_optional_body_may_be_absent(client: TestClient) -> None:
    assert client.post("/optional").json() == {"item": None}
    assert client.post("/optional", json={"name": "x", "price": 1}).json() == {"item": "x"}


def test_request_and_context_are_injected(client: TestClient) -> None:
    assert client.get("/inject").json() == {"method": "GET", "fn": "lamroute-test"}
    assert client.get("/inject-by-name").json() == {"path": "/inject-by-name",
                                                    "has_deadline": True}


def test_routes_stay_plain_functions() -> None:
    app = App(access_log=False)

    @app.get("/notes/{note_id}")
    def get_note(note_id: int, limit: Annotated[int, Query(ge=1)] = 10) -> dict[str, int]:
        return {"id": note_id, "limit": limit}

    assert get_note(3) == {"id": 3, "limit": 10}
    assert TestClient(app).get("/notes/3?limit=2").json() == {"id": 3, "limit": 2}


def test_unnamed_path_params_go_to_kwargs() -> None:
    app = App(access_log=False)

    @app.get("/a/{x}/{y}")
    def catch_all(x: int, **rest: str) -> dict[str, Any]:
        return {"x": x, "rest": rest}

    assert TestClient(app).get("/a/1/two").json() == {"x": 1, "rest": {"y": "two"}}


def test_marker_as_default_fastapi_style() -> None:
    app = App(access_log=False)

    @app.get("/page")
    def page(size: int = Query(20, le=50), token: str = Header(alias="X-Token")
             ) -> dict[str, Any]:
        return {"size": size, "token": token}

    client = TestClient(app, format="http")
    assert client.get("/page", headers={"x-token": "t"}).json() == {"size": 20, "token": "t"}
    assert [e["loc"] for e in client.get("/page?size=99").json()["errors"]] == [
        ["query", "size"], ["header", "X-Token"]]


class Plain:
    pass


def _unbindable() -> list[tuple[str, Any, str]]:
    def positional(a: int, /) -> None: ...
    def missing_path() -> None: ...
    def model_in_path(x: Item) -> None: ...
    def not_in_path(y: Annotated[int, Path()]) -> None: ...
    def arbitrary(q: Plain) -> None: ...
    def double_default(q: Annotated[int, Query(3)] = 4) -> None: ...
    def header_model(h: Annotated[Item, Header()]) -> None: ...
    def pattern_on_int(q: Annotated[int, Query(pattern="x")] = 1) -> None: ...
    return [
        ("/a", positional, "'a'"),
        ("/a/{x}", missing_path, "['x']"),
        ("/a/{x}", model_in_path, "'x'"),
        ("/a", not_in_path, "'y'"),
        ("/a", arbitrary, "'q'"),
        ("/a", double_default, "'q'"),
        ("/a", header_model, "'h'"),
        ("/a", pattern_on_int, "'q'"),
    ]


@pytest.mark.parametrize(("path", "handler", "mentions"), _unbindable(),
                         ids=lambda v: getattr(v, "__name__", "")
                         if callable(v) else str(v))
def test_unbindable_signature_fails_at_registration(path: str, handler: Any, mentions: str
                                                    ) -> None:
    app = App(access_log=False)
    with pytest.raises(RouteDefinitionError) as info:
        app.get(path)(handler)
    assert handler.__name__ in str(info.value)
    assert mentions in str(info.value)


def test_unresolvable_annotation_names_the_handler() -> None:
    def handler(x: NoSuchType) -> None: ...  # type: ignore[name-defined]  # noqa: F821

    with pytest.raises(RouteDefinitionError, match=r"handler.*handler.*NoSuchType"):
        App(access_log=False).get("/x")(handler)


class WsRequest:
    """A request-like object such as a WebSocket message (no body/cookies attributes)."""

    def __init__(self, data: Any) -> None:
        from lamroute.http.multidict import Headers, QueryParams

        self.path_params: dict[str, str] = {"room": "7"}
        self.query = QueryParams([("v", "2")])
        self.headers = Headers()
        self._data = data

    def json(self) -> Any:
        return self._data


def test_binder_works_with_any_request_like_object() -> None:
    def on_message(room: int, item: Item, v: int = 1, request: WsRequest | None = None) -> None:
        ...

    binder = build_binder(on_message, ("room",), request_types=(WsRequest,))
    message = WsRequest({"name": "x", "price": 3})
    kwargs = binder.bind(message)
    assert kwargs["room"] == 7 and kwargs["v"] == 2 and kwargs["item"].name == "x"
    assert kwargs["request"] is message


def test_context_is_the_lambda_context(app: App) -> None:
    from lamroute.testing import make_event

    context = FakeContext(function_name="fn-under-test")
    raw = app(make_event("http", "GET", "/inject"), context)
    assert json.loads(raw["body"]) == {"method": "GET", "fn": "fn-under-test"}


APP_WITHOUT_MODELS = """
import sys, json
from typing import Annotated
import enum
from lamroute import App, Query, Header, Depends
from lamroute.testing import TestClient
class Sort(str, enum.Enum):
    asc = "asc"
    desc = "desc"
app = App(access_log=False)
def dep(limit: int = 10) -> int:
    return limit
@app.get("/n/{x}")
def n(x: int, y: float = 1.0, b: bool = False, tags: list[str] = [],
      h: Annotated[str | None, Header()] = None, d: int = Depends(dep),
      sort: Sort = Sort.asc) -> dict:
    return {"x": x, "d": d, "sort": sort.value}
c = TestClient(app, format="http")
assert c.get("/n/1?limit=3&sort=desc").json() == {"x": 1, "d": 3, "sort": "desc"}
assert c.get("/n/x").status_code == 422
assert c.get("/n/1?sort=up").json()["errors"][0]["msg"] == "Input should be 'asc' or 'desc'"
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] == "pydantic")))
"""


def test_app_without_models_never_imports_pydantic() -> None:
    out = subprocess.check_output([sys.executable, "-c", APP_WITHOUT_MODELS], text=True)
    assert json.loads(out) == []


def test_constrained_route_imports_pydantic_at_registration() -> None:
    code = APP_WITHOUT_MODELS.replace("y: float = 1.0", "y: Annotated[float, Query(gt=0)] = 1.0")
    out = subprocess.check_output([sys.executable, "-c", code], text=True)
    assert "pydantic" in json.loads(out)


def test_python_310s_implicit_optional_does_not_hide_a_marker() -> None:
    """Python 3.10's get_type_hints turns ``x: Annotated[str | None, Header()] = None`` into
    ``Optional[Annotated[...]]``: the marker was lost (a header read as a query parameter).
    The unwrapping runs on 3.10 only; here it is given 3.10's hints directly."""
    import inspect
    from typing import Optional

    from lamroute.params.signature import _undo_implicit_optional

    def handler(trace: Annotated[str | None, Header()] = None,
                plain: int | None = None, required: int = 0) -> None: ...

    marked = Annotated[Optional[str], Header()]  # noqa: UP045 - 3.10's own spelling
    hints = {"trace": Optional[marked], "plain": Optional[int], "required": int}  # noqa: UP045
    _undo_implicit_optional(hints, inspect.signature(handler))
    assert hints == {"trace": marked, "plain": Optional[int], "required": int}  # noqa: UP045
