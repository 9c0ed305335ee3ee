"""Lambda's JSON log format and ``App(log_root=True)``: handlers shared with the root logger.

Loaded only by a function whose log format is JSON (``AWS_LAMBDA_LOG_FORMAT=JSON``) or an app
with ``log_root=True``; the default (text mode, lamroute's own handler on the ``lamroute``
logger) never imports it.

Under the JSON format the runtime's own JSON handler on the root logger writes lamroute's
records too (once, with its field names), the request fields added by a filter on it; without
that handler (not under the runtime) lamroute writes the same shape itself
(:class:`RuntimeJsonFormatter`). ``log_root`` gives every logger lamroute's handler (or the
runtime's JSON handler), level and request fields; it stays on once set.

>>> RuntimeJsonFormatter().format(logging.makeLogRecord({"msg": "hi", "levelname": "INFO",
...     "name": "lamroute", "created": 0.0}))
'{"timestamp": "1970-01-01T00:00:00.000Z", "level": "INFO", "message": "hi", "logger": "lamroute"}'
"""

from __future__ import annotations

import json
import logging
import traceback
from typing import Any

from . import (
    _RECORD_ATTRS,
    LOGGER_NAME,
    RequestFieldsFilter,
    json_log_format,
    new_handler,
    own_filter,
    own_handlers,
    utc_timestamp,
)

__all__ = ["RuntimeJsonFormatter", "runtime_handlers", "share_handlers"]


class RuntimeJsonFormatter(logging.Formatter):
    """The Lambda Python runtime's JSON log line, for when its own handler is not there.

    Field names as the runtime interface client writes them under
    ``AWS_LAMBDA_LOG_FORMAT=JSON`` (``timestamp``, ``level``, ``message``, ``logger``,
    ``requestId``; ``errorType``, ``errorMessage``, ``stackTrace``, ``location`` for an
    exception; then the record's own fields; ``null`` values left out):
    https://github.com/aws/aws-lambda-python-runtime-interface-client/blob/main/awslambdaric/lambda_runtime_log_utils.py
    """

    _encode = json.JSONEncoder(ensure_ascii=False, default=str).encode
    _reserved = _RECORD_ATTRS | {"aws_request_id", "tenant_id", "_frame_type"}

    def format(self, record: logging.LogRecord) -> str:
        exc = record.exc_info
        message = record.msg if isinstance(record.msg, dict) and not record.args else (
            record.getMessage())
        line: dict[str, Any] = {
            "timestamp": utc_timestamp(record.created), "level": record.levelname,
            "message": message, "logger": record.name,
            "stackTrace": traceback.format_tb(exc[2]) if exc else None,
            "errorType": exc[0].__name__ if exc and exc[0] else None,
            "errorMessage": str(exc[1]) if exc else None,
            "requestId": getattr(record, "aws_request_id", None),
            "location": f"{record.pathname}:{record.funcName}:{record.lineno}" if exc else None,
        }
        for key, value in record.__dict__.items():
            if key not in self._reserved and key not in line:
                line[key] = value
        return self._encode({k: v for k, v in line.items() if v is not None})


def runtime_handlers() -> list[logging.Handler]:
    """The handlers the Lambda runtime put on the root logger before importing the handler
    module (``awslambdaric.bootstrap._setup_logging``: ``LambdaLoggerHandler``, or
    ``LambdaLoggerHandlerWithFrameType`` for JSON or a log level)."""
    return [h for h in logging.getLogger().handlers
            if type(h).__name__.startswith("LambdaLoggerHandler")]


def share_handlers(logger: logging.Logger, top: logging.Logger, rooted: bool) -> None:
    """The handlers of the JSON log format and of ``log_root`` (see the module docstring)."""
    runtime = runtime_handlers() if json_log_format() else []
    if runtime or rooted:
        for handler in own_handlers(logger):
            logger.removeHandler(handler)
        logger.propagate = True
    if runtime:
        for handler in runtime:
            found = own_filter(handler)
            if found is None:
                handler.addFilter(RequestFieldsFilter(None if rooted else LOGGER_NAME))
            elif rooted:
                found.scope = None
    elif rooted:
        if not own_handlers(top):
            for handler in runtime_handlers():  # its text lines would repeat each of ours
                top.removeHandler(handler)
            top.addHandler(new_handler())
    elif not own_handlers(logger):
        logger.addHandler(new_handler())
        logger.propagate = False
