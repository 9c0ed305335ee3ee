"""URL-encoded forms: request.form(), Form() parameters (scalars, lists, models), the 422s, the
limits, and the registration errors; through every payload format, bodies delivered as each
service delivers them (base64 for HTTP APIs, Function URLs and ALB; per binaryMediaTypes for
REST)."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import pytest
from pydantic import BaseModel, Field

from lamroute import App, Body, Form, Request, RouteDefinitionError
from lamroute.testing import TestClient

# (format, REST binaryMediaTypes): REST with */* (what `lamroute template` writes) and without.
FORMATS = [("rest", ("*/*",)), ("rest", ()), ("http-v1", ()), ("http", ()), ("url", ()),
           ("alb", ()), ("alb-multi", ())]
IDS = ["rest-binary", "rest-text", "http-v1", "http", "url", "alb", "alb-multi"]
URLENCODED = {"Content-Type": "application/x-www-form-urlencoded"}


class Signup(BaseModel):
    email: str = Field(min_length=3)
    age: int = Field(ge=0)
    interests: list[str] = []


def form_app(**options: Any) -> App:
    app = App(**options)

    @app.post("/raw-form")
    def raw_form(request: Request) -> dict[str, Any]:
        form = request.form()
        return {"pairs": [[k, v] for k, v in form.multi_items() if isinstance(v, str)]}

    @app.post("/login")
    def login(username: Annotated[str, Form(min_length=1)],
              remember: Annotated[bool, Form()] = False,
              tags: Annotated[list[str], Form(alias="tag")] = []  # noqa: B006
              ) -> dict[str, Any]:
        return {"username": username, "remember": remember, "tags": tags}

    @app.post("/signup")
    def signup(form: Annotated[Signup, Form()]) -> dict[str, Any]:
        return form.model_dump()

    @app.post("/limited", max_fields=3)
    def limited(request: Request) -> dict[str, int]:
        return {"fields": len(request.form().multi_items())}

    return app


@pytest.fixture(params=FORMATS, ids=IDS)
def client(request: pytest.FixtureRequest) -> TestClient:
    fmt, binary = request.param
    return TestClient(form_app(), format=fmt, binary_media_types=binary)


def test_request_form_is_a_multidict_in_every_format(client: TestClient) -> None:
    response = client.post("/raw-form", data=[("a", "1"), ("a", "2"), ("b", "x y+é&")])
    assert response.status_code == 200, response.text
    assert response.json()["pairs"] == [["a", "1"], ["a", "2"], ["b", "x y+é&"]]


def test_form_parameters_are_converted_like_query_parameters(client: TestClient) -> None:
    response = client.post("/login", data={"username": "ann", "remember": "on",
                                           "tag": ["a", "b"]})
    assert response.json() == {"username": "ann", "remember": True, "tags": ["a", "b"]}
    defaults = client.post("/login", data={"username": "bob"})
    assert defaults.json() == {"username": "bob", "remember": False, "tags": []}


def test_an_invalid_or_missing_form_field_is_a_422_naming_it(client: TestClient) -> None:
    response = client.post("/login", data={"remember": "maybe"})
    assert response.status_code == 422
    errors = {tuple(e["loc"]): e["type"] for e in response.json()["errors"]}
    assert errors == {("body", "username"): "missing", ("body", "remember"): "bool_parsing"}
    empty = client.post("/login", data={"username": ""})
    assert [e["type"] for e in empty.json()["errors"]] == ["string_too_short"]


def test_a_model_binds_from_form_fields(client: TestClient) -> None:
    ok = client.post("/signup", data=[("email", "a@b.c"), ("age", "30"),
                                      ("interests", "x"), ("interests", "y")])
    assert ok.json() == {"email": "a@b.c", "age": 30, "interests": ["x", "y"]}
    bad = client.post("/signup", data={"email": "a", "age": "-1"})
    assert bad.status_code == 422
    assert {tuple(e["loc"]) for e in bad.json()["errors"]} == {("body", "email"),
                                                               ("body", "age")}


def test_a_form_route_refuses_other_media_types_with_a_415(client: TestClient) -> None:
    response = client.post("/login", json={"username": "ann"})
    assert response.status_code == 415
    assert "form" in response.json()["detail"]


def test_more_fields_than_max_fields_is_a_413(client: TestClient) -> None:
    assert client.post("/limited", data=[("a", "1")] * 3).json() == {"fields": 3}
    response = client.post("/limited", data=[("a", "1")] * 4)
    assert response.status_code == 413
    assert "more than 3 fields" in response.json()["detail"]


def test_max_fields_counts_fields_not_ampersand_separators(client: TestClient) -> None:
    """A trailing ``&`` or an empty ``&&`` is no field: browsers and ``parse_qsl`` skip them."""
    for body in (b"a=1&b=2&c=3&", b"&a=1&&b=2&c=3&&", b"a=1&b=&c"):
        response = client.post("/limited", body=body, headers=URLENCODED)
        assert response.json() == {"fields": 3}, body
    response = client.post("/limited", body=b"a=1&&b=2&c=3&d=4", headers=URLENCODED)
    assert response.status_code == 413
    assert "more than 3 fields" in response.json()["detail"]


@pytest.mark.parametrize(("fmt", "binary"), FORMATS, ids=IDS)
def test_ten_thousand_fields_are_refused_by_the_default_limit(fmt: str,
                                                              binary: tuple[str, ...]) -> None:
    client = TestClient(form_app(), format=fmt, binary_media_types=binary)
    response = client.post("/raw-form", data=[(f"f{i}", "v") for i in range(10_000)])
    assert response.status_code == 413
    assert "more than 1000 fields" in response.json()["detail"]
    assert client.post("/raw-form", data=[("f", "v")] * 1000).status_code == 200


def test_invalid_utf8_in_a_form_is_a_400_not_a_500() -> None:
    client = TestClient(form_app(), format="http")
    for body in (b"a=%ff", b"a=\xff"):
        response = client.post("/raw-form", body=body, headers=URLENCODED)
        assert response.status_code == 400, body


def test_the_app_wide_max_fields_applies_and_routes_override_it() -> None:
    app = App(max_fields=2)

    @app.post("/a")
    def a(request: Request) -> dict[str, int]:
        return {"n": len(request.form())}

    @app.post("/b", max_fields=None)
    def b(request: Request) -> dict[str, int]:
        return {"n": len(request.form())}

    client = TestClient(app, format="http")
    assert client.post("/a", data={"x": "1", "y": "2", "z": "3"}).status_code == 413
    assert client.post("/b", data={"x": "1", "y": "2", "z": "3"}).json() == {"n": 3}


@pytest.mark.parametrize("value", [0, -1, "10", 1.5])
def test_bad_form_limits_fail_at_registration(value: Any) -> None:
    with pytest.raises(RouteDefinitionError, match="max_fields"):
        App(max_fields=value)
    app = App()
    with pytest.raises(RouteDefinitionError, match="max_part_size"):
        app.post("/x", max_part_size=value if value != 0 else -5)(lambda: None)


def test_a_route_with_forms_needs_python_multipart_at_registration(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "python_multipart", None)  # import fails
    app = App()
    with pytest.raises(RouteDefinitionError, match=r"lamroute\[forms\]"):
        @app.post("/login")
        def login(username: Annotated[str, Form()]) -> None: ...

    # request.form() on a URL-encoded body needs nothing more
    @app.post("/plain")
    def plain(request: Request) -> dict[str, Any]:
        return dict(request.form())

    client = TestClient(app, format="http")
    assert client.post("/plain", data={"a": "1"}).json() == {"a": "1"}
    # ... and a multipart body without the extra is a logged 500 naming it, never a crash
    answer = client.post("/plain", files={"f": ("a.txt", b"x")})
    assert answer.status_code == 500


def test_one_request_has_one_kind_of_body() -> None:
    app = App()
    with pytest.raises(RouteDefinitionError, match="one body"):
        @app.post("/mixed")
        def mixed(note: Signup, tag: Annotated[str, Form()]) -> None: ...
    with pytest.raises(RouteDefinitionError, match="one body"):
        @app.post("/mixed-raw")
        def mixed_raw(raw: Annotated[bytes, Body()], tag: Annotated[str, Form()]) -> None: ...


@pytest.mark.parametrize("annotation", [dict[str, str], bytes, list[Signup]])
def test_a_form_field_must_be_text(annotation: Any) -> None:
    app = App()

    def handler(field: Any) -> None: ...

    handler.__annotations__ = {"field": Annotated[annotation, Form()]}
    with pytest.raises(RouteDefinitionError):
        app.post("/x")(handler)


def test_form_handlers_stay_plain_functions() -> None:
    app = form_app()
    login = next(r.handler for r in app.routes if r.path == "/login")
    assert login("ann", True, ["x"]) == {"username": "ann", "remember": True, "tags": ["x"]}


def readme_block(title: str, needle: str) -> str:
    """The Python block of README section ``title`` that contains ``needle``."""
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    section = text.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]
    (block,) = [b for b in re.findall(r"```python\n(.*?)```", section, flags=re.S)
                if needle in b]
    return block


def test_the_readme_forms_example_works_as_written() -> None:
    namespace: dict[str, Any] = {}
    code = readme_block("Forms and file uploads", "def login(")
    exec(compile(code.replace("...", "return {}"), "README:forms", "exec"), namespace)
    client = TestClient(namespace["app"], format="http")
    assert client.post("/login", data={"username": "ann", "tag": ["a", "b"]}).status_code == 200
    assert client.post("/login", data={"username": ""}).status_code == 422
    assert client.post("/signup", data={"email": "a@b.c", "age": "3"}).status_code == 200
    upload = client.post("/notes/1/attachments", data={"caption": "x"},
                         files=[("file", ("a.pdf", b"%PDF")), ("thumbnails", ("t", b"1"))])
    assert upload.json() == {"size": 4}
    assert client.post("/anything", data={"a": "1"}).json() == {"a": "1"}


def test_form_routes_load_the_parser_with_the_first_multipart_body_not_at_cold_start() -> None:
    import subprocess

    code = (
        "import sys\n"
        "from typing import Annotated\n"
        "from lamroute import App, Form\n"
        "from lamroute.testing import TestClient\n"
        "app = App(access_log=False)\n"
        "@app.post('/x')\n"
        "def x(a: Annotated[str, Form()]) -> dict:\n"
        "    return {'a': a}\n"
        "client = TestClient(app, format='http')\n"
        "loaded = ['python_multipart' in sys.modules]\n"
        "client.post('/x', data={'a': '1'})\n"
        "loaded.append('python_multipart' in sys.modules)\n"
        "client.post('/x', data={'a': '1'}, files={'f': ('n', b'x')})\n"
        "loaded.append('python_multipart' in sys.modules)\n"
        "print(loaded)\n"
    )
    out = subprocess.check_output([sys.executable, "-c", code], text=True)
    assert out.split() == ["[False,", "False,", "True]"]
