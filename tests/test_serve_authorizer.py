"""`lamroute serve --authorizer module:fn`: the Lambda authorizer runs before the app, as on AWS."""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from lamroute.cli import UsageError
from lamroute.commands import serve
from lamroute.local import Gateway, GatewayConfig, HttpRequest
from lamroute.testing import gateway_auth

PROJECT = textwrap.dedent('''
    from lamroute import App, Request
    from lamroute.authorizers import Allow, AuthorizerRequest, Deny
    from lamroute.authorizers import http_authorizer, rest_authorizer
    from lamroute.security.guards import requires

    app = App(access_log=False, auth=requires(scopes=["notes/read"]))

    @app.get("/me")
    def me(request: Request) -> dict:
        return {"user": request.auth.principal_id, "tier": request.auth.context.get("tier")}

    def decide(request: AuthorizerRequest):
        token = request.bearer_token
        if token == "good":
            return Allow("user-7", scopes=["notes/read"], context={"tier": "gold"})
        if token == "weak":
            return Allow("user-8")
        return Deny()

    rest = rest_authorizer(decide)
    http = http_authorizer(decide)
    not_callable = 42

    # Only the gateway's authorizer decides on these two: the app lets any caller it let in.
    let_in = requires(kinds=["lambda"])

    @app.get("/public", auth=let_in)
    def public() -> dict:
        return {"area": "public"}

    @app.get("/admin", auth=let_in)
    def admin() -> dict:
        return {"area": "admin"}

    calls = []

    def by_path(request: AuthorizerRequest):
        """Alice may read /public, nothing else: a decision that depends on the path."""
        calls.append(request.path)
        if request.bearer_token == "alice" and request.path == "/public":
            return Allow("alice")
        return Deny()

    def by_path_wide(request: AuthorizerRequest):
        calls.append(request.path)
        if request.bearer_token == "alice" and request.path == "/public":
            return Allow("alice", resources="whole_api")  # wider than the decision
        return Deny()

    path_rest = rest_authorizer(by_path)
    path_http = http_authorizer(simple=False)(by_path)
    path_http_simple = http_authorizer(by_path)
    wide_rest = rest_authorizer(by_path_wide)
    wide_http = http_authorizer(simple=False)(by_path_wide)

    def interrupted(event, context):
        raise KeyboardInterrupt  # raw (not lamroute-wrapped): nothing turns it into a deny
''')


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "authproj.py").write_text(PROJECT)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("authproj", None)
    return tmp_path


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    serve.add_arguments(parser)
    return parser.parse_args(["authproj:app", *argv])


def gateway(api: str, *argv: str) -> Gateway:
    from lamroute.cli import load_app

    args = parse("--api", api, *argv)
    gate = Gateway(load_app("authproj:app"), GatewayConfig(api=api))
    serve.install_authorizer(gate, args)
    return gate


def call(gate: Gateway, path: str, token: str | None = None,
         header: str = "Authorization") -> tuple[int, dict[str, object]]:
    headers = [(header, f"Bearer {token}")] if token else []
    answer = gate.handle(HttpRequest("GET", path, headers=headers))
    return answer.status, json.loads(answer.body or b"null")


@pytest.mark.parametrize(("api", "target", "prefix"), [
    ("rest", "authproj:rest", "/prod"), ("http", "authproj:http", ""),
])
def test_allow_deny_and_missing_identity(project: Path, api: str, target: str,
                                         prefix: str) -> None:
    gate = gateway(api, "--authorizer", target)
    assert call(gate, f"{prefix}/me", "good") == (200, {"user": "user-7", "tier": "gold"})
    assert call(gate, f"{prefix}/me") == (401, {"message": "Unauthorized"})
    status, _ = call(gate, f"{prefix}/me", "bad")
    assert status == 403
    # Allowed by the authorizer, refused by the app's own guard (no scope): the app's problem.
    status, body = call(gate, f"{prefix}/me", "weak")
    assert status == 403 and body["title"] == "Forbidden"


