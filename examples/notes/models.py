"""The notes API's pydantic models: what clients send and what they get back."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class NoteIn(BaseModel):
    """A note as clients create or replace it."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: str = Field(min_length=1, max_length=200)
    body: str = Field(default="", max_length=10_000)
    tags: list[str] = Field(default_factory=list, max_length=10)


def _patch_schema(schema: dict[str, Any]) -> None:
    """Document the patch as the API takes it: fields may be left out, never null (no
    ``default: null``), and at least one is given (a rule the handler enforces)."""
    for field in schema["properties"].values():
        field.pop("default", None)
    schema["minProperties"] = 1


class NotePatch(BaseModel):
    """A partial update: only the fields given change; at least one, and none of them null.

    ``str = None`` rather than ``str | None``: a field may be left out, but ``null`` is no
    title, and the OpenAPI document says so (a ``str | None`` field is documented nullable).
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True,
                              json_schema_extra=_patch_schema)

    title: str = Field(default=None, min_length=1, max_length=200)
    body: str = Field(default=None, max_length=10_000)
    tags: list[str] = Field(default=None, max_length=10)


class Note(NoteIn):
    """A stored note."""

    id: int
    created_at: datetime
    updated_at: datetime


class NotePage(BaseModel):
    """One page of notes and the URL of the next one (``None`` on the last page)."""

    items: list[Note]
    next: str | None


class Attachment(BaseModel):
    """A file attached to a note (its content is at the URL in ``Location``)."""

    id: int
    note_id: int
    filename: str
    content_type: str
    size: int
    created_at: datetime
