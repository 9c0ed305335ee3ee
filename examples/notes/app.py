"""The notes API: one Lambda function behind an API Gateway proxy resource.

Run it locally with ``make run`` (``lamroute serve examples.notes.app:app``), deploy it with
``template.yaml``. Handlers are plain functions: ``get_note("1")`` works in a unit test.
"""

from __future__ import annotations

import sqlite3
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from lamroute import App, Request, Response, UnprocessableEntity
from lamroute.problems import Problem, problem_response

from .models import Note, NoteIn, NotePage, NotePatch, Page
from .store import NoteNotFound, NoteStore

M = TypeVar("M", bound=BaseModel)

app = App(title="Notes", version="1.0.0")
store = NoteStore()


def validate(model: type[M], data: Any) -> M:
    """``model`` from ``data``, or a 422 problem listing every invalid field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]}
                  for e in exc.errors(include_url=False)]
        raise UnprocessableEntity(f"{model.__name__} is invalid",
                                  extra={"errors": errors}) from None


def note_id_of(raw: str) -> int:
    """Note ids are positive integers; anything else names no note."""
    if not raw.isdigit():
        raise NoteNotFound(0)
    return int(raw)


@app.exception_handler(NoteNotFound)
def note_not_found(request: Request | None, exc: NoteNotFound) -> Response:
    problem = Problem(404, "Note not found", str(exc), type="/problems/note-not-found",
                      instance=request.url_path if request else None,
                      request_id=request.request_id if request else None)
    return problem_response(problem, request)


@app.exception_handler(sqlite3.OperationalError)
def store_unavailable(request: Request | None, exc: sqlite3.OperationalError) -> Response:
    app.app_logger.error("note store failed: %s", exc)
    problem = Problem(503, "Service Unavailable", "The note store is unavailable; retry later.",
                      request_id=request.request_id if request else None)
    response = problem_response(problem, request)
    response.headers.add("Retry-After", "5")
    return response


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/notes")
def list_notes(request: Request) -> NotePage:
    page = validate(Page, {k: request.query.get(k) for k in ("limit", "after")
                           if k in request.query})
    rows, more = store.page(limit=page.limit, after=page.after)
    items = [Note.model_validate(row) for row in rows]
    after = items[-1].id if items else page.after
    next_url = f"{request.url_path}?limit={page.limit}&after={after}" if more else None
    return NotePage(items=items, next=next_url)


@app.post("/notes", status_code=201)
def create_note(request: Request) -> Response:
    data = validate(NoteIn, request.json())
    note = Note.model_validate(store.create(**data.model_dump()))
    location = f"{request.root_path}/notes/{note.id}"
    return Response.json(note.model_dump(mode="json"), 201, headers={"Location": location})


@app.get("/notes/{note_id}")
def get_note(note_id: str) -> Note:
    return Note.model_validate(store.get(note_id_of(note_id)))


@app.put("/notes/{note_id}")
def replace_note(note_id: str, request: Request) -> Note:
    data = validate(NoteIn, request.json())
    return Note.model_validate(store.update(note_id_of(note_id), data.model_dump()))


@app.patch("/notes/{note_id}")
def update_note(note_id: str, request: Request) -> Note:
    changes = validate(NotePatch, request.json()).model_dump(exclude_unset=True)
    if any(value is None for value in changes.values()):
        raise UnprocessableEntity("title, body and tags cannot be null")
    return Note.model_validate(store.update(note_id_of(note_id), changes))


@app.delete("/notes/{note_id}")
def delete_note(note_id: str) -> None:
    store.delete(note_id_of(note_id))
