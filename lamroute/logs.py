"""Structured JSON logs with python-json-logger, configured once per Lambda container.

Every line written through the ``lamroute`` loggers (``app.logger`` included) carries the fields
of the request being handled (``request_id``, ``route``, ...). The level comes from ``LOG_LEVEL``
(or Lambda's ``AWS_LAMBDA_LOG_LEVEL``). Secrets are never written: a value whose name contains
``token``, ``secret``, ``password``, ``cookie``, ``authorization``, ``session``, ... (any case,
with or without ``-``/``_``), at any depth, is replaced by ``[REDACTED]`` (see :func:`redact`).

>>> logger = configure()
>>> logger.name
'lamroute'
"""

from __future__ import annotations

import logging
import os
import re
import sys
import time
from collections.abc import Iterator, Mapping
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
    tuples, ``(name, value)`` pairs (header lists) and ``name=value`` text (query strings).

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
    if isinstance(value, (bytes, bytearray)) and b"=" in value:
        # The JSON formatter would write base64: redacted, the text is logged instead.
        text = bytes(value).decode("utf-8", errors="replace")
        redacted = redact_text(text)
        return redacted if redacted != text else value
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
    logger.info(ACCESS_MESSAGE if plain else "request", extra=fields)
