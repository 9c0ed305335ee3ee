"""Structured JSON logs, configured once per Lambda container.

Every line written through the ``lamroute`` loggers (``app.logger`` included) carries the fields
of the request being handled (``request_id``, ``route``, ...). The level comes from ``LOG_LEVEL``
(or Lambda's ``AWS_LAMBDA_LOG_LEVEL``). Secrets are never written: a value whose name contains
``token``, ``secret``, ``password``, ``cookie``, ``authorization``, ``session``, ... (any case,
with or without ``-``/``_``), at any depth, is replaced by ``[REDACTED]`` (see :func:`redact`).

Lambda's log format decides the shape (see :func:`configure`): in text mode lamroute writes its
own python-json-logger lines (``timestamp``, ``level``, ``name``, ``message``, fields); under
``AWS_LAMBDA_LOG_FORMAT=JSON`` its records go through the runtime's own JSON handler, with the
runtime's field names (``timestamp``, ``level``, ``message``, ``logger``, ``requestId``).

>>> logger = configure()
>>> logger.name
'lamroute'
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import time
import traceback
from collections.abc import Iterator, Mapping
from collections.abc import Set as AbstractSet
from contextlib import contextmanager
from contextvars import ContextVar, Token
from typing import Any
from urllib.parse import unquote_plus

LOGGER_NAME = "lamroute"
REDACTED = "[REDACTED]"
# A name is sensitive when, lower-cased and without separators, it contains one of these...
SENSITIVE_PARTS = ("token", "secret", "password", "passwd", "authorization", "cookie", "session",
                   "apikey", "credential", "signature", "privatekey")
# ...or starts with one of these: the headers in which an ALB that authenticates users with
# OIDC passes their access token, claims and identity (x-amzn-oidc-accesstoken, -data, -identity)
# https://docs.aws.amazon.com/elasticloadbalancing/latest/application/listener-authenticate-users.html
SENSITIVE_PREFIXES = ("xamznoidc",)
_SEPARATORS = str.maketrans("", "", "-_. ")
# Decisions by name, bounded: names come from requests (headers, JSON keys), so a client could
# send endless new ones; past the bound the cache starts again, and long names are not kept.
_DECISIONS: dict[str, bool] = {}
_MAX_DECISIONS = 2048
_MAX_CACHED_NAME = 128
# `name=value` in a query string, a form body or a cookie header (also in free text).
_PAIR = re.compile(r"([^\s=&;?#]+)=([^\s&;#]*)")

# How an object that is no str, number, dict, list or tuple is walked, by its type.
_AS_IS, _SET, _DATACLASS, _MODEL = range(4)
_WALKS: dict[type, int] = {}
_MAX_WALKS = 256

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
        decided = _DECISIONS.get  # is_sensitive's cache, read without the call when known
        for key in attrs.keys() - _RECORD_ATTRS:
            sensitive = decided(key)
            if sensitive is None:
                sensitive = is_sensitive(key)
            if sensitive:
                attrs[key] = REDACTED
                continue
            value = attrs[key]
            kind = type(value)
            # Runs for every line: plain values skip the (slow) abstract Mapping check.
            if kind is str:
                if "=" in value:
                    attrs[key] = redact_text(value)
            elif kind not in _PLAIN:
                try:
                    attrs[key] = _redact_value(value)
                except RecursionError:  # a cycle, or nested too deep to check: fail closed
                    attrs[key] = REDACTED
        return True


def is_sensitive(name: Any) -> bool:
    """Whether values under ``name`` are secrets (decided once per name, then cached).

    >>> [is_sensitive(n) for n in ("X-Auth-Token", "client_secret", "APIKEY", "x-amzn-oidc-data")]
    [True, True, True, True]
    >>> is_sensitive("user-agent")
    False
    """
    if type(name) is not str:
        name = str(name)
    decision = _DECISIONS.get(name)
    if decision is None:
        folded = name.lower().translate(_SEPARATORS)
        decision = folded.startswith(SENSITIVE_PREFIXES) or any(
            part in folded for part in SENSITIVE_PARTS)
        if len(name) <= _MAX_CACHED_NAME:
            if len(_DECISIONS) >= _MAX_DECISIONS:
                _DECISIONS.clear()
            _DECISIONS[name] = decision
    return decision


def redact(values: Mapping[Any, Any]) -> dict[Any, Any]:
    """A copy of ``values`` with sensitive names redacted at any depth: mappings, lists,
    tuples, sets, ``(name, value)`` pairs (header lists), ``name=value`` text (query strings),
    dataclass instances and pydantic models (their fields, as dicts).

    >>> redact({"headers": {"X-Auth-Token": "t"}, "items": [{"apiKey": "k"}],
    ...         "pairs": [("Authorization", "Bearer x")], "query": "access_token=abc&q=1"})
    ... # doctest: +NORMALIZE_WHITESPACE
    {'headers': {'X-Auth-Token': '[REDACTED]'}, 'items': [{'apiKey': '[REDACTED]'}],
     'pairs': [['Authorization', '[REDACTED]']], 'query': 'access_token=[REDACTED]&q=1'}
    """
    decided = _DECISIONS.get  # is_sensitive's cache, read without the call when known
    redacted = {}
    for key, value in values.items():
        sensitive = decided(key) if type(key) is str else None
        if sensitive is None:
            sensitive = is_sensitive(key)
        redacted[key] = REDACTED if sensitive else _redact_value(value)
    return redacted


def redact_text(text: str) -> str:
    """``text`` with the values of sensitive ``name=value`` pairs redacted (query strings, form
    bodies, cookie headers); names may be percent-encoded.

    >>> redact_text("/cb?code=1&access%5Ftoken=abc&Refresh-Token=def")
    '/cb?code=1&access%5Ftoken=[REDACTED]&Refresh-Token=[REDACTED]'
    """
    if "=" not in text:
        return text
    return _PAIR.sub(_redact_pair, text)


def printable(text: str) -> str:
    r"""``text`` safe for a terminal: control and other non-printable characters (ESC, BEL,
    C1 codes such as CSI, bidi overrides, line separators) as ``\x..``/``\u..`` escapes.

    >>> printable("/a\x1b]0;owned\x07\u202e")
    '/a\\x1b]0;owned\\x07\\u202e'
    """
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii")
                   for ch in text)


def _redact_pair(match: re.Match[str]) -> str:
    name = match.group(1)
    if "%" in name or "+" in name:
        name = unquote_plus(name, errors="replace")
    return f"{match.group(1)}={REDACTED}" if is_sensitive(name) else match.group(0)


def _redact_value(value: Any) -> Any:
    kind = type(value)
    if kind is str:  # exact types first: the abstract checks below are slow
        return redact_text(value) if "=" in value else value
    if kind in _PLAIN:
        return value
    if kind is dict or isinstance(value, Mapping):
        return redact(value)
    if kind is list or kind is tuple or isinstance(value, (list, tuple)):
        if len(value) == 2 and type(value[0]) is str and is_sensitive(value[0]):
            return [value[0], REDACTED]  # a (name, value) pair: [("Authorization", "...")]
        return [_redact_value(item) for item in value]
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, (bytes, bytearray)):
        if b"=" not in value:
            return value
        # The JSON formatter would write base64: redacted, the text is logged instead.
        text = bytes(value).decode("utf-8", errors="replace")
        redacted = redact_text(text)
        return redacted if redacted != text else value
    return _redact_object(value, kind)


def _redact_object(value: Any, kind: type) -> Any:
    """Sets like lists (unordered: no pairs), dataclass instances and pydantic models (anything
    with ``model_dump``) like the dicts of their fields; other objects as they are."""
    walk = _WALKS.get(kind)
    if walk is None:
        walk = _walk_for(kind)
    if walk == _AS_IS:
        return value
    try:
        if walk == _SET:
            return [_redact_value(item) for item in value]
        if walk == _DATACLASS:
            from dataclasses import fields  # loaded already: lamroute's records are dataclasses

            return redact({f.name: getattr(value, f.name) for f in fields(value)})
        return _redact_value(value.model_dump())
    except RecursionError:
        raise
    except Exception:  # its items cannot be read: its repr might still show them
        return REDACTED


def _walk_for(kind: type) -> int:
    """How objects of ``kind`` are walked, decided once per type (a datetime, a UUID then cost
    one dict lookup per line)."""
    if issubclass(kind, AbstractSet):
        walk = _SET
    elif getattr(kind, "__dataclass_fields__", None) is not None:
        walk = _DATACLASS
    elif callable(getattr(kind, "model_dump", None)):
        walk = _MODEL
    else:
        walk = _AS_IS
    if len(_WALKS) >= _MAX_WALKS:
        _WALKS.clear()
    _WALKS[kind] = walk
    return walk


class LamrouteHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The handler lamroute installs (on stdout, as Lambda captures it); its filter adds the
    request fields and redacts."""


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
    return f"{stamp[1]}.{int((created - second) * 1000):03d}Z"


