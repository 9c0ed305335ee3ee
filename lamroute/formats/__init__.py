"""Payload formats: each module detects, parses and renders one kind of Lambda proxy event.

Only this package reads or writes event keys: ``rest.py`` (payload 1.0: REST APIs, HTTP APIs
``version: "1.0"``), ``http.py`` (payload 2.0 and Function URLs), ``alb.py``, ``websocket.py``
(WebSocket API events and their :class:`~lamroute.formats.websocket.WebSocketRequest`),
``custom.py`` (the event of lamroute's custom, non-proxy, integration templates),
``authorizer.py`` (Lambda authorizer events) and ``identity.py`` (the caller, from the
authorizer shapes); ``_common.py`` holds what they share. This module picks the format of an
event (:func:`detect`) and renders an answer so that rendering cannot fail
(:func:`render_safely`).

>>> from lamroute.testing import make_event
>>> detect(make_event("http", "GET", "/")).name
'http'
"""

from __future__ import annotations

import copy
import json
import logging
import sys
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from ..exceptions import SERVER_ERROR_DETAIL, InvalidEvent, reraise_fatal
from ..http.request import EventReader, Request
from ..http.response import PROBLEM_TYPE, Response
from .rest import HTTP_V1, REST

if TYPE_CHECKING:  # (loaded on first use: see FORMATS below)
    from .alb import ALB as ALB
    from .http import HTTP as HTTP
    from .http import URL as URL


class PayloadFormat(EventReader, Protocol):
    """One proxy payload format: ``detect`` an event, ``parse`` it, ``render`` the answer."""

    name: str

    def detect(self, event: Mapping[str, Any]) -> bool: ...
    def parse(self, event: Mapping[str, Any], context: Any) -> Request: ...
    def render(self, response: Response, request: Request | None) -> dict[str, Any]: ...


# Order matters: ALB before 1.0 (both carry httpMethod), Function URLs apart from HTTP APIs.
# WebSocket events (requestContext.connectionId, no httpMethod) match none of those, so they
# are tried after them and HTTP requests pay nothing for them: their module is imported with
# the first one, or the first WebSocket route (see websocket_format); nor for the custom
# integration's event (a `lamroute` marker and `method`, no httpMethod): tried after them
# all, its module imported likewise (see _custom). The payload 2.0 (``http.py``) and ALB
# modules load with their first event too (``_v2``, ``_alb``), or when ``FORMATS``,
# ``BY_NAME``, ``HTTP``, ``URL`` or ``ALB`` is first read (``__getattr__``): a REST API's cold
# start never imports them (~0.35 ms).
if TYPE_CHECKING:
    FORMATS: list[PayloadFormat]
    BY_NAME: dict[str, PayloadFormat]

_MADE: list[PayloadFormat] | None = None  # FORMATS, once made (detect checks its length)
_BUILTIN_COUNT = 5
_V2: tuple[PayloadFormat, PayloadFormat] | None = None  # (HTTP, URL) once loaded
_ALB: PayloadFormat | None = None


def _v2() -> tuple[PayloadFormat, PayloadFormat]:
    """``(HTTP, URL)``, :mod:`.http` imported on first use."""
    global _V2
    if _V2 is None:
        from .http import HTTP, URL

        _V2 = (HTTP, URL)
    return _V2


def _alb() -> PayloadFormat:
    """``ALB``, :mod:`.alb` imported on first use."""
    global _ALB
    if _ALB is None:
        from .alb import ALB

        _ALB = ALB
    return _ALB


def _builtins() -> tuple[list[PayloadFormat], dict[str, PayloadFormat]]:
    """``FORMATS`` and ``BY_NAME``, made once with every built-in format."""
    global _MADE
    made = _MADE
    if made is None:
        http, url = _v2()
        made = _MADE = [http, url, _alb(), HTTP_V1, REST]
        globals().update(FORMATS=made, BY_NAME={f.name: f for f in made})
    return made, globals()["BY_NAME"]


def __getattr__(name: str) -> Any:
    if name in ("FORMATS", "BY_NAME"):
        return _builtins()[name == "BY_NAME"]
    if name in ("HTTP", "URL"):
        return _v2()[name == "URL"]
    if name == "ALB":
        return _alb()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def register_format(fmt: PayloadFormat, *, first: bool = True) -> None:
    """Add a payload format (tried before the built-in ones unless ``first=False``)."""
    formats, by_name = _builtins()
    formats.insert(0, fmt) if first else formats.append(fmt)
    by_name[fmt.name] = fmt


