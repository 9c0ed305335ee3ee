"""The notes API: one Lambda function behind an API Gateway proxy resource.

Run it locally with ``make run`` (``lamroute serve examples.notes.app:app``, notes in an
embedded SQLite), deploy it with ``template.yaml`` (notes in DynamoDB: ``NOTES_TABLE``).
Handlers are plain functions: ``get_note(1)`` works in a unit test.
Parameters are typed: path ids are ints, the JSON body is a pydantic model, pagination comes
from constrained query parameters; anything invalid is a 422 problem naming the field. Notes take
file attachments (``multipart/form-data`` uploads, served back with their media type, always
as downloads).
"""

from __future__ import annotations

import sqlite3
from typing import Annotated
from urllib.parse import quote

from lamroute import (
    App,
    File,
    NotFound,
    Path,
    Query,
    Request,
    Response,
    UnprocessableEntity,
    UploadFile,
)
from lamroute.errors import Problem, problem_response

from .models import Attachment, Note, NoteIn, NotePage, NotePatch
from .store import NoteNotFound, StoreUnavailable, make_store

app = App(title="Notes", version="1.0.0")
store = make_store()  # DynamoDB when NOTES_TABLE is set, else the embedded SQLite
MAX_ID = 2**63 - 1  # SQLite's largest INTEGER: a larger id would be a 500, not a 422
NoteId = Annotated[int, Path(ge=1, le=MAX_ID)]  # ids start at 1


@app.exception_handler(NoteNotFound)
def note_not_found(request: Request | None, exc: NoteNotFound) -> Response:
    problem = Problem(404, "Note not found", str(exc), type="/problems/note-not-found",
                      instance=request.url_path if request else None,
                      request_id=request.request_id if request else None)
    return problem_response(problem, request)


@app.exception_handler(StoreUnavailable)
@app.exception_handler(sqlite3.OperationalError)
def store_unavailable(request: Request | None, exc: Exception) -> Response:
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
def list_notes(
    request: Request,
    limit: Annotated[int, Query(ge=1, le=100, description="page size")] = 20,
    after: Annotated[int, Query(ge=0, le=MAX_ID,
                                description="the last id of the previous page")] = 0,
) -> NotePage:
    """One page of notes, oldest first; ``next`` is the URL of the following page."""
    rows, more = store.page(limit=limit, after=after)
    items = [Note.model_validate(row) for row in rows]
    last = items[-1].id if items else after
    next_url = f"{request.url_path}?limit={limit}&after={last}" if more else None
    return NotePage(items=items, next=next_url)


@app.post("/notes", status_code=201)
def create_note(note: NoteIn, request: Request, response: Response) -> Note:
    """Create a note; ``Location`` is its URL (behind the stage or base path too)."""
    created = Note.model_validate(store.create(**note.model_dump()))
    response.headers["Location"] = f"{request.root_path}/notes/{created.id}"
    return created


@app.get("/notes/{note_id}")
def get_note(note_id: NoteId) -> Note:
    return Note.model_validate(store.get(note_id))


@app.put("/notes/{note_id}")
def replace_note(note_id: NoteId, note: NoteIn) -> Note:
    return Note.model_validate(store.update(note_id, note.model_dump()))


@app.patch("/notes/{note_id}")
def update_note(note_id: NoteId, patch: NotePatch) -> Note:
    changes = patch.model_dump(exclude_unset=True)
    if not changes:  # a rule of the app (a 422 problem without `errors`)
        raise UnprocessableEntity("Give at least one of title, body and tags.")
    return Note.model_validate(store.update(note_id, changes))


@app.delete("/notes/{note_id}")
def delete_note(note_id: NoteId) -> None:
    store.delete(note_id)


# A file travels base64-encoded in the Lambda event (4/3 of its size) within Lambda's 6 MB.
MAX_ATTACHMENT = 4 * 1024 * 1024
AttachmentId = Annotated[int, Path(ge=1, le=MAX_ID)]


@app.post("/notes/{note_id}/attachments", status_code=201, max_part_size=MAX_ATTACHMENT,
          max_fields=1, tags=["attachments"])
def attach_file(note_id: NoteId, request: Request, response: Response,
                file: Annotated[UploadFile, File(description="the file to attach")]
                ) -> Attachment:
    """Attach a file to a note (``multipart/form-data``, one part named ``file``).

    Answers 201 with the attachment's URL in ``Location``, 413 past 4 MiB. Through a REST API
    the API needs ``multipart/form-data`` (or ``*/*``) in its binary media types, as
    ``template.yaml`` sets.
    """
    # the client's name is kept as data, made safe (no path, no control characters): the
    # content is stored under the attachment's id
    record = store.attach(note_id, filename=file.safe_filename or "attachment",
                          content_type=file.content_type or "application/octet-stream",
                          content=file.read())
    attachment = Attachment.model_validate(record)
    response.headers["Location"] = (
        f"{request.root_path}/notes/{note_id}/attachments/{attachment.id}")
    return attachment


@app.get("/notes/{note_id}/attachments/{attachment_id}", tags=["attachments"], responses={
    200: {"description": "The file, with the media type it was uploaded with",
          "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}}}})
def download_file(note_id: NoteId, attachment_id: AttachmentId) -> Response:
    """The attached file, named in ``Content-Disposition`` (RFC 6266, UTF-8 names included),
    always as a download (``nosniff`` and a sandbox policy: an uploaded page never runs)."""
    found = store.attachment(note_id, attachment_id)
    if found is None:
        store.get(note_id)  # a missing note is the note's 404
        raise NotFound(f"note {note_id} has no attachment {attachment_id}")
    return Response(found["content"], media_type=found["content_type"],
                    headers={"Content-Disposition": content_disposition(found["filename"]),
                             **DOWNLOAD_HEADERS})


# The media type is the uploader's word: an attachment "text/html" holding a script must not run
# in this API's origin. Browsers save an `attachment` rather than render it; `nosniff` stops
# them from guessing an active type for content labelled otherwise (and makes them honour the
# type given); the sandbox policy keeps scripts and plugins off should the file be rendered all
# the same (a direct navigation in some browsers, a viewer).
DOWNLOAD_HEADERS = {"X-Content-Type-Options": "nosniff",
                    "Content-Security-Policy": "default-src 'none'; sandbox"}


def content_disposition(filename: str) -> str:
    """``attachment; filename="résumé.pdf"`` as every client reads it: an ASCII fallback, and
    the exact name in RFC 5987's ``filename*`` when it is not plain ASCII."""
    fallback = "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_"
                       for c in filename)
    value = f'attachment; filename="{fallback}"'
    if fallback != filename:
        value += f"; filename*=UTF-8''{quote(filename, safe='')}"
    return value