_stamp: tuple[int, str] = (-1, "")


def _text_formatter() -> logging.Formatter:
    """python-json-logger's formatter, with a ``timestamp`` first (text mode's lines)."""
    from pythonjsonlogger.json import JsonFormatter

    class LineFormatter(JsonFormatter):
        def add_fields(self, log_data: dict[str, Any], record: logging.LogRecord,
                       message_dict: dict[str, Any]) -> None:
            log_data["timestamp"] = utc_timestamp(record.created)
            super().add_fields(log_data, record, message_dict)

    return LineFormatter("%(levelname)s %(name)s %(message)s",
                         rename_fields={"levelname": "level"})


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


def json_log_format() -> bool:
    """Whether the function's log format is JSON (``AWS_LAMBDA_LOG_FORMAT``, as Lambda sets it)."""
    return os.environ.get("AWS_LAMBDA_LOG_FORMAT", "").upper() == "JSON"


def runtime_handlers() -> list[logging.Handler]:
    """The handlers the Lambda runtime put on the root logger before importing the handler
    module (``awslambdaric.bootstrap._setup_logging``: ``LambdaLoggerHandler``, or
    ``LambdaLoggerHandlerWithFrameType`` for JSON or a log level)."""
    return [h for h in logging.getLogger().handlers
            if type(h).__name__.startswith("LambdaLoggerHandler")]


