"""The notes API on DynamoDB: the store is picked by ``NOTES_TABLE``, shared by every container,
declared by template.yaml, and ``make run`` still needs nothing but Python (SQLite)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from lamroute.testing import TestClient

from . import app as notes
from .dynamo_store import ATTRIBUTES, KEY_SCHEMA, DynamoNoteStore
from .store import NoteStore, make_store

ROOT = Path(__file__).resolve().parents[2]


def test_notes_table_selects_dynamodb(dynamodb_env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOTES_TABLE", dynamodb_env)
    store = make_store()
    assert isinstance(store, DynamoNoteStore) and store.table == dynamodb_env
    monkeypatch.delenv("NOTES_TABLE")
    assert isinstance(make_store(), NoteStore)


def test_notes_are_shared_by_every_container(dynamodb_env: str,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Two containers (two stores on one table) see the same notes and never reuse an id,
    which the per-container SQLite store could not give."""
    first, second = DynamoNoteStore(dynamodb_env), DynamoNoteStore(dynamodb_env)
    monkeypatch.setattr(notes, "store", first)
    created = TestClient(notes.app, format="http").post("/notes", json={"title": "one"}).json()
    monkeypatch.setattr(notes, "store", second)
    client = TestClient(notes.app, format="rest")
    assert client.get(f"/notes/{created['id']}").json()["title"] == "one"
    assert client.post("/notes", json={"title": "two"}).json()["id"] == created["id"] + 1
    assert [n["title"] for n in client.get("/notes").json()["items"]] == ["one", "two"]


@pytest.mark.parametrize("fmt", ["rest", "http"])
def test_an_unavailable_table_is_a_503_with_retry_after(dynamodb_env: str, fmt: str,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(notes, "store", DynamoNoteStore(dynamodb_env + "-missing"))
    response = TestClient(notes.app, format=fmt).get("/notes/1")
    assert (response.status_code, response.headers["retry-after"]) == (503, "5")
    assert "missing" not in response.text  # the service's message stays in the log


def test_template_creates_the_table_and_grants_access() -> None:
    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("!", lambda loader, suffix, node: {suffix: node.value})
    template = yaml.load((Path(__file__).parent / "template.yaml").read_text(), Loader=Loader)
    resources = template["Resources"]
    table = resources["NotesTable"]
    assert table["Type"] == "AWS::DynamoDB::Table"
    assert table["Properties"]["KeySchema"] == KEY_SCHEMA
    assert table["Properties"]["AttributeDefinitions"] == ATTRIBUTES
    function = resources["NotesFunction"]["Properties"]
    assert function["Environment"]["Variables"]["NOTES_TABLE"] == {"Ref": "NotesTable"}
    assert function["Policies"] == [{"DynamoDBCrudPolicy": {"TableName": {"Ref": "NotesTable"}}}]


def test_make_run_needs_nothing_but_python() -> None:
    """Without NOTES_TABLE the app never imports boto3: here it cannot, and still serves."""
    script = textwrap.dedent('''
        import os, sys
        os.environ.pop("NOTES_TABLE", None)
        sys.modules["boto3"] = sys.modules["botocore"] = None  # any import of them fails
        from examples.notes.app import app
        from lamroute.testing import TestClient
        client = TestClient(app)
        assert client.post("/notes", json={"title": "hi"}).status_code == 201
        print(client.get("/notes/1").json()["title"])
    ''')
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "hi"
