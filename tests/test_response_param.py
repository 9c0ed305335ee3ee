"""The response parameter (``response: Response``: headers, cookies and status merged into the
answer built from the return value, which still goes through the response model), the
response model over returned ``Response`` objects (no leak), and redirects."""

from __future__ import annotations

from typing import Annotated, Any

import pytest
from pydantic import BaseModel

from lamroute import App, Depends, RedirectResponse, Request, Response, RouteDefinitionError
from lamroute.testing import TestClient

FORMATS = ["rest", "http-v1", "http", "url", "alb", "alb-multi"]


class Item(BaseModel):
    id: int
    name: str


SECRET = {"id": 1, "name": "widget", "password": "hunter2"}
SHARED = Response.json(SECRET, headers={"X-Shared": "1"})


def app_under_test() -> App:
    app = App()

    @app.post("/items", status_code=201)
    def create(response: Response, request: Request) -> Item:
        response.headers["Location"] = f"{request.root_path}/items/1"
        response.set_cookie("seen", "1", http_only=True)
        return Item.model_validate(SECRET)

    @app.post("/items-dict", status_code=201, response_model=Item)
    def create_dict(response: Response) -> dict[str, Any]:
        response.headers.add("X-Trace", "a")
        response.headers.add("X-Trace", "b")
        return SECRET

    @app.get("/status")
    def status(response: Response, fail: bool = False) -> dict[str, bool]:
        if fail:
            response.status = 202
        return {"accepted": fail}

    @app.get("/none", status_code=200)
    def nothing(response: Response) -> None:
        response.headers["X-Empty"] = "yes"

    @app.get("/replace-type")
    def replace_type(response: Response) -> dict[str, int]:
        response.headers["Content-Type"] = "application/vnd.api+json"
        return {"a": 1}

    @app.get("/both", response_model=Item)
    def both(response: Response) -> Response:
        response.headers["X-From-Param"] = "1"
        return SHARED

    @app.get("/body-in-param")
    def body_in_param(response: Response) -> dict[str, int]:
        response.body = b"oops"
        return {"a": 1}

    @app.get("/leak", response_model=Item)
    def leak() -> Response:
        return Response.json(SECRET, 200, headers={"X-Kept": "1"})

    @app.get("/leak-annotated")
    def leak_annotated() -> Item | Response:
        return Response.json(SECRET, media_type="application/vnd.item+json")

    @app.get("/wrong-shape", response_model=Item)
    def wrong_shape() -> Response:
        return Response.json({"unrelated": True})

    @app.get("/not-json", response_model=Item)
    def not_json() -> Response:
        return Response(b"id,name\n1,widget", media_type="text/csv")

    @app.get("/error-answer", response_model=Item)
    def error_answer() -> Response:
        return Response.json({"error": "gone"}, 410)

    @app.get("/broken-json", response_model=Item)
    def broken_json() -> Response:
        return Response(b"{not json", media_type="application/json")

    @app.get("/old")
    def old() -> Response:
        return Response.redirect("/new/café", 308)

    @app.post("/login-form")
    def login_form() -> RedirectResponse:
        return RedirectResponse("/home", 303)

    return app


@pytest.fixture(params=FORMATS)
def client(request: pytest.FixtureRequest) -> TestClient:
    return TestClient(app_under_test(), format=request.param)


def test_the_response_parameter_sets_headers_and_cookies_on_a_typed_answer(
        client: TestClient) -> None:
    response = client.post("/items")
    assert response.status_code == 201
    assert response.json() == {"id": 1, "name": "widget"}  # the model filtered the password
    prefix = "/prod" if client.format == "rest" else ""
    assert response.headers["location"] == f"{prefix}/items/1"
    assert response.cookies == {"seen": "1"}
    assert response.headers["content-type"] == "application/json"


def test_the_response_parameter_with_response_model_and_repeated_headers(
        client: TestClient) -> None:
    response = client.post("/items-dict")
    assert response.json() == {"id": 1, "name": "widget"}
    assert response.headers.getall("x-trace") in (["a", "b"], ["a, b"])  # 2.0 joins them


def test_the_response_parameter_sets_the_status(client: TestClient) -> None:
    assert client.get("/status").status_code == 200
    accepted = client.get("/status?fail=true")
    assert (accepted.status_code, accepted.json()) == (202, {"accepted": True})


def test_none_with_the_response_parameter_is_still_a_204(client: TestClient) -> None:
    response = client.get("/none")
    assert (response.status_code, response.headers["x-empty"], response.content) == (
        204, "yes", b"")


def test_a_header_set_on_the_parameter_replaces_the_answers(client: TestClient) -> None:
    response = client.get("/replace-type")
    assert response.headers.getall("content-type") == ["application/vnd.api+json"]


