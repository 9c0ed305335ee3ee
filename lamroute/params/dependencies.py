"""Container values, dependencies that await or yield, their clean-up, and overrides.

Loaded only by apps that need it (the binder imports it for the first ``cache="container"``
dependency, or one that is ``async def``, yields, or depends on one that does). A container
value is built once per process, under a lock of its own (two threads asking at once build it
once). A dependency that yields its value::

    def session() -> Iterator[Session]:
        db = Session()
        try:
            yield db            # the value the handler gets
        finally:
            db.close()          # runs once the response is built, errors included

is entered while the request's arguments are bound; the code after its ``yield`` runs after the
response is built, last entered first, and sees the request's exception (thrown at the
``yield``): it may re-raise it, raise another one (which becomes the answer) or let it pass
(the request still ends with the original error: there is no answer to send instead). The
request's dependency cache records what to finish under :data:`EXITS`. A
``cache="container"`` dependency that yields is finished when its value is dropped:
:func:`~lamroute.params.clear_dependency_cache`, a SnapStart restore that rebuilds it, or the
end of the process.

>>> def numbers():
...     yield 1
...     print("finished")
>>> gen = numbers()
>>> _entered(gen)
1
>>> close_exits({EXITS: [gen]}, None)
finished
"""

from __future__ import annotations

import atexit
import logging
import threading
from collections.abc import AsyncGenerator, Callable, Coroutine, Generator, Iterable
from typing import Any

from . import Extractor
from .signature import Dependant
from .validation import INVALID, ErrorList

_CONTAINER_CACHE: dict[Any, Any] = {}
"""Values of ``Depends(fn, cache="container")``, by ``fn``: built once per Lambda container
(per process: under Lambda Managed Instances each concurrent request has its own)."""
_CONTAINER_LOCKS: dict[Any, threading.Lock] = {}
"""One lock per ``cache="container"`` dependency: two threads asking at once build it once."""
_LOCKS_GUARD = threading.Lock()
_REBUILD: set[Any] = set()
"""The container dependencies marked ``restore="rebuild"``: built again after a SnapStart
restore (see :func:`forget_container_values`)."""

EXITS: Any = object()
"""The key, in a request's dependency cache, of the generators to finish (in entry order)."""

run_coroutine: Callable[[Coroutine[Any, Any, Any]], Any] | None = None
"""How to run a coroutine from sync code (set by :mod:`lamroute.aio.loop` when it loads): the
clean-up of ``cache="container"`` async generators outside a request."""

_CONTAINER_EXITS: dict[Any, Generator[Any, None, None] | AsyncGenerator[Any, None]] = {}
_logger = logging.getLogger("lamroute")
_at_exit_registered = False


def container_lock(call: Any) -> threading.Lock:
    """The lock that builds ``call``'s container value once (made at registration)."""
    with _LOCKS_GUARD:
        lock = _CONTAINER_LOCKS.get(call)
        if lock is None:
            lock = _CONTAINER_LOCKS[call] = threading.Lock()
        return lock


def forget_container_values(*, rebuild_only: bool = True) -> None:
    """Drop the ``cache="container"`` values marked ``restore="rebuild"`` (every value with
    ``rebuild_only=False``), so that the next request builds them again; the code after
    ``yield`` of those that yielded runs first."""
    close_container_values(rebuild_only=rebuild_only)
    if not rebuild_only:
        _CONTAINER_CACHE.clear()
        return
    for call in _REBUILD:
        _CONTAINER_CACHE.pop(call, None)


