"""Routing: templates, conflicts, static before dynamic, 404/405/HEAD/OPTIONS, slashes, routers."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lamroute import App, Request, Response, RouteDefinitionError, Router
from lamroute.routing.table import RouteTable, parse_template
from lamroute.testing import FORMATS, TestClient

ALL_FORMATS = list(FORMATS)


def make_app(**options: Any) -> App:
    app = App(access_log=False, **options)

    @app.get("/users")
    def list_users() -> list[str]:
        return ["ann"]

    @app.post("/users", status_code=201)
    def create_user() -> dict[str, str]:
        return {"created": "yes"}

    @app.get("/users/me")
    def me() -> dict[str, str]:
        return {"who": "me"}

    @app.get("/users/{user_id}")
    def get_user(user_id: str) -> dict[str, str]:
        return {"id": user_id}

    @app.delete("/users/{user_id}")
    def delete_user(user_id: str) -> None:
        return None

    @app.get("/users/{user_id}/posts/{post_id}")
    def get_post(user_id: str, post_id: str) -> dict[str, str]:
        return {"user": user_id, "post": post_id}

    @app.route("/files/{path+}", methods=["GET", "PUT"])
    def files(path: str, request: Request) -> dict[str, str]:
        return {"path": path, "method": request.method}

    @app.get("/")
    def root() -> str:
        return "root"

    return app


@pytest.fixture(params=ALL_FORMATS)
def client(request: pytest.FixtureRequest) -> TestClient:
    return TestClient(make_app(), format=request.param, stage="prod"
                      if request.param in ("rest", "http-v1", "http") else None)


# -- templates ------------------------------------------------------------------------------


def test_single_segment_parameter(client: TestClient) -> None:
    assert client.get("/users/42").json() == {"id": "42"}


def test_two_parameters(client: TestClient) -> None:
    assert client.get("/users/7/posts/9").json() == {"user": "7", "post": "9"}


def test_greedy_parameter_takes_the_rest(client: TestClient) -> None:
    assert client.get("/files/a/b/c.txt").json() == {"path": "a/b/c.txt", "method": "GET"}
    assert client.put("/files/x").json() == {"path": "x", "method": "PUT"}


def test_greedy_parameter_needs_at_least_one_segment(client: TestClient) -> None:
    assert client.get("/files").status_code == 404


def test_path_values_are_percent_decoded(client: TestClient) -> None:
    assert client.get("/users/J%C3%BCrgen%20M").json() == {"id": "Jürgen M"}
    assert client.get("/files/dir/my%20file%2Bv2.txt").json()["path"] == "dir/my file+v2.txt"


# REST APIs, Function URLs and ALB pass the path on still percent-encoded; HTTP APIs decode it,
# an encoded slash included, before the event is built (nothing can tell it apart any more).
PATH_ENCODED = {"rest", "url", "alb", "alb-multi"}


def test_encoded_slash_stays_inside_one_segment(client: TestClient) -> None:
    response = client.get("/users/a%2Fb")
    if client.format in PATH_ENCODED:
        assert response.json() == {"id": "a/b"}
    else:  # /users/a/b: no route has three segments there
        assert response.status_code == 404
    response = client.get("/users/7%2F/posts/x%2Fy%20z")
    if client.format in PATH_ENCODED:
        assert response.json() == {"user": "7/", "post": "x/y z"}
    else:
        assert response.status_code == 404


def test_greedy_parameter_gets_the_decoded_rest(client: TestClient) -> None:
    assert client.get("/files/a%2Fb/c%20d").json()["path"] == "a/b/c d"


@pytest.mark.parametrize("fmt", ALL_FORMATS)
def test_encoded_slash_does_not_reach_a_static_route(fmt: str) -> None:
    app = App(access_log=False)
    app.get("/users/{user_id}")(lambda user_id, request: {"id": user_id, "path": request.path})
    app.get("/users/a/b")(lambda: {"static": True})
    app.post("/users/a%b")(lambda: {"percent": True})
    client = TestClient(app, format=fmt)
    expected = {"id": "a/b", "path": "/users/a/b"} if fmt in PATH_ENCODED else {"static": True}
    assert client.get("/users/a%2Fb").json() == expected  # request.path stays decoded
    assert client.get("/users/a/b").json() == {"static": True}
    # The trailing-slash rule still holds (request.path keeps the slash, as before).
    assert client.get("/users/a%2Fb/").json().get("id") == expected.get("id")
    if fmt in PATH_ENCODED:
        assert client.get("/users/a%2Fb%2F").json()["id"] == "a/b/"  # data, not a trailing /
        refused = client.post("/users/a%2Fb")
        assert (refused.status_code, refused.headers["Allow"]) == (405, "GET, HEAD, OPTIONS")
    assert client.post("/users/a%25b").json() == {"percent": True}


@pytest.mark.parametrize("fmt", sorted(PATH_ENCODED))
def test_encoded_slash_with_strip_prefixes(fmt: str) -> None:
    app = App(access_log=False, strip_prefixes=["/api"])
    app.get("/users/{user_id}")(lambda user_id: {"id": user_id})
    client = TestClient(app, format=fmt)
    assert client.get("/api/users/a%2Fb").json() == {"id": "a/b"}
    # "/api%2Fusers" is one segment: no "/api" segment to strip, so no route matches.
    assert client.get("/api%2Fusers/x").status_code == 404


@pytest.mark.parametrize("fmt", ALL_FORMATS)
def test_path_without_percent_costs_no_raw_path(fmt: str) -> None:
    seen: list[str | None] = []
    app = App(access_log=False)
    app.get("/{p+}")(lambda p, request: seen.append(request.raw_path))
    client = TestClient(app, format=fmt, stage="prod" if fmt in ("rest", "http") else None)
    client.get("/a/b-c")
    client.get("/a/b%2Fc")
    assert seen == [None, "/a/b%2Fc" if fmt in PATH_ENCODED else None]


def test_route_table_splits_the_raw_path_before_decoding() -> None:
    table: RouteTable[str] = RouteTable()
    table.add("/users/{user_id}", ["GET"], "user")
    table.add("/users/a/b", ["GET"], "static")
    table.add("/files/{path+}", ["GET"], "files")
    assert table.match("GET", "/users/a/b", "/users/a%2Fb").params == {"user_id": "a/b"}
    assert table.match("GET", "/users/a/b").target == "static"
    assert table.match("GET", "/users/a b", "/users/a%20b").params == {"user_id": "a b"}
    assert table.match("GET", "/files/a/b/c", "/files/a%2Fb/c").params == {"path": "a/b/c"}
    assert table.match("POST", "/users/a/b", "/users/a%2Fb").allowed == (
        "GET", "HEAD", "OPTIONS")


def test_root_route(client: TestClient) -> None:
    response = client.get("/")
    assert (response.status_code, response.text) == (200, "root")


def test_status_code_option(client: TestClient) -> None:
    assert client.post("/users").status_code == 201


@pytest.mark.parametrize(
    "path",
    [
        "users",  # no leading slash
        "/a//b",  # empty segment
        "/a/{x+}/b",  # greedy not last
        "/a/{x}/{x}",  # repeated name
        "/a/{}",  # empty name
        "/a/{1x}",  # not an identifier
        "/a/b{x}",  # parameter inside a segment
        "/a/{x}c",
        "/a/{x",
        "/a/x}",
        "/a/{x++}",
    ],
)
def test_malformed_templates_raise_at_registration(path: str) -> None:
    app = App()
    with pytest.raises(RouteDefinitionError):
        app.get(path)(lambda **kw: None)


@pytest.mark.parametrize(("path", "hint"), [
    ("/items/<int:item_id>", "use /items/{item_id} and annotate the handler (item_id: int)"),
    ("/items/<item_id>/tags", "use /items/{item_id}/tags."),
    ("/items/{item_id:int}", "use /items/{item_id} and annotate the handler (item_id: int)"),
    ("/files/<path:rest>", "use /files/{rest+}."),
    ("/files/{rest:path}", "use /files/{rest+}."),
    ("/users/:user_id", "use /users/{user_id}."),
    ("/static/*", "use /static/{path+}."),
    ("/a<b", "'<' and '>' are not path characters"),
])
def test_flask_style_templates_raise_with_a_hint(path: str, hint: str) -> None:
    for owner in (App(), Router()):  # a Router refuses at the decorator, not at include time
        with pytest.raises(RouteDefinitionError) as raised:
            owner.get(path)(lambda **kw: None)
        assert hint in str(raised.value)


def test_flask_style_template_does_not_register_a_static_path() -> None:
    app = App(access_log=False)
    with pytest.raises(RouteDefinitionError):
        app.get("/items/<int:item_id>")(lambda item_id: item_id)
    assert app.routes == []
    assert TestClient(app).get("/items/<int:item_id>").status_code == 404


def test_colons_inside_literal_segments_stay_allowed() -> None:
    app = App(access_log=False)
    app.post("/v1/things:batchGet")(lambda: "batch")
    assert TestClient(app).post("/v1/things:batchGet").text == "batch"


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("/a/{x}", "/a/{x}"),
        ("/a/{x}", "/a/{y}"),  # siblings with different names: API Gateway rejects them too
        ("/a/{x+}", "/a/{y+}"),
        ("/a", "/a/"),  # the same route unless strict slashes
        ("/a/{x}/b", "/a/{y}/c"),
    ],
)
def test_conflicting_templates_raise(first: str, second: str) -> None:
    app = App()

    def handler(**kwargs: str) -> None:
        return None

    app.get(first)(handler)
    with pytest.raises(RouteDefinitionError):
        app.get(second)(handler)


def test_same_template_different_methods_is_no_conflict() -> None:
    app = App()
    app.get("/a/{x}")(lambda x: x)
    app.post("/a/{x}")(lambda x: x)
    assert TestClient(app).post("/a/1").text == "1"


@pytest.mark.parametrize("methods", [[], ["FETCH"], "GET", ["get", "BREW"]])
def test_bad_methods_raise(methods: Any) -> None:
    with pytest.raises(RouteDefinitionError):
        App().route("/a", methods=methods)


@pytest.mark.parametrize("status", [99, 600, "200", 200.0, True])
def test_bad_status_code_option_raises(status: Any) -> None:
    with pytest.raises(RouteDefinitionError):
        App().get("/a", status_code=status)


def test_handler_that_cannot_take_the_path_parameter_raises() -> None:
    with pytest.raises(RouteDefinitionError):
        App().get("/a/{x}")(lambda: None)


def test_parse_template_parts() -> None:
    template = parse_template("/files/{bucket}/{key+}")
    assert template.params == ("bucket", "key")
    assert template.greedy == "key"
    assert not template.is_static
    assert parse_template("/a/b/").path == "/a/b"
    assert parse_template("/a/b/", strict_slashes=True).path == "/a/b/"


# -- static before dynamic ------------------------------------------------------------------


def test_static_wins_over_dynamic(client: TestClient) -> None:
    assert client.get("/users/me").json() == {"who": "me"}
    assert client.get("/users/you").json() == {"id": "you"}


def test_static_segment_wins_inside_the_trie_and_backtracks() -> None:
    table: RouteTable[str] = RouteTable()
    table.add("/a/{x}/c", ["GET"], "param-then-c")
    table.add("/a/b/{y}", ["GET"], "b-then-param")
    table.add("/a/{z+}", ["GET"], "greedy")
    assert table.match("GET", "/a/b/c").target == "b-then-param"
    assert table.match("GET", "/a/q/c").target == "param-then-c"
    found = table.match("GET", "/a/b/c/d")
    assert (found.target, found.params) == ("greedy", {"z": "b/c/d"})


def test_static_route_with_another_method_does_not_hide_a_dynamic_route() -> None:
    app = App(access_log=False)
    app.post("/users/me")(lambda: "static post")
    app.get("/users/{user_id}")(lambda user_id: f"dynamic {user_id}")
    client = TestClient(app)
    assert client.get("/users/me").text == "dynamic me"
    assert client.post("/users/me").text == "static post"
    response = client.delete("/users/me")
    assert response.status_code == 405
    assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS", "POST"}


def test_trie_branch_with_another_method_does_not_hide_a_greedy_route() -> None:
    table: RouteTable[str] = RouteTable()
    table.add("/a/{x}", ["POST"], "post-param")
    table.add("/a/{rest+}", ["GET"], "get-greedy")
    found = table.match("GET", "/a/b")
    assert (found.status, found.target, found.params) == (200, "get-greedy", {"rest": "b"})
    assert table.match("POST", "/a/b").params == {"x": "b"}


# -- matching cost does not grow with the number of routes -------------------------------------


def _walk_calls(table: RouteTable[str], monkeypatch: pytest.MonkeyPatch, path: str) -> int:
    calls = 0
    original = RouteTable._walk

    def counting(self: RouteTable[str], *args: Any) -> Any:
        nonlocal calls
        calls += 1
        return original(self, *args)

    monkeypatch.setattr(RouteTable, "_walk", counting)
    try:
        assert table.match("GET", path).status == 200
    finally:
        monkeypatch.setattr(RouteTable, "_walk", original)
    return calls


def _table(n: int) -> RouteTable[str]:
    table: RouteTable[str] = RouteTable()
    for i in range(n):
        table.add(f"/static{i}/x", ["GET"], f"s{i}")
        table.add(f"/r{i}/{{id}}/items/{{item}}", ["GET"], f"d{i}")
    table.add("/target/{id}/items/{item}", ["GET"], "target")
    return table


def test_matching_work_is_independent_of_route_count(monkeypatch: pytest.MonkeyPatch) -> None:
    small, large = _table(3), _table(2000)
    path = "/target/1/items/2"
    assert _walk_calls(small, monkeypatch, path) == _walk_calls(large, monkeypatch, path) == 5
    assert _walk_calls(large, monkeypatch, "/static1999/x") == 0  # one dict lookup


def test_matching_never_calls_a_per_route_function() -> None:
    called: list[str] = []

    class Target:
        def __init__(self, name: str) -> None:
            self.name = name

        def __eq__(self, other: object) -> bool:
            called.append(self.name)
            return NotImplemented

        __hash__ = object.__hash__

        def __call__(self) -> None:
            called.append(self.name)

    table: RouteTable[Target] = RouteTable()
    for i in range(50):
        table.add(f"/r{i}/{{id}}", ["GET"], Target(str(i)))
    assert table.match("GET", "/r49/1").target is not None
    assert table.match("GET", "/nowhere/1").status == 404
    assert called == []


# -- 404, 405, HEAD, OPTIONS ----------------------------------------------------------------


def test_unknown_path_is_404_problem(client: TestClient) -> None:
    response = client.get("/nothing/here")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 404


def test_wrong_method_is_405_with_allow(client: TestClient) -> None:
    response = client.patch("/users/7")
    assert response.status_code == 405
    assert response.headers["Allow"] == "DELETE, GET, HEAD, OPTIONS"
    assert response.json()["status"] == 405


def test_head_is_answered_by_get_without_body(client: TestClient) -> None:
    response = client.head("/users/7")
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["content-type"] == "application/json"


def test_head_error_answers_have_no_body(client: TestClient) -> None:
    response = client.head("/nothing")
    assert (response.status_code, response.content) == (404, b"")


def test_explicit_head_route_overrides_get() -> None:
    app = App(access_log=False)
    app.get("/a")(lambda: "get")
    app.head("/a")(lambda: Response(None, 200, headers={"X-Head": "1"}))
    response = TestClient(app).head("/a")
    assert response.headers["x-head"] == "1"


def test_options_answered_with_allow(client: TestClient) -> None:
    response = client.options("/files/a/b")
    assert response.status_code == 204
    assert response.headers["Allow"] == "GET, HEAD, OPTIONS, PUT"
    assert response.content == b""


def test_options_on_unknown_path_is_404(client: TestClient) -> None:
    assert client.options("/nothing").status_code == 404


def test_explicit_options_route_wins() -> None:
    app = App(access_log=False)
    app.get("/a")(lambda: "get")
    app.options("/a")(lambda: Response(None, 200, headers={"X-Custom": "yes"}))
    response = TestClient(app).options("/a")
    assert (response.status_code, response.headers.get("x-custom")) == (200, "yes")


def test_405_allow_lists_methods_of_post_only_route(client: TestClient) -> None:
    response = client.put("/users")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD, OPTIONS, POST"


# -- trailing slashes ------------------------------------------------------------------------


def test_trailing_slash_matches_same_route(client: TestClient) -> None:
    assert client.get("/users/7/").json() == {"id": "7"}
    assert client.get("/users/").json() == ["ann"]


def test_route_registered_with_trailing_slash_matches_without() -> None:
    app = App(access_log=False)
    app.get("/a/")(lambda: "a")
    client = TestClient(app, format="http")
    assert client.get("/a").text == client.get("/a/").text == "a"


@pytest.mark.parametrize("fmt", ALL_FORMATS)
def test_strict_slashes(fmt: str) -> None:
    app = App(access_log=False, strict_slashes=True)
    app.get("/a")(lambda: "no slash")
    app.get("/b/")(lambda: "slash")
    app.get("/c/{x}")(lambda x: x)
    client = TestClient(app, format=fmt)
    assert client.get("/a").text == "no slash"
    assert client.get("/a/").status_code == 404
    assert client.get("/b/").text == "slash"
    assert client.get("/b").status_code == 404
    assert client.get("/c/1").text == "1"
    assert client.get("/c/1/").status_code == 404


# -- routers and decorators -----------------------------------------------------------------


def test_include_router_with_prefix() -> None:
    router = Router()

    @router.get("/")
    def index() -> str:
        return "admin index"

    @router.get("/users/{user_id}")
    def admin_user(user_id: str) -> str:
        return f"admin {user_id}"

    app = App(access_log=False)
    app.include_router(router, prefix="/admin")
    app.include_router(router, prefix="/v2/admin")
    client = TestClient(app, format="http")
    assert client.get("/admin").text == "admin index"
    assert client.get("/admin/users/3").text == "admin 3"
    assert client.get("/v2/admin/users/4").text == "admin 4"
    assert client.get("/users/3").status_code == 404


def test_nested_routers_and_no_prefix() -> None:
    inner, outer = Router(), Router()
    inner.get("/x")(lambda: "x")
    outer.include_router(inner, prefix="/inner")
    app = App(access_log=False)
    app.include_router(outer, prefix="/outer")
    app.include_router(inner)
    client = TestClient(app)
    assert client.get("/outer/inner/x").text == "x"
    assert client.get("/x").text == "x"


@pytest.mark.parametrize("prefix", ["admin", "/admin/", "/"])
def test_bad_router_prefix_raises(prefix: str) -> None:
    router = Router()
    router.get("/a")(lambda: "a")
    with pytest.raises(RouteDefinitionError):
        App().include_router(router, prefix=prefix)
    with pytest.raises(RouteDefinitionError):
        Router(prefix=prefix)


@pytest.mark.parametrize("fmt", ALL_FORMATS)
def test_routes_added_after_include_router_are_served(fmt: str) -> None:
    inner, outer = Router(), Router()
    app = App(access_log=False)
    outer.include_router(inner, prefix="/inner")
    app.include_router(outer, prefix="/outer")
    app.include_router(inner, prefix="/direct")
    inner.get("/late/{item_id}")(lambda item_id: f"late {item_id}")  # after both inclusions
    outer.post("/later")(lambda: "later")
    client = TestClient(app, format=fmt)
    assert client.get("/outer/inner/late/3").text == "late 3"
    assert client.get("/direct/late/4").text == "late 4"
    assert client.post("/outer/later").text == "later"
    assert [r.path for r in app.routes] == ["/outer/inner/late/{item_id}",
                                            "/direct/late/{item_id}", "/outer/later"]


def test_websocket_routes_added_after_include_router_are_served() -> None:
    from lamroute.testing import make_websocket_event

    router = Router()
    app = App(access_log=False)
    app.include_router(router)
    router.websocket("join")(lambda: "joined")
    payload = app(make_websocket_event("join"), None)
    assert (payload["statusCode"], payload["body"]) == (200, "joined")


def test_late_registration_conflict_raises_at_the_decorator() -> None:
    router = Router()
    app = App()
    app.get("/admin/a")(lambda: "app")
    app.include_router(router, prefix="/admin")
    with pytest.raises(RouteDefinitionError):
        router.get("/a")(lambda: "router")


def test_middleware_added_after_include_router_raises() -> None:
    router = Router()
    router.get("/a")(lambda: "a")
    App().include_router(router)

    def late(request: Request, call_next: Any) -> Response:
        return call_next(request)  # type: ignore[no-any-return]

    with pytest.raises(RouteDefinitionError, match="before include_router"):
        router.middleware(late)


def test_router_cannot_include_itself() -> None:
    first, second = Router(), Router()
    first.include_router(second)
    with pytest.raises(RouteDefinitionError):
        second.include_router(first)
    with pytest.raises(RouteDefinitionError):
        first.include_router(first)


def test_router_prefix_and_tags_compose_with_include_router() -> None:
    users = Router(prefix="/users", tags=["users"])
    users.get("/")(lambda: "all")
    users.get("/{user_id}", tags=["read", "users"])(lambda user_id: user_id)
    api = Router(prefix="/api", tags=["v1"])
    api.include_router(users, prefix="/v1", tags=["public"])
    app = App(access_log=False)
    app.include_router(api, prefix="/svc", tags=["outer"])
    client = TestClient(app)
    assert client.get("/svc/api/v1/users").text == "all"
    assert client.get("/svc/api/v1/users/7").text == "7"
    tags = {r.path: r.options["tags"] for r in app.routes}
    assert tags == {"/svc/api/v1/users": ["outer", "v1", "public", "users"],
                    "/svc/api/v1/users/{user_id}": ["outer", "v1", "public", "users", "read"]}
    operations = app.openapi()["paths"]
    assert operations["/svc/api/v1/users/{user_id}"]["get"]["tags"] == [
        "outer", "v1", "public", "users", "read"]


@pytest.mark.parametrize("tags", ["users", [1], None])
def test_bad_router_tags_raise(tags: Any) -> None:
    with pytest.raises(RouteDefinitionError):
        Router(tags=tags)
    with pytest.raises(RouteDefinitionError):
        App().include_router(Router(), tags=tags)


def test_include_router_conflict_raises() -> None:
    router = Router()
    router.get("/a")(lambda: "a")
    app = App()
    app.get("/admin/a")(lambda: "b")
    with pytest.raises(RouteDefinitionError):
        app.include_router(router, prefix="/admin")


@pytest.mark.parametrize("method", ["get", "post", "put", "patch", "delete", "head", "options"])
def test_decorators_return_the_function_unchanged(method: str) -> None:
    for owner in (App(), Router()):
        def handler(item_id: str) -> dict[str, str]:
            return {"id": item_id}

        decorated = getattr(owner, method)("/items/{item_id}")(handler)
        assert decorated is handler
        assert handler("5") == {"id": "5"}
    app = App()

    def other(item_id: str) -> str:
        return item_id

    assert app.route("/o/{item_id}", methods=["GET", "POST"])(other) is other


@pytest.mark.parametrize("method", ["get", "post", "put", "patch", "delete", "head", "options"])
def test_unknown_route_options_raise_naming_the_closest(method: str) -> None:
    for owner in (App(), Router()):
        with pytest.raises(TypeError) as raised:
            getattr(owner, method)("/x", statuscode=201, respones_model=None, tag=["x"])
        assert isinstance(raised.value, RouteDefinitionError)
        message = str(raised.value)
        for typo, meant in [("statuscode", "status_code"), ("respones_model", "response_model"),
                            ("tag", "tags")]:
            assert f"'{typo}' (did you mean '{meant}'?)" in message
        with pytest.raises(RouteDefinitionError, match="options: auth, compress"):
            owner.route("/x", methods=["GET"], colour="blue")  # nothing close: the list
        assert owner.routes == []


def test_route_method_option_suggests_methods() -> None:
    """``method="GET"`` is a typo of the ``methods`` argument, not a wish for another option:
    the error says so instead of listing every option."""
    for owner in (App(), Router()):
        messages = []
        with pytest.raises(RouteDefinitionError) as raised:
            owner.route("/x", methods=["GET"], method="GET")  # type: ignore[call-arg]
        messages.append(str(raised.value))
        with pytest.raises(RouteDefinitionError) as raised:
            owner.post("/x", method="POST")  # type: ignore[call-arg]
        messages.append(str(raised.value))
        for message in messages:
            assert "'method' (did you mean 'methods'?)" in message
            assert "options:" not in message
        assert owner.routes == []


def test_unknown_route_option_registers_nothing() -> None:
    app = App(access_log=False)
    with pytest.raises(TypeError):
        app.post("/x", statuscode=201)(lambda: "x")
    assert TestClient(app).post("/x").status_code == 404


def test_unknown_websocket_options_raise_naming_the_closest() -> None:
    for owner in (App(), Router()):
        with pytest.raises(RouteDefinitionError, match=r"'statuscode' \(did you mean "
                                                        r"'status_code'\?\)"):
            owner.websocket("join", statuscode=200)
        with pytest.raises(TypeError, match="'publik'"):
            owner.websocket("$connect", publik=True)
        assert owner.websocket_routes == []


def test_routes_are_listed_with_their_options() -> None:
    app = make_app()
    assert ("/users", ("POST",), 201) in [(r.path, r.methods, r.status_code) for r in app.routes]
    assert [r.name for r in app.routes][:2] == ["list_users", "create_user"]


# -- property: whatever matched, its template and values rebuild the path -------------------------

segment_names = st.sampled_from(["a", "b", "users", "me", "items"])
template_segments = st.lists(
    st.one_of(segment_names, st.sampled_from(["{p1}", "{p2}", "{p3}"])), max_size=4)
values = st.text(alphabet="abcz09 é%.-_", min_size=1, max_size=6)


def _fill(template: str, params: dict[str, str]) -> str:
    parts = []
    for segment in template.split("/"):
        parts.append(params[segment[1:-1].rstrip("+")] if segment.startswith("{") else segment)
    return "/".join(parts)


@settings(max_examples=200, deadline=None)
@given(
    templates=st.lists(st.tuples(template_segments, st.booleans()), min_size=1, max_size=8),
    data=st.data(),
)
def test_matches_are_consistent_with_their_template(templates: list[tuple[list[str], bool]],
                                                    data: st.DataObject) -> None:
    table: RouteTable[str] = RouteTable()
    registered: list[str] = []
    for segments, greedy in templates:
        names = iter(["p1", "p2", "p3", "p4"])
        parts = [f"{{{next(names)}}}" if s.startswith("{") else s for s in segments]
        if greedy:
            parts.append("{rest+}")
        path = "/" + "/".join(parts)
        try:
            table.add(path, ["GET"], path)
        except RouteDefinitionError:
            continue  # a conflict with an earlier template: refused at registration, as it must be
        registered.append(path)
    for template in registered:
        params = {name: data.draw(values) for name in ("p1", "p2", "p3", "p4")}
        params["rest"] = "/".join(data.draw(st.lists(values, min_size=1, max_size=3)))
        concrete = _fill(template, params)
        found = table.match("GET", concrete)
        assert found.status == 200 and found.target is not None
        assert _fill(found.target, found.params) == concrete
        assert table.match("POST", concrete).status == 405
        head = table.match("HEAD", concrete)
        assert (head.target, head.params) == (found.target, found.params)


@settings(max_examples=300, deadline=None)
@given(
    templates=st.lists(st.tuples(template_segments, st.booleans(),
                                 st.sampled_from([("GET",), ("POST",), ("GET", "POST")])),
                       min_size=1, max_size=8),
    paths=st.lists(st.lists(st.one_of(segment_names, values, st.just("")), max_size=4),
                   min_size=1, max_size=10),
    method=st.sampled_from(["GET", "POST", "HEAD", "PUT"]),
)
def test_the_last_parameter_index_answers_as_the_trie_walk(
        templates: list[tuple[list[str], bool, tuple[str, ...]]], paths: list[list[str]],
        method: str) -> None:
    """``/users/{user_id}`` is found in one lookup of ``/users/``: the answer must be the walk's
    (static routes first, a method the template lacks, sibling and greedy routes, empty
    segments), compared with the same table whose index is emptied."""
    indexed: RouteTable[str] = RouteTable()
    walked: RouteTable[str] = RouteTable()
    for segments, greedy, methods in templates:
        names = iter(["p1", "p2", "p3", "p4"])
        parts = [f"{{{next(names)}}}" if s.startswith("{") else s for s in segments]
        path = "/" + "/".join([*parts, "{rest+}"] if greedy else parts)
        for table in (indexed, walked):  # a refused route may leave the same part in both
            with contextlib.suppress(RouteDefinitionError):
                table.add(path, methods, f"{path} {methods}")
    walked._last_param.clear()
    for segments in paths:
        path = "/" + "/".join(segments)
        one, other = indexed.match(method, path), walked.match(method, path)
        assert (one.status, one.target, one.params, one.template, one.allowed) == (
            other.status, other.target, other.params, other.template, other.allowed), path


def test_a_parameter_after_a_static_chain_is_found_without_the_walk() -> None:
    table: RouteTable[str] = RouteTable()
    table.add("/users/{user_id}", ["GET"], "user")
    table.add("/users/me", ["GET"], "me")
    table.add("/{section}", ["GET"], "section")
    table.add("/{section}/{team}", ["POST"], "team")
    assert set(table._last_param) == {"/users/", "/"}
    assert (table.match("GET", "/users/42").target, table.match("GET", "/users/42").params) == (
        "user", {"user_id": "42"})
    assert table.match("GET", "/users/me").target == "me"  # static first, as the walk
    assert table.match("POST", "/users/42").target == "team"  # the walk goes on
    assert table.match("HEAD", "/docs").params == {"section": "docs"}
    assert table.match("GET", "/users/").params == {"section": "users"}  # (slash dropped first)
    strict: RouteTable[str] = RouteTable(strict_slashes=True)
    strict.add("/users/{user_id}", ["GET"], "user")
    assert strict.match("GET", "/users/").status == 404  # an empty value is no value
