"""`lamroute serve --log-format pretty|json`: what a developer reads in the terminal."""

from __future__ import annotations

import io
import json
import os
import pty
import re
import select
import signal
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from lamroute.local.terminal import Style, Terminal, default_mode, render_access, render_line

APP = textwrap.dedent('''
    from lamroute import App

    app = App()

    @app.get("/hello/{name}")
    def hello(name: str) -> dict:
        app.app_logger.warning("greeting %s", name, extra={"mood": "fine"})
        return {"hello": name}

    @app.get("/crash")
    def crash() -> None:
        raise ZeroDivisionError("no greetings left")
''')
CLOCK = r"\d\d:\d\d:\d\d\.\d{3}"
COLD = r"cold \(init \d+ms\)"  # the cold-start mark, with the new worker's init duration


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Path]:
    (tmp_path / "terminal_demo.py").write_text(APP)
    yield tmp_path


def serve(project: Path, *args: str, stdout: int | None = subprocess.PIPE,
          ) -> tuple[subprocess.Popen[str], int]:
    # --port 0 picks a free port; the banner on stderr says which.
    process = subprocess.Popen(
        [sys.executable, "-m", "lamroute", "serve", "terminal_demo:app", "--port", "0", *args],
        cwd=project, stdout=stdout, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1", "NO_COLOR": ""})
    assert process.stderr is not None
    banner = process.stderr.readline()
    match = re.search(r"http://127\.0\.0\.1:(\d+)/", banner)
    assert match, banner
    return process, int(match.group(1))


def call(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def stop(process: subprocess.Popen[str], *, lines: int = 0) -> tuple[str, str]:
    """Ctrl-C once ``lines`` access lines were written (each is written after its answer)."""
    assert process.stderr is not None
    seen: list[str] = []
    deadline = time.monotonic() + 30
    while sum(" 200 " in line or " 500 " in line for line in seen) < lines:
        assert time.monotonic() < deadline, seen
        seen.append(process.stderr.readline())
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=30)
    return out or "", "".join(seen) + err


def test_serve_pretty_prints_one_human_line_per_request_and_keeps_the_json(
        project: Path) -> None:
    process, port = serve(project, "--log-format", "pretty")
    try:
        base = f"http://127.0.0.1:{port}/prod"
        assert call(f"{base}/hello/ada?x=1") == 200
        assert call(f"{base}/hello/bob") == 200
        assert call(f"{base}/crash") == 500
    finally:
        out, err = stop(process, lines=3)
    lines = err.splitlines()
    assert [line for line in lines if re.fullmatch(
        rf"{CLOCK} GET /prod/hello/ada\?x=1 200 \d+\.\dms {COLD}", line)], err
    assert [line for line in lines if re.fullmatch(rf"{CLOCK} GET /prod/hello/bob 200 \d+\.\dms",
                                                   line)], err
    assert [line for line in lines if re.fullmatch(rf"{CLOCK} GET /prod/crash 500 \d+\.\dms",
                                                   line)], err
    assert sum("GET /prod/" in line for line in lines) == 3  # one line per request, no JSON
    greeting = [i for i, line in enumerate(lines) if re.fullmatch(
        rf"{CLOCK} WARNING lamroute\.app  greeting ada  mood=fine", line)]
    access = [i for i, line in enumerate(lines) if "GET /prod/hello/ada" in line]
    assert greeting and access and greeting[0] < access[0], err  # the app's line first
    error = lines.index(next(line for line in lines if "ERROR lamroute  unhandled" in line))
    trace = lines[error + 1:error + 6]
    assert trace[0] == "    Traceback (most recent call last):"
    assert trace[1].startswith('      File "') and "terminal_demo.py" in trace[1]
    assert "raise ZeroDivisionError" in trace[2]
    assert trace[3] == "    ZeroDivisionError: no greetings left"
    assert '"message"' not in err
    # stdout is no terminal here: the JSON lines Lambda would write stay available there
    access = [json.loads(line) for line in out.splitlines() if '"request"' in line]
    assert [(a["path"], a["status"], a["cold_start"]) for a in access] == [
        ("/hello/ada", 200, True), ("/hello/bob", 200, False), ("/crash", 500, False)]


def test_serve_json_log_format_writes_lambdas_lines_and_marks_the_cold_start(
        project: Path) -> None:
    process, port = serve(project, "--log-format", "json", "--api", "http")
    try:
        assert call(f"http://127.0.0.1:{port}/hello/ada") == 200
        assert call(f"http://127.0.0.1:{port}/hello/ada") == 200
    finally:
        out, err = stop(process, lines=2)
    gateway = [line for line in err.splitlines() if '"GET /hello/ada" 200' in line]
    assert len(gateway) == 2 and re.search(rf" {COLD}$", gateway[0]), gateway
    assert "cold" not in gateway[1]
    lines = [json.loads(line) for line in out.splitlines()]
    assert [line["message"] for line in lines] == ["greeting ada", "request"] * 2
    assert all(line["timestamp"] for line in lines)


def test_serve_is_pretty_by_default_on_a_terminal(project: Path) -> None:
    leader, follower = pty.openpty()
    try:
        process, port = serve(project, "--api", "http", stdout=follower)
        try:
            assert call(f"http://127.0.0.1:{port}/hello/ada") == 200
        finally:
            _, err = stop(process, lines=1)
        ready, _, _ = select.select([leader], [], [], 0.5)
        on_terminal = os.read(leader, 65536).decode() if ready else ""
    finally:
        os.close(leader)
        os.close(follower)
    assert re.search(rf"{CLOCK} GET /hello/ada 200 \d+\.\dms {COLD}", err), err
    assert '"message"' not in on_terminal  # no JSON line on the developer's terminal


def test_default_mode_follows_the_json_lines_destination() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert (default_mode(Tty()), default_mode(io.StringIO())) == ("pretty", "json")


def test_worker_lines_render_both_json_shapes() -> None:
    """A worker process's stdout (the other way of running the app) goes through app_line."""
    out, err = io.StringIO(), io.StringIO()
    terminal = Terminal("pretty", out=out, err=err)
    runtime_shape = {"timestamp": "2026-01-02T03:04:05Z", "level": "ERROR",
                     "message": "unhandled exception", "logger": "lamroute",
                     "requestId": "aws-1", "request_id": "gw-1",
                     "errorType": "KeyError", "errorMessage": "'x'",
                     "stackTrace": ['  File "/srv/app.py", line 3, in f\n    d["x"]\n']}
    terminal.app_line(json.dumps(runtime_shape))
    terminal.app_line(json.dumps({"timestamp": "2026-01-02T03:04:05.100Z", "level": "INFO",
                                  "name": "lamroute", "message": "request", "status": 200}))
    terminal.app_line("plain print() output\x1b[2J")
    shown = err.getvalue().splitlines()
    assert re.fullmatch(rf"{CLOCK} ERROR lamroute  unhandled exception  request_id=gw-1",
                        shown[0])
    assert shown[1:5] == ["    Traceback (most recent call last):",
                          '      File "/srv/app.py", line 3, in f', '        d["x"]',
                          "    KeyError: 'x'"]
    assert shown[5] == "plain print() output\\x1b[2J"  # escaped for the terminal
    assert len(shown) == 6  # the app's access line is the gateway's to show
    assert len(out.getvalue().splitlines()) == 3  # out is no terminal: JSON kept


def test_pretty_lines_escape_what_the_client_sent() -> None:
    line = render_line(json.dumps({"level": "INFO", "name": "app", "message": "hi\x1b]0;x\x07",
                                   "q": "\x1b[31m"}), Style(color=False))
    assert line is not None and "\x1b" not in line and "\\x1b]0;x\\x07" in line
    assert render_access("GET", "/a", 404, 0.001, False, Style(color=True), at=time.time()
                         ).count("\x1b[") == 6  # colours only from us: clock, method, status