def compile_dependency(sub: Dependant, extractors: tuple[tuple[str, Extractor], ...],
                       awaited: set[Extractor]) -> tuple[Extractor, bool]:
    """The extractor of a ``cache="container"`` dependency, or one that awaits or yields (or
    depends on one that does), and whether it returns a coroutine; ``extractors`` are its own
    parameters', ``awaited`` those of them that return a coroutine."""
    flags = tuple(extract in awaited for _, extract in extractors)
    is_async = sub.kind in ("async", "agen") or any(flags)
    call, mode, kind, where = sub.call, sub.cache, sub.kind, sub.where
    lock = container_lock(call) if mode == "container" else None
    if sub.restore == "rebuild":
        _REBUILD.add(call)

    def keep(value: Any, gen: Any, cache: Any) -> Any:
        if gen is not None:
            if mode == "container":
                _keep_container_exit(call, gen)
            else:
                cache.setdefault(EXITS, []).append(gen)
        if mode == "container":
            _CONTAINER_CACHE[call] = value
        elif mode == "request":
            cache[call] = value
        return value

    if not is_async:
        def build(request: Any, errors: ErrorList, cache: Any) -> Any:
            before = len(errors)
            kwargs = {name: ex(request, errors, cache) for name, ex in extractors}
            if len(errors) > before:
                return INVALID
            if kind == "gen":
                gen = call(**kwargs)
                return keep(_entered(gen, where), gen, cache)
            return keep(call(**kwargs), None, cache)

        def extract(request: Any, errors: ErrorList, cache: dict[Any, Any] | None) -> Any:
            # (the binder makes a cache wherever one is needed: see _Compiler.dependency)
            if mode == "container":
                if call in _CONTAINER_CACHE:
                    return _CONTAINER_CACHE[call]
                assert lock is not None
                with lock:  # built once, even when two threads ask at the same time
                    if call in _CONTAINER_CACHE:
                        return _CONTAINER_CACHE[call]
                    return build(request, errors, cache)
            if mode == "request" and cache is not None and call in cache:
                return cache[call]
            return build(request, errors, cache)

        return extract, False

    async def abuild(request: Any, errors: ErrorList, cache: dict[Any, Any]) -> Any:
        before = len(errors)
        kwargs: dict[str, Any] = {}
        for (name, ex), is_awaited in zip(extractors, flags, strict=True):
            value = ex(request, errors, cache)
            kwargs[name] = (await value) if is_awaited else value
        if len(errors) > before:
            return INVALID
        if kind == "agen":
            agen = call(**kwargs)
            return keep(await _aentered(agen, where), agen, cache)
        if kind == "gen":
            gen = call(**kwargs)
            return keep(_entered(gen, where), gen, cache)
        value = call(**kwargs)
        return keep((await value) if kind == "async" else value, None, cache)

    async def aextract(request: Any, errors: ErrorList, cache: dict[Any, Any] | None) -> Any:
        assert cache is not None
        if mode == "container":
            if call in _CONTAINER_CACHE:
                return _CONTAINER_CACHE[call]
            assert lock is not None
            # The thread lock, taken without blocking the loop: another request's task (or
            # thread) building the same value is waited for.
            while not lock.acquire(blocking=False):
                import asyncio

                await asyncio.sleep(0.001)
            try:
                if call in _CONTAINER_CACHE:
                    return _CONTAINER_CACHE[call]
                return await abuild(request, errors, cache)
            finally:
                lock.release()
        if mode == "request" and call in cache:
            return cache[call]
        return await abuild(request, errors, cache)

    return aextract, True


def _entered(gen: Generator[Any, None, None], where: str = "dependency") -> Any:
    """The value ``gen`` yields first."""
    try:
        return next(gen)
    except StopIteration:
        raise RuntimeError(f"{where} returned without yielding a value.") from None


async def _aentered(agen: AsyncGenerator[Any, None], where: str) -> Any:
    try:
        return await agen.__anext__()
    except StopAsyncIteration:
        raise RuntimeError(f"{where} returned without yielding a value.") from None


def _finish(gen: Generator[Any, None, None], exc: BaseException | None) -> BaseException | None:
    """Run the rest of ``gen``, ``exc`` thrown at its ``yield``; the exception the request now
    ends with (``exc``, or one raised by the clean-up)."""
    try:
        if exc is None:
            next(gen)
        else:
            gen.throw(exc)
    except StopIteration:
        return exc
    except BaseException as raised:
        return raised
    gen.close()
    return RuntimeError(f"dependency {getattr(gen, '__qualname__', gen)} yielded twice.")


