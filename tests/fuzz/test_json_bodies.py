"""A typed JSON body is read by pydantic's JSON parser: it must give what ``json`` gives.

``_parse_json(body, any_number=True)`` (the parse of a body a model or type validates) tries
``pydantic_core.from_json`` first and falls back to ``json`` for whatever it refuses, so every
body must come out as ``json.loads`` reads it, or be refused as ``json`` refuses it.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from lamroute.exceptions import HTTPError
from lamroute.http.request import _parse_json

from .strategies import CASES, fuzz_settings

FLOATS = st.one_of(st.floats(), st.sampled_from([1e308, 1.7976931348623157e308, 5e-324, -0.0,
                                                0.1, 1e22, 1e-7, 2.0 ** 53 + 1]))
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.integers(-(10 ** 40), 10 ** 40),
                    FLOATS, st.text(st.characters(codec=None, exclude_categories=())))
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=5), st.dictionaries(st.text(max_size=8), inner, max_size=5)),
    max_leaves=30)
NUMBER_TEXT = st.from_regex(r"-?(0|[1-9][0-9]{0,400})(\.[0-9]{1,30})?([eE][+-]?[0-9]{1,4})?",
                            fullmatch=True)


def _outcome(body: bytes, any_number: bool) -> tuple[str, str]:
    try:
        value = _parse_json(body, any_number)
    except HTTPError as exc:
        return "refused", str(exc.status)
    value = getattr(value, "value", value)  # the unchecked wrapper of a typed body
    return "read", repr(value)


def _json_outcome(body: bytes) -> tuple[str, str]:
    try:
        text = body.decode("utf-8")
        value = json.loads(text)
    except (ValueError, RecursionError):
        return "refused", "400"
    if _has_lone_surrogate(value):
        return "refused", "400"  # (escaped): no answer could carry it back
    return "read", repr(value)


def _has_lone_surrogate(value: Any) -> bool:
    if isinstance(value, str):
        return any("\ud800" <= c <= "\udfff" for c in value)
    if isinstance(value, list):
        return any(_has_lone_surrogate(v) for v in value)
    if isinstance(value, dict):
        return any(_has_lone_surrogate(k) or _has_lone_surrogate(v) for k, v in value.items())
    return False


@example(["\ud800"], True, (", ", ": "))  # a lone surrogate, escaped: refused by both
@fuzz_settings(ci_examples=200)
@given(VALUES, st.booleans(), st.sampled_from([(", ", ": "), (",", ":"), (" , ", " :\n")]))
def test_typed_bodies_read_as_json_reads_them(value: Any, ascii_only: bool,
                                              separators: tuple[str, str]) -> None:
    CASES["typed JSON bodies"] += 1
    text = json.dumps([value], ensure_ascii=ascii_only, separators=separators)
    body = text.encode("utf-8", "surrogatepass")
    assert _outcome(body, True) == _json_outcome(body)


@fuzz_settings(ci_examples=200)
@given(st.lists(NUMBER_TEXT, min_size=1, max_size=4))
def test_typed_body_numbers_read_as_json_reads_them(numbers: list[str]) -> None:
    CASES["typed JSON bodies"] += 1
    body = ("[" + ", ".join(numbers) + "]").encode()
    assert _outcome(body, True) == _json_outcome(body)


@fuzz_settings(ci_examples=200)
@given(st.binary(max_size=40).map(lambda tail: b"{" + tail))
def test_typed_body_bytes_read_as_json_reads_them(body: bytes) -> None:
    CASES["typed JSON bodies"] += 1
    assert _outcome(body, True) == _json_outcome(body)
