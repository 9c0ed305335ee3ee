"""Error answers: the exception hierarchy, RFC 9457 problem documents and the boundary.

The hierarchy is defined in :mod:`lamroute.exceptions`, below ``http/`` (whose request and
response raise ``BadRequest`` and ``ResponseError``), and re-exported here, so
``from lamroute.errors import NotFound, Problem`` finds both. This module holds the problem
documents: the body of every error answer lamroute produces (:class:`Problem` itself lives in
``problem.py``, loaded with the first error that builds one). ``boundary.py`` turns exceptions
into them and never raises; it knows no payload format (the format renders what it decides).

An app replaces the body shape with one ``error_formatter(problem, request)`` function that
returns a :class:`Response` (or a JSON-able value sent with ``problem.status``)::

    def my_errors(problem: Problem, request: Request | None) -> dict[str, object]:
        return {"error": {"code": problem.status, "message": problem.detail or problem.title}}

    app = App(error_formatter=my_errors)
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, overload

from ..exceptions import (
    FATAL,
    SERVER_ERROR_DETAIL,
    BadRequest,
    Conflict,
    Forbidden,
    GatewayTimeout,
    HTTPError,
    InternalServerError,
    InvalidEvent,
    LamrouteError,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    ResponseError,
    RouteDefinitionError,
    ServiceUnavailable,
    TooManyRequests,
    Unauthorized,
    UnprocessableEntity,
    UnsupportedMediaType,
    plain_status,
    reraise_fatal,
    status_phrase,
)
from ..http.response import PROBLEM_TYPE, Response, _json_response, dump_json

if TYPE_CHECKING:
    from ..http.request import Request
    from .problem import Problem as Problem

__all__ = [
    "ECHO_LIMIT",
    "FATAL",
    "SERVER_ERROR_DETAIL",
    "BadRequest",
    "Conflict",
    "ErrorFormatter",
    "Forbidden",
    "GatewayTimeout",
    "HTTPError",
    "InternalServerError",
    "InvalidEvent",
    "LamrouteError",
    "MethodNotAllowed",
    "NotFound",
    "PayloadTooLarge",
    "Problem",
    "ResponseError",
    "RouteDefinitionError",
    "ServiceUnavailable",
    "TooManyRequests",
    "Unauthorized",
    "UnprocessableEntity",
    "UnsupportedMediaType",
    "client_error_response",
    "echo",
    "minimal_problem",
    "plain_status",
    "problem_response",
    "reraise_fatal",
    "status_phrase",
]


def __getattr__(name: str) -> Any:
    # Problem loads with the first error that builds one (problem.py): generating its dataclass
    # methods cost ~0.35 ms of every cold start, and a 200 or a 404 builds none.
    if name == "Problem":
        from .problem import Problem

        return Problem
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


ErrorFormatter = Callable[["Problem", "Request | None"], Any]
ECHO_LIMIT = 1024


@overload
def echo(value: str) -> str: ...
@overload
def echo(value: None) -> None: ...
@overload
def echo(value: str | None) -> str | None: ...
def echo(value: str | None) -> str | None:
    """A request value clipped for an error body: a megabyte path or request id repeated in the
    answer could push it over Lambda's 6 MB response limit."""
    if value is None or len(value) <= ECHO_LIMIT:
        return value
    return value[:ECHO_LIMIT] + "…"


def problem_response(problem: Problem, request: Request | None) -> Response:
    """The default formatter: ``application/problem+json``."""
    return _json_response(dump_json(problem.to_dict()), problem.status, PROBLEM_TYPE)


def client_error_response(error: HTTPError, request: Request | None) -> Response:
    """``problem_response(Problem.from_http_error(error, request), request)`` for a 4xx error
    without headers or extra members, built without the intermediate :class:`Problem` (every
    404 takes this path)."""
    body: dict[str, Any] = {"type": error.type, "title": error.title, "status": error.status}
    if error.detail is not None:
        body["detail"] = error.detail
    if request is not None:
        body["instance"] = echo(request.root_path + request.path)
        if request.request_id is not None:
            body["request_id"] = echo(request.request_id)
    return _json_response(dump_json(body), error.status, PROBLEM_TYPE)


def route_not_found(request: Request) -> Response | None:
    """``client_error_response(NotFound(f"No route matches {path}."), request)``, the same
    bytes, without the exception: the 404 of a path no route matches, for an app with the
    default formatter and no exception handler. Its constant members are encoded once; the
    request's three strings by the C encoder. ``None`` for a path the JSON encoder would refuse
    (the caller takes the general path, which copes).

    >>> from lamroute.formats import parse_event
    >>> from lamroute.testing import make_event
    >>> request = parse_event(make_event("rest", "GET", "/nowhere", request_id="r-1"), None)
    >>> route_not_found(request).body == client_error_response(
    ...     NotFound("No route matches /nowhere."), request).body
    True
    """
    global _not_found_head
    head = _not_found_head
    if head is None:  # (status_phrase loads `http` for its HTTPStatus enum: on first use)
        head = _not_found_head = dump_json(
            {"type": "about:blank", "title": status_phrase(404), "status": 404})[:-1].decode()
    e = _encode_string
    path, request_id = request.path, request.request_id
    try:
        body = (f'{head},"detail":{e(f"No route matches {echo(path)}.")},'
                f'"instance":{e(echo(request.root_path + path))}')
        if request_id is not None:
            body = f'{body},"request_id":{e(echo(request_id))}}}'
        else:
            body += "}"
        return _json_response(body.encode("utf-8"), 404, PROBLEM_TYPE)
    except (TypeError, ValueError):  # not a str, or a lone surrogate UTF-8 cannot carry
        return None


_not_found_head: str | None = None
_encode_string = json.encoder.encode_basestring  # what dump_json writes strings with


def minimal_problem(
    status: int, request_id: str | None = None, *, instance: str | None = None,
    detail: str | None = None,
) -> Response:
    """A problem response built from constants and plain strings only: the fallback that cannot
    fail. A server error without a ``detail`` gets :data:`SERVER_ERROR_DETAIL`.

    >>> minimal_problem(500, "r-1", instance="/prod/x").text  # doctest: +ELLIPSIS
    '{"type": "about:blank", "title": "Internal Server Error", "status": 500, "detail": ...}'
    """
    body: dict[str, Any] = {"type": "about:blank", "title": status_phrase(status), "status": status}
    if isinstance(detail, str):
        body["detail"] = echo(detail)
    elif status >= 500:
        body["detail"] = SERVER_ERROR_DETAIL
    if isinstance(instance, str):
        body["instance"] = echo(instance)
    if isinstance(request_id, str):
        body["request_id"] = echo(request_id)
    return Response(json.dumps(body), status, media_type=PROBLEM_TYPE)
