"""Cold start (issue 18): work done once per registration, and none for what a request skips.

No timing here: each test checks that a piece of work is not done (twice, or at all), which is
what the cold-start benchmark (``tests/benchmarks/cold.py``) measures.
"""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
from typing import Any

import pytest
from pydantic import BaseModel

from lamroute import App
from lamroute.routing import table
from lamroute.testing import make_event

FORMATS = ("rest", "http", "http-v1", "url", "alb")


def _run(code: str) -> Any:
    """The JSON the code prints last, run in a fresh interpreter."""
    out = subprocess.check_output([sys.executable, "-c", code], text=True)
    return json.loads(out.splitlines()[-1])


def test_import_lamroute_formats_no_millisecond_table() -> None:
    # The access line's `.042Z` strings are made as lines need them, not 1000 at import.
    code = ("import json, lamroute, lamroute.logs as logs;"
            "print(json.dumps([len(logs._MILLISECONDS), logs.utc_timestamp(0.042),"
            " len(logs._MILLISECONDS)]))")
    assert _run(code) == [0, "1970-01-01T00:00:00.042Z", 1]


def test_a_route_template_is_parsed_once_per_registration(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []
    real = table._PARAM

    class Counting:
        def match(self, segment: str) -> Any:
            seen.append(segment)
            return real.match(segment)

    monkeypatch.setattr(table, "_PARAM", Counting())
    app = App(access_log=False)
    app.get("/parsed-once/{item_id}/template")(lambda item_id: {"id": item_id})
    assert seen.count("{item_id}") == 1  # the router's check, then the app's compile: one parse
    for fmt in FORMATS:
        event = make_event(fmt, "GET", "/parsed-once/7/template")
        assert json.loads(app(event, None)["body"]) == {"id": "7"}


@pytest.mark.parametrize("asynchronous", [False, True])
def test_a_handler_kind_is_read_once_per_registration(
        monkeypatch: pytest.MonkeyPatch, asynchronous: bool) -> None:
    if asynchronous:
        async def handler(item_id: int) -> dict[str, int]:
            return {"id": item_id}
    else:
        def handler(item_id: int) -> dict[str, int]:  # type: ignore[misc]
            return {"id": item_id}

    asked: list[Any] = []
    real = inspect.iscoroutinefunction

    def counting(func: Any) -> bool:
        if func is handler:
            asked.append(func)
        return real(func)

    monkeypatch.setattr(inspect, "iscoroutinefunction", counting)
    app = App(access_log=False)
    app.get("/kind-once/{item_id}")(handler)
    monkeypatch.undo()
    assert len(asked) == 1  # the signature's analysis; the chain's wiring reuses it
    assert app.table.match("GET", "/kind-once/3").target.is_async is asynchronous
    for fmt in FORMATS:
        answer = app(make_event(fmt, "GET", "/kind-once/3"), None)
        assert json.loads(answer["body"]) == {"id": 3}


class Note(BaseModel):
    text: str
    stars: float = 0.0


def test_a_model_body_and_response_load_no_type_adapter() -> None:
    # A complete model validates with its own validator and serializer (what TypeAdapter(model)
    # would use): pydantic's type_adapter module never loads for it; validation is unchanged.
    code = """
import json, sys
from pydantic import BaseModel
from lamroute import App
from lamroute.testing import make_event

class Note(BaseModel):
    text: str
    stars: float = 0.0

app = App(access_log=False)

@app.post("/notes", status_code=201)
def create(note: Note) -> Note:
    return note

answers = []
for fmt in ("rest", "http", "http-v1", "url", "alb"):
    for body in ({"text": "hi", "stars": 2}, {"stars": "NaN"}):
        answer = app(make_event(fmt, "POST", "/notes", json=body), None)
        answers.append([answer["statusCode"], json.loads(answer["body"])])
print(json.dumps([answers, "pydantic.type_adapter" in sys.modules]))
"""
    answers, loaded = _run(code)
    assert not loaded
    for (created, body), (refused, problem) in zip(answers[::2], answers[1::2], strict=True):
        assert (created, body) == (201, {"text": "hi", "stars": 2.0})
        assert refused == 422
        assert {(tuple(e["loc"]), e["type"]) for e in problem["errors"]} == {
            (("body", "text"), "missing"), (("body", "stars"), "finite_number")}


def test_a_model_response_still_documents_its_schema() -> None:
    app = App(access_log=False)

    @app.get("/notes/{note_id}")
    def read(note_id: int) -> Note:
        return Note(text=str(note_id))

    ok = app.openapi()["paths"]["/notes/{note_id}"]["get"]["responses"]["200"]
    assert ok["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Note"}
    for fmt in FORMATS:
        answer = app(make_event(fmt, "GET", "/notes/5"), None)
        assert json.loads(answer["body"]) == {"text": "5", "stars": 0.0}
