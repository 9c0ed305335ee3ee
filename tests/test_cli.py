"""The command line: --help everywhere, one-line errors for broken user modules, invoke,
template, routes, and `serve` as a real process (Ctrl-C, --reload)."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from lamroute import cli

DEMO = '''
from lamroute import App, Response

app = App(title="Demo", access_log=False)

@app.get("/hello/{name}")
def hello(name: str) -> dict[str, str]:
    return {"hello": name, "version": "VERSION"}

@app.post("/items", status_code=201)
def create(request) -> dict[str, object]:
    return {"got": request.json(), "type": request.headers.get("x-type")}

def malformed(event, context):
    return {"statusCode": 200, "body": {"not": "a string"}}
'''


@pytest.fixture(autouse=True)
def local_logger_untouched() -> Iterator[None]:
    """`serve` run in-process configures the local gateway's logger (its own stderr handler,
    no propagation): undone after each test, so later tests see the logger as they expect."""
    import logging

    logger = logging.getLogger("lamroute.local")
    saved = (logger.handlers[:], logger.propagate, logger.level)
    try:
        yield
    finally:
        logger.handlers[:], logger.propagate, logger.level = saved


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A folder holding user modules, as the current directory; imports are forgotten after."""
    monkeypatch.chdir(tmp_path)
    before = set(sys.modules)
    (tmp_path / "demo_cli_app.py").write_text(DEMO.replace("VERSION", "v1"))
    yield tmp_path
    for name in set(sys.modules) - before:
        if name.startswith(("demo_cli_", "broken_cli_")):
            del sys.modules[name]
    if str(tmp_path) in sys.path:
        sys.path.remove(str(tmp_path))


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("command", sorted(cli._available()))
def test_every_command_has_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main([command, "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: lamroute {command}")
    assert "module:attribute" in out


def test_python_dash_m_lamroute_works() -> None:
    result = subprocess.run([sys.executable, "-m", "lamroute", "--help"], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0
    for command in ("serve", "routes", "invoke", "template"):
        assert command in result.stdout


def test_version_flag_prints_the_installed_version(capsys: pytest.CaptureFixture[str]) -> None:
    import importlib.metadata

    import lamroute

    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--version"])
    assert exit_info.value.code == 0
    installed = importlib.metadata.version("lamroute")
    assert capsys.readouterr().out == f"lamroute {installed}\n"
    assert lamroute.__version__ == installed  # the module and the package metadata agree
    result = subprocess.run([sys.executable, "-m", "lamroute", "--version"],
                            capture_output=True, text=True, timeout=60)
    assert (result.returncode, result.stdout) == (0, f"lamroute {installed}\n")


BROKEN = {
    "broken_cli_import": ("import does_not_exist_anywhere\n", "cannot import"),
    "broken_cli_raise": ("raise RuntimeError('no database URL')\n",
                         "RuntimeError: no database URL"),
    "broken_cli_syntax": ("def oops(:\n", "SyntaxError"),
}


@pytest.mark.parametrize("command", ["routes", "invoke", "template", "serve"])
@pytest.mark.parametrize("module", sorted(BROKEN))
def test_broken_user_modules_are_one_line_errors(project: Path, module: str, command: str,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    source, expected = BROKEN[module]
    (project / f"{module}.py").write_text(source)
    extra = ["--path", "/"] if command == "invoke" else \
        ["--port", "0", "--in-process"] if command == "serve" else []
    code, out, err = run_cli(capsys, command, f"{module}:app", *extra)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("lamroute: error: ")
    assert expected in err
    assert "Traceback" not in err + out


def test_missing_attribute_is_a_one_line_error(project: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, "routes", "demo_cli_app:nothing")
    assert code == 2
    assert err == "lamroute: error: module 'demo_cli_app' has no attribute 'nothing'\n"


@pytest.mark.parametrize("command", ["routes", "invoke", "serve"])
def test_an_attribute_that_is_no_app_is_a_one_line_error(
        project: Path, command: str, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "demo_cli_notapp.py").write_text("app = 42\n")
    extra = ["--path", "/"] if command == "invoke" else \
        ["--port", "0", "--in-process"] if command == "serve" else []
    code, _, err = run_cli(capsys, command, "demo_cli_notapp:app", *extra)
    assert code == 2
    assert err.startswith("lamroute: error: demo_cli_notapp:app is a int, not")


def test_routes_prints_the_table(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "routes", "demo_cli_app:app")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["METHODS", "PATH", "HANDLER", "LOCATION"]
    assert any(line.split()[:3] == ["GET", "/hello/{name}", "hello"] for line in lines)
    assert any("demo_cli_app.py:" in line for line in lines)


@pytest.mark.parametrize("fmt", ["rest", "http", "alb"])
def test_invoke_with_a_request(project: Path, fmt: str,
                               capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "invoke", "demo_cli_app:app", "--method", "POST", "--path",
                           "/items?x=1", "--data", '{"a": 1}', "--header", "X-Type: demo",
                           "--format", fmt)
    assert code == 0
    payload = json.loads(out)
    assert payload["statusCode"] == 201
    assert json.loads(payload["body"]) == {"got": {"a": 1}, "type": "demo"}


def test_invoke_with_an_event_file(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from lamroute.testing import make_event

    (project / "event.json").write_text(json.dumps(make_event("http", "GET", "/hello/ada")))
    code, out, _ = run_cli(capsys, "invoke", "demo_cli_app:app", "--event", "event.json")
    assert code == 0
    assert json.loads(json.loads(out)["body"]) == {"hello": "ada", "version": "v1"}
    (project / "bad.json").write_text("{nope")
    code, _, err = run_cli(capsys, "invoke", "demo_cli_app:app", "--event", "bad.json")
    assert code == 2 and err.startswith("lamroute: error: bad.json is not JSON")


def test_invoke_reports_a_response_the_gateway_would_reject(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys, "invoke", "demo_cli_app:malformed", "--path", "/")
    assert code == 1
    assert json.loads(out)["body"] == {"not": "a string"}
    assert "body is a dict, not a string" in err


def test_invoke_needs_an_event_or_a_path(project: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, "invoke", "demo_cli_app:app")
    assert code == 2 and "--event" in err


def test_template_writes_a_sam_template(project: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    from cfnlint.decode import cfn_yaml

    code, out, _ = run_cli(capsys, "template", "demo_cli_app:app", "--api", "http")
    assert code == 0
    template = cfn_yaml.loads(out)
    function = template["Resources"]["Function"]["Properties"]
    assert function["Handler"] == "demo_cli_app.app"
    assert template["Description"].startswith("Demo:")
    code, _, _ = run_cli(capsys, "template", "demo_cli_app:app", "-o", "template.yaml")
    assert code == 0
    assert "AWS::Serverless::Api" in (project / "template.yaml").read_text()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def get(url: str, deadline: float) -> str:
    """The body at ``url``, retrying until the server is up (or the deadline passes)."""
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.read().decode()  # type: ignore[no-any-return]
        except (urllib.error.URLError, ConnectionError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def start_serve(project: Path, *args: str) -> tuple[subprocess.Popen[str], int]:
    port = free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "lamroute", "serve", "demo_cli_app:app", "--port", str(port),
         *args], cwd=project, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    return process, port


def test_serve_answers_and_stops_cleanly_on_ctrl_c(project: Path) -> None:
    process, port = start_serve(project, "--api", "rest", "--stage", "live")
    try:
        body = get(f"http://127.0.0.1:{port}/live/hello/ada", time.monotonic() + 30)
        assert json.loads(body) == {"hello": "ada", "version": "v1"}
    finally:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    assert process.returncode == 0
    assert "as a REST API (payload 1.0, stage live)" in err
    assert f"http://127.0.0.1:{port}/live/" in err
    assert '"GET /live/hello/ada" 200' in err
    assert "Traceback" not in err


@pytest.mark.parametrize(("api", "kind"), [("http", "an HTTP API"), ("url", "a Function URL")])
def test_serve_banner_says_an_http_api(project: Path, api: str, kind: str) -> None:
    process, port = start_serve(project, "--api", api)
    try:
        assert process.stderr is not None
        banner = process.stderr.readline()
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=30)
    assert banner.startswith(f"lamroute: serving demo_cli_app:app as {kind} (payload 2.0"), banner
    assert f"on http://127.0.0.1:{port}/" in banner


def test_serve_host_option_binds_that_address(project: Path) -> None:
    """127.0.0.2 is a loopback address too on Linux: the server answers there, not on .1."""
    process, port = start_serve(project, "--api", "http", "--host", "127.0.0.2")
    try:
        body = get(f"http://127.0.0.2:{port}/hello/ada", time.monotonic() + 30)
        assert json.loads(body)["hello"] == "ada"
        with pytest.raises(urllib.error.URLError):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/hello/ada", timeout=5)
    finally:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    assert process.returncode == 0
    assert f"on http://127.0.0.2:{port}/" in err


def test_serve_on_a_busy_port_is_a_one_line_error(project: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        code, _, err = run_cli(capsys, "serve", "demo_cli_app:app", "--port", str(port))
    assert code == 2
    assert err.startswith(f"lamroute: error: cannot listen on 127.0.0.1:{port}")


def test_serve_reload_restarts_on_code_changes(project: Path) -> None:
    process, port = start_serve(project, "--api", "http", "--reload")
    url = f"http://127.0.0.1:{port}/hello/ada"
    try:
        assert json.loads(get(url, time.monotonic() + 30))["version"] == "v1"
        module = project / "demo_cli_app.py"
        module.write_text(DEMO.replace("VERSION", "v2"))
        stat = module.stat()
        os.utime(module, (stat.st_atime, stat.st_mtime + 5))  # a visible mtime change
        deadline = time.monotonic() + 30
        version = "v1"
        while version != "v2" and time.monotonic() < deadline:
            time.sleep(0.2)
            try:
                version = json.loads(get(url, deadline))["version"]
            except (urllib.error.URLError, ConnectionError):
                continue
        assert version == "v2"
    finally:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    assert process.returncode == 0
    assert "change detected: restarting the workers" in err  # the server itself kept running


ENV_APP = """
import os
from lamroute import App

app = App(access_log=False)

@app.get("/env/{name}")
def env(name: str) -> dict[str, object]:
    return {"value": os.environ.get(name), "pid": os.getpid()}
"""

TEMPLATE = """\
Transform: AWS::Serverless-2016-10-31
Parameters:
  Stage:
    Type: String
    Default: dev
Globals:
  Function:
    Timeout: 7
    Environment:
      Variables:
        SHARED: from-globals
Resources:
  Table:
    Type: AWS::DynamoDB::Table
  EnvFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: demo_cli_env.app
      Runtime: python3.11
      MemorySize: 256
      Environment:
        Variables:
          STAGE: !Ref Stage
          GREETING: !Sub "hello-${Stage}-${AWS::Region}"
          TABLE_NAME: !Ref Table
          TABLE_ARN: !GetAtt Table.Arn
"""


def test_serve_runs_workers_with_the_templates_settings(project: Path) -> None:
    (project / "demo_cli_env.py").write_text(ENV_APP)
    (project / "template.yaml").write_text(TEMPLATE)
    port = free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "TABLE_NAME": "notes-local",
           "AWS_REGION": "eu-west-3"}
    process = subprocess.Popen(
        [sys.executable, "-m", "lamroute", "serve", "demo_cli_env:app", "--port", str(port),
         "--api", "http", "--template", "template.yaml"], cwd=project, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.monotonic() + 30
    try:
        values = {name: json.loads(get(f"http://127.0.0.1:{port}/env/{name}", deadline))
                  for name in ("STAGE", "GREETING", "SHARED", "TABLE_NAME", "TABLE_ARN",
                               "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE")}
    finally:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    assert process.returncode == 0
    assert {name: v["value"] for name, v in values.items()} == {
        "STAGE": "dev", "GREETING": "hello-dev-eu-west-3", "SHARED": "from-globals",
        "TABLE_NAME": "notes-local",  # not resolvable locally: the shell's value
        "TABLE_ARN": None, "AWS_LAMBDA_FUNCTION_NAME": "EnvFunction",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256"}
    assert len({v["pid"] for v in values.values()}) == 1  # one warm worker served them all
    assert os.getpid() not in {v["pid"] for v in values.values()}
    assert "worker process (awslambdaric)" in err and "timeout 7s, memory 256 MB" in err
    assert "TABLE_ARN is" in err and "only AWS can resolve" in err
    assert re.search(r'"GET /env/STAGE" 200 \d+B [\d.]+ms cold \(init \d+ms\)\n', err), err


API_TEMPLATE = """\
Transform: AWS::Serverless-2016-10-31
Resources:
  Api:
    Type: AWS::Serverless::Api
    Properties:
      StageName: v1
      GatewayResponses:
        DEFAULT_5XX:
          StatusCode: "502"
          ResponseParameters:
            Headers:
              Content-Type: "'application/problem+json'"
          ResponseTemplates:
            application/json: '{"title": "Bad Gateway", "request_id": "$context.requestId"}'
  Function:
    Type: AWS::Serverless::Function
    Properties:
      Handler: demo_cli_both.app
      Timeout: 4
      MemorySize: 384
      Environment:
        Variables:
          GREETING: from-the-template
      Events:
        Proxy:
          Type: Api
          Properties: {RestApiId: !Ref Api, Path: "/{proxy+}", Method: ANY}
"""


def test_serve_one_template_gives_the_function_and_the_api_their_settings(
        project: Path) -> None:
    """One --template, read once: the function's Timeout, MemorySize and variables for the
    workers, the API's stage and gateway responses for the gateway; a worker that crashes gets
    the template's DEFAULT_5XX answer."""
    (project / "demo_cli_both.py").write_text(
        ENV_APP + "\n@app.get('/crash')\ndef crash() -> None:\n    os._exit(3)\n")
    (project / "template.yaml").write_text(API_TEMPLATE)
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "lamroute", "serve", "demo_cli_both:app", "--port", str(port),
         "--template", "template.yaml"], cwd=project, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        greeting = json.loads(get(f"http://127.0.0.1:{port}/v1/env/GREETING",
                                  time.monotonic() + 30))
        with pytest.raises(urllib.error.HTTPError) as crashed:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/crash", timeout=10)
    finally:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    assert greeting["value"] == "from-the-template"
    assert crashed.value.code == 502
    assert crashed.value.headers["Content-Type"] == "application/problem+json"
    assert json.loads(crashed.value.read())["title"] == "Bad Gateway"
    assert "from template.yaml: 1 gateway responses" in err
    assert "timeout 4s, memory 384 MB" in err  # the workers run with the function's settings
    assert "exit status 3" in err and process.returncode == 0


def test_serve_shows_an_import_error_as_an_init_error_with_the_traceback(
        project: Path) -> None:
    (project / "broken_cli_worker.py").write_text(
        "from lamroute import App\n\nimport does_not_exist_anywhere\n\napp = App()\n")
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "lamroute", "serve", "broken_cli_worker:app", "--port",
         str(port)], cwd=project, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    deadline = time.monotonic() + 30
    try:
        while True:  # the server starts; the request fails as the function cannot start
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/prod/", timeout=10)
            except urllib.error.HTTPError as exc:
                status, body = exc.code, json.loads(exc.read())
                break
            except urllib.error.URLError:
                assert time.monotonic() < deadline
                time.sleep(0.1)
    finally:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    assert (status, body) == (502, {"message": "Internal server error"})
    assert "init error" in err and "Runtime.ImportModuleError" in err
    assert 'broken_cli_worker.py", line 3' in err
    assert "import does_not_exist_anywhere" in err


def test_serve_finds_websocket_routes_without_importing_the_app_itself(project: Path) -> None:
    """The gateway asks a scratch process whether the app has WebSocket routes (the app itself
    runs in workers); it then serves them, as `lamroute serve` always did."""
    (project / "demo_cli_ws.py").write_text(
        "from lamroute import App\napp = App(access_log=False)\n"
        "@app.websocket('ping')\ndef ping():\n    return 'pong'\n")
    process = subprocess.Popen(
        [sys.executable, "-m", "lamroute", "serve", "demo_cli_ws:app", "--port", "0"],
        cwd=project, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        assert process.stderr is not None
        lines = [process.stderr.readline() for _ in range(3)]
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=30)
    assert any("WebSocket API on ws://127.0.0.1:" in line for line in lines), lines


@pytest.mark.parametrize(("argv", "message"), [
    (["demo_cli_app:a.b"], "not of the form module:attribute"),
    (["demo_cli_app:app", "--function", "Fn"], "--function needs --template"),
    (["demo_cli_app:app", "--template", "missing.yaml"], "cannot read missing.yaml"),
    (["demo_cli_app:app", "--concurrency", "0"], "--concurrency must be at least 1"),
])
def test_serve_runtime_options_are_checked(project: Path, argv: list[str], message: str,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, "serve", *argv, "--port", "0")
    assert code == 2
    assert err.startswith("lamroute: error: ") and message in err


def test_reload_watches_python_files_but_not_virtualenvs(tmp_path: Path) -> None:
    from lamroute.local.reload import python_files_mtimes

    for relative in ("app.py", "pkg/mod.py", ".venv/lib/x.py", "pkg/__pycache__/m.py",
                     "notes.txt"):
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("")
    found = {Path(p).relative_to(tmp_path).as_posix() for p in python_files_mtimes([str(tmp_path)])}
    assert found == {"app.py", "pkg/mod.py"}
