"""Payload formats: each module detects, parses and renders one kind of Lambda proxy event.

>>> from lamroute.testing import make_event
>>> detect(make_event("http", "GET", "/")).name
'http'
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from ..errors import InvalidEvent
from ..http.request import EventReader, Request
from ..http.response import Response
from .alb import ALB
from .http import HTTP, URL
from .rest import HTTP_V1, REST
from .websocket import WEBSOCKET


class PayloadFormat(EventReader, Protocol):
    """One proxy payload format: ``detect`` an event, ``parse`` it, ``render`` the answer."""

    name: str

    def detect(self, event: Mapping[str, Any]) -> bool: ...
    def parse(self, event: Mapping[str, Any], context: Any) -> Request: ...
    def render(self, response: Response, request: Request | None) -> dict[str, Any]: ...


# Order matters: ALB before 1.0 (both carry httpMethod), Function URLs apart from HTTP APIs.
# WebSocket events (requestContext.connectionId, no httpMethod) match none of those, so they
# are tried last and HTTP requests pay nothing for them.
FORMATS: list[PayloadFormat] = [HTTP, URL, ALB, HTTP_V1, REST, WEBSOCKET]
BY_NAME: dict[str, PayloadFormat] = {f.name: f for f in FORMATS}
_BUILTIN_COUNT = len(FORMATS)


def register_format(fmt: PayloadFormat, *, first: bool = True) -> None:
    """Add a payload format (tried before the built-in ones unless ``first=False``)."""
    FORMATS.insert(0, fmt) if first else FORMATS.append(fmt)
    BY_NAME[fmt.name] = fmt


def detect(event: Any) -> PayloadFormat:
    """The format of ``event``; :class:`InvalidEvent` (400) when it is no proxy event."""
    if type(event) is not dict and not isinstance(event, Mapping):
        raise InvalidEvent(f"The Lambda event is a {type(event).__name__}, not a proxy event.")
    if len(FORMATS) == _BUILTIN_COUNT:  # no custom format registered: direct key checks
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
            return URL if isinstance(domain, str) and ".lambda-url." in domain else HTTP
        if "elb" in context:
            return ALB
        if "httpMethod" in event:
            return HTTP_V1 if event.get("version") == "1.0" else REST
        if WEBSOCKET.detect(event):
            return WEBSOCKET
    else:
        for fmt in FORMATS:
            if fmt.detect(event):
                return fmt
    raise InvalidEvent("The Lambda event is not an API Gateway, ALB or Function URL event.")


def parse_event(event: Any, context: Any) -> Request:
    """Detect the format of ``event`` and build its :class:`Request`."""
    return detect(event).parse(event, context)
