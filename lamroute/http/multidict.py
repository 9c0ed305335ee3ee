"""Small read-mostly multi-value mappings for headers and query strings.

>>> h = Headers([("Accept", "a"), ("accept", "b")])
>>> h["ACCEPT"], h.getall("accept")
('a', ['a', 'b'])
>>> QueryParams([("tag", "x"), ("tag", "y")]).getall("tag")
['x', 'y']
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, MutableMapping
from typing import TypeVar, overload

_D = TypeVar("_D")


class MultiDict(Mapping[str, str]):
    """An ordered mapping where a key may hold several values; ``[key]`` gives the first one."""

    __slots__ = ("_index", "_items")
    _casefold = False  # keys compared lower-cased (keep in step with ``_key``)

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        # One pass without a method call per pair: building Headers is on every request path.
        pairs = list(items)
        index: dict[str, list[str]] = {}
        fold = self._casefold
        for key, value in pairs:
            folded = key.lower() if fold else key
            values = index.get(folded)
            if values is None:
                index[folded] = [value]
            else:
                values.append(value)
        self._items: list[tuple[str, str]] = pairs
        self._index = index

    def _key(self, key: str) -> str:
        return key

    def add(self, key: str, value: str) -> None:
        """Append ``value`` under ``key`` (keeping earlier values)."""
        self._items.append((key, value))
        self._index.setdefault(self._key(key), []).append(value)

    def __getitem__(self, key: str) -> str:
        return self._index[self._key(key)][0]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self._key(key) in self._index

    def __iter__(self) -> Iterator[str]:
        return iter(self._index)

    def __len__(self) -> int:
        return len(self._index)

    @overload
    def get(self, key: str) -> str | None: ...
    @overload
    def get(self, key: str, default: str | _D) -> str | _D: ...
    def get(self, key: str, default: object = None) -> object:
        values = self._index.get(self._key(key))
        return values[0] if values else default

    def getall(self, key: str) -> list[str]:
        """Every value of ``key`` in arrival order (``[]`` when absent)."""
        return list(self._index.get(self._key(key), ()))

    def multi_items(self) -> list[tuple[str, str]]:
        """Every (key, value) pair in arrival order, repeated keys included."""
        return list(self._items)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._items!r})"


class QueryParams(MultiDict):
    """Query string parameters, case-sensitive, several values per key."""

    __slots__ = ()


class Headers(MultiDict, MutableMapping[str, str]):
    """HTTP headers: case-insensitive names, several values per name.

    ``headers[name] = value`` replaces every value of ``name`` (like :meth:`set`); ``add``
    appends one more; ``del headers[name]`` drops them all (``KeyError`` when absent).

    >>> h = Headers([("Set-Cookie", "a=1"), ("set-cookie", "b=2")])
    >>> h["X-Id"] = "7"; del h["SET-COOKIE"]
    >>> h.multi_items()
    [('X-Id', '7')]
    """

    __slots__ = ()
    _casefold = True

    def _key(self, key: str) -> str:
        return key.lower()

    def __setitem__(self, key: str, value: str) -> None:
        self.set(key, value)

    def __delitem__(self, key: str) -> None:
        if key.lower() not in self._index:
            raise KeyError(key)
        self.remove(key)

    def set(self, key: str, value: str) -> None:
        """Replace every value of ``key`` with ``value``."""
        self.remove(key)
        self.add(key, value)

    def setdefault(self, key: str, value: str) -> str:
        """Add ``value`` unless ``key`` is present; return the (first) value."""
        if key not in self:
            self.add(key, value)
        return self[key]

    def remove(self, key: str) -> None:
        """Drop every value of ``key`` (no error when absent)."""
        lowered = key.lower()
        if self._index.pop(lowered, None) is not None:
            self._items = [(k, v) for k, v in self._items if k.lower() != lowered]
