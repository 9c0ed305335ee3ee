"""Structured JSON logs with python-json-logger, configured once per Lambda container.

Every line written through the ``lamroute`` loggers (``app.logger`` included) carries the fields
of the request being handled (``request_id``, ``route``, ...). The level comes from ``LOG_LEVEL``
(or Lambda's ``AWS_LAMBDA_LOG_LEVEL``). Secrets are never written: values under names such as
``authorization`` or ``cookie`` are replaced by ``[REDACTED]``.

>>> logger = configure()
>>> logger.name
'lamroute'
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar, Token
from typing import Any

LOGGER_NAME = "lamroute"
REDACTED = "[REDACTED]"
SENSITIVE = frozenset(
    {"authorization", "cookie", "cookies", "set-cookie", "x-api-key", "apikey", "api_key",
     "api-key", "password", "secret", "token", "proxy-authorization", "x-amz-security-token"}
)

_request_fields: ContextVar[Mapping[str, Any] | None] = ContextVar("lamroute_request_fields",
                                                                   default=None)
_RECORD_ATTRS = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}
_PLAIN = frozenset({str, int, float, bool, type(None)})


class AccessMessage(str):
    """The access line's message. Its record carries only the access fields (fixed names, none
    sensitive, plain values by construction), so the filter has nothing to redact in it.

    >>> ACCESS_MESSAGE == "request"
    True
    """

    __slots__ = ()


ACCESS_MESSAGE = AccessMessage("request")


class RequestFieldsFilter(logging.Filter):
    """Adds the current request's fields to each record and redacts sensitive values."""

    def filter(self, record: logging.LogRecord) -> bool:
        fields = _request_fields.get()
        if not fields and type(record.msg) is AccessMessage:
            return True  # the access line: no request fields to add, nothing to redact
        attrs = record.__dict__
        if fields:
            for key, value in fields.items():
                if key not in attrs:
                    attrs[key] = value
        for key in attrs.keys() - _RECORD_ATTRS:
            if key.lower() in SENSITIVE:
                attrs[key] = REDACTED
                continue
            value = attrs[key]
            # Runs for every line: plain values skip the (slow) abstract Mapping check.
            if type(value) not in _PLAIN and isinstance(value, (Mapping, list, tuple)):
                attrs[key] = _redact_value(value)
        return True


def redact(values: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``values`` with sensitive keys (any depth, lists included) redacted.

    >>> redact({"headers": {"Authorization": "Bearer x"}, "items": [{"apiKey": "k"}]})
    {'headers': {'Authorization': '[REDACTED]'}, 'items': [{'apiKey': '[REDACTED]'}]}
    """
    return {
        key: REDACTED if str(key).lower() in SENSITIVE else _redact_value(value)
        for key, value in values.items()
    }


def _redact_value(value: Any) -> Any:
    if isinstance(value, Mapping):
        return redact(value)
    if isinstance(value, (list, tuple)):
        return [_redact_value(item) for item in value]
    return value


def configure(level: str | None = None) -> logging.Logger:
    """Set up the ``lamroute`` logger once (idempotent) and return it."""
    logger = logging.getLogger(LOGGER_NAME)
    if not any(isinstance(f, RequestFieldsFilter) for h in logger.handlers for f in h.filters):
        from pythonjsonlogger.json import JsonFormatter

        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(
            JsonFormatter(
                "%(levelname)s %(name)s %(message)s", rename_fields={"levelname": "level"}
            )
        )
        handler.addFilter(RequestFieldsFilter())
        logger.addHandler(handler)
        # Lambda's runtime puts its own handler on the root logger: do not log twice.
        logger.propagate = False
    chosen = level or os.environ.get("LOG_LEVEL") or os.environ.get("AWS_LAMBDA_LOG_LEVEL")
    logger.setLevel((chosen or "INFO").upper() if _valid_level(chosen) else logging.INFO)
    return logger


def _valid_level(name: str | None) -> bool:
    return bool(name) and isinstance(logging.getLevelName(str(name).upper()), int)


def set_request_field(key: str, value: Any) -> None:
    """Add or change one field of the request being handled (``route`` once it is matched)."""
    fields = _request_fields.get()
    if isinstance(fields, dict):
        fields[key] = value


def bind_request_fields(fields: Mapping[str, Any] | None) -> Token[Mapping[str, Any] | None]:
    """Attach ``fields`` to lamroute log lines; undo with :func:`unbind_request_fields`.

    The hot-path form of :func:`request_fields` (no generator-based context manager).
    """
    return _request_fields.set(fields)


def unbind_request_fields(token: Token[Mapping[str, Any] | None]) -> None:
    _request_fields.reset(token)


@contextmanager
def request_fields(fields: Mapping[str, Any]) -> Iterator[None]:
    """Attach ``fields`` to every lamroute log line written inside the block."""
    token = _request_fields.set(fields)
    try:
        yield
    finally:
        _request_fields.reset(token)