def test_a_returned_response_gets_the_parameter_merged_in_a_copy(client: TestClient) -> None:
    response = client.get("/both")
    assert response.json() == {"id": 1, "name": "widget"}
    assert (response.headers["x-from-param"], response.headers["x-shared"]) == ("1", "1")
    assert "x-from-param" not in SHARED.headers  # the shared object was not modified
    assert b"hunter2" in SHARED.body


def test_a_body_written_into_the_parameter_is_a_logged_500(client: TestClient,
                                                           logs: Any) -> None:
    response = client.get("/body-in-param")
    assert response.status_code == 500
    assert any("return the body instead" in str(r.exc_info[1]) for r in logs.records
               if r.exc_info)


def test_a_returned_json_response_is_filtered_by_the_response_model(client: TestClient) -> None:
    for path in ("/leak", "/leak-annotated"):
        response = client.get(path)
        assert response.status_code == 200
        assert "password" not in response.text, path
        assert response.json() == {"id": 1, "name": "widget"}
    assert client.get("/leak").headers["x-kept"] == "1"
    assert client.get("/leak-annotated").headers["content-type"] == "application/vnd.item+json"


def test_a_json_response_the_model_rejects_is_a_logged_500(client: TestClient,
                                                          logs: Any) -> None:
    for path in ("/wrong-shape", "/broken-json"):
        response = client.get(path)
        assert response.status_code == 500, path
        assert "unrelated" not in response.text
    assert any(r.exc_info for r in logs.records)


def test_other_responses_pass_through_the_model(client: TestClient) -> None:
    assert client.get("/not-json").text == "id,name\n1,widget"
    gone = client.get("/error-answer")
    assert (gone.status_code, gone.json()) == (410, {"error": "gone"})


def test_redirects(client: TestClient) -> None:
    moved = client.get("/old")
    assert (moved.status_code, moved.headers["location"], moved.content) == (
        308, "/new/caf%C3%A9", b"")
    see_other = client.post("/login-form")
    assert (see_other.status_code, see_other.headers["location"]) == (303, "/home")


@pytest.mark.parametrize("status", [200, 404, 299, 400])
def test_a_redirect_status_is_3xx(status: int) -> None:
    with pytest.raises(ValueError, match="300-399"):
        Response.redirect("/x", status)


def test_a_redirect_location_cannot_smuggle_headers() -> None:
    assert Response.redirect("/a\r\nSet-Cookie: x=1").headers["location"] == (
        "/a%0D%0ASet-Cookie:%20x=1")


def test_the_response_parameter_belongs_to_the_handler() -> None:
    app = App()

    def dependency(response: Response) -> None: ...

    with pytest.raises(RouteDefinitionError, match="on the handler itself"):
        @app.get("/x")
        def handler(value: Annotated[None, Depends(dependency)]) -> None: ...


def test_the_handler_stays_a_plain_function() -> None:
    app = app_under_test()
    create = next(r.handler for r in app.routes if r.path == "/items")
    draft = Response()
    request = type("R", (), {"root_path": ""})()
    assert create(draft, request).id == 1
    assert draft.headers["location"] == "/items/1"


def test_websocket_routes_refuse_the_response_parameter_and_forms() -> None:
    from lamroute import Form

    app = App()
    with pytest.raises(RouteDefinitionError, match="only exist in HTTP routes"):
        @app.websocket("send")
        def send(response: Response) -> None: ...
    with pytest.raises(RouteDefinitionError, match="only exist in HTTP routes"):
        @app.websocket("form")
        def form(name: Annotated[str, Form()]) -> None: ...


class Named(BaseModel):
    name: str


@pytest.mark.parametrize("format", ["rest", "http", "alb"])
def test_the_response_parameter_on_an_async_handler(format: str) -> None:
    """An ``async def`` handler keeps its response parameter: the wrapper awaits it (a sync
    wrapper would have answered with an un-awaited coroutine)."""
    app = App(access_log=False)

    @app.post("/items", status_code=201, response_model=Named)
    async def create(response: Response) -> dict[str, str]:
        response.headers["Location"] = "/items/7"
        response.set_cookie("seen", "1")
        return {"name": "seven", "password": "x"}

    answer = TestClient(app, format=format).post("/items")
    assert answer.status_code == 201
    assert answer.headers["location"] == "/items/7"
    assert answer.json() == {"name": "seven"}          # still filtered by the response model


def test_the_response_parameter_survives_dependency_overrides() -> None:
    """Rebinding for ``dependency_overrides`` keeps the parameter and the response model."""
    app = App(access_log=False)

    def source() -> str:
        return "real"

    @app.get("/who", response_model=Named)
    def who(response: Response, name: Annotated[str, Depends(source)]) -> dict[str, str]:
        response.headers["X-Source"] = name
        return {"name": name, "password": "x"}

    client = TestClient(app)
    app.dependency_overrides[source] = lambda: "fake"
    answer = client.get("/who")
    assert answer.headers["x-source"] == "fake"
    assert answer.json() == {"name": "fake"}
    app.dependency_overrides.clear()
    assert client.get("/who").json() == {"name": "real"}
