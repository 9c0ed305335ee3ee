"""The README's quickstart curl commands and local gateway snippet work as written, and so do
the run and test commands of every example in examples/README.md."""

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
        elif arg == "-b":
            headers["Cookie"] = next(args)
        elif arg == "-F":  # name=@file[;type=...]: a multipart upload, as curl builds it
            from urllib3 import encode_multipart_formdata

            name, _, spec = next(args).partition("=@")
            path, _, kind = spec.partition(";type=")
            data, headers["Content-Type"] = encode_multipart_formdata(
                {name: (Path(path).name, (ROOT / path).read_bytes(),
                        kind or "application/octet-stream")})
            method = method or "POST"
        elif arg.startswith("http"):
            url = arg
        else:
            assert arg == "-i", f"curl option {arg!r} is not understood by this test"
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
    code = re.findall(r"```python\n(.*?)```", section("Local gateway and command line"),
                      flags=re.S)[0]
    exec(compile(code, "README:local", "exec"), {})


def test_local_runtime_snippet_runs_as_written(monkeypatch: pytest.MonkeyPatch) -> None:
    """The worker imports examples.notes from the repository, with an in-memory store."""
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("NOTES_DB", ":memory:")
    blocks = re.findall(r"```python\n(.*?)```", section("Local gateway and command line"),
                        flags=re.S)
    (code,) = [block for block in blocks if "LocalRuntime" in block]
    exec(compile(code, "README:local-runtime", "exec"), {})


EXAMPLES_README = (ROOT / "examples" / "README.md").read_text()
EXAMPLE_BLOCKS = re.findall(r"\n## (\w+): .*?```sh\n(.*?)```", EXAMPLES_README, flags=re.S)


def test_examples_readme_describes_every_example() -> None:
    folders = {p.parent.name for p in (ROOT / "examples").glob("*/app.py")}
    assert sorted(name for name, _ in EXAMPLE_BLOCKS) == sorted(folders)


def _fresh_state(module: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Module-level stores start empty, as in a new `lamroute serve` process."""
    if hasattr(module, "NoteStore"):
        monkeypatch.setattr(module, "store", module.NoteStore(":memory:"))
    if isinstance(getattr(module, "NOTES", None), dict):
        monkeypatch.setattr(module, "NOTES", {})


@pytest.mark.parametrize(("name", "block"), EXAMPLE_BLOCKS, ids=[n for n, _ in EXAMPLE_BLOCKS])
def test_examples_readme_commands_work_as_written(name: str, block: str,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Each block: `lamroute serve` (parsed by the real command line), then requests."""
    import argparse
    import importlib
    import json

    from websockets.sync.client import connect

    from lamroute.cli import load_app
    from lamroute.commands import serve
    from lamroute.local.websocket import start
    from lamroute.websocket.connections import ENDPOINT_ENV

    ports: dict[str, int] = {}
    running: list[Any] = []
    try:
        for line in block.replace("\\\n", " ").splitlines():
            command, _, comment = line.partition(" # ")
            argv = shlex.split(command)
            while argv and re.fullmatch(r"[A-Z_]+=.*", argv[0]):
                key, _, value = argv.pop(0).partition("=")
                monkeypatch.setenv(key, value)
            if argv[:2] == ["lamroute", "serve"]:
                parser = argparse.ArgumentParser()
                serve.add_arguments(parser)
                args = parser.parse_args(argv[2:])
                app = load_app(args.app)
                _fresh_state(importlib.import_module(args.app.partition(":")[0]), monkeypatch)
                server = LocalGateway(app, api=args.api, stage=args.stage,
                                      payload_version=args.payload_version, port=0)
                running.append(server)
                if args.authorizer or args.jwt_claims is not None:
                    serve.install_authorizer(server.gateway, args, app)
                server.start()
                ports["3000"] = server.port
                if getattr(app, "websocket_routes", None):
                    websocket = start(app, port=0)
                    running.append(websocket)
                    monkeypatch.setenv(ENDPOINT_ENV, websocket.management_url)
                    ports["3001"] = websocket.port
            elif argv[0] == "curl":
                status, body = run_curl(argv, ports["3000"])
                expected = re.match(r"\s*(\d{3})\b", comment)
                if expected:
                    assert status == int(expected.group(1)), (line, body)
                else:
                    assert 200 <= status < 300, (line, body)
            elif argv[:3] == ["python", "-m", "websockets"]:
                url = argv[3].replace(":3001/", f":{ports['3001']}/")
                sent = re.search(r"send (\{.*\})", comment)
                assert sent, line
                with connect(url, open_timeout=10) as ws:
                    ws.send(sent.group(1))
                    answers = [json.loads(ws.recv(10)), json.loads(ws.recv(10))]
                assert {"from": "alice", "text": "hello"} in answers, answers
            elif argv[0] == "pytest":
                assert list((ROOT / argv[1]).glob("test_*.py")), line
            else:
                pytest.fail(f"examples/README.md: no check for {line!r}")
    finally:
        for server in reversed(running):
            server.stop()


@pytest.mark.parametrize(("fmt", "stage", "location"), [
    ("rest", "prod", "/prod/notes/3"), ("http-v1", "dev", "/dev/notes/3"),
    ("http", None, "/notes/3"), ("url", None, "/notes/3"), ("alb", None, "/notes/3")])
def test_readme_redirect_snippet_stays_behind_the_stage(fmt: str, stage: str | None,
                                                        location: str) -> None:
    from lamroute import App, Request, Response
    from lamroute.testing import TestClient

    (code,) = [block for block in re.findall(r"```python\n(.*?)```",
                                             section("Request and Response"), flags=re.S)
               if "Response.redirect" in block]
    app = App(access_log=False)
    exec(compile(code, "README:redirect", "exec"), {"app": app, "Request": Request,
                                                    "Response": Response})
    response = TestClient(app, format=fmt, stage=stage).get("/n/3")
    assert (response.status_code, response.headers["location"], response.content) == (
        308, location, b"")
