"""Routes whose handler, dependencies or middleware await, or whose dependencies yield.

:func:`wire_route` gives such a compiled route its two forms, decided at registration: ``handle``
(synchronous, from the app's dispatch: the sync middleware outside the outermost async layer
run first, then the rest runs as a task on the container's loop) and, for async routes,
``ahandle`` (awaited, from inside the loop, under async app middleware). A route whose only
novelty is a dependency that yields stays synchronous (:func:`sync_endpoint`). Async routes'
endpoints (:func:`async_endpoint`) await the dependencies and the handler, and finish the
yielding dependencies once the response is built.

This module does not import ``asyncio`` itself: a sync app whose dependencies yield loads it
without the loop.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from ..http.response import Response, to_response
from ..middleware import build_async_chain, build_chain, build_entry_chain, is_async
from ..params.dependencies import EXITS, aclose_exits, close_exits
from ..routing.routes import Middleware

if TYPE_CHECKING:
    from ..errors.boundary import Boundary
    from ..http.request import Request
    from ..params import Binder

AsyncHandler = Callable[["Request"], Awaitable[Response]]


class EndpointParts(Protocol):
    """What an endpoint needs of a compiled route (``lamroute.app.CompiledRoute`` has it)."""

    guard: Any
    binder: Binder
    handler: Callable[..., Any]
    serialize: Callable[[Any], Any] | None
    status: int


def wire_route(compiled: Any, middleware: Sequence[Middleware], boundary: Boundary) -> None:
    """Set ``compiled.handle``, ``ahandle`` and ``is_async`` for a route that needs wiring."""
    binder = compiled.binder
    endpoint_async = binder.is_async or binder.kind_of(compiled.handler) == "async"
    is_route_async = endpoint_async or any(is_async(func) for func in middleware)
    compiled.is_async = is_route_async
    if not is_route_async:  # yielding dependencies only: the sync chain, with their clean-up
        compiled.chain = build_chain(middleware, sync_endpoint(compiled), boundary.handle)
        compiled.ahandle = None
        return
    from .loop import run

    endpoint: Callable[[Request], Any] = (
        async_endpoint(compiled) if endpoint_async
        else sync_endpoint(compiled) if compiled.binder.has_exits
        else compiled.endpoint)  # async middleware around a plain sync endpoint
    if (not middleware and not binder.is_async and not binder.has_exits
            and binder.kind_of(compiled.handler) == "async"):
        compiled.chain = direct_entry(compiled, run)  # the usual async route: fewer layers
    else:
        compiled.chain = build_entry_chain(middleware, endpoint, endpoint_async,
                                           boundary.handle, boundary.ahandle, run)
    compiled.ahandle = build_async_chain(middleware, endpoint, endpoint_async, boundary.handle,
                                         boundary.ahandle)


def direct_entry(route: EndpointParts,
                 run: Callable[[Any], Any]) -> Callable[[Request], Response]:
    """The synchronous entry of an async route without middleware whose dependencies neither
    await nor yield: the guard and the binding in the calling thread, then the handler's own
    coroutine as the request's task (``run``), then the answer."""
    guard, binder, handler, serialize, status = (route.guard, route.binder, route.handler,
                                                 route.serialize, route.status)
    bind = binder.bind if binder.extractors else None

    def entry(request: Request) -> Response:
        if guard is not None:
            guard.check(request)
        result = run(handler(**bind(request)) if bind is not None else handler())
        return _render(result, serialize, status)

    return entry


def sync_endpoint(route: EndpointParts) -> Callable[[Request], Response]:
    """The guard, the handler with its bound arguments, then the code after ``yield`` of its
    dependencies (which sees the handler's exception, if any)."""
    guard, binder, handler, serialize, status = (route.guard, route.binder, route.handler,
                                                 route.serialize, route.status)

    def endpoint(request: Request) -> Response:
        if guard is not None:
            guard.check(request)
        cache: dict[Any, Any] = {}
        try:
            result = handler(**binder.bind(request, cache))
            response = _render(result, serialize, status)
        except BaseException as exc:
            if EXITS in cache:
                final = close_exits(cache, exc)
                if final is not exc and final is not None:
                    raise final from None
            raise
        if EXITS in cache:
            final = close_exits(cache, None)
            if final is not None:
                raise final from None
        return response

    return endpoint


