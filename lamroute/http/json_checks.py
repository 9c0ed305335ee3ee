"""The slow checks of a JSON body, run only when its fast parse found a reason to.

:meth:`Request.json <lamroute.http.request.Request.json>` parses a body in one pass; this module
loads when that pass finds something to look into: a malformed body (the 400's message), NaN or
an infinity (where they are, for the 422), a ``\\ud800``-``\\udfff`` escape (whether it is a
lone surrogate, a 400), or a strict caller after a typed body was parsed without the NaN check.
A request with a well-formed body never imports it.

>>> non_finite_paths({"a": [1.0, float("nan")], "b": {"c": float("inf")}})
[['a', 1], ['b', 'c']]
"""

from __future__ import annotations

from typing import Any

from ..exceptions import BadRequest, UnprocessableEntity

_MAX_REPORTED = 20


def non_finite_paths(value: Any) -> list[list[str | int]]:
    """Where the NaN and infinite floats are in ``value`` (the first few)."""
    found: list[list[str | int]] = []
    stack: list[tuple[list[str | int], Any]] = [([], value)]
    while stack and len(found) < _MAX_REPORTED:
        path, item = stack.pop()
        if type(item) is float and item - item != 0:
            found.append(path)
        elif type(item) is dict:
            stack.extend(([*path, key], child) for key, child in reversed(item.items()))
        elif type(item) is list:
            stack.extend(([*path, index], child)
                         for index, child in reversed(list(enumerate(item))))
    return found


def non_finite_problem(value: Any) -> UnprocessableEntity:
    """The 422 for a body holding NaN or infinities, listing where they are."""
    errors = [{"loc": ["body", *path], "msg": "Input should be a finite number",
               "type": "finite_number"} for path in non_finite_paths(value)]
    return UnprocessableEntity(
        "The request body holds numbers JSON cannot carry (NaN, Infinity or out of range).",
        extra={"errors": errors})


def refuse_lone_surrogates(value: Any) -> None:
    """A 400 when a string (key or value) anywhere in ``value`` cannot be encoded as UTF-8: no
    answer could carry it back."""
    if _has_lone_surrogate(value):
        raise BadRequest("The request body is not valid JSON: it holds a lone surrogate "
                         "(an unpaired \\ud800-\\udfff escape).")


def _has_lone_surrogate(value: Any) -> bool:
    """Whether a string (key or value) anywhere in ``value`` cannot be encoded as UTF-8.

    >>> _has_lone_surrogate({"ok": ["caf\\u00e9"]}), _has_lone_surrogate({"k\\ud800": 1})
    (False, True)
    """
    stack = [value]
    while stack:
        item = stack.pop()
        if type(item) is dict:
            stack.extend(item)
            stack.extend(item.values())
        elif type(item) is list:
            stack.extend(item)
        elif type(item) is str and not item.isascii():
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return True
    return False


def malformed(exc: Exception) -> BadRequest:
    """The 400 for a body that is not JSON, with the decoder's message (shortened)."""
    text = str(exc)
    return BadRequest("The request body is not valid JSON: "
                      + (text if len(text) <= 120 else text[:117] + "..."))
