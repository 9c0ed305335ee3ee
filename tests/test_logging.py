"""Logging: one JSON access line per request, tracebacks, LOG_LEVEL, request fields, redaction."""

from __future__ import annotations

import dataclasses
import datetime
import io
import json
import logging
import subprocess
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fixtures import load_event
from pydantic import BaseModel

from lamroute import App, Request
from lamroute.logs import LOGGER_NAME, REDACTED, RequestFieldsFilter, configure, redact
from lamroute.testing import FORMATS, FakeContext, TestClient, make_event

SECRETS = ["Bearer tok-123", "sid=cookie-456", "apikey-789", "setcookie-000"]


def _handler() -> logging.StreamHandler[Any]:
    configure()
    handlers = [h for h in logging.getLogger(LOGGER_NAME).handlers
                if any(isinstance(f, RequestFieldsFilter) for f in h.filters)]
    assert len(handlers) == 1
    handler = handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    return handler


@pytest.fixture
def logs(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    """Capture what the lamroute handler writes (it holds the real stdout otherwise)."""
    for name in ("LOG_LEVEL", "AWS_LAMBDA_LOG_LEVEL"):
        monkeypatch.delenv(name, raising=False)
    handler = _handler()
    buffer = io.StringIO()
    old = handler.setStream(buffer)
    try:
        yield buffer
    finally:
        handler.setStream(old)  # type: ignore[arg-type]
        logging.getLogger(LOGGER_NAME).setLevel(logging.INFO)


def lines(buffer: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]


def access_lines(buffer: io.StringIO) -> list[dict[str, Any]]:
    return [line for line in lines(buffer) if line["message"] == "request"]


def demo_app(**options: Any) -> App:
    app = App(**options)

    @app.get("/items/{item_id}")
    def item(item_id: str, request: Request) -> dict[str, str]:
        app.app_logger.info("looking up", extra={"item": item_id})
        return {"id": item_id}

    @app.get("/crash")
    def crash() -> None:
        raise ZeroDivisionError("division by zero in crash")

    @app.get("/secret")
    def secret(request: Request) -> str:
        app.app_logger.info("headers seen", extra={
            "headers": dict(request.headers), "Authorization": request.headers["authorization"],
            "nested": {"list": [{"x-api-key": "apikey-789"}], "Set-Cookie": "setcookie-000"},
            "event": request.event,
        })
        return "ok"

    return app


@pytest.mark.parametrize("fmt", FORMATS)
def test_one_access_line_per_request_with_fields(fmt: str, logs: io.StringIO) -> None:
    app = demo_app()
    context = FakeContext()
    event = make_event(fmt, "GET", "/items/7", headers={"User-Agent": "ua/1"},
                       request_id="req-1", source_ip="192.0.2.44")
    assert app(event, context)["statusCode"] == 200
    assert app(event, context)["statusCode"] == 200
    first, second = access_lines(logs)
    assert first["level"] == "INFO" and first["name"] == "lamroute"
    expected_id = {  # ALB has no request id: its trace header stands in
        "alb": lambda: event["headers"]["x-amzn-trace-id"],
        "alb-multi": lambda: event["multiValueHeaders"]["x-amzn-trace-id"][0],
    }.get(fmt, lambda: "req-1")()
    assert {k: first[k] for k in ("method", "path", "route", "status", "request_id",
                                  "aws_request_id", "source_ip", "user_agent")} == {
        "method": "GET", "path": "/items/7", "route": "/items/{item_id}", "status": 200,
        "request_id": expected_id, "aws_request_id": context.aws_request_id,
        "source_ip": "192.0.2.44", "user_agent": "ua/1",
    }
    assert isinstance(first["duration_ms"], (int, float)) and first["duration_ms"] >= 0
    assert (first["cold_start"], second["cold_start"]) == (True, False)


def test_access_line_for_404_and_invalid_events(logs: io.StringIO) -> None:
    app = demo_app()
    TestClient(app, format="http").get("/nowhere")
    app(None, None)
    missing, invalid = access_lines(logs)
    assert (missing["status"], missing["route"], missing["path"]) == (404, None, "/nowhere")
    assert (invalid["status"], invalid["method"], invalid["request_id"]) == (400, None, None)


def test_access_line_even_when_lazy_parts_are_malformed(logs: io.StringIO) -> None:
    app = App()
    app.get("/items/{item_id}")(lambda item_id: item_id)  # never reads the headers
    event = load_event("rest-proxy-get")
    event["headers"] = event["multiValueHeaders"] = "not an object"
    assert app(event, None)["statusCode"] == 200
    (line,) = access_lines(logs)
    # (the user agent as the gateway recorded it in requestContext.identity, not a header)
    assert (line["status"], line["path"], line["user_agent"]) == (
        200, "/items/42", "Mozilla/5.0 (X11; Linux x86_64)")
    event["requestContext"]["identity"]["userAgent"] = None  # then the malformed headers
    assert app(event, None)["statusCode"] == 200
    assert access_lines(logs)[-1]["user_agent"] is None


def test_access_log_can_be_turned_off(logs: io.StringIO) -> None:
    app = demo_app(access_log=False)
    TestClient(app).get("/items/1")
    assert access_lines(logs) == []
    assert [line["message"] for line in lines(logs)] == ["looking up"]


def test_app_logger_lines_carry_request_fields(logs: io.StringIO) -> None:
    app = demo_app()
    TestClient(app, format="rest").get("/items/5", request_id="rid-5")
    (line,) = [line for line in lines(logs) if line["message"] == "looking up"]
    assert line["name"] == "lamroute.app"
    assert (line["request_id"], line["route"], line["item"]) == ("rid-5", "/items/{item_id}", "5")


def test_exceptions_are_logged_with_traceback(logs: io.StringIO) -> None:
    app = demo_app()
    assert TestClient(app, format="http").get("/crash", request_id="r-9").status_code == 500
    (error,) = [line for line in lines(logs) if line["level"] == "ERROR"]
    assert "Traceback" in error["exc_info"] and "ZeroDivisionError" in error["exc_info"]
    assert "division by zero in crash" in error["exc_info"]
    assert (error["request_id"], error["route"]) == ("r-9", "/crash")
    assert access_lines(logs)[0]["status"] == 500


def test_unrenderable_results_and_failing_handlers_are_logged(logs: io.StringIO) -> None:
    app = App(access_log=False)
    app.get("/nan")(lambda: {"x": float("nan")})
    TestClient(app).get("/nan")
    (error,) = [line for line in lines(logs) if line["level"] == "ERROR"]
    assert "cannot be serialised" in error["message"] + error.get("exc_info", "")


@pytest.mark.parametrize("variable", ["LOG_LEVEL", "AWS_LAMBDA_LOG_LEVEL"])
def test_log_level_from_environment(variable: str, logs: io.StringIO,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(variable, "warning")
    app = demo_app()
    assert logging.getLogger(LOGGER_NAME).level == logging.WARNING
    TestClient(app).get("/items/1")
    TestClient(app).get("/crash")
    assert access_lines(logs) == []
    assert [line["level"] for line in lines(logs)] == ["ERROR"]


def test_log_level_option_and_invalid_values(monkeypatch: pytest.MonkeyPatch,
                                             logs: io.StringIO) -> None:
    App(log_level="DEBUG")
    assert logging.getLogger(LOGGER_NAME).level == logging.DEBUG
    monkeypatch.setenv("LOG_LEVEL", "chatty")
    App()
    assert logging.getLogger(LOGGER_NAME).level == logging.INFO


def test_secrets_are_never_logged(logs: io.StringIO) -> None:
    app = demo_app(debug=True)
    client = TestClient(app, format="rest")
    response = client.get("/secret", headers={"Authorization": "Bearer tok-123",
                                              "X-Api-Key": "apikey-789"},
                          cookies={"sid": "cookie-456"})
    assert response.status_code == 200
    output = logs.getvalue()
    for secret in SECRETS:
        assert secret not in output
    (line,) = [line for line in lines(logs) if line["message"] == "headers seen"]
    assert line["Authorization"] == REDACTED
    headers = line["headers"]  # a Headers mapping: lower-cased names
    assert headers["authorization"] == REDACTED and headers["cookie"] == REDACTED
    assert headers["x-api-key"] == REDACTED and headers["user-agent"] == "lamroute-testclient"
    assert line["nested"]["Set-Cookie"] == REDACTED
    assert line["event"]["requestContext"]["identity"]["sourceIp"] == "203.0.113.7"


def test_redact() -> None:
    values = {"Cookie": "a", "x": {"authorization": "b", "ok": 1}, "l": [{"apiKey": "k"}],
              "API-Key": "k2", "X-Amz-Security-Token": "t"}
    assert redact(values) == {
        "Cookie": REDACTED, "x": {"authorization": REDACTED, "ok": 1}, "l": [{"apiKey": REDACTED}],
        "API-Key": REDACTED, "X-Amz-Security-Token": REDACTED}


def test_configured_once_across_apps() -> None:
    for _ in range(5):
        App()
    logger = logging.getLogger(LOGGER_NAME)
    ours = [h for h in logger.handlers
            if any(isinstance(f, RequestFieldsFilter) for f in h.filters)]
    assert len(ours) == 1
    assert logger.propagate is False


def test_no_duplicate_lines_in_a_fresh_process() -> None:
    code = """
import logging
logging.basicConfig()  # as the Lambda runtime does: a root handler that must not see our lines
from lamroute import App
from lamroute.testing import make_event
apps = [App() for _ in range(3)]
for app in apps:
    app.get("/x")(lambda: "x")
for app in apps:
    app(make_event("http", "GET", "/x"), None)
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["message"] for line in out] == ["request"] * 3
    assert result.stderr == ""


def test_logged_traceback_starts_at_the_users_code(logs: io.StringIO) -> None:
    app = App(access_log=False)

    def helper() -> None:
        raise RuntimeError("deep down")

    @app.get("/boom")
    def boom() -> None:
        helper()

    assert TestClient(app).get("/boom").status_code == 500
    [error] = [line for line in lines(logs) if line["level"] == "ERROR"]
    trace = error["exc_info"]
    assert "in boom" in trace and "in helper" in trace and "RuntimeError: deep down" in trace
    assert "lamroute/app.py" not in trace and "lamroute/deadline.py" not in trace



# -- redaction by pattern ----------------------------------------------------------------------

LEAKED_HEADERS = {"X-Auth-Token": "auth-tok-1", "X-Amzn-Oidc-Accesstoken": "oidc-access-2",
                  "X-Amzn-Oidc-Data": "oidc-data-3", "X-CSRF-Token": "csrf-4"}
LEAKED_QUERY = {"access_token": "query-tok-5"}
LEAKED_BODY = {"refresh_token": "refresh-6", "client_secret": "client-secret-7"}


def leaky_logging_app() -> App:
    app = App(access_log=False)

    @app.post("/login")
    def login(request: Request) -> str:
        body = request.json()
        app.app_logger.info("login", extra={
            "headers": dict(request.headers),                      # a flat dict
            "header_list": request.headers.multi_items(),          # [(name, value), ...]
            "query": dict(request.query),
            "raw_query": "&".join(f"{k}={v}" for k, v in request.query.multi_items()),
            "body": body,
            "deep": {"attempts": [({"form": body},), {"grant": [("Refresh-Token", "x")]}]},
        })
        return "ok"

    return app


@pytest.mark.parametrize("fmt", FORMATS)
def test_leaked_names_are_redacted_by_pattern_at_any_depth(fmt: str, logs: io.StringIO) -> None:
    client = TestClient(leaky_logging_app(), format=fmt)
    response = client.post("/login", headers={**LEAKED_HEADERS, "User-Agent": "ua/1"},
                           query={**LEAKED_QUERY, "page": "2"}, json={**LEAKED_BODY, "user": "ada"})
    assert response.status_code == 200
    output = logs.getvalue()
    for secret in (*LEAKED_HEADERS.values(), *LEAKED_QUERY.values(), *LEAKED_BODY.values()):
        assert secret not in output, secret
    (line,) = [line for line in lines(logs) if line["message"] == "login"]
    pairs = [[name.lower(), value] for name, value in line["header_list"]]
    for name in LEAKED_HEADERS:
        assert line["headers"][name.lower()] == REDACTED
        assert [name.lower(), REDACTED] in pairs
    assert line["headers"]["user-agent"] == "ua/1"
    assert line["query"] == {"access_token": REDACTED, "page": "2"}
    assert line["raw_query"] in ("access_token=[REDACTED]&page=2", "page=2&access_token=[REDACTED]")
    assert line["body"] == {"refresh_token": REDACTED, "client_secret": REDACTED, "user": "ada"}
    form = line["deep"]["attempts"][0][0]["form"]
    assert form == {"refresh_token": REDACTED, "client_secret": REDACTED, "user": "ada"}
    assert line["deep"]["attempts"][1] == {"grant": [["Refresh-Token", REDACTED]]}


@dataclasses.dataclass
class Login:
    user: str
    password: str
    nested: dict[str, Any] = dataclasses.field(default_factory=dict)


class Credentials(BaseModel):
    user: str
    api_key: str
    extra: dict[str, str] = {}


@pytest.mark.parametrize("fmt", FORMATS)
def test_sets_dataclasses_and_models_are_redacted_not_logged_in_clear(
        fmt: str, logs: io.StringIO) -> None:
    """A frozenset of pairs, a dataclass with a ``password`` field and a pydantic model used to
    reach the log in clear (their repr, or the formatter's own dict of the fields)."""
    app = App(access_log=False)
    when = datetime.datetime(2030, 1, 2, tzinfo=datetime.timezone.utc)

    @app.get("/log")
    def log() -> str:
        app.app_logger.info("objects", extra={
            "frozen": frozenset({("secret", "set-secret-1")}),
            "tags": {"a"},
            "login": Login("ada", "dc-password-2", {"session": "dc-session-3"}),
            "deep": [{"creds": Credentials(user="ada", api_key="model-key-4",
                                           extra={"token": "model-token-5"})}],
            "when": when,
        })
        return "ok"

    assert TestClient(app, format=fmt).get("/log").status_code == 200
    output = logs.getvalue()
    for secret in ("set-secret-1", "dc-password-2", "dc-session-3", "model-key-4",
                   "model-token-5"):
        assert secret not in output, secret
    (line,) = [line for line in lines(logs) if line["message"] == "objects"]
    assert line["frozen"] == [["secret", REDACTED]]
    assert line["tags"] == ["a"]
    assert line["login"] == {"user": "ada", "password": REDACTED, "nested": {"session": REDACTED}}
    assert line["deep"] == [{"creds": {"user": "ada", "api_key": REDACTED,
                                       "extra": {"token": REDACTED}}}]
    assert line["when"] == when.isoformat()  # other objects as the formatter writes them


def test_an_object_whose_fields_cannot_be_read_is_redacted_whole(logs: io.StringIO) -> None:
    class Broken(BaseModel):
        password: str

        def model_dump(self, **options: Any) -> dict[str, Any]:
            raise RuntimeError("no")

    logging.getLogger("lamroute.app").info("odd", extra={"who": Broken(password="hunter2")})
    (line,) = lines(logs)
    assert line["who"] == REDACTED and "hunter2" not in logs.getvalue()


def test_a_redactor_that_cannot_load_fails_closed_and_logging_goes_on(
        logs: io.StringIO, monkeypatch: pytest.MonkeyPatch) -> None:
    # The redactor loads with the first line that has fields; out of memory that import fails
    # (a MemoryError escaped the boundary's last log call and the handler this way).
    import lamroute.logs as logs_module

    def no_memory() -> None:
        raise MemoryError

    monkeypatch.setattr(logs_module, "_redactor", None)
    monkeypatch.setattr(logs_module, "_load_redactor", no_memory)
    logging.getLogger("lamroute.app").error("low", extra={"password": "hunter2", "user": "ada"})
    (line,) = lines(logs)
    assert line["message"] == "low"
    assert line["password"] == REDACTED and line["user"] == REDACTED  # fields unchecked: none
    assert "hunter2" not in logs.getvalue()


@pytest.mark.parametrize("name", [
    "X-Auth-Token", "x_auth_token", "XAUTHTOKEN", "X-Amzn-Oidc-Accesstoken", "x-amzn-oidc-data",
    "X-Amzn-Oidc-Identity", "X-CSRF-Token", "access_token", "refresh_token", "Client-Secret",
    "clientSecret", "password", "new_password", "PASSWD", "Authorization", "Proxy-Authorization",
    "Cookie", "Set-Cookie", "cookies", "sessionId", "SESSION", "api-key", "api_key", "apikey",
    "X-Api-Key", "ApiKey", "aws_credentials", "Credential", "X-Amz-Signature", "signature",
    "X-Amz-Security-Token", "private_key",
])
def test_sensitive_names_in_any_case_and_separator(name: str) -> None:
    assert redact({name: "s3cr3t"}) == {name: REDACTED}
    assert redact({"a": [{"b": ({name: "s3cr3t"},)}]}) == {"a": [{"b": [{name: REDACTED}]}]}
    assert redact({"pairs": [(name, "s3cr3t")]}) == {"pairs": [[name, REDACTED]]}
    assert redact({"q": f"x=1&{name}=s3cr3t"}) == {"q": f"x=1&{name}={REDACTED}"}


@pytest.mark.parametrize("name", ["user-agent", "content-type", "x-request-id", "route", "page",
                                  "monkey", "x-amzn-trace-id", "host", "accept"])
def test_ordinary_names_are_kept(name: str) -> None:
    assert redact({name: "v", "q": f"{name}=v"}) == {name: "v", "q": f"{name}=v"}


def test_redaction_of_query_strings_and_bytes() -> None:
    text = "/cb?code=1&access%5Ftoken=abc&id_token=def; session=ghi"
    assert redact({"url": text}) == {
        "url": "/cb?code=1&access%5Ftoken=[REDACTED]&id_token=[REDACTED]; session=[REDACTED]"}
    assert redact({"body": b"grant_type=refresh&refresh_token=abc"}) == {
        "body": "grant_type=refresh&refresh_token=[REDACTED]"}
    assert redact({"body": b"\x00a=1"}) == {"body": b"\x00a=1"}  # nothing to hide: unchanged


def test_redaction_decisions_are_cached_within_a_bound() -> None:
    from lamroute.logs import redaction as logs_module

    for i in range(3 * logs_module._MAX_DECISIONS):
        assert logs_module.is_sensitive(f"x-custom-{i}") is False
    assert len(logs_module._DECISIONS) <= logs_module._MAX_DECISIONS
    long_name = "x" * 10_000 + "token"
    assert logs_module.is_sensitive(long_name) is True
    assert long_name not in logs_module._DECISIONS  # long names are decided, not kept
    assert logs_module.is_sensitive("X-Auth-Token") and "X-Auth-Token" in logs_module._DECISIONS


def test_a_cyclic_or_too_deep_extra_is_redacted_not_raised(logs: io.StringIO) -> None:
    deep: list[Any] = []
    tail = deep
    for _ in range(5000):
        tail.append([])
        tail = tail[0]
    tail.append("password=hunter2")
    cycle: dict[str, Any] = {"token": "t"}
    cycle["self"] = cycle
    logging.getLogger("lamroute.app").info("odd", extra={"deep": deep, "cycle": cycle, "n": 1})
    (line,) = lines(logs)
    assert (line["deep"], line["cycle"], line["n"]) == (REDACTED, REDACTED, 1)
    assert "hunter2" not in logs.getvalue()


# -- the local gateway's access line -----------------------------------------------------------


@pytest.fixture
def local_lines() -> Iterator[Callable[[], list[str]]]:
    """The messages of the ``lamroute.local`` logger (plain text, for a terminal), DEBUG on."""
    from fixtures import Records

    logger = logging.getLogger("lamroute.local")
    handler, level = Records(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield handler.messages
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def send_raw(app: App, request_line: bytes) -> None:
    """One raw HTTP/1.1 request to a local gateway for ``app`` (bytes no client library sends)."""
    import socket

    from lamroute.local import LocalGateway

    with LocalGateway(app, api="http", port=0) as server, \
            socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(request_line + b"\r\nHost: x\r\nConnection: close\r\n\r\n")
        while sock.recv(65536):
            pass


def test_local_access_line_redacts_the_query_and_escapes_control_characters(
        local_lines: Callable[[], list[str]]) -> None:
    app = App(access_log=False)
    app.get("/{rest+}")(lambda rest: "ok")
    target = "/a\x1b]0;owned\x07\x9b2J?access_token=abc&Client-Secret=def&q=1"
    send_raw(app, f"GET {target} HTTP/1.1".encode("latin-1"))
    (line,) = [m for m in local_lines() if '" 200 ' in m]
    assert r'"GET /a\x1b]0;owned\x07\x9b2J?access_token=[REDACTED]&Client-Secret=[REDACTED]&q=1"' \
        in line
    assert line.isprintable() and "abc" not in line and "def" not in line


def test_local_server_debug_lines_escape_a_hostile_request_line(
        local_lines: Callable[[], list[str]]) -> None:
    send_raw(App(access_log=False), b"GET\x1b]0;owned\x07 / HTTP/1.1")  # http.server: 501
    messages = local_lines()
    assert any(r"GET\x1b]0;owned\x07" in message for message in messages), messages
    assert all(message.isprintable() for message in messages)
