"""The notes API's stores for the tests: the embedded SQLite one, and the DynamoDB one against
moto's server (``moto[server]``), started on 127.0.0.1 for the session and stopped after it."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from .store import NoteStore

REGION = "eu-west-1"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """``python -m moto.server`` on a free 127.0.0.1 port: a real HTTP DynamoDB endpoint."""
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=2):
                    break
            except (urllib.error.URLError, ConnectionError):
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("moto's server did not start") from None
                time.sleep(0.1)
        yield endpoint
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture
def dynamodb_env(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """boto3 pointed at moto (endpoint, region, throwaway credentials); returns a new table's
    name, created as template.yaml declares it."""
    for name, value in {"AWS_ENDPOINT_URL_DYNAMODB": moto_endpoint, "AWS_DEFAULT_REGION": REGION,
                        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"
                        }.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    import boto3

    from .dynamo_store import create_table

    table = f"notes-{uuid.uuid4().hex[:12]}"
    create_table(boto3.client("dynamodb"), table)
    return table


@pytest.fixture(params=["sqlite", "dynamodb"])
def any_store(request: pytest.FixtureRequest) -> Any:
    """Each store the app can run on (``NOTES_TABLE`` unset / set)."""
    if request.param == "sqlite":
        return NoteStore(":memory:")
    from .dynamo_store import DynamoNoteStore

    table = request.getfixturevalue("dynamodb_env")
    request.getfixturevalue("monkeypatch").setenv("NOTES_TABLE", table)
    return DynamoNoteStore(table)
