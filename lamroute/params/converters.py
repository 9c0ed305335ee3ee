"""Converters from strings (path, query, header, cookie values, form fields).

``int``, ``float``, ``bool``, ``str``, ``UUID`` and ``Enum`` (of str or int values) are
converted with plain Python; errors use pydantic's ``msg``/``type`` wording so every 422 reads
the same whichever path produced it. :func:`scalar_converter` picks the converter of a
parameter: one of these when its type allows, else a pydantic validator.

>>> errors = []
>>> fast_converter(int)("42", ("query", "n"), errors), errors
(42, [])
>>> fast_converter(int)("4_2", ("query", "n"), errors) is INVALID, errors[0]["type"]
(True, 'int_parsing')
>>> fast_converter(float)("nan", ("query", "x"), errors) is INVALID, errors[1]["type"]
(True, 'finite_number')
"""

from __future__ import annotations

import typing
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .validation import (
    INVALID,
    ErrorList,
    build_adapter,
    constrained,
    error,
    is_optional,
    validator,
)

if TYPE_CHECKING:
    from .signature import ParamSpec

Converter = Callable[[Any, "tuple[str | int, ...]", ErrorList], Any]


def _int(value: str) -> int:
    if value.isascii() and "_" not in value:
        return int(value)
    raise ValueError(value)


class NotFinite(ValueError):
    """A number that parses but is NaN or infinite (``nan``, ``inf``, ``1e999``)."""


def _float(value: str) -> float:
    if value.isascii() and "_" not in value:
        number = float(value)
        if number - number == 0:  # false for NaN and both infinities
            return number
        raise NotFinite(value)
    raise ValueError(value)


def check_text(value: Any, loc: tuple[str | int, ...]) -> Any:
    """``value`` (a str or a list of them) when it is valid Unicode; else a 400.

    A lone surrogate (``"\\ud800"`` in the event's JSON) cannot be encoded as UTF-8: echoed
    back, it would make the answer fail. Non-ASCII values only are checked.

    >>> check_text("é", ("query", "q"))
    'é'
    """
    for text in (value,) if isinstance(value, str) else value:
        if isinstance(text, str) and not text.isascii():
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:
                from ..exceptions import BadRequest

                raise BadRequest(f"The {loc[0]} parameter {loc[-1]!r} is not valid Unicode "
                                 "(it holds a lone surrogate).") from None
    return value


_TRUE = frozenset({"1", "on", "t", "true", "y", "yes"})
_FALSE = frozenset({"0", "off", "f", "false", "n", "no"})


def _bool(value: str) -> bool:
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(value)


def _uuid(value: str) -> Any:
    import uuid

    return uuid.UUID(value)


FAST: dict[Any, tuple[Callable[[str], Any], str, str]] = {
    int: (_int, "Input should be a valid integer, unable to parse string as an integer",
          "int_parsing"),
    float: (_float, "Input should be a valid number, unable to parse string as a number",
            "float_parsing"),
    bool: (_bool, "Input should be a valid boolean, unable to interpret input", "bool_parsing"),
}


def _enum(tp: Any) -> tuple[Callable[[str], Any], str, str] | None:
    """A lookup table for an ``Enum`` whose values are all ``str`` or all ``int``."""
    import enum

    if not (isinstance(tp, type) and issubclass(tp, enum.Enum)):
        return None
    members = list(tp)
    if members and all(isinstance(m.value, str) for m in members):
        table: dict[Any, Any] = {m.value: m for m in members}
        lookup: Callable[[str], Any] = table.__getitem__
    elif members and all(type(m.value) is int for m in members):
        table = {m.value: m for m in members}

        def lookup(value: str) -> Any:
            return table[_int(value)]
    else:
        return None
    shown = [repr(m.value) for m in members]
    expected = shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} or {shown[-1]}"
    return lookup, f"Input should be {expected}", "enum"


def _identity(value: Any, loc: tuple[str | int, ...], errors: ErrorList) -> Any:
    return value


IDENTITY: Converter = _identity


def fast_converter(tp: Any) -> Converter | None:
    if tp in (str, Any, None):
        return IDENTITY
    import uuid

    entry = FAST.get(tp) or ((_uuid, "Input should be a valid UUID", "uuid_parsing")
                             if tp is uuid.UUID else _enum(tp))
    if entry is None:
        return None
    func, msg, kind = entry

    def convert(value: Any, loc: tuple[str | int, ...], errors: ErrorList) -> Any:
        try:
            return func(value)
        except NotFinite:  # pydantic's wording for a float field that refuses inf and NaN
            errors.append(error(loc, "Input should be a finite number", "finite_number"))
            return INVALID
        except (ValueError, TypeError, AttributeError, KeyError):
            errors.append(error(loc, msg, kind))
            return INVALID

    return convert


def list_item(tp: Any) -> Any | None:
    """The item type of ``list[X]``/``tuple[X, ...]``/``set[X]``, ``str`` for bare ``list``."""
    if tp in (list, tuple, set, frozenset):
        return str
    origin = typing.get_origin(tp)
    if origin in (list, set, frozenset, tuple) or origin is typing.Sequence:
        args = [a for a in typing.get_args(tp) if a is not Ellipsis]
        return args[0] if len(args) == 1 else Any
    import collections.abc as abc

    return str if origin is abc.Sequence else None


def each(convert: Converter, kind: type) -> Converter:
    if convert is IDENTITY and kind is list:
        return IDENTITY  # getall() already returns a fresh list of str

    def convert_all(values: Any, loc: tuple[str | int, ...], errors: ErrorList) -> Any:
        before = len(errors)
        result = [convert(v, (*loc, i), errors) for i, v in enumerate(values)]
        if len(errors) > before:
            return INVALID
        return result if kind is list else kind(result)

    return convert_all


def scalar_converter(spec: ParamSpec, where: str) -> tuple[Converter, bool, bool]:
    """``(convert, is_list, keeps_text)`` for a path/query/header/cookie parameter (or a form
    field): a converter of this module when the type allows, else a pydantic validator.

    ``keeps_text``: the raw text may reach the handler (``str``, or through pydantic), so a lone
    surrogate must be refused first; the other fast converters refuse it themselves.
    """
    _, inner = is_optional(spec.annotation)
    item = list_item(inner)
    plain = not spec.metadata and not (spec.marker is not None and spec.marker.constraints)
    if plain:
        fast = fast_converter(inner if item is None else item)
        if fast is not None and item is None:
            return fast, False, fast is IDENTITY
        if fast is not None:
            kind = typing.get_origin(inner) or inner
            return (each(fast, kind if kind in (set, frozenset, tuple) else list), True,
                    fast is IDENTITY)
    target = constrained(spec.annotation, spec.marker, spec.metadata)
    return validator(build_adapter(target, where)), item is not None, True
