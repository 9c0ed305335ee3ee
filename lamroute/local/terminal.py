"""What ``lamroute serve`` shows in the terminal: one human line per request, readable log lines
and tracebacks (``--log-format pretty``), or the JSON lines exactly as Lambda would write them
(``--log-format json``). Pretty is the default when standard output is a terminal.

Pretty output goes to standard error; when standard output is not a terminal (``> app.jsonl``)
the JSON lines still go there, so they stay available. The access line comes from the gateway
(what the client got: time, method, URL, status, duration, and the cold-start mark with its
init duration, ``cold (init 128ms)``, for a cold start);
the app's own JSON access line, which would repeat it, is left out of the pretty view.

Both ways of running the app use the same renderer: in-process, :func:`install` puts a
:class:`PrettyHandler` beside lamroute's JSON handler; a worker process's output lines go
through :meth:`Terminal.app_line`.

>>> style = Style(color=False)
>>> render_line('{"timestamp": "2026-01-02T03:04:05.678Z", "level": "WARNING", '
...             '"name": "lamroute.app", "message": "slow store", "store": "sqlite"}',
...             style)[13:]                                    # after the (local) time
'WARNING lamroute.app  slow store  store=sqlite'
>>> render_line('{"level": "INFO", "name": "lamroute", "message": "request", "status": 200}',
...             style) is None
True
"""

from __future__ import annotations

import json
import logging
import os
import sys
import sysconfig
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TextIO

from ..logs import LOGGER_NAME, LamrouteHandler, printable

MODES = ("pretty", "json")
# Fields every line has, or that only repeat the access line: not shown as key=value.
_STANDARD = frozenset({
    "timestamp", "level", "name", "logger", "message", "exc_info", "stack_info", "requestId",
    "aws_request_id", "request_id", "route", "stackTrace", "errorType", "errorMessage",
    "location", "taskName",
})
_LIBRARIES = tuple(p for p in {sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["purelib"],
                               os.path.dirname(os.path.dirname(__file__))} if p)


