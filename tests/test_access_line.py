"""The access line as shipped (issue 18): written without a ``LogRecord`` when lamroute's own
handler is its only reader, byte for byte what python-json-logger writes for the record, and a
real record through ``logging`` as soon as anything else may read it."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from lamroute import App, Request
from lamroute.logs import LamrouteHandler, configure, utc_timestamp
from lamroute.logs import access as access_module
from lamroute.testing import FakeContext, make_event


class Sole:
    """lamroute's handler alone on its logger, writing to a buffer (pytest may have attached
    capture handlers to the ``lamroute`` logger: they are set aside for the test)."""

    def __init__(self, logger: logging.Logger, handler: LamrouteHandler) -> None:
        self.logger = logger
        self.handler = handler
        self.buffer = io.StringIO()

    def isolate(self) -> None:
        """Set pytest's capture handlers aside (it attaches them as each test phase starts)."""
        self.logger.handlers[:] = [self.handler]

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.buffer.getvalue().splitlines()]


@pytest.fixture
def sole(monkeypatch: pytest.MonkeyPatch) -> Iterator[Sole]:
    for name in ("LOG_LEVEL", "AWS_LAMBDA_LOG_LEVEL", "AWS_LAMBDA_LOG_FORMAT"):
        monkeypatch.delenv(name, raising=False)
    logger = configure()
    (handler,) = [h for h in logger.handlers if type(h) is LamrouteHandler]
    saved = list(logger.handlers), list(logger.filters), logger.propagate
    logger.handlers[:] = [handler]
    logger.filters[:] = []
    state = Sole(logger, handler)
    old = handler.setStream(state.buffer)
    try:
        yield state
    finally:
        handler.setStream(old)  # type: ignore[arg-type]
        logger.handlers[:], logger.filters[:], logger.propagate = saved
        logger.setLevel(logging.INFO)


@pytest.fixture
def records(monkeypatch: pytest.MonkeyPatch) -> list[logging.LogRecord]:
    """Every LogRecord made from here on, by any logger."""
    made: list[logging.LogRecord] = []
    real = logging.LogRecord.__init__

    # Counted where every record is made, the record factory and Logger's methods left as they
    # are (replacing one of them is what instrumentations do: the access line then has a record).
    def counting(self: logging.LogRecord, *args: Any, **kwargs: Any) -> None:
        real(self, *args, **kwargs)
        made.append(self)

    monkeypatch.setattr(logging.LogRecord, "__init__", counting)
    return made


def shop() -> App:
    app = App()

    @app.get("/items/{item_id}")
    def item(item_id: str, request: Request) -> dict[str, str]:
        return {"id": item_id}

    return app


def notes() -> App:
    app = App()

    @app.post("/notes")
    def note(body: dict[str, Any]) -> dict[str, Any]:
        return body

    return app


def general_line(logger: logging.Logger, handler: LamrouteHandler, **fields: Any) -> str:
    """What python-json-logger writes for the access record (the general path)."""
    record = access_module._record(logger, tuple(fields[k] for k in (
        "method", "path", "route", "request_id", "source_ip", "user_agent")), fields["status"],
        fields["duration_ms"], fields["aws_request_id"], fields["cold_start"],
        fields.get("tenant_id"))
    assert handler.filter(record)
    return handler.format(record)


def test_the_access_line_is_written_without_a_log_record_when_lamroute_is_its_only_reader(
        sole: Sole, records: list[logging.LogRecord]) -> None:
    sole.isolate()
    context = FakeContext()
    event = make_event("rest", "GET", "/items/7", headers={"User-Agent": "ua/1"},
                       request_id="req-1", source_ip="192.0.2.44")
    assert shop()(event, context)["statusCode"] == 200
    assert records == []  # no LogRecord was built for nobody to read
    (line,) = sole.lines()
    assert {k: line[k] for k in ("message", "method", "path", "route", "status", "request_id",
                                 "aws_request_id", "source_ip", "user_agent")} == {
        "message": "request", "method": "GET", "path": "/items/7", "route": "/items/{item_id}",
        "status": 200, "request_id": "req-1", "aws_request_id": context.aws_request_id,
        "source_ip": "192.0.2.44", "user_agent": "ua/1"}
    assert list(line)[:4] == ["timestamp", "level", "name", "message"]


