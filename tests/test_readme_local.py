"""The README's quickstart curl commands and local gateway snippet work as written."""

from __future__ import annotations

import re
import shlex
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lamroute.local import LocalGateway

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def section(title: str) -> str:
    return README.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


def curl_commands(text: str) -> list[list[str]]:
    (block,) = re.findall(r"```sh\n(curl.*?)```", text, flags=re.S)
    joined = block.replace("\\\n", " ")
    return [shlex.split(line, comments=True) for line in joined.splitlines() if line.strip()]


@pytest.fixture(autouse=True)
def repository_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """As for `make run`, whose cwd is the repository: `examples` is importable."""
    monkeypatch.syspath_prepend(str(ROOT))


@pytest.fixture
def notes_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalGateway]:
    from examples.notes import app as notes
    from examples.notes.store import NoteStore

    monkeypatch.setattr(notes, "store", NoteStore(":memory:"))
    with LocalGateway(notes.app, port=0) as server:  # `make run`'s defaults: REST, stage prod
        yield server


def run_curl(argv: list[str], port: int) -> tuple[int, Any]:
    assert argv[0] == "curl"
    method, data, headers, url = None, None, {}, None
    args = iter(argv[1:])
    for arg in args:
        if arg == "-X":
            method = next(args)
        elif arg == "-H":
            name, _, value = next(args).partition(":")
            headers[name.strip()] = value.strip()
        elif arg == "-d":
            data = next(args).encode()
        elif arg.startswith("http"):
            url = arg
    assert url is not None and url.startswith("http://127.0.0.1:3000/")
    url = url.replace(":3000/", f":{port}/")
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_make_run_serves_the_notes_app_on_port_3000() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert "lamroute serve examples.notes.app:app --port 3000" in makefile


def test_quickstart_curl_commands_work_against_make_run(notes_server: LocalGateway) -> None:
    commands = curl_commands(section("Quickstart"))
    results = [run_curl(argv, notes_server.port) for argv in commands]
    assert [status for status, _ in results] == [201, 200, 404]
    assert b'"title":"hello"' in results[1][1]


def test_local_gateway_snippet_runs_as_written(monkeypatch: pytest.MonkeyPatch) -> None:
    from examples.notes import app as notes
    from examples.notes.store import NoteStore

    monkeypatch.setattr(notes, "store", NoteStore(":memory:"))
    (code,) = re.findall(r"```python\n(.*?)```", section("Local gateway and command line"),
                         flags=re.S)
    exec(compile(code, "README:local", "exec"), {})
