"""The OpenAPI 3.1 document, the docs routes and ``lamroute openapi``."""

from __future__ import annotations

import importlib
import json
import pathlib
import subprocess
import sys
from typing import Annotated, Any

import pytest
import yaml
from openapi_spec_validator import validate
from pydantic import BaseModel, Field

from lamroute import App, Body, Cookie, Depends, Header, Query, Request, Response, Router
from lamroute.cli import main
from lamroute.openapi.document import openapi_path
from lamroute.testing import TestClient

ROOT = pathlib.Path(__file__).resolve().parent.parent


class NoteIn(BaseModel):
    text: str = Field(min_length=1, description="The note's text")
    tags: list[str] = []


class Note(NoteIn):
    id: int


class Filters(BaseModel):
    q: str | None = None
    sort: str = "date"


def bearer_user(authorization: Annotated[str | None, Header()] = None) -> str:
    return authorization or "anonymous"


bearer_user.openapi_security = [{"bearerAuth": []}]  # type: ignore[attr-defined]
bearer_user.openapi_security_schemes = {  # type: ignore[attr-defined]
    "bearerAuth": {"type": "http", "scheme": "bearer"}}


def build_app(**options: Any) -> App:
    app = App(title="Notes", version="2.0.0", access_log=False, **options)
    admin = Router()

    @app.get("/notes/{note_id}", tags=["notes"])
    def get_note(note_id: int) -> Note:
        """Fetch one note.

        Answers 404 when the note does not exist.
        """
        return Note(id=note_id, text="x")

    @app.post("/notes", status_code=201, tags=["notes"], summary="Create a note")
    def create_note(body: NoteIn, user: Annotated[str, Depends(bearer_user)]) -> Note:
        return Note(id=1, **body.model_dump())

    @app.get("/notes")
    def list_notes(
        limit: Annotated[int, Query(ge=1, le=100, description="Page size")] = 20,
        tag: list[str] = [],  # noqa: B006
        f: Annotated[Filters, Query()] = Filters(),  # noqa: B008
        trace: Annotated[str | None, Header(alias="X-Trace-Id")] = None,
        session: Annotated[str | None, Cookie()] = None,
    ) -> list[Note]:
        return []

    @app.route("/files/{path+}", methods=["GET", "PUT"])
    def files(path: str, request: Request) -> Response:
        return Response(path)

    @app.delete("/notes/{note_id}", deprecated=True,
                responses={404: {"description": "No such note"}})
    def delete_note(note_id: int) -> None:
        return None

    @app.post("/merge")
    def merge(a: Annotated[NoteIn, Body()], b: Annotated[NoteIn, Body()]) -> dict[str, str]:
        return {}

    @app.get("/hidden", include_in_schema=False)
    def hidden() -> str:
        return "h"

    @admin.get("/stats", openapi_extra={"x-internal": True})
    def stats() -> dict[str, int]:
        return {}

    app.include_router(admin, prefix="/admin")
    return app


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    document = build_app().openapi()
    validate(document)
    return document


def test_document_is_valid_openapi_31(doc: dict[str, Any]) -> None:
    assert doc["openapi"] == "3.1.0"
    assert doc["info"] == {"title": "Notes", "version": "2.0.0"}
    assert set(doc["paths"]) == {"/notes/{note_id}", "/notes", "/files/{path}", "/merge",
                                 "/admin/stats"}


def test_greedy_paths_use_openapi_syntax() -> None:
    assert openapi_path("/files/{path+}") == "/files/{path}"
    assert openapi_path("/a/{id}/b") == "/a/{id}/b"


def test_parameters_carry_schemas_and_constraints(doc: dict[str, Any]) -> None:
    params = {p["name"]: p for p in doc["paths"]["/notes"]["get"]["parameters"]}
    assert params["limit"] == {"name": "limit", "in": "query", "required": False,
                               "description": "Page size", "schema": {
                                   "type": "integer", "minimum": 1, "maximum": 100,
                                   "default": 20}}
    assert params["tag"]["schema"]["type"] == "array"
    assert params["X-Trace-Id"]["in"] == "header"
    assert params["session"]["in"] == "cookie"
    assert {"q", "sort"} <= set(params) and params["sort"]["schema"]["default"] == "date"
    path = doc["paths"]["/notes/{note_id}"]["get"]["parameters"]
    assert path == [{"name": "note_id", "in": "path", "required": True,
                     "schema": {"type": "integer"}}]