def configure(level: str | None = None, *, root: bool = False) -> logging.Logger:
    """Set up the ``lamroute`` logger once (idempotent) and return it.

    Text mode: lamroute's own JSON lines on stdout, not propagated (the runtime's text handler
    on the root logger would write each line again). Under ``AWS_LAMBDA_LOG_FORMAT=JSON`` the
    runtime's JSON handler writes lamroute's records too (once, with its field names), the
    request fields added by a filter on it; without that handler (not under the runtime),
    lamroute writes the same shape itself. ``root=True`` (``App(log_root=True)``) gives every
    logger the same handler, level and request fields; it stays on once set.
    """
    logger = logging.getLogger(LOGGER_NAME)
    top = logging.getLogger()
    rooted = root or _rooted(top)
    runtime = runtime_handlers() if json_log_format() else []
    if runtime or rooted:
        for handler in _own(logger):
            logger.removeHandler(handler)
        logger.propagate = True
    if runtime:
        for handler in runtime:
            found = _own_filter(handler)
            if found is None:
                handler.addFilter(RequestFieldsFilter(None if rooted else LOGGER_NAME))
            elif rooted:
                found.scope = None
    elif rooted:
        if not _own(top):
            for handler in runtime_handlers():  # its text lines would repeat each of ours
                top.removeHandler(handler)
            top.addHandler(_new_handler())
    elif not _own(logger):
        logger.addHandler(_new_handler())
        logger.propagate = False
    for handler in _own(top) + _own(logger):  # the log format may have changed since
        if isinstance(handler.formatter, RuntimeJsonFormatter) != json_log_format():
            handler.setFormatter(_formatter())
    chosen = level or os.environ.get("LOG_LEVEL") or os.environ.get("AWS_LAMBDA_LOG_LEVEL")
    if str(chosen).upper() == "TRACE":  # Lambda's TRACE is the runtime's DEBUG
        chosen = "DEBUG"
    logger.setLevel((chosen or "INFO").upper() if _valid_level(chosen) else logging.INFO)
    if rooted:
        top.setLevel(logger.level)
    return logger


