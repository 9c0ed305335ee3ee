"""Secrets are never written: the redaction rules of every lamroute log line.

A value whose name contains ``token``, ``secret``, ``password``, ``cookie``,
``authorization``, ``session``, ... (any case, with or without ``-``/``_``), at any depth, is
replaced by ``[REDACTED]``; so is the value of such a name in ``name=value`` text (query
strings, form bodies, cookie headers). Loaded with the first line that carries fields to check
(the access line never needs it: its fields are fixed and plain).

>>> redact({"password": "hunter2", "user": "ada"})
{'password': '[REDACTED]', 'user': 'ada'}
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, MutableMapping
from collections.abc import Set as AbstractSet
from typing import Any
from urllib.parse import unquote_plus

from . import REDACTED

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
_PLAIN = frozenset({str, int, float, bool, type(None)})

__all__ = ["REDACTED", "is_sensitive", "printable", "redact", "redact_record", "redact_text"]


def redact_record(attrs: MutableMapping[str, Any], keys: Iterable[str]) -> None:
    """Redact, in place, the fields ``keys`` of a log record's ``__dict__`` (those beyond the
    standard ones): what :class:`~lamroute.logs.RequestFieldsFilter` does to every line."""
    decided = _DECISIONS.get  # is_sensitive's cache, read without the call when known
    for key in keys:
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
