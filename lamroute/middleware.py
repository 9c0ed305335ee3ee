"""Middleware: functions ``(request, call_next) -> Response`` wrapped around handlers.

>>> from lamroute import App
>>> from lamroute.testing import TestClient
>>> app = App(access_log=False)
>>> @app.middleware
... def stamp(request: Request, call_next: Handler) -> Response:
...     response = call_next(request)
...     response.headers.set("X-Stamp", "1")
...     return response
>>> @app.get("/")
... def index() -> str:
...     return "hi"
>>> TestClient(app).get("/").headers["x-stamp"]
'1'

Order, outermost first: app middleware (``@app.middleware``, in registration order; they see
every request, 404s included, but not CORS preflights), then router middleware (outer router
first), then the route's own ``middleware=[...]``, then the route's guard, then the handler.

``call_next`` always returns a :class:`Response`: an exception raised further in is turned into
the app's formatted error answer first (as the app's boundary would), so a middleware sees and
may decorate error answers. An exception a middleware raises itself goes out to the next layer
the same way. Chains are built at registration; a request only walks them.

Middleware may be ``async def`` (``await call_next(request)``), mixed freely with sync ones.
A chain with an async layer runs on the container's event loop from its outermost async layer
in (:func:`build_entry_chain`; the sync layers outside it run before the loop is entered). A
sync middleware inside that part whose inner layers await runs in a worker thread, its
``call_next`` handing the request back to the loop: the loop never blocks on it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any

from .exceptions import reraise_fatal
from .http.request import Request
from .http.response import Response, to_response
from .params.signature import call_kind
from .routing.routes import Handler, Middleware
from .safeguards.deadline import DeadlineInterrupt

ErrorHandler = Callable[[BaseException, "Request | None"], Response]
AsyncErrorHandler = Callable[[BaseException, "Request | None"], Awaitable[Response]]
AsyncHandler = Callable[[Request], Awaitable[Response]]
Runner = Callable[[Coroutine[Any, Any, Response]], Response]


def build_chain(
    middleware: Sequence[Middleware], endpoint: Handler, on_error: ErrorHandler
) -> Handler:
    """``endpoint`` wrapped in ``middleware`` (first = outermost); ``endpoint`` alone if none."""
    call = endpoint
    for func in reversed(middleware):
        call = _wrap(func, _answering(call, on_error))
    return call


def _answering(inner: Handler, on_error: ErrorHandler) -> Handler:
    def call_next(request: Request) -> Response:
        try:
            return inner(request)
        except BaseException as exc:
            reraise_fatal(exc)
            if type(exc) is DeadlineInterrupt:  # time is up: the middleware gets the 504
                return exc.answer(request, on_error)
            return on_error(exc, request)

    return call_next


def _wrap(func: Middleware, call_next: Handler) -> Handler:
    def call(request: Request) -> Response:
        result = func(request, call_next)
        return result if type(result) is Response else to_response(result, 200)

    call.__qualname__ = f"middleware[{getattr(func, '__qualname__', func)!s}]"
    return call


def is_async(func: Any) -> bool:
    """Whether the middleware ``func`` is ``async def`` (its ``call_next`` is awaited)."""
    return call_kind(func) == "async"


def build_entry_chain(middleware: Sequence[Middleware], endpoint: Callable[[Request], Any],
                      endpoint_async: bool, on_error: ErrorHandler,
                      aon_error: AsyncErrorHandler, run: Runner) -> Handler:
    """The synchronous entry of a chain with an async layer: the sync middleware outside its
    outermost async layer run first, then ``run`` takes the rest onto the loop."""
    first = next((i for i, func in enumerate(middleware) if is_async(func)), len(middleware))
    inner = build_async_chain(middleware[first:], endpoint, endpoint_async, on_error, aon_error)

    def enter(request: Request) -> Response:
        return run(inner(request))  # type: ignore[arg-type]

    return build_chain(middleware[:first], enter, on_error)


def build_async_chain(middleware: Sequence[Middleware], endpoint: Callable[[Request], Any],
                      endpoint_async: bool, on_error: ErrorHandler,
                      aon_error: AsyncErrorHandler) -> AsyncHandler:
    """``endpoint`` wrapped in ``middleware`` (first = outermost), every layer awaited on the
    loop; ``endpoint_async``: ``endpoint`` returns an awaitable."""
    call: Callable[[Request], Any] = endpoint
    awaited = endpoint_async
    for func in reversed(middleware):
        if is_async(func):
            call, awaited = _awrap(func, _aanswering(call, awaited, aon_error)), True
        elif awaited:
            call = _bridge(func, _aanswering(call, True, aon_error))
        else:
            call = _wrap(func, _answering(call, on_error))
    if awaited:
        return call
    sync_call = call

    async def as_async(request: Request) -> Response:
        return sync_call(request)  # type: ignore[no-any-return]

    return as_async


def _aanswering(inner: Callable[[Request], Any], awaited: bool,
                aon_error: AsyncErrorHandler) -> AsyncHandler:
    """``call_next`` for an async middleware: always a :class:`Response` (errors answered),
    the 504 when the deadline cancels the task; another cancellation goes through."""
    from asyncio import CancelledError, current_task

    from .safeguards.tasks import cancelled_at_deadline

    async def call_next(request: Request) -> Response:
        try:
            if awaited:
                return await inner(request)  # type: ignore[no-any-return]
            return inner(request)  # type: ignore[no-any-return]
        except BaseException as exc:
            reraise_fatal(exc)
            if type(exc) is DeadlineInterrupt:
                return await _deadline_answer(exc, request, aon_error)
            if isinstance(exc, CancelledError):
                alarm = cancelled_at_deadline()
                if alarm is None:  # not the deadline's: the caller's to handle
                    raise
                task = current_task()
                if task is not None and hasattr(task, "uncancel"):
                    task.uncancel()  # answered here: the task goes on (Python 3.11+)
                interrupt = DeadlineInterrupt("handler cancelled: deadline reached", alarm)
                return await _deadline_answer(interrupt, request, aon_error)
            return await aon_error(exc, request)

    return call_next


async def _deadline_answer(exc: DeadlineInterrupt, request: Request,
                           aon_error: AsyncErrorHandler) -> Response:
    """:meth:`DeadlineInterrupt.answer`, with the async error handler."""
    alarm = exc.alarm
    if alarm is None:
        return await aon_error(exc, request)
    timeout = alarm.deadline._timed_out(request, alarm, "handler interrupted")
    timeout.__cause__ = exc
    alarm.answer = await aon_error(timeout, request)
    return alarm.answer


def _awrap(func: Middleware, call_next: AsyncHandler) -> AsyncHandler:
    async def call(request: Request) -> Response:
        result = await func(request, call_next)  # type: ignore[arg-type]
        return result if type(result) is Response else to_response(result, 200)

    call.__qualname__ = f"middleware[{getattr(func, '__qualname__', func)!s}]"
    return call


def _bridge(func: Middleware, call_next: AsyncHandler) -> AsyncHandler:
    """A sync middleware whose inner layers await, inside the loop: it runs in a worker thread
    (it may block; the loop must not), and its ``call_next`` runs the inner layers as a task on
    the loop, waiting for them. A cancellation at the deadline reaches those tasks, whose
    ``call_next`` answers the 504 to the middleware, as in a sync chain."""
    import asyncio
    import contextvars

    async def call(request: Request) -> Response:
        loop = asyncio.get_running_loop()
        inner_tasks: list[asyncio.Task[Any]] = []

        async def inner(req: Request) -> Response:
            task = asyncio.current_task()
            if task is not None:
                inner_tasks.append(task)
            return await call_next(req)

        def blocking_call_next(req: Request) -> Response:
            return asyncio.run_coroutine_threadsafe(inner(req), loop).result()

        wrapped = _wrap(func, blocking_call_next)
        work = loop.run_in_executor(None, contextvars.copy_context().run, wrapped, request)
        try:
            return await asyncio.shield(work)
        except asyncio.CancelledError:
            for task in inner_tasks:  # the middleware's call_next answers (the 504)
                task.cancel()
            return await work

    call.__qualname__ = f"middleware[{getattr(func, '__qualname__', func)!s}]"
    return call
