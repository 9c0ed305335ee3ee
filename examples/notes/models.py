"""The notes API's pydantic models: what clients send and what they get back."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class NoteIn(BaseModel):
    """A note as clients create or replace it."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: str = Field(min_length=1, max_length=200)
    body: str = Field(default="", max_length=10_000)
    tags: list[str] = Field(default_factory=list, max_length=10)


class NotePatch(BaseModel):
    """A partial update: only the fields given change."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: str | None = Field(default=None, min_length=1, max_length=200)
    body: str | None = Field(default=None, max_length=10_000)
    tags: list[str] | None = Field(default=None, max_length=10)


class Note(NoteIn):
    """A stored note."""

    id: int
    created_at: datetime
    updated_at: datetime


class NotePage(BaseModel):
    """One page of notes and the URL of the next one (``None`` on the last page)."""

    items: list[Note]
    next: str | None
