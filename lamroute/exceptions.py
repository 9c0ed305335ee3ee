"""The exception hierarchy: everything lamroute raises derives from :class:`LamrouteError`.

Raise an :class:`HTTPError` (or one of its named subclasses) from a handler to answer with that
status; the app turns it into an RFC 9457 problem response::

    from lamroute import NotFound

    @app.get("/notes/{note_id}")
    def get_note(note_id: str) -> dict[str, str]:
        raise NotFound(f"note {note_id} does not exist")

It sits at the bottom of the package (``http/`` raises ``BadRequest`` and ``ResponseError``);
:mod:`lamroute.errors` re-exports it beside the problem documents and the boundary.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar


class LamrouteError(Exception):
    """Root of every exception lamroute defines."""


class RouteDefinitionError(LamrouteError):
    """A route, template or handler signature cannot be registered (raised at import time)."""


class HTTPError(LamrouteError):
    """An error that becomes an HTTP answer with ``status``.

    ``detail`` is shown to the client; ``headers`` are added to the answer; ``extra`` members are
    merged into the problem body (for example ``errors`` for validation failures).

    >>> HTTPError(418, "short and stout").status
    418
    """

    STATUS: ClassVar[int] = 500

    def __init__(
        self,
        status: int | None = None,
        detail: str | None = None,
        *,
        headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
        title: str | None = None,
        type: str = "about:blank",
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        status = self.STATUS if status is None else status
        # (`type` is the problem type here, not the builtin)
        self.status = status if status.__class__ is int else plain_status(status)
        self.detail = detail
        self.headers: list[tuple[str, str]] = (
            [] if headers is None
            else list(headers.items()) if isinstance(headers, Mapping) else list(headers)
        )
        self.title = title or status_phrase(self.status)
        self.type = type
        self.extra: dict[str, Any] = dict(extra) if extra else {}
        super().__init__(detail or self.title)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.status}, {self.detail!r})"


class BadRequest(HTTPError):
    """400: the request is malformed (bad JSON, a malformed event)."""

    STATUS = 400

    def __init__(self, detail: str | None = None, **options: Any) -> None:
        super().__init__(self.STATUS, detail, **options)


class Unauthorized(BadRequest):
    """401: no (valid) identity; add a ``WWW-Authenticate`` header with ``headers=``."""

    STATUS = 401


class Forbidden(BadRequest):
    """403: the identity is known but not allowed."""

    STATUS = 403


class NotFound(BadRequest):
    """404: no such resource (or no route for the path)."""

    STATUS = 404


class MethodNotAllowed(BadRequest):
    """405: the path exists, the method does not; carries the ``Allow`` header."""

    STATUS = 405


class Conflict(BadRequest):
    """409: the request conflicts with the current state."""

    STATUS = 409


class PayloadTooLarge(BadRequest):
    """413: the request body is larger than allowed."""

    STATUS = 413


class UnsupportedMediaType(BadRequest):
    """415: the body's ``Content-Type`` is not one the route accepts."""

    STATUS = 415


class UnprocessableEntity(BadRequest):
    """422: the request is well-formed but fails validation."""

    STATUS = 422


class TooManyRequests(BadRequest):
    """429: slow down; add ``Retry-After`` with ``headers=``."""

    STATUS = 429


class InternalServerError(BadRequest):
    """500: the server failed; the detail is only shown with ``debug=True``."""

    STATUS = 500


class ServiceUnavailable(BadRequest):
    """503: try again later."""

    STATUS = 503


class GatewayTimeout(BadRequest):
    """504: the handler ran out of time."""

    STATUS = 504


class InvalidEvent(BadRequest):
    """400: the Lambda event is not a proxy event lamroute understands."""


class ResponseError(LamrouteError):
    """A handler's return value cannot be rendered as a proxy response (a server bug: 500)."""


SERVER_ERROR_DETAIL = (
    "The server could not complete the request; quote its request_id when reporting it."
)
"""The ``detail`` of every 5xx problem that has no detail of its own to show: a 500's own text
(an exception message, an ``InternalServerError`` detail) is for the logs unless
``App(debug=True)``."""

# Only Ctrl-C goes through (the local server must stop). A handler calling sys.exit() is answered
# with a 500: letting SystemExit escape would crash the runtime and the gateway would say 502.
FATAL = (KeyboardInterrupt,)


def reraise_fatal(exc: BaseException) -> None:
    """Let Ctrl-C through; everything else is the boundary's to answer."""
    if isinstance(exc, FATAL):
        raise exc


def plain_status(status: Any) -> Any:
    """``status`` as a plain ``int`` when it is an ``int`` subclass (``HTTPStatus.CREATED``),
    so renderers and JSON see ``201``; anything else (``bool`` included) is returned unchanged,
    for the caller's own check to refuse.

    >>> from http import HTTPStatus
    >>> type(plain_status(HTTPStatus.CREATED)), plain_status(True)
    (<class 'int'>, True)
    """
    if type(status) is int or not isinstance(status, int) or isinstance(status, bool):
        return status
    return int(status)


def status_phrase(status: int) -> str:
    """The reason phrase for ``status`` (``"Not Found"`` for 404), or ``"Error"``."""
    try:
        return _phrase(status)
    except TypeError:  # unhashable: no phrase
        return "Error"


# Python 3.13 took RFC 9110's names for these four (``Content Too Large``...); an answer's title
# is the same on every Lambda runtime, so they keep the wording of 3.10-3.12.
_PINNED_PHRASES = {413: "Request Entity Too Large", 414: "Request-URI Too Long",
                   416: "Requested Range Not Satisfiable", 422: "Unprocessable Entity"}


@functools.lru_cache(maxsize=128)
def _phrase(status: int) -> str:
    pinned = _PINNED_PHRASES.get(status)
    if pinned is not None:
        return pinned
    from http import HTTPStatus  # on first error only: building the enum costs ~1 ms at import

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