def detect(event: Any) -> PayloadFormat:
    """The format of ``event``; :class:`InvalidEvent` (400) when it is no proxy event."""
    if type(event) is not dict and not isinstance(event, Mapping):
        raise InvalidEvent(f"The Lambda event is a {type(event).__name__}, not a proxy event.")
    if _MADE is None or len(_MADE) == _BUILTIN_COUNT:  # no custom format: direct key checks
        # What trying every built-in ``detect`` in ``FORMATS`` order gives, in one pass.
        context = event.get("requestContext")
        if not (type(context) is dict or isinstance(context, Mapping)):
            context = {}
        if "httpMethod" in event and "elb" not in context:  # REST and HTTP API 1.0 first
            version = event.get("version")
            if version != "2.0" or "connectionId" in context:
                return HTTP_V1 if version == "1.0" else REST
        if event.get("version") == "2.0" and "connectionId" not in context:
            domain = context.get("domainName")
            v2 = _V2 or _v2()
            return v2[1] if isinstance(domain, str) and ".lambda-url." in domain else v2[0]
        if "elb" in context:
            return _ALB or _alb()
        if "httpMethod" in event:
            return HTTP_V1 if event.get("version") == "1.0" else REST
    else:
        for fmt in _builtins()[0]:
            if fmt.detect(event):
                return fmt
    context = event.get("requestContext")
    if isinstance(context, Mapping) and "connectionId" in context:  # (what it needs first)
        websocket = websocket_format()
        if websocket.detect(event):
            return websocket
    if event.get("lamroute") == CUSTOM_MARKER:
        return _custom()
    raise InvalidEvent("The Lambda event is not an API Gateway, ALB or Function URL event.")


CUSTOM_MARKER = "custom/1"
"""The ``lamroute`` key of a custom integration event (``lamroute.formats.custom``)."""


def websocket_format() -> PayloadFormat:
    """The WebSocket format (:mod:`lamroute.formats.websocket`, imported on first use)."""
    from .websocket import WEBSOCKET

    _builtins()[1].setdefault(WEBSOCKET.name, WEBSOCKET)
    return WEBSOCKET


def is_websocket(request: Request) -> bool:
    """Whether ``request`` is a :class:`~lamroute.formats.websocket.WebSocketRequest` (no
    import: there is none before the module is loaded)."""
    if type(request) is Request:
        return False
    module = sys.modules.get(f"{__name__}.websocket")
    return module is not None and isinstance(request, module.WebSocketRequest)


def _custom() -> PayloadFormat:
    from .custom import CUSTOM

    _builtins()[1].setdefault(CUSTOM.name, CUSTOM)
    return CUSTOM


def parse_event(event: Any, context: Any) -> Request:
    """Detect the format of ``event`` and build its :class:`Request`."""
    return detect(event).parse(event, context)


FALLBACK_PROXY_RESPONSE: dict[str, Any] = {
    "statusCode": 500,
    "headers": {"Content-Type": PROBLEM_TYPE},
    "body": json.dumps({"type": "about:blank", "title": "Internal Server Error", "status": 500,
                        "detail": SERVER_ERROR_DETAIL}),
    "isBase64Encoded": False,
}
"""Returned when even the minimal problem cannot be rendered in the event's format.

Its keys are the ones every proxy format accepts (REST is the strictest: any other key is a
malformed response). Built from constants, it has no ``instance`` or ``request_id``."""


if TYPE_CHECKING:  # read by the type checker only (a Protocol class costs ~30 µs to create)
    class ErrorAnswers(Protocol):
        """The fallback answers :func:`render_safely` tries (the app's error boundary)."""

        logger: logging.Logger

        def server_error(self, request: Request | None,
                         failure: BaseException | None = None) -> Response: ...
        def minimal(self, request: Request | None) -> Response: ...


def render_safely(
    fmt: PayloadFormat | None, response: Response, request: Request | None, event: Any,
    answers: ErrorAnswers,
) -> dict[str, Any]:
    """Render ``response`` in ``fmt`` (REST's shape for an unknown event); never raises.

    When it cannot be rendered, the formatted 500 (told why, which ``debug`` shows) then the
    minimal one are tried, and finally :data:`FALLBACK_PROXY_RESPONSE`. When the event was
    recognised but could not be parsed, the format still sees it (ALB picks its header mode
    from it) through a bare request carrying only the event.
    """
    target = fmt or REST
    shell = request if request is not None else _shell(fmt, event)
    try:
        if request is not None and request.method == "HEAD":
            response = _head(response, request)
        return target.render(response, shell)
    except BaseException as exc:
        reraise_fatal(exc)
        answers.logger.error("response cannot be rendered: %s", exc, exc_info=exc)
        failure = exc
    fallbacks: tuple[Callable[[], Response], ...] = (
        lambda: answers.server_error(request, failure), lambda: answers.minimal(request))
    for build in fallbacks:
        try:
            return target.render(_head(build(), request), shell)
        except BaseException as exc:
            reraise_fatal(exc)
            answers.logger.error("fallback response cannot be rendered", exc_info=exc)
    return dict(FALLBACK_PROXY_RESPONSE, headers=dict(FALLBACK_PROXY_RESPONSE["headers"]))


def _shell(fmt: PayloadFormat | None, event: Any) -> Request | None:
    if fmt is None or not isinstance(event, Mapping):
        return None
    return Request(method="", path="/", root_path="", format=fmt.name, stage=None,
                   request_id=None, event=event, context=None, reader=fmt)


def _head(response: Response, request: Request | None) -> Response:
    """HEAD answers never carry a body, error answers and fallbacks included."""
    if request is not None and request.method == "HEAD" and isinstance(response, Response):
        response = copy.copy(response)  # a handler may return the same object every time
        response.body = b""
    return response
