"""Lambda's two log formats and the user's own loggers (``App(log_root=True)``).

The Lambda runtime's handler is the real one (``fixtures.lambda_runtime`` calls the runtime
interface client's own set-up); lamroute's own handler is read through its stream.
"""

from __future__ import annotations

import io
import json
import logging
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import pytest
from fixtures.lambda_runtime import LambdaRuntime

from lamroute import App
from lamroute.logs import LOGGER_NAME, REDACTED, LamrouteHandler, RuntimeJsonFormatter
from lamroute.testing import FORMATS, FakeContext, make_event

USER_LOGGER = "shop.orders"


@pytest.fixture(autouse=True)
def logging_state(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Put the lamroute and root loggers back as they were: these tests move handlers."""
    for name in ("LOG_LEVEL", "AWS_LAMBDA_LOG_LEVEL", "AWS_LAMBDA_LOG_FORMAT"):
        monkeypatch.delenv(name, raising=False)
    root, ours, user = (logging.getLogger(), logging.getLogger(LOGGER_NAME),
                        logging.getLogger(USER_LOGGER))
    saved = [(logger, list(logger.handlers), logger.level, logger.propagate)
             for logger in (root, ours, user)]
    kept = {h: (list(h.filters), h.formatter) for logger, handlers, _, _ in saved
            for h in handlers}
    try:
        yield
    finally:
        for logger, handlers, level, propagate in saved:
            logger.handlers[:] = handlers
            logger.setLevel(level)
            logger.propagate = propagate
        for handler, (filters, formatter) in kept.items():
            handler.filters[:] = filters
            handler.setFormatter(formatter)


def capture(logger: logging.Logger) -> io.StringIO:
    """What lamroute's own handler on ``logger`` writes."""
    (handler,) = [h for h in logger.handlers if isinstance(h, LamrouteHandler)]
    buffer = io.StringIO()
    handler.setStream(buffer)
    return buffer


def json_lines(buffer: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]


def shop(**options: Any) -> App:
    app = App(**options)

    @app.get("/orders/{order_id}")
    def order(order_id: str) -> dict[str, str]:
        app.app_logger.info("order read", extra={"order": order_id})
        logging.getLogger(USER_LOGGER).info("user info", extra={"password": "hunter2"})
        logging.getLogger(USER_LOGGER).warning("user warning")
        return {"id": order_id}

    @app.get("/crash")
    def crash() -> None:
        raise ZeroDivisionError("no orders to share")

    return app


def invoke(app: App, fmt: str, path: str, runtime: LambdaRuntime | None = None) -> FakeContext:
    context = FakeContext()
    if runtime is not None:
        runtime.invoke(context.aws_request_id)
    event = make_event(fmt, "GET", path, request_id="gw-req-1")
    app(event, context)
    return context


def recent(stamp: str) -> bool:
    moment = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
    return abs(moment.timestamp() - time.time()) < 60


# -- AWS_LAMBDA_LOG_FORMAT=JSON -------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_json_log_format_lines_follow_the_runtime_field_names_once(
        fmt: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_LAMBDA_LOG_FORMAT", "JSON")
    with LambdaRuntime("JSON") as runtime:
        app = shop()
        assert not [h for h in logging.getLogger(LOGGER_NAME).handlers
                    if isinstance(h, LamrouteHandler)]  # nothing of ours writes beside it
        context = invoke(app, fmt, "/orders/7", runtime)
        lines = runtime.sink.json_lines()
    by_message = {line["message"]: line for line in lines}
    assert len(lines) == len(by_message)  # each line once
    assert sorted(by_message) == ["order read", "request", "user info", "user warning"]
    access, read = by_message["request"], by_message["order read"]
    for line in (access, read):
        assert line["requestId"] == context.aws_request_id
        assert line["level"] == "INFO" and line["timestamp"]
        assert "aws_request_id" not in line and "name" not in line
    assert (access["logger"], read["logger"]) == ("lamroute", "lamroute.app")
    assert (access["status"], access["route"], access["method"]) == (200, "/orders/{order_id}",
                                                                     "GET")
    if not fmt.startswith("alb"):  # ALB has no request id (its trace header stands in)
        assert access["request_id"] == read["request_id"] == "gw-req-1"
    assert read["order"] == "7"
    # Without log_root the user's logger is left as the runtime set it: no request fields.
    user = by_message["user info"]  # the runtime set the root level (AWS_LAMBDA_LOG_LEVEL)
    assert user["logger"] == USER_LOGGER and "route" not in user


def test_json_log_format_exceptions_use_the_runtime_error_fields(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_LAMBDA_LOG_FORMAT", "JSON")
    with LambdaRuntime("JSON") as runtime:
        invoke(shop(), "http", "/crash", runtime)
        (error,) = [line for line in runtime.sink.json_lines() if line["level"] == "ERROR"]
    assert (error["message"], error["errorType"]) == ("unhandled exception", "ZeroDivisionError")
    assert error["errorMessage"] == "no orders to share"
    assert any("raise ZeroDivisionError" in frame for frame in error["stackTrace"])
    assert error["route"] == "/crash"


def test_json_log_format_without_the_runtime_handler_writes_the_same_shape(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_LAMBDA_LOG_FORMAT", "JSON")
    app = shop()
    buffer = capture(logging.getLogger(LOGGER_NAME))
    context = invoke(app, "rest", "/orders/3")
    invoke(app, "rest", "/crash")
    lines = json_lines(buffer)
    access = next(line for line in lines if line["message"] == "request")
    assert {"timestamp", "level", "message", "logger", "requestId"} <= set(access)
    assert access["requestId"] == context.aws_request_id and recent(access["timestamp"])
    error = next(line for line in lines if line["level"] == "ERROR")
    assert error["errorType"] == "ZeroDivisionError" and error["stackTrace"]


def test_runtime_json_formatter_matches_the_runtime_client() -> None:
    from awslambdaric.lambda_runtime_log_utils import JsonFormatter

    try:
        raise KeyError("gone")
    except KeyError:
        import sys

        exc_info = sys.exc_info()
    record = logging.LogRecord("app.x", logging.WARNING, __file__, 7, "lost %s", ("it",),
                               exc_info, func="f")
    record.aws_request_id = "aws-1"
    record.order = {"id": 1}
    ours = json.loads(RuntimeJsonFormatter().format(record))
    theirs = json.loads(JsonFormatter().format(record))
    assert ours.pop("timestamp").startswith(theirs.pop("timestamp")[:19])  # theirs has no ms
    assert ours == theirs


# -- text mode ------------------------------------------------------------------------------------


def test_text_mode_lines_carry_a_timestamp() -> None:
    app = shop()
    buffer = capture(logging.getLogger(LOGGER_NAME))
    invoke(app, "http", "/orders/1")
    lines = json_lines(buffer)
    assert [line["message"] for line in lines] == ["order read", "request"]
    for line in lines:
        assert list(line)[:4] == ["timestamp", "level", "name", "message"]
        assert recent(line["timestamp"])


def test_text_mode_under_the_runtime_writes_each_line_once() -> None:
    with LambdaRuntime("TEXT", log_level="") as runtime:
        app = shop()
        buffer = capture(logging.getLogger(LOGGER_NAME))
        invoke(app, "http", "/orders/1", runtime)
    assert [line["message"] for line in json_lines(buffer)] == ["order read", "request"]
    # the runtime's text handler only sees what is not lamroute's (here the user's warning)
    assert len(runtime.sink.writes) == 1 and "user warning" in runtime.sink.writes[0]


# -- App(log_root=True) ---------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["rest", "http"])
def test_log_root_gives_user_loggers_the_handler_level_and_fields_in_text_mode(fmt: str) -> None:
    with LambdaRuntime("TEXT", log_level="") as runtime:
        app = shop(log_root=True)
        buffer = capture(logging.getLogger())
        context = invoke(app, fmt, "/orders/9", runtime)
    lines = {line["message"]: line for line in json_lines(buffer)}
    assert sorted(lines) == ["order read", "request", "user info", "user warning"]
    info = lines["user info"]
    assert (info["name"], info["level"], info["route"]) == (USER_LOGGER, "INFO",
                                                            "/orders/{order_id}")
    assert info["request_id"] == "gw-req-1" and info["aws_request_id"] == context.aws_request_id
    assert info["password"] == REDACTED and recent(info["timestamp"])
    assert runtime.sink.writes == []  # the runtime's text handler would repeat every line


@pytest.mark.parametrize("fmt", ["rest", "http"])
def test_log_root_gives_user_loggers_the_request_fields_in_json_mode(
        fmt: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_LAMBDA_LOG_FORMAT", "JSON")
    monkeypatch.setenv("LOG_LEVEL", "INFO")
    with LambdaRuntime("JSON", log_level="WARN") as runtime:
        app = shop(log_root=True)
        context = invoke(app, fmt, "/orders/9", runtime)
        written = runtime.sink.json_lines()
    lines = {line["message"]: line for line in written}
    assert sorted(lines) == ["order read", "request", "user info", "user warning"]
    assert len(written) == 4
    info = lines["user info"]
    assert (info["logger"], info["route"], info["request_id"]) == (
        USER_LOGGER, "/orders/{order_id}", "gw-req-1")
    assert info["requestId"] == context.aws_request_id and info["password"] == REDACTED


def test_log_root_stays_on_when_another_app_is_built() -> None:
    shop(log_root=True)
    App()
    root = logging.getLogger()
    assert [h for h in root.handlers if isinstance(h, LamrouteHandler)]
    assert not [h for h in logging.getLogger(LOGGER_NAME).handlers
                if isinstance(h, LamrouteHandler)]
    assert logging.getLogger(USER_LOGGER).getEffectiveLevel() == logging.INFO


def test_without_log_root_user_info_lines_are_left_to_the_runtime() -> None:
    with LambdaRuntime("TEXT", log_level="") as runtime:
        invoke(shop(), "http", "/orders/2", runtime)
    assert not any("user info" in write for write in runtime.sink.writes)


def test_lambda_trace_level_is_debug(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_LAMBDA_LOG_LEVEL", "TRACE")
    App()
    assert logging.getLogger(LOGGER_NAME).level == logging.DEBUG
