"""The access line: one JSON line per invocation, for a fraction of a python-json-logger line.

It is a ``logging`` line like any other: ``LOG_LEVEL`` above ``INFO`` silences it, your
handlers and filters on the ``lamroute`` logger (or on lamroute's handler) see a real
``LogRecord``, and ``App(access_log=False)`` turns it off. What makes it cheap: when the only
handler the record would reach is lamroute's own text handler as configured (its formatter, its
filter, no filter on the logger, no propagation), no ``LogRecord`` is built for nobody to read.
The line python-json-logger would write for that record is written directly, to the same
stream, under the handler's lock: its fixed parts encoded once, its per-request values by the C
JSON string encoder. Anything else (a handler or filter of yours, another formatter,
Lambda's JSON log format, a record factory or a ``Logger`` method an instrumentation replaced,
``INFO`` renamed by ``logging.addLevelName``, a value that is not a plain string) takes the
general path, ``Logger.handle`` with the record. Loaded with the first app that writes access
lines.

>>> line = access_json("2026-01-02T03:04:05.678Z", ("GET", "/a", "/a", "r-1", None, "ua/1"),
...                    200, 0.042, "aws-1", True, None)
>>> import json
>>> json.loads(line)["message"], json.loads(line)["user_agent"], line.endswith('"ua/1"}')
('request', 'ua/1', True)
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from json import dumps
from json.encoder import encode_basestring_ascii
from types import FunctionType
from typing import Any

from . import (
    ACCESS_MESSAGE,
    ACCESS_REQUEST_FIELDS,
    LOGGER_NAME,
    LamrouteHandler,
    LineFormatter,
    RequestFieldsFilter,
    _request_fields,
    utc_timestamp,
)

_INFO = logging.INFO
# INFO's name as logging.addLevelName last set it (a record reads it as it is made): the line
# is written without one only while it is the name encoded below.
_level_name = logging._levelToName.get
_INFO_NAME = logging.getLevelName(_INFO)
# What python-json-logger writes between the timestamp and the first field of the access
# record (``level`` renamed from ``levelname``), encoded once.
_HEAD = (f', "level": {dumps(_INFO_NAME)}, "name": {dumps(LOGGER_NAME)}, '
         f'"message": {dumps(str(ACCESS_MESSAGE))}')
_NO_VALUES = (None, None, None, None, None, None)
_perf_counter = time.perf_counter
_time = time.time
_get_record_factory = logging.getLogRecordFactory
_LogRecord = logging.LogRecord


def _stock(name: str) -> Any:
    """``logging.Logger``'s own ``name`` method, or ``None`` when something replaced it before
    this module loaded (an instrumentation wrapping it, as ddtrace's log injection does)."""
    method = vars(logging.Logger).get(name)
    return method if type(method) is FunctionType and method.__module__ == "logging" else None


# What the general path runs for the record. An instrumentation that replaces one of them (Sentry
# wraps callHandlers, ddtrace makeRecord) or the record factory (OpenTelemetry's trace ids)
# reads or adds to every record: the access line is a real record for it.
_HANDLE, _CALL_HANDLERS, _MAKE_RECORD = (_stock(name) for name in (
    "handle", "callHandlers", "makeRecord"))

__all__ = ["access_json", "log_access", "sole_handler"]


def log_access(
    logger: logging.Logger, request: Any, payload: Mapping[str, Any], started: float, cold: bool,
    context: Any,
) -> None:
    """Write the access line of one invocation: ``request`` (a :class:`~lamroute.Request`, or
    ``None`` when the event could not be parsed), the rendered ``payload``, the start time."""
    if not logger.isEnabledFor(_INFO):
        return
    # Milliseconds to the microsecond (round(x, 3) costs a decimal conversion: 0.3 µs).
    duration_ms = int((_perf_counter() - started) * 1_000_000 + 0.5) / 1000
    aws_request_id = getattr(context, "aws_request_id", None)
    tenant = getattr(context, "tenant_id", None)  # Lambda's tenant isolation mode
    status = payload.get("statusCode")
    values = _NO_VALUES
    if request is not None:
        try:  # every line: one try, no closure per field
            values = (request.method, request.path, request.route, request.request_id,
                      request.source_ip, request.user_agent)
        except Exception:
            values = _values_one_by_one(request)
    handler = sole_handler(logger)
    if handler is not None and type(status) is int and not _request_fields.get():
        try:
            line = access_json(utc_timestamp(_time()), values, status, duration_ms,
                               aws_request_id, cold, tenant) + handler.terminator
        except TypeError:  # a value that is not a plain string: the general path
            pass
        else:
            with handler.lock:  # type: ignore[union-attr]  # what StreamHandler.emit does
                try:
                    stream = handler.stream
                    stream.write(line)
                    if hasattr(stream, "flush"):  # StreamHandler.flush (its lock is held)
                        stream.flush()
                except RecursionError:
                    raise
                except Exception:  # as emit does: reported by the handler
                    handler.handleError(_record(logger, values, status, duration_ms,
                                                aws_request_id, cold, tenant))
            return
    logger.handle(_record(logger, values, status, duration_ms, aws_request_id, cold, tenant))


def sole_handler(logger: logging.Logger) -> LamrouteHandler | None:
    """lamroute's own handler when it is the only one an ``INFO`` record of ``logger`` reaches
    and it is as lamroute configured it (text formatter, its filter alone), with ``logging``'s
    own record machinery (no record factory, no ``Logger`` method replaced, ``INFO`` named as
    when this module loaded); else ``None``."""
    kind = type(logger)
    if (logger.filters or _get_record_factory() is not _LogRecord
            or _level_name(_INFO) is not _INFO_NAME
            or kind.handle is not _HANDLE or kind.callHandlers is not _CALL_HANDLERS
            or kind.makeRecord is not _MAKE_RECORD):
        return None
    found = None
    current: logging.Logger | None = logger
    while current is not None:
        handlers = current.handlers
        if handlers:
            if found is not None or len(handlers) != 1:
                return None
            found = handlers[0]
        if not current.propagate:
            break
        current = current.parent
    if (type(found) is LamrouteHandler and found.level <= _INFO
            and type(found.formatter) is LineFormatter):
        filters = found.filters
        if len(filters) == 1 and type(filters[0]) is RequestFieldsFilter:
            return found
    return None


def access_json(stamp: str, values: tuple[Any, ...], status: int, duration_ms: float,
                aws_request_id: Any, cold: bool, tenant: Any) -> str:
    """The access line python-json-logger writes for the access record, without the record
    (``json.dumps(..., ensure_ascii=True)``: the same encoder functions, the same bytes).
    Raises ``TypeError`` for a value that is neither a string nor ``None``."""
    e = encode_basestring_ascii
    method, path, route, request_id, source_ip, user_agent = values
    line = (
        f'{{"timestamp": "{stamp}"{_HEAD}, '
        f'"method": {"null" if method is None else e(method)}, '
        f'"path": {"null" if path is None else e(path)}, '
        f'"route": {"null" if route is None else e(route)}, '
        f'"status": {status!r}, "duration_ms": {duration_ms!r}, '
        f'"request_id": {"null" if request_id is None else e(request_id)}, '
        f'"aws_request_id": {"null" if aws_request_id is None else e(aws_request_id)}, '
        f'"cold_start": {"true" if cold else "false"}, '
        f'"source_ip": {"null" if source_ip is None else e(source_ip)}, '
        f'"user_agent": {"null" if user_agent is None else e(user_agent)}'
    )
    if tenant is not None:
        return f'{line}, "tenant_id": {e(tenant)}}}'
    return line + "}"


def _record(logger: logging.Logger, values: tuple[Any, ...], status: Any, duration_ms: float,
            aws_request_id: Any, cold: bool, tenant: Any) -> logging.LogRecord:
    """The access record, for the general path."""
    method, path, route, request_id, source_ip, user_agent = values
    fields: dict[str, Any] = {
        "method": method, "path": path, "route": route, "status": status,
        "duration_ms": duration_ms, "request_id": request_id, "aws_request_id": aws_request_id,
        "cold_start": cold, "source_ip": source_ip, "user_agent": user_agent,
    }
    # The context is the caller's object: an aws_request_id (or tenant_id) that is not a plain
    # string goes through the filter's full redaction like any other line.
    plain = type(aws_request_id) in (str, type(None))
    if tenant is not None:
        fields["tenant_id"] = tenant
        plain = plain and type(tenant) is str
    # Made directly: the caller's frame (findCaller, a stack walk per line) is never written.
    return logger.makeRecord(logger.name, _INFO, __file__, 0,
                             ACCESS_MESSAGE if plain else "request", (), None, extra=fields)


def _values_one_by_one(request: Any) -> tuple[Any, ...]:
    """Each field read on its own: a malformed part (headers of the wrong type, say) costs that
    field, never the line."""
    values = []
    for name in ACCESS_REQUEST_FIELDS:
        try:
            values.append(getattr(request, name))
        except Exception:
            values.append(None)
    return tuple(values)