@pytest.mark.parametrize("fields", [
    {"method": "GET", "path": "/items/7", "route": "/items/{item_id}", "request_id": "r-1",
     "source_ip": "203.0.113.7", "user_agent": "Mozilla/5.0 (X11) \u00e9\u2603 \"q\" \\ \x01"},
    {"method": None, "path": None, "route": None, "request_id": None, "source_ip": None,
     "user_agent": None},
    {"method": "POST", "path": "/caf\u00e9/\ud83d\ude00", "route": None, "request_id": "\u2028",
     "source_ip": "::1", "user_agent": "", "tenant_id": "tenant-\u00e9"},
])
def test_the_direct_line_is_the_bytes_python_json_logger_writes(
        sole: Sole, fields: dict[str, Any]) -> None:
    sole.isolate()
    values = {**fields, "status": 404, "duration_ms": 12.345, "aws_request_id": "aws-1",
              "cold_start": True}
    general = general_line(sole.logger, sole.handler, **values)
    direct = access_module.access_json(
        json.loads(general)["timestamp"],
        tuple(values[k] for k in ("method", "path", "route", "request_id", "source_ip",
                                  "user_agent")),
        404, 12.345, "aws-1", True, values.get("tenant_id"))
    assert direct == general


def test_a_value_that_is_no_string_takes_the_general_path(
        sole: Sole, records: list[logging.LogRecord]) -> None:
    sole.isolate()
    context = FakeContext()
    context.aws_request_id = 42  # type: ignore[assignment]  # a caller's odd context
    shop()(make_event("http", "GET", "/items/1"), context)
    (record,) = records
    assert record.__dict__["aws_request_id"] == 42
    assert sole.lines()[0]["aws_request_id"] == 42


def test_a_users_filter_and_handler_still_see_the_access_record(
        sole: Sole, records: list[logging.LogRecord]) -> None:
    sole.isolate()
    seen: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record)

    def no_health(record: logging.LogRecord) -> bool:
        return record.__dict__.get("path") != "/items/health"

    keep = Keep()
    sole.logger.addHandler(keep)
    sole.logger.addFilter(no_health)
    app = shop()
    app(make_event("rest", "GET", "/items/health"), FakeContext())
    app(make_event("rest", "GET", "/items/2"), FakeContext())
    assert [r.__dict__["path"] for r in seen] == ["/items/2"]  # filtered, then handled
    assert [line["path"] for line in sole.lines()] == ["/items/2"]
    assert seen[0].getMessage() == "request" and seen[0].__dict__["status"] == 200


@pytest.mark.parametrize("change", ["formatter", "handler level", "handler filter",
                                    "propagate", "terminator"])
def test_any_change_to_lamroutes_handler_is_honoured(sole: Sole, change: str) -> None:
    sole.isolate()
    handler = sole.handler
    saved = handler.formatter, handler.level, list(handler.filters), handler.terminator
    if change == "formatter":
        handler.setFormatter(logging.Formatter("%(message)s %(path)s"))
    elif change == "handler level":
        handler.setLevel(logging.WARNING)
    elif change == "handler filter":
        handler.addFilter(lambda record: False)
    elif change == "propagate":
        sole.logger.propagate = True
    else:
        handler.terminator = "\r\n"
    try:
        shop()(make_event("rest", "GET", "/items/3"), FakeContext())
    finally:
        handler.formatter, handler.level = saved[0], saved[1]
        handler.filters[:], handler.terminator = saved[2], saved[3]
    written = sole.buffer.getvalue()
    expected = {"formatter": "request /items/3\n", "handler level": "", "handler filter": "",
                "terminator": None, "propagate": None}[change]
    if expected is not None:
        assert written == expected
    elif change == "terminator":
        assert written.endswith('"}\r\n') and written.count("\n") == 1
    else:
        assert json.loads(written)["path"] == "/items/3"


def test_log_level_above_info_silences_the_access_line(
        sole: Sole, records: list[logging.LogRecord], monkeypatch: pytest.MonkeyPatch) -> None:
    sole.isolate()
    monkeypatch.setenv("LOG_LEVEL", "WARNING")
    app = shop()
    app(make_event("rest", "GET", "/items/4"), FakeContext())
    assert sole.buffer.getvalue() == "" and records == []


def test_a_failing_stream_is_reported_as_logging_reports_it(
        sole: Sole, monkeypatch: pytest.MonkeyPatch) -> None:
    sole.isolate()
    class Closed(io.StringIO):
        def write(self, text: str) -> int:
            raise OSError("stream closed")

    sole.handler.setStream(Closed())
    reported: list[logging.LogRecord] = []
    monkeypatch.setattr(sole.handler, "handleError", reported.append)
    answer = shop()(make_event("rest", "GET", "/items/5"), FakeContext())
    assert answer["statusCode"] == 200  # the answer never depends on its log line
    assert [r.__dict__["path"] for r in reported] == ["/items/5"]


