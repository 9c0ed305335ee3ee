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
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from .exceptions import reraise_fatal
from .http.request import Request
from .http.response import Response, to_response
from .routing.routes import Handler, Middleware
from .safeguards.deadline import DeadlineInterrupt

ErrorHandler = Callable[[BaseException, "Request | None"], Response]


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