def async_endpoint(route: EndpointParts) -> AsyncHandler:
    """:func:`sync_endpoint` for a route whose handler or dependencies await."""
    guard, binder, handler, serialize, status = (route.guard, route.binder, route.handler,
                                                 route.serialize, route.status)
    handler_async = binder.kind_of(handler) == "async"
    if not binder.is_async and not binder.has_exits:  # the common case: no dependency awaits
        bind = binder.bind if binder.extractors else None

        async def simple(request: Request) -> Response:
            if guard is not None:
                guard.check(request)
            result = handler(**bind(request)) if bind is not None else handler()
            if handler_async:
                result = await result
            return _render(result, serialize, status)

        return simple

    async def endpoint(request: Request) -> Response:
        if guard is not None:
            guard.check(request)
        cache: dict[Any, Any] = {}
        try:
            kwargs = (await binder.abind(request, cache) if binder.is_async
                      else binder.bind(request, cache))
            result = handler(**kwargs)
            if handler_async:
                result = await result
            response = _render(result, serialize, status)
        except BaseException as exc:
            if EXITS in cache:
                final = await aclose_exits(cache, exc)
                if final is not exc and final is not None:
                    raise final from None
            raise
        if EXITS in cache:
            final = await aclose_exits(cache, None)
            if final is not None:
                raise final from None
        return response

    return endpoint


def _render(result: Any, serialize: Callable[[Any], Any] | None, status: int) -> Response:
    if serialize is not None:
        result = serialize(result)
    return to_response(result, status)


def app_chain(app: Any) -> Callable[[Request], Response]:
    """The app middleware around routing, when one of them is async: the loop is entered at
    the outermost async one, and routing runs inside it (:func:`adispatch`)."""
    from .loop import run

    async def dispatch(request: Request) -> Response:
        return await adispatch(app, request)

    return build_entry_chain(app.app_middleware, dispatch, True, app.boundary.handle,
                             app.boundary.ahandle, run)


async def adispatch(app: Any, request: Request) -> Response:
    """``app.dispatch`` on the event loop (under async app middleware): an async route's chain
    is awaited; anything else (a sync route, a 404, a 405, an ``OPTIONS`` answer) goes through
    ``app.dispatch`` as is, in this thread."""
    from ..formats import is_websocket
    from ..logs import set_request_field

    if is_websocket(request):
        return await app.websockets.adispatch(request, app.connections)  # type: ignore[no-any-return]
    match = app.table.match(request.method, request.path, request.raw_path)
    target = match.target
    if target is None or target.ahandle is None:
        return app.dispatch(request)  # type: ignore[no-any-return]
    request.route = match.template  # what app.dispatch does once routed
    set_request_field("route", match.template)
    request.path_params = match.params or {}
    if target.safeguard is None:
        return await target.ahandle(request)  # type: ignore[no-any-return]
    return await target.safeguard.arun(target.ahandle, request)  # type: ignore[no-any-return]


def run_now(coro: Any) -> Any:
    """Run ``coro`` from synchronous code: on the loop, or, called by a sync layer while the
    loop runs in this thread, at once (it must then finish without waiting on anything)."""
    from . import loop

    if loop._get_running_loop() is not None and loop._get_running_loop() is loop._loop:
        try:
            coro.send(None)
        except StopIteration as done:
            return done.value
        coro.close()
        raise RuntimeError(
            "An async exception handler awaited inside a sync middleware's call_next that "
            "runs on the event loop; make that middleware async.")
    return loop.run(coro)