def test_the_timestamp_has_milliseconds_in_utc() -> None:
    assert utc_timestamp(1_700_000_000.0425) == "2023-11-14T22:13:20.042Z"
    assert utc_timestamp(1_700_000_000.999) == "2023-11-14T22:13:20.999Z"


def test_an_app_writing_only_access_lines_never_imports_python_json_logger() -> None:
    code = (
        "import sys, lamroute\n"
        "app = lamroute.App()\n"
        "app.get('/ok')(lambda: {'ok': True})\n"
        "from lamroute.testing import FakeContext, make_event\n"
        "sys.stdout = open('/dev/null', 'w')\n"
        "assert app(make_event('rest', 'GET', '/ok'), FakeContext())['statusCode'] == 200\n"
        "sys.stdout = sys.__stdout__\n"
        "print(sorted(m for m in sys.modules if m.startswith(('pythonjsonlogger',"
        " 'lamroute.logs'))))"
    )
    out = subprocess.check_output([sys.executable, "-c", code], text=True).splitlines()
    assert json.loads(out[0])["message"] == "request"
    assert out[-1] == "['lamroute.logs', 'lamroute.logs.access']"


def test_a_renamed_info_level_is_the_level_the_access_line_writes() -> None:
    # python-json-logger writes the level's name as logging.addLevelName left it, read as each
    # record is made; the line written without a record must say the same, however late the
    # rename comes (the access line's module loads with the app, before the app's module goes
    # on to configure logging).
    code = (
        "import logging, sys, lamroute\n"
        "from lamroute.testing import FakeContext, make_event\n"
        "app = lamroute.App()\n"
        "app.get('/ok')(lambda: 'ok')\n"
        "event = make_event('rest', 'GET', '/ok')\n"
        "logging.addLevelName(logging.INFO, 'NOTICE')\n"
        "app(event, FakeContext())\n"
        "logging.getLogger('lamroute.app').info('mine')\n"
        "logging.addLevelName(logging.INFO, 'INFO')\n"
        "app(event, FakeContext())\n"
    )
    out = subprocess.check_output([sys.executable, "-c", code], text=True).splitlines()
    assert [(json.loads(line)["message"], json.loads(line)["level"]) for line in out] == [
        ("request", "NOTICE"), ("mine", "NOTICE"), ("request", "INFO")]


def header_passes(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, ...]]:
    """The names each pass over an event's headers looks for, in order (recorded from now)."""
    from lamroute.formats import _common

    passes: list[tuple[str, ...]] = []
    real = _common.first_headers

    def counting(source: Any, names: tuple[str, ...]) -> dict[str, str | None]:
        passes.append(names)
        return real(source, names)

    monkeypatch.setattr(_common, "first_headers", counting)
    return passes


def test_a_json_body_and_the_access_line_read_the_headers_in_one_pass(
        sole: Sole, monkeypatch: pytest.MonkeyPatch) -> None:
    sole.isolate()
    passes = header_passes(monkeypatch)
    app = notes()
    event = make_event("rest", "POST", "/notes", json={"text": "hi"},
                       headers={"User-Agent": "ua/2"})
    assert app(event, FakeContext())["statusCode"] == 200
    assert passes == [("content-type", "user-agent")]
    assert sole.lines()[0]["user_agent"] == "ua/2"


def test_a_malformed_header_costs_its_field_not_the_body(sole: Sole) -> None:
    sole.isolate()
    app = notes()
    event = make_event("rest", "POST", "/notes", json={"text": "hi"})
    event["multiValueHeaders"]["User-Agent"] = [1, 2]  # not strings: the event is malformed
    event["requestContext"]["identity"]["userAgent"] = None  # the header is read, not this
    answer = app(event, FakeContext())
    assert answer["statusCode"] in (200, 400)  # what parsing every header decides
    assert sole.lines()[0]["user_agent"] is None


@pytest.mark.parametrize("fmt", ["rest", "http-v1", "http", "url"])
def test_the_access_line_takes_the_user_agent_the_gateway_recorded_without_a_header_pass(
        sole: Sole, monkeypatch: pytest.MonkeyPatch, fmt: str) -> None:
    sole.isolate()
    passes = header_passes(monkeypatch)
    event = make_event(fmt, "GET", "/items/7", headers={"User-Agent": "ua/3"})
    assert shop()(event, FakeContext())["statusCode"] == 200
    assert passes == []  # requestContext's userAgent: one lookup, no scan of the headers
    assert sole.lines()[0]["user_agent"] == "ua/3"