def test_token_type_and_custom_identity_header(project: Path) -> None:
    gate = gateway("rest", "--authorizer", "authproj:rest", "--authorizer-type", "token",
                   "--identity-header", "X-Token")
    assert call(gate, "/prod/me", "good", header="X-Token")[0] == 200
    assert call(gate, "/prod/me", "good")[0] == 401  # Authorization is not the source here


def test_a_bad_authorizer_target_is_a_usage_error(project: Path) -> None:
    with pytest.raises(UsageError):
        gateway("http", "--authorizer", "authproj:not_callable")
    with pytest.raises(UsageError):
        gateway("http", "--authorizer", "authproj:missing")


def test_reload_passes_the_authorizer_on() -> None:
    args = parse("--authorizer", "m:f", "--authorizer-type", "token", "--identity-header", "X-A",
                 "--authorizer-ttl", "0")
    argv = serve._server_argv(args)
    assert argv[argv.index("--authorizer") + 1] == "m:f"
    assert argv[argv.index("--authorizer-type") + 1] == "token"
    assert argv[argv.index("--identity-header") + 1] == "X-A"
    assert argv[argv.index("--authorizer-ttl") + 1] == "0"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def fetch(url: str, headers: dict[str, str], deadline: float) -> tuple[int, str]:
    while True:
        try:
            request = urllib.request.Request(url, headers=headers)
            with urllib.request.urlopen(request, timeout=5) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()
        except (urllib.error.URLError, ConnectionError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_serve_command_runs_the_authorizer(project: Path) -> None:
    port = free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "lamroute", "serve", "authproj:app", "--api", "http",
         "--port", str(port), "--authorizer", "authproj:http"],
        cwd=project, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        deadline = time.monotonic() + 30
        url = f"http://127.0.0.1:{port}/me"
        assert fetch(url, {}, deadline) == (401, '{"message": "Unauthorized"}')
        status, body = fetch(url, {"Authorization": "Bearer good"}, deadline)
        assert status == 200 and json.loads(body) == {"user": "user-7", "tier": "gold"}
        assert fetch(url, {"Authorization": "Bearer bad"}, deadline)[0] == 403
    finally:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    assert process.returncode == 0 and "Traceback" not in err


PATH_APIS = [
    pytest.param("rest", "authproj:path_rest", "/prod", id="rest"),
    pytest.param("http", "authproj:path_http", "", id="http-policy"),
]
CACHED_DENY = {"rest": {"Message": "User is not authorized to access this resource"},
               "http": {"message": "Forbidden"}}


def authorizer_calls() -> list[str]:
    calls: list[str] = sys.modules["authproj"].calls
    return calls


@pytest.mark.parametrize(("api", "target", "prefix"), PATH_APIS)
def test_cached_allow_on_public_does_not_open_admin(project: Path, api: str, target: str,
                                                    prefix: str) -> None:
    """The cache keys on the token only: the policy cached for /public is what decides /admin."""
    gate = gateway(api, "--authorizer", target)  # caching on, 300 s: AWS's default
    assert call(gate, f"{prefix}/public", "alice") == (200, {"area": "public"})
    assert call(gate, f"{prefix}/admin", "alice") == (403, CACHED_DENY[api])
    assert authorizer_calls() == ["/public"]  # /admin was judged from the cache


@pytest.mark.parametrize(("api", "target", "prefix"), PATH_APIS)
def test_cached_deny_on_admin_locks_the_caller_out_of_public(project: Path, api: str,
                                                             target: str, prefix: str) -> None:
    """What AWS does to a path-based authorizer under the cache, shown locally: the cached
    deny for /admin names /admin only, so nothing allows /public either until it expires."""
    gate = gateway(api, "--authorizer", target, "--authorizer-ttl", "300")
    status, _ = call(gate, f"{prefix}/admin", "alice")
    assert status == 403
    assert call(gate, f"{prefix}/public", "alice") == (403, CACHED_DENY[api])
    assert authorizer_calls() == ["/admin"]
    # Another identity is another cache entry.
    assert call(gate, f"{prefix}/public", "bob")[0] == 403
    assert authorizer_calls() == ["/admin", "/public"]


