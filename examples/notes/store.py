"""An embedded SQLite store for notes (stdlib ``sqlite3``, no server to run).

``NOTES_DB`` names the database file; by default it is in memory, and under Lambda in ``/tmp``
(the only writable place; it lives as long as the container). With ``NOTES_TABLE`` set the app
uses a DynamoDB table instead (:mod:`examples.notes.dynamo_store`), shared by every container:
:func:`make_store` picks one.

>>> store = NoteStore(":memory:")
>>> note = store.create(title="hi", body="", tags=[])
>>> store.get(note["id"])["title"]
'hi'
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from datetime import datetime, timezone
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS notes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    tags TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
)
"""


ATTACHMENTS = """
CREATE TABLE IF NOT EXISTS attachments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    note_id INTEGER NOT NULL REFERENCES notes (id) ON DELETE CASCADE,
    filename TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    content BLOB NOT NULL,
    created_at TEXT NOT NULL
)
"""


class StoreUnavailable(RuntimeError):
    """The store cannot answer now (a locked database, a throttled or unreachable table)."""


class NoteNotFound(LookupError):
    """No note with this id."""

    def __init__(self, note_id: int) -> None:
        super().__init__(f"note {note_id} does not exist")
        self.note_id = note_id


def default_path() -> str:
    if "NOTES_DB" in os.environ:
        return os.environ["NOTES_DB"]
    return "/tmp/notes.sqlite3" if "AWS_LAMBDA_FUNCTION_NAME" in os.environ else ":memory:"


def make_store() -> Any:
    """The DynamoDB store when ``NOTES_TABLE`` names a table, else SQLite (``NOTES_DB``)."""
    table = os.environ.get("NOTES_TABLE")
    if table:
        from .dynamo_store import DynamoNoteStore

        return DynamoNoteStore(table)
    return NoteStore()


def _now() -> str:
    return datetime.now(timezone.utc).isoformat()


class NoteStore:
    """Notes in one SQLite database; safe to share between threads (one lock)."""

    def __init__(self, path: str | None = None) -> None:
        self.path = path or default_path()
        self._db = sqlite3.connect(self.path, check_same_thread=False)
        self._db.row_factory = sqlite3.Row
        self._lock = threading.Lock()
        with self._lock, self._db:
            self._db.execute("PRAGMA foreign_keys = ON")
            self._db.execute(SCHEMA)
            self._db.execute(ATTACHMENTS)

    def _row(self, row: sqlite3.Row) -> dict[str, Any]:
        note = dict(row)
        note["tags"] = json.loads(note["tags"])
        return note

    def create(self, *, title: str, body: str, tags: list[str]) -> dict[str, Any]:
        now = _now()
        with self._lock, self._db:
            cursor = self._db.execute(
                "INSERT INTO notes (title, body, tags, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?)", (title, body, json.dumps(tags), now, now))
            note_id = int(cursor.lastrowid or 0)
        return self.get(note_id)

    def get(self, note_id: int) -> dict[str, Any]:
        with self._lock:
            row = self._db.execute("SELECT * FROM notes WHERE id = ?", (note_id,)).fetchone()
        if row is None:
            raise NoteNotFound(note_id)
        return self._row(row)

    def page(self, *, limit: int, after: int) -> tuple[list[dict[str, Any]], bool]:
        """Up to ``limit`` notes with ids above ``after``, and whether more follow."""
        with self._lock:
            rows = self._db.execute("SELECT * FROM notes WHERE id > ? ORDER BY id LIMIT ?",
                                    (after, limit + 1)).fetchall()
        return [self._row(r) for r in rows[:limit]], len(rows) > limit

    def update(self, note_id: int, changes: dict[str, Any]) -> dict[str, Any]:
        if "tags" in changes:
            changes = {**changes, "tags": json.dumps(changes["tags"])}
        columns = [c for c in ("title", "body", "tags") if c in changes]
        assignments = ", ".join(f"{c} = ?" for c in [*columns, "updated_at"])
        values = [changes[c] for c in columns]
        with self._lock, self._db:
            cursor = self._db.execute(f"UPDATE notes SET {assignments} WHERE id = ?",
                                      (*values, _now(), note_id))
        if cursor.rowcount == 0:
            raise NoteNotFound(note_id)
        return self.get(note_id)

    def delete(self, note_id: int) -> None:
        with self._lock, self._db:
            cursor = self._db.execute("DELETE FROM notes WHERE id = ?", (note_id,))
        if cursor.rowcount == 0:
            raise NoteNotFound(note_id)

    def attach(self, note_id: int, *, filename: str, content_type: str,
               content: bytes) -> dict[str, Any]:
        """Store a file for note ``note_id``; its record, without the content."""
        self.get(note_id)  # NoteNotFound first
        with self._lock, self._db:
            cursor = self._db.execute(
                "INSERT INTO attachments (note_id, filename, content_type, size, content, "
                "created_at) VALUES (?, ?, ?, ?, ?, ?)",
                (note_id, filename, content_type, len(content), content, _now()))
            attachment_id = int(cursor.lastrowid or 0)
        found = self.attachment(note_id, attachment_id)
        found.pop("content")
        return found

    def attachment(self, note_id: int, attachment_id: int) -> dict[str, Any] | None:
        """The attachment with its content, or ``None``."""
        with self._lock:
            row = self._db.execute("SELECT * FROM attachments WHERE id = ? AND note_id = ?",
                                   (attachment_id, note_id)).fetchone()
        return dict(row) if row is not None else None