@pytest.mark.parametrize("fmt", ["rest", "http-v1", "http", "url", "alb", "alb-multi",
                                 "custom"])
def test_user_agent_is_the_header_whatever_the_format_records(fmt: str) -> None:
    from lamroute.formats import parse_event

    event = make_event(fmt, "GET", "/a", headers={"User-Agent": "Mozilla/5.0 (X11) \u00e9"})
    assert parse_event(event, None).user_agent == "Mozilla/5.0 (X11) \u00e9"
    context = event.get("requestContext")
    for place in ("identity", "http"):  # not recorded: the headers are read
        if isinstance(context, dict) and isinstance(context.get(place), dict):
            context[place].pop("userAgent", None)
    assert parse_event(event, None).user_agent == "Mozilla/5.0 (X11) \u00e9"


@pytest.mark.parametrize("fmt", ["rest", "http", "url"])
def test_a_user_agent_a_middleware_rewrote_is_the_one_read_and_logged(
        sole: Sole, fmt: str) -> None:
    """The gateway's recorded value is only a shortcut while the headers are untouched: a
    middleware that rewrites the header (Headers is mutable) is not silently ignored."""
    sole.isolate()
    app = App()

    @app.middleware
    def rewrite(request: Request, call_next: Any) -> Any:
        request.headers["User-Agent"] = "rewritten/1"
        return call_next(request)

    @app.get("/ua")
    def ua(request: Request) -> dict[str, str | None]:
        return {"ua": request.user_agent}

    event = make_event(fmt, "GET", "/ua", headers={"User-Agent": "client/1"})
    answer = app(event, FakeContext())
    assert json.loads(answer["body"]) == {"ua": "rewritten/1"}
    assert sole.lines()[0]["user_agent"] == "rewritten/1"


def test_a_log_record_factory_still_gets_the_access_record(sole: Sole) -> None:
    # OpenTelemetry's logging instrumentation adds the trace ids to every record through the
    # record factory; python-json-logger writes them: the access line must carry them too.
    sole.isolate()
    real = logging.getLogRecordFactory()

    def with_trace(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = real(*args, **kwargs)
        record.otelTraceID = "4bf92f3577b34da6a3ce929d0e0e4736"
        return record

    logging.setLogRecordFactory(with_trace)
    try:
        shop()(make_event("rest", "GET", "/items/8"), FakeContext())
    finally:
        logging.setLogRecordFactory(real)
    (line,) = sole.lines()
    assert line["otelTraceID"] == "4bf92f3577b34da6a3ce929d0e0e4736" and line["path"] == "/items/8"


@pytest.mark.parametrize("method", ["makeRecord", "callHandlers", "handle"])
def test_an_instrumented_logger_still_gets_the_access_record(
        sole: Sole, monkeypatch: pytest.MonkeyPatch, method: str) -> None:
    # ddtrace's log injection wraps Logger.makeRecord (adding dd.trace_id), Sentry's logging
    # integration Logger.callHandlers (breadcrumbs, Sentry logs): each must see the access line.
    sole.isolate()
    real = getattr(logging.Logger, method)
    seen: list[Any] = []

    def instrumented(self: logging.Logger, *args: Any, **kwargs: Any) -> Any:
        seen.append(args)
        result = real(self, *args, **kwargs)
        if method == "makeRecord":
            result.__dict__["dd.trace_id"] = "123"
        return result

    monkeypatch.setattr(logging.Logger, method, instrumented)
    shop()(make_event("rest", "GET", "/items/9"), FakeContext())
    (line,) = sole.lines()
    assert seen and line["path"] == "/items/9"
    if method == "makeRecord":
        assert line["dd.trace_id"] == "123"


def test_logging_methods_replaced_before_the_access_line_loaded_are_honoured() -> None:
    # An instrumentation usually loads first (a Lambda layer's wrapper imports it before the
    # app): replaced then, logging's own methods are not there to compare with.
    code = (
        "import logging, sys\n"
        "real = logging.Logger.callHandlers\n"
        "seen = []\n"
        "def wrapped(self, record):\n"
        "    seen.append(record.getMessage())\n"
        "    real(self, record)\n"
        "logging.Logger.callHandlers = wrapped\n"
        "from lamroute import App\n"
        "from lamroute.testing import FakeContext, make_event\n"
        "app = App()\n"
        "app.get('/')(lambda: 'ok')\n"
        "app(make_event('rest', 'GET', '/'), FakeContext())\n"
        "sys.stderr.write(repr(seen))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stderr == "['request']"