def _own(logger: logging.Logger) -> list[logging.Handler]:
    return [h for h in logger.handlers if isinstance(h, LamrouteHandler)]


def _own_filter(handler: logging.Handler) -> RequestFieldsFilter | None:
    return next((f for f in handler.filters if isinstance(f, RequestFieldsFilter)), None)


def _rooted(top: logging.Logger) -> bool:
    """Whether ``log_root`` was switched on before (it stays on)."""
    if _own(top):
        return True
    return any((found := _own_filter(h)) is not None and found.scope is None
               for h in runtime_handlers())


def _formatter() -> logging.Formatter:
    return RuntimeJsonFormatter() if json_log_format() else _text_formatter()


def _new_handler() -> LamrouteHandler:
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


def log_access(
    logger: logging.Logger, request: Any, payload: Mapping[str, Any], started: float, cold: bool,
    context: Any,
) -> None:
    """Write the access line of one invocation: ``request`` (a :class:`~lamroute.Request`, or
    ``None`` when the event could not be parsed), the rendered ``payload``, the start time."""
    duration_ms = round((time.perf_counter() - started) * 1000, 3)
    aws_request_id = getattr(context, "aws_request_id", None)
    status = payload.get("statusCode")
    fields: dict[str, Any] | None = None
    if request is not None:
        try:  # every line: one try, no closure per field, the dict built once
            fields = {
                "method": request.method, "path": request.path, "route": request.route,
                "status": status, "duration_ms": duration_ms,
                "request_id": request.request_id, "aws_request_id": aws_request_id,
                "cold_start": cold, "source_ip": request.source_ip,
                "user_agent": request.user_agent,
            }
        except Exception:
            fields = None
    if fields is None:
        fields = {
            "method": None, "path": None, "route": None, "status": status,
            "duration_ms": duration_ms, "request_id": None, "aws_request_id": aws_request_id,
            "cold_start": cold, "source_ip": None, "user_agent": None,
        }
        if request is not None:
            # Each field read on its own: a malformed part (headers of the wrong type, say)
            # costs that field, never the line.
            for name in ACCESS_REQUEST_FIELDS:
                try:
                    fields[name] = getattr(request, name)
                except Exception:
                    fields[name] = None
    # The context is the caller's object: an aws_request_id (or tenant_id) that is not a plain
    # string goes through the filter's full redaction like any other line.
    plain = type(fields["aws_request_id"]) in (str, type(None))
    tenant = getattr(context, "tenant_id", None)
    if tenant is not None:  # Lambda's tenant isolation mode: which tenant this was for
        fields["tenant_id"] = tenant
        plain = plain and type(tenant) is str
    if logger.isEnabledFor(logging.INFO):
        # The record is made directly: the caller's frame (findCaller, a stack walk per
        # line) is never written for the access line.
        logger.handle(logger.makeRecord(logger.name, logging.INFO, __file__, 0,
                                        ACCESS_MESSAGE if plain else "request", (), None,
                                        extra=fields))
