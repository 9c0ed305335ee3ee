"""The notes API through the real Lambda entry point (TestClient), over REST and HTTP API
events, on both stores (embedded SQLite; DynamoDB against moto's server, see conftest.py), plus
one run through the local gateway and the handlers as plain functions."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from urllib3 import encode_multipart_formdata

from lamroute.testing import TestClient

from . import app as notes
from .store import NoteNotFound, NoteStore, StoreUnavailable


@pytest.fixture(autouse=True)
def fresh_store(any_store: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setattr(notes, "store", any_store)
    yield any_store


@pytest.fixture(params=["rest", "http"])
def client(request: pytest.FixtureRequest) -> TestClient:
    return TestClient(notes.app, format=request.param)


def create(client: TestClient, **fields: Any) -> dict[str, Any]:
    response = client.post("/notes", json={"title": "groceries", **fields})
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def test_create_then_read(client: TestClient) -> None:
    response = client.post("/notes", json={"title": "  milk  ", "tags": ["shop"]})
    assert response.status_code == 201
    note = response.json()
    assert (note["id"], note["title"], note["body"], note["tags"]) == (1, "milk", "", ["shop"])
    prefix = "/prod" if client.format == "rest" else ""
    assert response.headers["location"] == f"{prefix}/notes/1"
    assert client.get("/notes/1").json() == note


def test_replace_patch_and_delete(client: TestClient) -> None:
    note = create(client, body="eggs")
    replaced = client.put(f"/notes/{note['id']}", json={"title": "shopping", "tags": ["x"]})
    assert replaced.status_code == 200
    assert (replaced.json()["title"], replaced.json()["body"]) == ("shopping", "")
    patched = client.patch(f"/notes/{note['id']}", json={"body": "bread"})
    assert (patched.json()["title"], patched.json()["body"]) == ("shopping", "bread")
    assert client.delete(f"/notes/{note['id']}").status_code == 204
    assert client.get(f"/notes/{note['id']}").status_code == 404


@pytest.mark.parametrize(("payload", "field"), [
    ({"title": ""}, "title"),
    ({"title": "x" * 201}, "title"),
    ({"title": "ok", "tags": "not-a-list"}, "tags"),
    ({"title": "ok", "colour": "red"}, "colour"),
    ({}, "title"),
])
def test_invalid_notes_are_422_problems_naming_the_field(client: TestClient,
                                                        payload: dict[str, Any],
                                                        field: str) -> None:
    response = client.post("/notes", json=payload)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 422
    assert ["body", field] in [error["loc"] for error in problem["errors"]]


def test_invalid_json_is_a_400_problem(client: TestClient) -> None:
    response = client.post("/notes", body="{not json",
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["detail"]


def test_null_in_a_patch_is_refused(client: TestClient) -> None:
    note = create(client)
    refused = client.patch(f"/notes/{note['id']}", json={"title": None})
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["loc"] == ["body", "title"]


def test_an_empty_patch_is_refused_by_the_app(client: TestClient) -> None:
    note = create(client)
    refused = client.patch(f"/notes/{note['id']}", json={})
    assert refused.status_code == 422 and "errors" not in refused.json()
    assert refused.json()["detail"] == "Give at least one of title, body and tags."


def test_missing_note_uses_the_custom_error_handler(client: TestClient) -> None:
    response = client.get("/notes/42")
    assert response.status_code == 404
    problem = response.json()
    assert problem["type"] == "/problems/note-not-found"
    assert problem["title"] == "Note not found"
    assert problem["instance"].endswith("/notes/42")
    assert client.delete("/notes/42").status_code == 404


def test_note_ids_are_integers(client: TestClient) -> None:
    response = client.get("/notes/abc")
    assert response.status_code == 422
    assert ["path", "note_id"] in [error["loc"] for error in response.json()["errors"]]


@pytest.mark.parametrize("url", [f"/notes/{2**63}", f"/notes/{-2**63 - 1}", "/notes/0",
                                 f"/notes?after={2**63}"])
def test_ids_out_of_range_are_a_422_not_a_500(client: TestClient, url: str) -> None:
    """Schemathesis found ids SQLite cannot bind (OverflowError, a 500); ids start at 1."""
    assert client.get(url).status_code == 422


def test_pagination_walks_every_note_once(client: TestClient) -> None:
    ids = [create(client, body=str(n))["id"] for n in range(7)]
    seen: list[int] = []
    url: str | None = "/notes?limit=3"
    pages = 0
    while url:
        page = client.get(url.removeprefix("/prod")).json()
        seen += [note["id"] for note in page["items"]]
        url = page["next"]
        pages += 1
    assert seen == ids
    assert pages == 3


@pytest.mark.parametrize("query", ["limit=0", "limit=101", "limit=x", "after=-1"])
def test_bad_pagination_is_a_422(client: TestClient, query: str) -> None:
    response = client.get(f"/notes?{query}")
    assert response.status_code == 422
    name = query.split("=")[0]
    assert ["query", name] in [error["loc"] for error in response.json()["errors"]]


def test_store_failure_is_a_503_with_retry_after(client: TestClient, fresh_store: Any,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(note_id: int) -> dict[str, Any]:
        if isinstance(fresh_store, NoteStore):
            raise sqlite3.OperationalError("database is locked")
        raise StoreUnavailable("DynamoDB get_item failed: database is locked (throttled)")

    monkeypatch.setattr(notes.store, "get", broken)
    response = client.get("/notes/1")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert "locked" not in response.text


def test_handlers_are_plain_functions(fresh_store: Any) -> None:
    fresh_store.create(title="plain", body="", tags=[])
    assert notes.get_note(1).title == "plain"
    with pytest.raises(NoteNotFound):
        notes.get_note(2)


def test_through_the_local_gateway_like_make_run() -> None:
    from lamroute.local import LocalGateway

    with LocalGateway(notes.app, port=0) as server:
        created = urllib.request.Request(
            f"{server.url}/notes", method="POST", data=json.dumps({"title": "hello"}).encode(),
            headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(created, timeout=10) as response:
            assert response.status == 201
            assert response.headers["Location"] == "/prod/notes/1"
        with urllib.request.urlopen(f"{server.url}/notes", timeout=10) as response:
            assert [n["title"] for n in json.load(response)["items"]] == ["hello"]


# -- attachments: multipart uploads ---------------------------------------------------------


def upload(client: TestClient, note_id: int, fields: Any) -> Any:
    body, content_type = encode_multipart_formdata(fields)
    return client.post(f"/notes/{note_id}/attachments", body=body,
                       headers={"Content-Type": content_type})


@pytest.mark.parametrize("fmt", ["rest", "http", "url", "alb"])
def test_attach_a_file_and_download_it(fmt: str) -> None:
    client = TestClient(notes.app, format=fmt)
    note = create(client)
    content = os.urandom(200_000)
    response = upload(client, note["id"], {"file": ("Übersicht 📊.bin", content,
                                                     "application/x-report")})
    assert response.status_code == 201, response.text
    attachment = response.json()
    assert (attachment["filename"], attachment["size"]) == ("Übersicht 📊.bin", len(content))
    prefix = "/prod" if fmt == "rest" else ""
    location = f"{prefix}/notes/{note['id']}/attachments/{attachment['id']}"
    assert response.headers["location"] == location
    download = client.get(location.removeprefix(prefix))
    assert download.status_code == 200
    assert download.content == content
    assert download.headers["content-type"] == "application/x-report"
    assert download.headers["content-disposition"] == (
        "attachment; filename=\"_bersicht _.bin\"; "
        "filename*=UTF-8''%C3%9Cbersicht%20%F0%9F%93%8A.bin")
    assert download.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("fmt", ["rest", "http", "url", "alb"])
def test_an_uploaded_html_page_downloads_and_never_runs(fmt: str) -> None:
    """The media type is the uploader's: a page with a script is served as a download that a
    browser neither sniffs nor runs (attachment, nosniff, a sandbox policy)."""
    client = TestClient(notes.app, format=fmt)
    note = create(client)
    page = b"<html><script>fetch('/prod/notes').then(steal)</script></html>"
    uploaded = upload(client, note["id"], {"file": ("../../index.html", page, "text/html")})
    assert uploaded.status_code == 201, uploaded.text
    assert uploaded.json()["filename"] == "index.html"  # the client's path is not kept
    download = client.get(f"/notes/{note['id']}/attachments/{uploaded.json()['id']}")
    assert download.content == page
    assert download.headers["content-type"].startswith("text/html")
    assert download.headers["content-disposition"] == 'attachment; filename="index.html"'
    assert download.headers["x-content-type-options"] == "nosniff"
    assert download.headers["content-security-policy"] == "default-src 'none'; sandbox"


def test_attachment_errors(client: TestClient) -> None:
    note = create(client)
    assert upload(client, 99, {"file": ("a.txt", b"x")}).status_code == 404
    missing = upload(client, note["id"], {"other": "x"})
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["loc"] == ["body", "file"]
    assert upload(client, note["id"], {"file": "text, not a file"}).status_code == 422
    too_big = upload(client, note["id"], {"file": ("big", b"x" * (notes.MAX_ATTACHMENT + 1))})
    assert too_big.status_code == 413
    assert client.get(f"/notes/{note['id']}/attachments/5").status_code == 404
    assert client.get(f"/notes/{note['id']}/attachments/x").status_code == 422


def test_deleting_a_note_deletes_its_attachments(client: TestClient) -> None:
    note = create(client)
    uploaded = upload(client, note["id"], {"file": ("a.txt", b"x")})
    assert uploaded.status_code == 201
    assert notes.store.attachment(note["id"], uploaded.json()["id"]) is not None
    assert client.delete(f"/notes/{note['id']}").status_code == 204
    assert notes.store.attachment(note["id"], uploaded.json()["id"]) is None


def test_upload_through_lamroute_serve() -> None:
    """``lamroute serve`` as a real process (the REST API of ``make run``, ``*/*`` binary media
    types): a 1 MB multipart upload goes through its local gateway base64-encoded, as on AWS,
    and comes back byte for byte."""
    root = Path(__file__).resolve().parents[2]
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "NOTES_DB": ":memory:"}
    process = subprocess.Popen(
        [sys.executable, "-m", "lamroute", "serve", "examples.notes.app:app", "--port", str(port)],
        cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    base = f"http://127.0.0.1:{port}/prod"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{base}/health", timeout=5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        note = urllib.request.Request(f"{base}/notes", method="POST",
                                      data=json.dumps({"title": "with file"}).encode(),
                                      headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(note, timeout=10) as response:
            note_url = response.headers["Location"]
        content = os.urandom(1024 * 1024)
        body, content_type = encode_multipart_formdata({"file": ("scan.pdf", content,
                                                                  "application/pdf")})
        sent = urllib.request.Request(f"http://127.0.0.1:{port}{note_url}/attachments",
                                      method="POST", data=body,
                                      headers={"Content-Type": content_type})
        with urllib.request.urlopen(sent, timeout=30) as response:
            assert response.status == 201
            location = response.headers["Location"]
        fetch = urllib.request.Request(f"http://127.0.0.1:{port}{location}",
                                       headers={"Accept": "application/pdf"})
        with urllib.request.urlopen(fetch, timeout=30) as response:
            assert response.read() == content
    finally:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    assert '"POST /prod/notes/1/attachments" 201' in err
    assert "runs in a worker process (awslambdaric)" in err  # the default: the local runtime
    assert "Traceback" not in err
