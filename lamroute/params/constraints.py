"""Constraints on a parameter (``Query(ge=1)``, ``Form(max_length=100)``), checked at
registration against its type.

:mod:`lamroute.params.signature` loads this module for the first marker that has constraints:
a constraint the type cannot take (``max_length`` on an ``int``) is refused when the route is
registered, where pydantic would fail on every request.

>>> check_constraints(int, {"ge": 1}, "q")  # accepted
>>> check_constraints(int, {"max_length": 3}, "q")
Traceback (most recent call last):
...
lamroute.exceptions.RouteDefinitionError: q: constraint(s) ['max_length'] do not apply to ...
"""

from __future__ import annotations

import typing
from typing import Any

from ..exceptions import RouteDefinitionError
from .validation import is_optional

_NUMERIC = frozenset({"gt", "ge", "lt", "le", "multiple_of"})
_LENGTH = frozenset({"min_length", "max_length", "pattern"})


def check_constraints(annotation: Any, constraints: dict[str, Any], where: str) -> None:
    """Refuse constraints the type cannot take (pydantic would fail on every request)."""
    inner = is_optional(annotation)[1]
    if inner in (int, float) or typing.get_origin(inner) in (list, set, tuple, frozenset):
        wrong = _LENGTH & constraints.keys() if inner in (int, float) else (
            (_NUMERIC | {"pattern"}) & constraints.keys())
    elif inner in (str, bytes):
        wrong = _NUMERIC & constraints.keys()
    else:
        return
    if wrong:
        raise RouteDefinitionError(
            f"{where}: constraint(s) {sorted(wrong)} do not apply to {annotation!r}."
        )
