"""``request.state``: a namespace for per-request values, loaded with the first use of it.

>>> state = State()
>>> state.user = "ann"
>>> state.user
'ann'
"""

from __future__ import annotations

from typing import Any

__all__ = ["State"]


class State:
    """An attribute namespace for per-request values: ``state.user = ...``, ``state.user``.

    A missing attribute raises ``AttributeError`` naming it; ``"user" in state`` and
    ``state.get("user")`` test without raising. It lives as long as its request: nothing in it
    reaches the next invocation.

    >>> state = State()
    >>> state.user = "ann"
    >>> state.user, "user" in state, state.get("tenant"), state
    ('ann', True, None, State(user='ann'))
    """

    def __getattr__(self, name: str) -> Any:
        # Only called for a missing attribute; it lets type checkers accept any name.
        raise AttributeError(f"request.state has no {name!r} (set it first: "
                             f"request.state.{name} = ...).")

    def __setattr__(self, name: str, value: Any) -> None:
        self.__dict__[name] = value

    def __contains__(self, name: object) -> bool:
        return name in self.__dict__

    def get(self, name: str, default: Any = None) -> Any:
        """The value of ``name``, or ``default`` when it was never set."""
        return self.__dict__.get(name, default)

    def __repr__(self) -> str:
        return "State(" + ", ".join(f"{k}={v!r}" for k, v in self.__dict__.items()) + ")"