@dataclass(frozen=True)
class Style:
    """ANSI colours, or none (``NO_COLOR``, a pipe or a file)."""

    color: bool

    @classmethod
    def for_stream(cls, stream: TextIO) -> Style:
        isatty = getattr(stream, "isatty", None)
        tty = bool(isatty and isatty())
        return cls(color=tty and not os.environ.get("NO_COLOR"))

    def paint(self, text: str, code: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.color and text else text


_LEVELS = {"DEBUG": "2", "INFO": "36", "WARNING": "33", "ERROR": "31;1", "CRITICAL": "41;1"}


def default_mode(stream: TextIO | None = None) -> str:
    """``pretty`` when the JSON lines would reach a terminal, else ``json``."""
    stream = stream if stream is not None else sys.stdout
    isatty = getattr(stream, "isatty", None)
    return "pretty" if isatty is not None and isatty() else "json"


def render_access(method: str, url: str, status: int, seconds: float, cold: str,
                  style: Style, *, at: float | None = None) -> str:
    """The one human line of a request: ``12:00:01.250 GET /prod/notes 200 3.1ms``, then
    ``cold``, the cold-start mark (:attr:`lamroute.local.answers.ColdStart.mark`), if any.

    ``url`` must already be safe for a terminal (see ``gateway.loggable``).

    >>> render_access("GET", "/prod/notes?limit=2", 200, 0.0031, "cold (init 96ms)",
    ...               Style(False), at=0.25)
    '00:00:00.250 GET /prod/notes?limit=2 200 3.1ms cold (init 96ms)'
    """
    code = "32" if status < 400 else "33" if status < 500 else "31;1"
    parts = [style.paint(_clock(time.time() if at is None else at), "2"),
             style.paint(method, "1"), url, style.paint(str(status), code),
             f"{seconds * 1000:.1f}ms"]
    if cold:
        parts.append(style.paint(cold, "36"))
    return " ".join(parts)


def render_line(text: str, style: Style) -> str | None:
    """A JSON log line (lamroute's text-mode shape or the runtime's JSON shape) for a person;
    ``None`` for the app's access line (the gateway's line says it); other text as it is."""
    try:
        data = json.loads(text)
    except ValueError:
        return _plain(text)
    if not isinstance(data, dict):
        return _plain(text)
    name = str(data.get("name") or data.get("logger") or "")
    if name == LOGGER_NAME and data.get("message") == "request" and "status" in data:
        return None
    level = str(data.get("level") or "INFO")
    clock = _clock(_moment(data.get("timestamp")))
    fields = {k: v for k, v in data.items() if k not in _STANDARD}
    if level in ("ERROR", "CRITICAL") and data.get("request_id"):
        fields["request_id"] = data["request_id"]
    head = [style.paint(clock, "2"), style.paint(level, _LEVELS.get(level, "0")),
            style.paint(name, "2"), "", printable(_text(data.get("message")))]
    if fields:
        head += ["", " ".join(f"{k}={printable(_text(v))}" for k, v in fields.items())]
    lines = [" ".join(head)]
    trace = _traceback(data)
    if trace:
        lines += [_frame_line(line, style) for line in trace.rstrip("\n").split("\n")]
    return "\n".join(lines)


def _plain(text: str) -> str:
    """A line that is not JSON: the runtime client's text-mode error report joins its lines
    with ``\\r`` and indents with no-break spaces (one CloudWatch event): shown as lines."""
    parts = text.rstrip("\n").split("\r")
    return "\n".join(printable(part.replace("\u00a0", " ")) for part in parts)


def _clock(moment: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(moment)) + f".{int(moment % 1 * 1000):03d}"


def _moment(stamp: Any) -> float:
    """The epoch time of an ISO 8601 UTC ``timestamp`` (now when it is missing or odd)."""
    from datetime import datetime

    try:
        return datetime.fromisoformat(str(stamp).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return time.time()


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, default=str)


def _traceback(data: Mapping[str, Any]) -> str:
    """The traceback text of a line: python-json-logger's ``exc_info``, or the runtime's
    ``stackTrace`` + ``errorType`` + ``errorMessage``."""
    if isinstance(data.get("exc_info"), str):
        return str(data["exc_info"])
    frames = data.get("stackTrace")
    if isinstance(frames, list) and data.get("errorType"):
        body = "".join(str(f) for f in frames)
        return (f"Traceback (most recent call last):\n{body}"
                f"{data['errorType']}: {data.get('errorMessage', '')}")
    return ""


def _frame_line(line: str, style: Style) -> str:
    safe = "    " + printable(line)
    stripped = line.strip()
    if stripped.startswith('File "'):
        path = stripped[6:].partition('"')[0]
        return style.paint(safe, "2") if path.startswith(_LIBRARIES) else style.paint(safe, "1")
    if line and not line.startswith(" ") and not line.startswith("Traceback"):
        return style.paint(safe, "31;1")  # the exception itself (or a chained one's)
    return safe


class PrettyHandler(LamrouteHandler):
    """Formats a record as lamroute's JSON handler would, then writes it for a person."""

    def __init__(self, json_handler: logging.Handler, stream: TextIO, style: Style) -> None:
        super().__init__(stream)
        self.style = style
        self.twin = json_handler
        self.setFormatter(json_handler.formatter)
        self.filters = list(json_handler.filters)
        self.setLevel(json_handler.level)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = render_line(self.format(record), self.style)
            if text is not None:
                self.stream.write(text + "\n")
                self.flush()
        except Exception:
            self.handleError(record)


class GatewayFormatter(logging.Formatter):
    """The local gateway's own lines: the access line rendered, others as ``time LEVEL text``."""

    def __init__(self, style: Style) -> None:
        super().__init__()
        self.style = style

    def format(self, record: logging.LogRecord) -> str:
        access = getattr(record, "http_access", None)
        if access is not None:
            method, url, status, seconds, cold = access
            return render_access(method, url, status, seconds, cold, self.style,
                                 at=record.created)
        level = record.levelname
        text = f"{style_clock(record.created, self.style)} " \
               f"{self.style.paint(level, _LEVELS.get(level, '0'))} {record.getMessage()}"
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


def style_clock(moment: float, style: Style) -> str:
    return style.paint(_clock(moment), "2")


class Terminal:
    """Where ``lamroute serve`` writes: ``mode`` is ``pretty`` or ``json``."""

    def __init__(self, mode: str, *, out: TextIO | None = None, err: TextIO | None = None) -> None:
        if mode not in MODES:
            raise ValueError(f"log format must be one of {MODES}, not {mode!r}")
        self.mode = mode
        self.out = out if out is not None else sys.stdout
        self.err = err if err is not None else sys.stderr
        self.style = Style.for_stream(self.err)
        # JSON lines stay on stdout unless stdout is the terminal the pretty lines go to.
        self.keep_json = mode == "json" or default_mode(self.out) == "json"

    def app_line(self, line: str) -> None:
        """One line a worker process wrote on its standard output."""
        if self.keep_json:
            self.out.write(line if line.endswith("\n") else line + "\n")
            self.out.flush()
        if self.mode == "pretty":
            text = render_line(line, self.style)
            if text is not None:
                self.err.write(text + "\n")
                self.err.flush()

    def install(self) -> None:
        """Pretty mode in this process: lamroute's JSON handlers (on the ``lamroute`` logger,
        or the root logger with ``log_root``) get a pretty twin on stderr, and the gateway's
        lines (the ``lamroute.local`` logger) its formatter."""
        if self.mode != "pretty":
            return
        for logger in (logging.getLogger(LOGGER_NAME), logging.getLogger()):
            twinned = {id(h.twin) for h in logger.handlers if isinstance(h, PrettyHandler)}
            for handler in list(logger.handlers):
                if isinstance(handler, LamrouteHandler) and not isinstance(
                        handler, PrettyHandler) and id(handler) not in twinned:
                    logger.addHandler(PrettyHandler(handler, self.err, self.style))
                    if not self.keep_json:
                        logger.removeHandler(handler)
        for handler in logging.getLogger("lamroute.local").handlers:
            handler.setFormatter(GatewayFormatter(self.style))
