"""The error boundary: exceptions become formatted answers, and no step of it can fail.

Every step has a fallback that depends on less than the step before: the app's exception
handler, then the app's error formatter, then a problem built from constants. The boundary
knows no payload format: the format renders what it decides, with the same fallbacks and a
fixed proxy dict as the last one (:func:`lamroute.formats.render_safely`).
"""

from __future__ import annotations

import inspect
import logging
import traceback
from collections.abc import Callable, Coroutine, Iterable
from types import TracebackType
from typing import TYPE_CHECKING, Any

from ..exceptions import (
    SERVER_ERROR_DETAIL,
    HTTPError,
    ResponseError,
    RouteDefinitionError,
    plain_status,
    reraise_fatal,
)
from ..http.response import Response, to_response
from . import (
    ErrorFormatter,
    client_error_response,
    echo,
    minimal_problem,
    problem_response,
)

if TYPE_CHECKING:
    from ..http.request import Request
    from .problem import Problem

ExceptionHandler = Callable[[Any, Any], Any]

_Problem: type[Problem] | None = None


def _problem() -> type[Problem]:
    """:class:`~lamroute.errors.problem.Problem`, loaded with the first error that builds one."""
    global _Problem
    from .problem import Problem

    _Problem = Problem
    return Problem


class Boundary:
    """Turns exceptions into responses, never raising; the formats render them
    (:func:`lamroute.formats.render_safely` falls back on :meth:`server_error` and
    :meth:`minimal`)."""

    def __init__(self, *, logger: logging.Logger, formatter: ErrorFormatter, debug: bool) -> None:
        self.logger = logger
        self.formatter = formatter
        self.debug = debug
        self.handlers: dict[type[BaseException], ExceptionHandler] = {}
        # How an ``async def`` exception handler's coroutine runs from sync code (set by the
        # app when one is registered: the container's event loop).
        self.run_coroutine: Callable[[Coroutine[Any, Any, Any]], Any] | None = None

    def add_handler(self, exc_type: type[BaseException], handler: ExceptionHandler) -> None:
        if not (isinstance(exc_type, type) and issubclass(exc_type, BaseException)):
            raise RouteDefinitionError(f"{exc_type!r} is not an exception class.")
        self.handlers[exc_type] = handler

    def handle(self, exc: BaseException, request: Request | None) -> Response:
        """The response for ``exc``: a registered handler (by MRO), else a problem; never raises.

        Even an exception object that breaks the rules (an ``HTTPError`` whose attributes were
        replaced by garbage) ends as the minimal 500 problem.
        """
        try:
            return self._handle(exc, request)
        except BaseException as failure:
            reraise_fatal(failure)
            try:  # out of memory, say, logging may fail too: the answer still goes out
                self.logger.error("error handling failed", exc_info=failure)
            except BaseException as lost:
                reraise_fatal(lost)
            return self._safe_minimal(500, request)

    def _handle(self, exc: BaseException, request: Request | None) -> Response:
        if not self.handlers:  # no exception handler registered: no MRO walk
            return self.problem(exc, request)
        handler = self.handler_for(exc)
        if handler is None:
            return self.problem(exc, request)
        try:
            status = exc.status if isinstance(exc, HTTPError) else 500
            result = handler(request, exc)
            if self.run_coroutine is not None and inspect.iscoroutine(result):
                result = self.run_coroutine(result)
            return to_response(result, status)
        except BaseException as failure:
            reraise_fatal(failure)
            return self._handler_failed(failure, handler, request)

    async def ahandle(self, exc: BaseException, request: Request | None) -> Response:
        """:meth:`handle` inside the event loop: an ``async def`` exception handler is awaited
        there (an async middleware's ``call_next`` answers errors with it)."""
        handler = self.handler_for(exc) if self.handlers else None
        if handler is None or self.run_coroutine is None:
            return self.handle(exc, request)
        try:
            status = exc.status if isinstance(exc, HTTPError) else 500
            result = handler(request, exc)
            if inspect.isawaitable(result):
                result = await result
            return to_response(result, status)
        except BaseException as failure:
            reraise_fatal(failure)
            return self._handler_failed(failure, handler, request)

    def handler_for(self, exc: BaseException) -> ExceptionHandler | None:
        """The exception handler for ``exc``: the most specific along its MRO."""
        for cls in type(exc).__mro__:
            handler = self.handlers.get(cls)
            if handler is not None:
                return handler
        return None

    def _handler_failed(self, failure: BaseException, handler: ExceptionHandler,
                        request: Request | None) -> Response:
        self.logger.error("exception handler failed", exc_info=failure,
                          extra={"handler": getattr(handler, "__name__", "?")})
        return self._safe_minimal(500, request)

    def problem(self, exc: BaseException, request: Request | None) -> Response:
        """The formatted problem for ``exc``, logging server errors with their traceback."""
        if isinstance(exc, HTTPError) and _is_status(exc.status):
            if (exc.status < 500 and self.formatter is problem_response and not exc.headers
                    and not exc.extra):
                try:  # the default formatter's common case, without building a Problem
                    return client_error_response(exc, request)
                except Exception:  # an odd attribute: the general path below copes (or falls back)
                    pass
            problem = (_Problem or _problem()).from_http_error(exc, request)
            # ``already_logged``: the cause was logged once (a failed startup), not each time
            if problem.status >= 500 and not getattr(exc, "already_logged", False):
                self.logger.error("server error %s", problem.status, exc_info=user_frames(exc))
                if (problem.status == 500 and not self.debug) or problem.detail is None:
                    # a 500's own detail is for the logs, like any exception text
                    problem.detail = SERVER_ERROR_DETAIL
        else:
            if isinstance(exc, ResponseError):
                self.logger.error("invalid handler result: %s", exc, exc_info=exc)
            else:
                self.logger.error("unhandled exception", exc_info=user_frames(exc))
            problem = self.server_problem(request, exc)
        return self.format(problem, request)

    def server_problem(self, request: Request | None,
                       failure: BaseException | None = None) -> Problem:
        """The 500 problem for ``request``: generic ``detail``, ``instance``, ``request_id``;
        with ``debug``, the ``failure`` and its traceback instead of the generic detail."""
        problem = (_Problem or _problem())(500, "Internal Server Error", SERVER_ERROR_DETAIL)
        if request is not None:
            problem.instance = echo(request.url_path)
            problem.request_id = echo(request.request_id)
        if self.debug and failure is not None:
            problem.detail = f"{type(failure).__name__}: {_describe(failure)}"
            problem.extra["traceback"] = traceback.format_exception(failure)
        return problem

    def format(self, problem: Problem, request: Request | None) -> Response:
        """Apply the app's error formatter; fall back to the minimal problem if it fails."""
        try:
            result = self.formatter(problem, request)
            response = result if isinstance(result, Response) else Response.json(
                result, problem.status
            )
            for name, value in problem.headers:
                if name not in response.headers:
                    response.headers.add(name, value)
            return response
        except BaseException as failure:
            reraise_fatal(failure)
            self.logger.error("error formatter failed", exc_info=failure)
            return self._safe_minimal(problem.status, request, problem.headers, problem.detail)

    def _safe_minimal(
        self, status: int, request: Request | None, headers: Iterable[tuple[str, str]] = (),
        detail: Any = None,
    ) -> Response:
        request_id = getattr(request, "request_id", None)
        try:
            instance = request.url_path if request is not None else None
        except Exception:  # a request whose parts are broken keeps the rest of the answer
            instance = None
        valid = _is_status(status)
        response = minimal_problem(plain_status(status) if valid else 500, request_id,
                                   instance=instance, detail=detail if valid else None)
        try:
            for name, value in headers:
                if isinstance(name, str) and isinstance(value, str):
                    response.headers.add(name, value)
        except Exception:  # headers that cannot even be iterated as pairs are dropped
            pass
        return response

    def server_error(self, request: Request | None,
                     failure: BaseException | None = None) -> Response:
        """The formatted 500 answer for ``request`` (a fallback when an answer cannot be
        rendered: ``failure`` says why, shown with ``debug`` as a handler's exception is)."""
        return self.format(self.server_problem(request, failure), request)

    def minimal(self, request: Request | None) -> Response:
        """The minimal 500 problem, built from constants: the fallback that cannot fail."""
        return self._safe_minimal(500, request)


def _is_status(status: Any) -> bool:
    status = plain_status(status)
    return type(status) is int and 100 <= status <= 599


def _describe(exc: BaseException) -> str:
    """``str(exc)``, or a placeholder when the exception cannot even say what it is."""
    try:
        return str(exc)
    except Exception:
        return "<str() failed>"


ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]


def user_frames(exc: BaseException) -> ExcInfo:
    """``exc_info`` for logging ``exc`` without lamroute's own outer frames (dispatch, deadline,
    middleware...): the traceback starts at the user's code. Formatting each frame is most of
    the cost of an error line (Python 3.11 compiles every frame's line for its carets). An
    exception raised inside lamroute itself keeps its whole traceback."""
    tb = exc.__traceback__
    frame = tb
    while frame is not None and _is_lamroute(frame.tb_frame.f_globals.get("__name__", "")):
        frame = frame.tb_next
    return type(exc), exc, frame if frame is not None else tb


def _is_lamroute(module: str) -> bool:
    # asyncio's own frames (run_until_complete, Future.result) sit between lamroute's when an
    # async handler raises: they are not the user's code either.
    return (module.startswith("lamroute.") and not module.startswith("lamroute.testing")) or (
        module.startswith("asyncio."))

