"""Real answers of the example apps, validated against the apps' own OpenAPI documents.

Each request provokes one answer the app can give (success, 400, 401, 403, 404, 413, 415, the
binder's 422 and the app's own 422, 500, 503, 504), in every payload format; the answer's status
must be declared by its operation (exactly or as ``4XX``/``5XX``), its media type listed, and
its body valid against the declared schema (JSON Schema 2020-12, as OpenAPI 3.1 uses).
"""

from __future__ import annotations

import importlib
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from jsonschema import Draft202012Validator, FormatChecker
from openapi_spec_validator import validate

from lamroute import App
from lamroute.openapi.document import openapi_path
from lamroute.testing import TestClient, TestResponse

ROOT = Path(__file__).resolve().parent.parent
FORMATS = ["rest", "http-v1", "http", "url", "alb"]


def example(name: str, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """``examples.<name>.app``, importable as from the repository root (as ``make run`` does)."""
    monkeypatch.syspath_prepend(str(ROOT))
    return importlib.import_module(f"examples.{name}.app")


def undocumented(document: dict[str, Any], method: str, template: str,
                 response: TestResponse) -> list[str]:
    """What the document fails to describe about ``response`` to ``method template``."""
    operation = document["paths"][openapi_path(template)][method.lower()]
    declared = operation["responses"]
    status = response.status_code
    key = next((k for k in (str(status), f"{status // 100}XX", "default") if k in declared),
               None)
    if key is None:
        return [f"status {status} is not declared (only {sorted(declared)})"]
    answer = declared[key]
    while "$ref" in answer:
        answer = _pointer(document, answer["$ref"])
    content = answer.get("content") or {}
    if not response.content:
        return []
    media = (response.headers.get("content-type") or "").split(";")[0].strip()
    listed = next((key for key in (media, media.split("/")[0] + "/*", "*/*") if key in content),
                  None)
    if listed is None:
        return [f"{status} answered {media!r}, the document lists {sorted(content)}"]
    schema = content[listed].get("schema", {})
    if not media.endswith("json"):
        return []
    # The declared schema under a root that holds the components, so `#/components/...` resolves.
    root = {"components": document["components"], "allOf": [schema]}
    validator = Draft202012Validator(root, format_checker=FormatChecker())
    return [f"{status} body at {list(e.absolute_path)}: {e.message}"
            for e in validator.iter_errors(response.json())]


def _pointer(document: dict[str, Any], ref: str) -> Any:
    node: Any = document
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node


@pytest.fixture
def notes(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    """The notes example on an empty in-memory store."""
    module = example("notes", monkeypatch)
    store = importlib.import_module("examples.notes.store")
    monkeypatch.setattr(module, "store", store.NoteStore(":memory:"))
    yield module


def _fail_with(exc: BaseException) -> Callable[..., Any]:
    def fail(*args: Any, **kwargs: Any) -> Any:
        raise exc
    return fail


def _slow(*args: Any, **kwargs: Any) -> Any:
    time.sleep(2)


# (method, path the client calls, route template, request options, expected status, store patch)
NOTES_ANSWERS: list[tuple[str, str, str, dict[str, Any], int, Any]] = [
    ("GET", "/health", "/health", {}, 200, None),
    ("POST", "/notes", "/notes", {"json": {"title": "hello", "tags": ["demo"]}}, 201, None),
    ("GET", "/notes?limit=1", "/notes", {}, 200, None),
    ("GET", "/notes/1", "/notes/{note_id}", {}, 200, None),
    ("PUT", "/notes/1", "/notes/{note_id}", {"json": {"title": "again"}}, 200, None),
    ("PATCH", "/notes/1", "/notes/{note_id}", {"json": {"body": "more"}}, 200, None),
    ("POST", "/notes", "/notes", {"body": "{not json",
                                  "headers": {"Content-Type": "application/json"}}, 400, None),
    ("GET", "/notes/999", "/notes/{note_id}", {}, 404, None),
    ("POST", "/notes", "/notes", {"body": "hello",
                                  "headers": {"Content-Type": "text/plain"}}, 415, None),
    ("PATCH", "/notes/1", "/notes/{note_id}", {"json": {"title": None}}, 422, None),
    ("PATCH", "/notes/1", "/notes/{note_id}", {"json": {}}, 422, None),  # the app's own 422
    ("PATCH", "/notes/1", "/notes/{note_id}", {"json": {"title": ""}}, 422, None),
    ("GET", "/notes?limit=0", "/notes", {}, 422, None),
    ("GET", "/notes/abc", "/notes/{note_id}", {}, 422, None),
    ("PUT", f"/notes/{2**63}", "/notes/{note_id}", {"json": {"title": "x"}}, 422, None),
    ("PUT", f"/notes/{-2**63 - 1}", "/notes/{note_id}", {"json": {"title": "x"}}, 422, None),
    ("GET", f"/notes?after={2**63}", "/notes", {}, 422, None),
    ("GET", "/notes/1", "/notes/{note_id}", {}, 500, ("get", RuntimeError("bug"))),
    ("GET", "/notes/1", "/notes/{note_id}", {}, 503,
     ("get", sqlite3.OperationalError("disk I/O error"))),
    ("GET", "/notes/1", "/notes/{note_id}", {}, 504, ("get", None)),
    ("POST", "/notes/1/attachments", "/notes/{note_id}/attachments",
     {"files": {"file": ("é.txt", b"hi", "text/plain")}}, 201, None),
    ("GET", "/notes/1/attachments/1", "/notes/{note_id}/attachments/{attachment_id}", {}, 200,
     None),
    ("GET", "/notes/1/attachments/9", "/notes/{note_id}/attachments/{attachment_id}", {}, 404,
     None),
    ("POST", "/notes/1/attachments", "/notes/{note_id}/attachments", {"data": {"a": "b"}}, 422,
     None),
    ("POST", "/notes/1/attachments", "/notes/{note_id}/attachments",
     {"files": {"file": ("big", b"x" * (4 * 1024 * 1024 + 1))}}, 413, None),
    ("POST", "/notes/1/attachments", "/notes/{note_id}/attachments",
     {"body": b"--x\r\n", "headers": {"Content-Type": "multipart/form-data; boundary=x"}},
     400, None),
    ("DELETE", "/notes/1", "/notes/{note_id}", {}, 204, None),
]


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_notes_answer_matches_the_notes_document(fmt: str, notes: ModuleType,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    document = notes.app.openapi()
    validate(document)
    client = TestClient(notes.app, format=fmt)
    # A 600 ms Lambda budget for the slow store: the deadline (504) comes after 100 ms.
    hurried = TestClient(notes.app, format=fmt, timeout_ms=600)
    found: dict[str, list[str]] = {}
    for method, path, template, options, status, patch in NOTES_ANSWERS:
        with monkeypatch.context() as patched:
            if patch is not None:
                name, exc = patch
                patched.setattr(notes.store, name, _fail_with(exc) if exc else _slow)
            sender = hurried if patch is not None and patch[1] is None else client
            response = sender.request(method, path, **options)
        assert response.status_code == status, (method, path, response.text)
        problems = undocumented(document, method, template, response)
        if problems:
            found[f"{method} {path} ({status})"] = problems
    assert found == {}


def test_app_raised_422_without_errors_is_documented(notes: ModuleType) -> None:
    """The Schemathesis finding: a 422 the app raises itself (``UnprocessableEntity``) has no
    ``errors``, and the document declared ``errors`` required on every 422."""
    document = notes.app.openapi()
    client = TestClient(notes.app, format="http")
    client.post("/notes", json={"title": "hello"})
    response = client.patch("/notes/1", json={})
    assert response.status_code == 422 and "errors" not in response.json()
    assert undocumented(document, "PATCH", "/notes/{note_id}", response) == []
    validation = client.patch("/notes/1", json={"title": None})
    assert validation.json()["errors"][0]["loc"] == ["body", "title"]
    assert undocumented(document, "PATCH", "/notes/{note_id}", validation) == []


def test_notes_patch_schema_refuses_what_the_app_refuses(notes: ModuleType) -> None:
    """Schemathesis's other finding: a null title was schema-valid, yet answered 422."""
    from jsonschema import Draft202012Validator

    document = notes.app.openapi()
    root = {"components": document["components"],
            "$ref": "#/components/schemas/NotePatch"}
    validator = Draft202012Validator(root)
    assert not validator.is_valid({"title": None})
    assert not validator.is_valid({})
    assert validator.is_valid({"body": "more"})


USER = {"principal_id": "user-1", "scopes": ["openid"]}


@pytest.mark.parametrize("fmt", ["rest", "http"])
def test_auth_example_401_and_403_match_its_document(fmt: str,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    auth_example = example("auth", monkeypatch)
    monkeypatch.setattr(auth_example, "NOTES", {})
    document = auth_example.app.openapi()
    validate(document)
    client = TestClient(auth_example.app, format=fmt)
    answers = [
        ("GET", "/notes", client.get("/notes"), 401),
        ("POST", "/notes", client.post("/notes", json={"text": "hi"}, identity=USER), 201),
        ("DELETE", "/notes/{note_id}", client.delete("/notes/1", identity=USER), 403),
        ("GET", "/partner/reports", client.get("/partner/reports", identity=USER), 403),
        ("GET", "/health", client.get("/health"), 200),
    ]
    for method, template, response, status in answers:
        assert response.status_code == status
        assert undocumented(document, method, template, response) == [], (method, template)


@pytest.mark.parametrize("fmt", FORMATS)
def test_413_answers_match_the_document(fmt: str) -> None:
    app = App(access_log=False, max_body_size=16)

    @app.post("/upload")
    def upload(data: dict[str, int]) -> dict[str, int]:
        return data

    document = app.openapi()
    client = TestClient(app, format=fmt)
    answers = [
        (client.post("/upload", json={"a": 1}), 200),
        (client.post("/upload", json={"a": 1, "b": 2, "c": 3}), 413),
        (client.post("/upload", json={"a": "x"}), 422),
    ]
    for response, status in answers:
        assert response.status_code == status
        assert undocumented(document, "POST", "/upload", response) == []