async def _afinish(gen: Any, exc: BaseException | None) -> BaseException | None:
    """:func:`_finish` for a sync or async generator."""
    if not hasattr(gen, "athrow"):
        return _finish(gen, exc)
    try:
        if exc is None:
            await gen.__anext__()
        else:
            await gen.athrow(exc)
    except StopAsyncIteration:
        return exc
    except BaseException as raised:
        return raised
    await gen.aclose()
    return RuntimeError(f"dependency {getattr(gen, '__qualname__', gen)} yielded twice.")


def close_exits(cache: dict[Any, Any], exc: BaseException | None) -> BaseException | None:
    """Finish the request's yielding dependencies, last entered first; the exception the
    request ends with (``None``: the response stands)."""
    exits: list[Any] | None = cache.pop(EXITS, None)
    while exits:
        exc = _finish(exits.pop(), exc)
    return exc


async def aclose_exits(cache: dict[Any, Any], exc: BaseException | None
                       ) -> BaseException | None:
    """:func:`close_exits` for requests whose dependencies may be async generators."""
    exits: list[Any] | None = cache.pop(EXITS, None)
    while exits:
        exc = await _afinish(exits.pop(), exc)
    return exc


def _keep_container_exit(call: Any, gen: Any) -> None:
    global _at_exit_registered
    _CONTAINER_EXITS[call] = gen
    if not _at_exit_registered:
        _at_exit_registered = True
        atexit.register(close_container_values, rebuild_only=False)


def close_container_values(*, rebuild_only: bool) -> None:
    """Finish the ``cache="container"`` dependencies that yielded (those marked
    ``restore="rebuild"`` only, with ``rebuild_only``), last built first; their values are
    dropped. A failing clean-up is logged."""
    calls = [call for call in _CONTAINER_EXITS if not rebuild_only or call in _REBUILD]
    for call in reversed(calls):
        gen = _CONTAINER_EXITS.pop(call)
        _CONTAINER_CACHE.pop(call, None)
        try:
            if hasattr(gen, "athrow"):
                if run_coroutine is None:  # cannot happen: its value was built on the loop
                    continue
                failure = run_coroutine(_afinish(gen, None))
            else:
                failure = _finish(gen, None)
        except Exception as exc:  # the loop is busy (called from inside a handler)
            failure = exc
        if failure is not None:
            _logger.error("clean-up of a container dependency failed",
                          exc_info=failure, extra={"dependency": getattr(call, "__qualname__",
                                                                         repr(call))})


class DependencyOverrides(dict[Callable[..., Any], Callable[..., Any]]):
    """``app.dependency_overrides``: ``overrides[original] = replacement`` puts
    ``replacement`` in place of ``original`` wherever a route or dependency depends on it
    (for tests, as in FastAPI); ``del`` or ``clear()`` restores it. Every change recompiles the
    app's routes (``on_change``), so requests pay nothing for it."""

    def __init__(self, on_change: Callable[[], None],
                 items: Iterable[tuple[Callable[..., Any], Callable[..., Any]]] = ()) -> None:
        super().__init__(items)
        self._on_change = on_change

    def _changed(self) -> None:
        for original, replacement in self.items():
            if not callable(original) or not callable(replacement):
                raise TypeError(f"dependency_overrides maps callables to callables, not "
                                f"{original!r} to {replacement!r}.")
        self._on_change()

    def __setitem__(self, key: Callable[..., Any], value: Callable[..., Any]) -> None:
        super().__setitem__(key, value)
        self._changed()

    def __delitem__(self, key: Callable[..., Any]) -> None:
        super().__delitem__(key)
        self._changed()

    def clear(self) -> None:
        super().clear()
        self._changed()

    def pop(self, key: Any, *default: Any) -> Any:
        value = super().pop(key, *default)
        self._changed()
        return value

    def popitem(self) -> tuple[Callable[..., Any], Callable[..., Any]]:
        item = super().popitem()
        self._changed()
        return item

    def setdefault(self, key: Callable[..., Any], default: Any = None) -> Any:
        value = super().setdefault(key, default)
        self._changed()
        return value

    def update(self, *args: Any, **kwargs: Any) -> None:
        super().update(*args, **kwargs)
        self._changed()

    def __ior__(self, other: Any) -> DependencyOverrides:  # type: ignore[override,misc]
        super().update(other)
        self._changed()
        return self