@pytest.mark.parametrize(("api", "target", "prefix"), [
    pytest.param("rest", "authproj:wide_rest", "/prod", id="rest"),
    pytest.param("http", "authproj:wide_http", "", id="http-policy"),
    pytest.param("http", "authproj:path_http_simple", "", id="http-simple"),
])
def test_a_cached_answer_wider_than_the_decision_opens_every_route(
        project: Path, api: str, target: str, prefix: str) -> None:
    """Why the whole API (and an HTTP API simple answer) is an explicit choice: cached, it lets
    the token into routes the authorizer never decided on."""
    gate = gateway(api, "--authorizer", target)
    assert call(gate, f"{prefix}/public", "alice")[0] == 200
    assert call(gate, f"{prefix}/admin", "alice") == (200, {"area": "admin"})
    assert authorizer_calls() == ["/public"]


@pytest.mark.parametrize(("api", "target", "prefix"), PATH_APIS)
def test_cached_answers_expire_after_the_ttl(project: Path, monkeypatch: pytest.MonkeyPatch,
                                            api: str, target: str, prefix: str) -> None:
    now = [1000.0]
    monkeypatch.setattr(gateway_auth, "monotonic", lambda: now[0])
    gate = gateway(api, "--authorizer", target, "--authorizer-ttl", "60")
    assert call(gate, f"{prefix}/admin", "alice")[0] == 403
    now[0] += 59.9
    assert call(gate, f"{prefix}/public", "alice")[0] == 403  # still the cached deny
    now[0] += 0.1
    assert call(gate, f"{prefix}/public", "alice") == (200, {"area": "public"})
    assert authorizer_calls() == ["/admin", "/public"]


@pytest.mark.parametrize(("api", "target", "prefix"), PATH_APIS)
def test_ttl_0_calls_the_authorizer_for_every_request(project: Path, api: str, target: str,
                                                      prefix: str) -> None:
    gate = gateway(api, "--authorizer", target, "--authorizer-ttl", "0")
    assert call(gate, f"{prefix}/admin", "alice")[0] == 403
    assert call(gate, f"{prefix}/public", "alice") == (200, {"area": "public"})
    assert call(gate, f"{prefix}/public", "alice")[0] == 200
    assert authorizer_calls() == ["/admin", "/public", "/public"]


@pytest.mark.parametrize("ttl", ["-1", "3601"])
def test_an_impossible_ttl_is_a_usage_error(project: Path, ttl: str) -> None:
    with pytest.raises(UsageError, match="ttl"):
        gateway("rest", "--authorizer", "authproj:path_rest", "--authorizer-ttl", ttl)


@pytest.mark.parametrize(("api", "prefix", "body"), [
    ("rest", "/prod", {"message": None}),
    ("http", "", {"message": "Internal Server Error"}),
])
def test_keyboard_interrupt_in_authorizer_request_thread_is_a_500(
        project: Path, api: str, prefix: str, body: dict[str, object]) -> None:
    """In a request thread a KeyboardInterrupt is no Ctrl-C (signals reach the main thread
    only): the raw authorizer failed, which AWS answers with a 500, not a closed connection."""
    from lamroute.cli import load_app
    from lamroute.local import LocalGateway

    server = LocalGateway(load_app("authproj:app"), api=api, port=0)
    serve.install_authorizer(server.gateway, parse("--api", api,
                                                   "--authorizer", "authproj:interrupted"))
    with server:
        status, answer = fetch(f"{server.url}/me", {"Authorization": "Bearer good"},
                               time.monotonic() + 10)
        assert (status, json.loads(answer)) == (500, body)
        # The server survived it: the next request is answered too.
        assert fetch(f"{server.url}/me", {}, time.monotonic() + 10)[0] == 401
    # In the main thread (TestClient, a REPL) it is Ctrl-C, and stops the caller.
    with pytest.raises(KeyboardInterrupt):
        call(gateway(api, "--authorizer", "authproj:interrupted"), f"{prefix}/me", "good")
