"""Structured JSON logs, configured once per Lambda container.

Every line written through the ``lamroute`` loggers (``app.logger`` included) carries the fields
of the request being handled (``request_id``, ``route``, ...). The level comes from ``LOG_LEVEL``
(or Lambda's ``AWS_LAMBDA_LOG_LEVEL``). Secrets are never written (:mod:`.redaction`).

Lambda's log format decides the shape (see :func:`configure`): in text mode lamroute writes its
own python-json-logger lines (``timestamp``, ``level``, ``name``, ``message``, fields); under
``AWS_LAMBDA_LOG_FORMAT=JSON`` its records go through the runtime's own JSON handler, with the
runtime's field names (:mod:`.runtime`). The parts only some apps need load on first use:
``redaction.py`` with the first line that has fields to check, ``runtime.py`` under the JSON
log format or ``log_root``, ``access.py`` (the access line) with an app that writes it, and
python-json-logger itself with the first line that is not an access line.

>>> logger = configure()
>>> logger.name
'lamroute'
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from collections.abc import Set as AbstractSet
from contextlib import contextmanager
from contextvars import ContextVar, Token
from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .redaction import is_sensitive, printable, redact, redact_text
    from .runtime import RuntimeJsonFormatter, runtime_handlers

LOGGER_NAME = "lamroute"
REDACTED = "[REDACTED]"

_request_fields: ContextVar[Mapping[str, Any] | None] = ContextVar("lamroute_request_fields",
                                                                   default=None)
_RECORD_ATTRS = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}
# Names kept here for `from lamroute.logs import ...`, their modules loaded on first use.
_LAZY = {"is_sensitive": "redaction", "printable": "redaction", "redact": "redaction",
         "redact_text": "redaction", "RuntimeJsonFormatter": "runtime",
         "runtime_handlers": "runtime"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{module}"), name)


class AccessMessage(str):
    """The access line's message. Its record carries only the access fields (fixed names, none
    sensitive, plain values by construction), so the filter has nothing to redact in it.

    >>> ACCESS_MESSAGE == "request"
    True
    """

    __slots__ = ()


ACCESS_MESSAGE = AccessMessage("request")
ACCESS_REQUEST_FIELDS = ("method", "path", "route", "request_id", "source_ip", "user_agent")


class RequestFieldsFilter(logging.Filter):
    """Adds the current request's fields to each record and redacts sensitive values.

    ``scope`` (a logger name) limits it to that logger's records and its children's: on the
    Lambda runtime's root handler, lamroute touches only its own lines unless ``log_root``.
    """

    def __init__(self, scope: str | None = None) -> None:
        super().__init__()
        self.scope = scope

    def filter(self, record: logging.LogRecord) -> bool:
        scope = self.scope
        if scope is not None and record.name != scope and not record.name.startswith(
                scope + "."):
            return True
        fields = _request_fields.get()
        if not fields and type(record.msg) is AccessMessage:
            return True  # the access line: no request fields to add, nothing to redact
        attrs = record.__dict__
        if fields:
            for key, value in fields.items():
                if key not in attrs:
                    attrs[key] = value
        extra = attrs.keys() - _RECORD_ATTRS
        if extra:
            try:
                (_redactor or _load_redactor())(attrs, extra)
            except Exception:  # the redactor could not load or run (out of memory): fail closed
                for key in extra:
                    attrs[key] = REDACTED
        return True


_redactor: Callable[[dict[str, Any], AbstractSet[str]], None] | None = None


def _load_redactor() -> Callable[[dict[str, Any], AbstractSet[str]], None]:
    """:func:`.redaction.redact_record`, loaded with the first line that has fields to check."""
    global _redactor
    from .redaction import redact_record

    _redactor = redact_record
    return redact_record


class LamrouteHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The handler lamroute installs (on stdout, as Lambda captures it); its filter adds the
    request fields and redacts."""


class LineFormatter(logging.Formatter):
    """Text mode's lines: python-json-logger's ``JsonFormatter`` with a ``timestamp`` first
    (``{"timestamp": ..., "level": "INFO", "name": "lamroute", "message": ..., fields}``).

    python-json-logger loads with the first line this formats: a container that writes only
    access lines (:mod:`.access` writes them itself, the same bytes) never imports it.
    """

    def __init__(self) -> None:
        super().__init__()
        self._json: logging.Formatter | None = None

    def format(self, record: logging.LogRecord) -> str:
        formatter = self._json
        if formatter is None:
            formatter = self._json = _json_formatter()
        return formatter.format(record)


def _json_formatter() -> logging.Formatter:
    from pythonjsonlogger.json import JsonFormatter

    class StampedFormatter(JsonFormatter):
        def add_fields(self, log_data: dict[str, Any], record: logging.LogRecord,
                       message_dict: dict[str, Any]) -> None:
            log_data["timestamp"] = utc_timestamp(record.created)
            super().add_fields(log_data, record, message_dict)

    return StampedFormatter("%(levelname)s %(name)s %(message)s",
                            rename_fields={"levelname": "level"})


def utc_timestamp(created: float) -> str:
    """``record.created`` as ISO 8601 UTC with milliseconds; the date part is computed once
    per second.

    >>> utc_timestamp(0.25)
    '1970-01-01T00:00:00.250Z'
    """
    global _stamp
    second = int(created)
    stamp = _stamp
    if stamp[0] != second:
        stamp = _stamp = (second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)))
    return stamp[1] + _MILLISECONDS[int((created - second) * 1000)]


