"""Notes behind a Cognito JWT authorizer, with a partner area behind a lamroute Lambda authorizer.

The HTTP API validates tokens before the function runs (``template.yaml``); the app decides who
may do what from ``request.auth``:

- ``/notes`` needs a Cognito user (any route of the app without ``public=True``);
- ``DELETE /notes/{note_id}`` needs the ``notes/admin`` scope or the ``admins`` group;
- ``/partner/...`` is reached through the Lambda authorizer in ``authorizer.py``, whose
  context (``tier``, scopes) arrives as a ``lambda`` identity;
- ``/health`` is public.
"""

from __future__ import annotations

from typing import Annotated, Any

from lamroute import App, Depends, Identity, NotFound, Request, Response
from lamroute.routing.routes import Handler
from lamroute.security.cors import CORS
from lamroute.security.guards import current_identity, requires

app = App(
    title="Notes with authorizers",
    version="1.0.0",
    openapi_url="/openapi.json",
    auth=requires(kinds=["jwt", "cognito"], scheme="cognito"),
    cors=CORS(allow_origins=["https://notes.example.com", "https://*.preview.example.com"],
              allow_headers=["Authorization", "Content-Type"], allow_credentials=True),
)
NOTES: dict[str, dict[str, Any]] = {}


@app.middleware
def owner_header(request: Request, call_next: Handler) -> Response:
    """Tell the client who the API thinks it is (handy when debugging tokens)."""
    response = call_next(request)
    if request.auth.principal_id is not None:
        response.headers.set("X-Principal", request.auth.principal_id)
    return response


@app.get("/health", public=True)
def health() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/notes")
def list_notes(user: Annotated[Identity, Depends(current_identity)]) -> list[dict[str, Any]]:
    return [note for note in NOTES.values() if note["owner"] == user.principal_id]


@app.post("/notes", status_code=201)
def create_note(request: Request) -> dict[str, Any]:
    body = request.json()
    note = {"id": str(len(NOTES) + 1), "owner": current_identity(request).principal_id,
            "text": str(body.get("text", "")) if isinstance(body, dict) else ""}
    NOTES[note["id"]] = note
    return note


def is_admin(identity: Any) -> bool:
    return bool(identity.has_scopes("notes/admin") or identity.in_group("admins"))


@app.delete("/notes/{note_id}", auth=requires(is_admin, scheme="cognito",
                                              kinds=["jwt", "cognito"]))
def delete_note(note_id: str) -> None:
    if NOTES.pop(note_id, None) is None:
        raise NotFound(f"Note {note_id} does not exist.")


@app.get("/partner/reports", auth=requires(kinds=["lambda"], scopes=["reports/read"],
                                           scheme="partner"))
def partner_reports(request: Request) -> dict[str, Any]:
    who = request.auth
    return {"partner": who.principal_id, "tier": who.context.get("tier"),
            "reports": ["2026-q1", "2026-q2"]}