def test_bodies_and_responses_come_from_models(doc: dict[str, Any]) -> None:
    create = doc["paths"]["/notes"]["post"]
    assert create["requestBody"] == {"required": True, "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/NoteIn"}}}}
    assert create["responses"]["201"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Note"}
    listed = doc["paths"]["/notes"]["get"]["responses"]["200"]
    assert listed["content"]["application/json"]["schema"]["items"] == {
        "$ref": "#/components/schemas/Note"}
    schemas = doc["components"]["schemas"]
    assert schemas["NoteIn"]["properties"]["text"]["minLength"] == 1
    assert schemas["Note"]["required"] == ["text", "id"]


def test_several_body_parameters_are_an_object(doc: dict[str, Any]) -> None:
    schema = doc["paths"]["/merge"]["post"]["requestBody"]["content"]["application/json"][
        "schema"]
    assert schema["type"] == "object" and schema["required"] == ["a", "b"]
    assert set(schema["properties"]) == {"a", "b"}


def test_problem_responses(doc: dict[str, Any]) -> None:
    responses = doc["paths"]["/notes/{note_id}"]["get"]["responses"]
    assert responses["422"] == {"$ref": "#/components/responses/ValidationProblem"}
    assert responses["4XX"] == responses["5XX"] == {"$ref": "#/components/responses/Problem"}
    problem = doc["components"]["responses"]["Problem"]["content"]
    assert list(problem) == ["application/problem+json"]
    assert doc["components"]["schemas"]["Problem"]["required"] == ["type", "title", "status"]
    files = doc["paths"]["/files/{path}"]["get"]["responses"]
    assert "422" not in files  # a str path parameter cannot fail validation


def test_summaries_descriptions_tags_from_options_and_docstrings(doc: dict[str, Any]) -> None:
    get = doc["paths"]["/notes/{note_id}"]["get"]
    assert get["summary"] == "Fetch one note."
    assert get["description"] == "Answers 404 when the note does not exist."
    assert get["tags"] == ["notes"]
    assert doc["paths"]["/notes"]["post"]["summary"] == "Create a note"
    delete = doc["paths"]["/notes/{note_id}"]["delete"]
    assert delete["deprecated"] is True
    assert "204" in delete["responses"] and delete["responses"]["404"] == {
        "description": "No such note"}
    assert doc["paths"]["/admin/stats"]["get"]["x-internal"] is True


def test_operation_ids_are_unique(doc: dict[str, Any]) -> None:
    ids = [op["operationId"] for item in doc["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids))
    assert {"files_get", "files_put"} <= set(ids)


def test_security_hook_from_dependencies(doc: dict[str, Any]) -> None:
    assert doc["components"]["securitySchemes"] == {
        "bearerAuth": {"type": "http", "scheme": "bearer"}}
    assert doc["paths"]["/notes"]["post"]["security"] == [{"bearerAuth": []}]
    assert "security" not in doc["paths"]["/notes"]["get"]


def test_custom_error_formatter_drops_the_problem_schema() -> None:
    document = build_app(error_formatter=lambda problem, request: {"e": problem.status}
                         ).openapi()
    validate(document)
    assert document["components"]["responses"]["Problem"]["content"] == {
        "application/json": {"schema": {}}}


def test_app_without_models_documents_plain_types() -> None:
    app = App(access_log=False)

    @app.get("/hello/{name}")
    def hello(name: str, times: int = 1, loud: bool = False) -> dict[str, str]:
        return {}

    @app.get("/text")
    def text() -> str:
        return ""

    document = app.openapi()
    validate(document)
    params = document["paths"]["/hello/{name}"]["get"]["parameters"]
    assert [p["schema"] for p in params] == [
        {"type": "string"}, {"type": "integer", "default": 1},
        {"type": "boolean", "default": False}]
    assert document["paths"]["/text"]["get"]["responses"]["200"]["content"] == {
        "text/plain": {"schema": {"type": "string"}}}


@pytest.mark.parametrize(("fmt", "stage", "prefix"), [("rest", "prod", "/prod"),
                                                       ("http", None, "")])
def test_docs_routes_are_served_by_the_same_lambda(fmt: str, stage: str | None,
                                                   prefix: str) -> None:
    app = build_app(openapi_url="/openapi.json", docs_url="/docs")
    client = TestClient(app, format=fmt, stage=stage)
    document = client.get("/openapi.json")
    assert document.status_code == 200
    assert document.headers["content-type"] == "application/json"
    validate(document.json())
    assert "/openapi.json" not in document.json()["paths"]
    page = client.get("/docs")
    assert page.headers["content-type"].startswith("text/html")
    assert f'"{prefix}/openapi.json"' in page.text and "swagger-ui" in page.text


def test_docs_routes_are_off_by_default() -> None:
    client = TestClient(build_app())
    assert client.get("/openapi.json").status_code == 404
    assert client.get("/docs").status_code == 404


# (format, stage, the path the client asks for, event options, app options, servers)
SERVED_UNDER = [
    ("rest", "prod", "/openapi.json", {}, {}, [{"url": "/prod"}]),  # execute-api: the stage
    ("rest", "prod", "/openapi.json", {"domain_name": "api.example.com", "base_path": "/shop"},
     {}, [{"url": "/shop"}]),  # custom domain: the base path mapping, no stage
    ("rest", "prod", "/openapi.json", {"domain_name": "api.example.com"}, {}, None),  # at "/"
    ("http-v1", "dev", "/openapi.json", {}, {}, [{"url": "/dev"}]),
    ("http-v1", None, "/openapi.json", {"domain_name": "api.example.com", "base_path": "/v1"},
     {}, [{"url": "/v1"}]),
    ("http", "dev", "/openapi.json", {}, {}, [{"url": "/dev"}]),
    ("http", None, "/openapi.json", {}, {}, None),  # $default: the paths hang from "/"
    ("url", None, "/openapi.json", {}, {}, None),
    ("url", None, "/api/openapi.json", {}, {"strip_prefixes": ["/api"]},
     [{"url": "/api"}]),  # behind a CloudFront behaviour /api/*
    ("alb", None, "/openapi.json", {}, {}, None),
]


@pytest.mark.parametrize(("fmt", "stage", "path", "event", "options", "servers"), SERVED_UNDER,
                         ids=["rest-stage", "rest-base-path", "rest-domain-root", "http-v1-stage",
                              "http-v1-base-path", "http-stage", "http-default", "url",
                              "url-strip-prefixes", "alb"])
def test_served_document_names_the_stage_in_servers(
    fmt: str, stage: str | None, path: str, event: dict[str, Any], options: dict[str, Any],
    servers: list[dict[str, str]] | None,
) -> None:
    app = build_app(openapi_url="/openapi.json", docs_url="/docs", **options)
    client = TestClient(app, format=fmt, stage=stage)
    served = client.get(path, **event).json()
    validate(served)
    assert served.get("servers") == servers
    assert list(served)[:3] == ["openapi", "info", "servers" if servers else "paths"]
    assert client.get(path, **event).json() == served  # cached, the same answer
    if stage is not None:  # another stage of the same API has its own servers
        other = TestClient(app, format=fmt, stage="other").get(path).json()
        assert other["servers"] == [{"url": "/other"}]
    assert "servers" not in app.openapi()


@pytest.mark.parametrize(("api", "stage"), [("rest", "prod"), ("http", "dev"),
                                            ("http", None)])
def test_try_it_out_from_the_docs_page_stays_inside_the_stage(api: str,
                                                              stage: str | None) -> None:
    """What Swagger UI does: load the page, fetch its document, call server URL + path."""
    import re
    import urllib.request
    from urllib.parse import urljoin

    from lamroute.local import LocalGateway

    app = build_app(openapi_url="/openapi.json", docs_url="/docs")
    with LocalGateway(app, api=api, stage=stage, port=0) as server:
        page_url = f"{server.url}/docs"
        with urllib.request.urlopen(page_url, timeout=10) as page:
            (document_path,) = re.findall(r"url: \"([^\"]+)\"", page.read().decode())
        document_url = urljoin(page_url, document_path)
        with urllib.request.urlopen(document_url, timeout=10) as answer:
            document = json.loads(answer.read())
        base = urljoin(document_url, document.get("servers", [{"url": "/"}])[0]["url"])
        with urllib.request.urlopen(base.rstrip("/") + "/notes/7", timeout=10) as answer:
            assert answer.status == 200
            assert json.loads(answer.read())["id"] == 7


def test_openapi_command_server_option(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "served_app.py").write_text(
        "from lamroute import App\n"
        "app = App(title='T', version='9')\n"
        "@app.get('/items')\n"
        "def items() -> list:\n"
        "    return []\n"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    assert main(["openapi", "served_app:app", "--server", "https://api.example.com/prod",
                 "--server", "/prod"]) == 0
    printed = json.loads(capsys.readouterr().out)
    validate(printed)
    assert printed["servers"] == [{"url": "https://api.example.com/prod"}, {"url": "/prod"}]
    assert main(["openapi", "served_app:app"]) == 0
    assert "servers" not in json.loads(capsys.readouterr().out)


def test_openapi_command_prints_json_and_yaml(tmp_path: pathlib.Path,
                                              monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "notes_app.py").write_text(
        "from lamroute import App\n"
        "app = App(title='T', version='9')\n"
        "@app.get('/items/{item_id}')\n"
        "def item(item_id: int) -> dict:\n"
        "    return {}\n"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    assert main(["openapi", "notes_app:app"]) == 0
    printed = json.loads(capsys.readouterr().out)
    validate(printed)
    assert printed["info"] == {"title": "T", "version": "9"}
    assert main(["openapi", "notes_app:app", "--yaml"]) == 0
    assert yaml.safe_load(capsys.readouterr().out) == printed
    assert main(["openapi", "notes_app:app", "-o", "out.json"]) == 0
    assert json.loads((tmp_path / "out.json").read_text()) == printed


def test_openapi_command_errors_are_one_line(tmp_path: pathlib.Path) -> None:
    result = subprocess.run([sys.executable, "-m", "lamroute", "openapi", "nope_module:app"],
                            cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.startswith("lamroute: error: cannot import 'nope_module'")


def _example_apps() -> list[str]:
    found = []
    for path in sorted((ROOT / "examples").glob("*/*.py")):
        if "app = App(" in path.read_text(encoding="utf-8", errors="replace"):
            found.append(".".join(path.relative_to(ROOT).with_suffix("").parts))
    return found


@pytest.mark.parametrize("module", _example_apps())
def test_example_apps_produce_valid_documents(module: str,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(ROOT))
    validate(importlib.import_module(module).app.openapi())