class _Milliseconds(dict[int, str]):
    """``.042Z`` for 42, each made with its first line: a table of all 1000 built at import
    cost ~0.3 ms of every cold start.

    >>> _Milliseconds()[42]
    '.042Z'
    """

    __slots__ = ()

    def __missing__(self, ms: int) -> str:
        text = self[ms] = f".{ms % 1000:03d}Z"  # (% 1000: before 1970, as the tuple gave)
        return text


_stamp: tuple[int, str] = (-1, "")
_MILLISECONDS = _Milliseconds()


def json_log_format() -> bool:
    """Whether the function's log format is JSON (``AWS_LAMBDA_LOG_FORMAT``, as Lambda sets it)."""
    return os.environ.get("AWS_LAMBDA_LOG_FORMAT", "").upper() == "JSON"


def configure(level: str | None = None, *, root: bool = False) -> logging.Logger:
    """Set up the ``lamroute`` logger once (idempotent) and return it.

    Text mode: lamroute's own JSON lines on stdout, not propagated (the runtime's text handler
    on the root logger would write each line again). Under ``AWS_LAMBDA_LOG_FORMAT=JSON`` or
    with ``root=True`` (``App(log_root=True)``), handlers are shared with the root logger
    (:mod:`.runtime`).
    """
    logger = logging.getLogger(LOGGER_NAME)
    top = logging.getLogger()
    rooted = root or _rooted(top)
    if rooted or json_log_format():
        from .runtime import share_handlers

        share_handlers(logger, top, rooted)
    elif not own_handlers(logger):
        logger.addHandler(new_handler())
        logger.propagate = False
    runtime = sys.modules.get(f"{__name__}.runtime")
    if runtime is not None:  # the log format may have changed since a handler was made
        for handler in own_handlers(top) + own_handlers(logger):
            if isinstance(handler.formatter, runtime.RuntimeJsonFormatter) != json_log_format():
                handler.setFormatter(_formatter())
    chosen = level or os.environ.get("LOG_LEVEL") or os.environ.get("AWS_LAMBDA_LOG_LEVEL")
    if str(chosen).upper() == "TRACE":  # Lambda's TRACE is the runtime's DEBUG
        chosen = "DEBUG"
    logger.setLevel((chosen or "INFO").upper() if _valid_level(chosen) else logging.INFO)
    if rooted:
        top.setLevel(logger.level)
    return logger


def own_handlers(logger: logging.Logger) -> list[logging.Handler]:
    """lamroute's handlers on ``logger``."""
    return [h for h in logger.handlers if isinstance(h, LamrouteHandler)]


def own_filter(handler: logging.Handler) -> RequestFieldsFilter | None:
    """lamroute's filter on ``handler``, if it has one."""
    return next((f for f in handler.filters if isinstance(f, RequestFieldsFilter)), None)


def _rooted(top: logging.Logger) -> bool:
    """Whether ``log_root`` was switched on before (it stays on): lamroute's handler, or its
    filter unscoped, on the root logger."""
    return bool(own_handlers(top)) or any(
        (found := own_filter(h)) is not None and found.scope is None for h in top.handlers)


def _formatter() -> logging.Formatter:
    if json_log_format():
        from .runtime import RuntimeJsonFormatter

        return RuntimeJsonFormatter()
    return LineFormatter()


def new_handler() -> LamrouteHandler:
    """lamroute's handler on stdout, with the formatter of the log format and its filter."""
    handler = LamrouteHandler(sys.stdout)
    handler.setFormatter(_formatter())
    handler.addFilter(RequestFieldsFilter())
    return handler


def _valid_level(name: str | None) -> bool:
    return bool(name) and isinstance(logging.getLevelName(str(name).upper()), int)


def set_request_field(key: str, value: Any) -> None:
    """Add or change one field of the request being handled (``route`` once it is matched)."""
    fields = _request_fields.get()
    if isinstance(fields, dict):
        fields[key] = value


# The hot-path form of :func:`request_fields` (no generator-based context manager, no frame of
# its own): ``token = bind_request_fields(fields)`` attaches ``fields`` to lamroute log lines,
# ``unbind_request_fields(token)`` undoes it. They are the context variable's own methods.
bind_request_fields: Callable[[Mapping[str, Any] | None], Token[Mapping[str, Any] | None]] = (
    _request_fields.set)
unbind_request_fields: Callable[[Token[Mapping[str, Any] | None]], None] = _request_fields.reset


@contextmanager
def request_fields(fields: Mapping[str, Any]) -> Iterator[None]:
    """Attach ``fields`` to every lamroute log line written inside the block."""
    token = _request_fields.set(fields)
    try:
        yield
    finally:
        _request_fields.reset(token)


__all__ = ["ACCESS_MESSAGE", "LOGGER_NAME", "REDACTED", "AccessMessage", "LamrouteHandler",
           "LineFormatter", "RequestFieldsFilter", "RuntimeJsonFormatter", "bind_request_fields",
           "configure", "is_sensitive", "json_log_format", "new_handler", "own_filter",
           "own_handlers", "printable", "redact", "redact_text", "request_fields",
           "runtime_handlers", "set_request_field", "unbind_request_fields", "utc_timestamp"]
