"""WebSocket APIs: the Lambda proxy events API Gateway sends for connects, messages, disconnects.

https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api-integrations.html
https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api-mapping-template-reference.html

``requestContext`` carries ``routeKey``, ``eventType`` (``CONNECT``/``MESSAGE``/``DISCONNECT``),
``connectionId``, ``domainName``, ``stage``, ``apiId``, ``connectedAt``, ``requestId`` and
``identity.sourceIp``; ``$disconnect`` adds ``disconnectStatusCode`` and ``disconnectReason``.
Headers and query parameters are only sent with ``$connect``. There is no ``httpMethod``.

The request a WebSocket handler sees, :class:`WebSocketRequest`, is defined here with the format
that builds it (``lamroute.websocket`` re-exports it). The route keys are plain strings here:
routing (:mod:`lamroute.routing.routes`) has its own ``CONNECT``/``DISCONNECT``/``DEFAULT``, and the
formats know no routing.

>>> from lamroute.testing import make_websocket_event
>>> WEBSOCKET.detect(make_websocket_event("$connect"))
True
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

from ..exceptions import InvalidEvent, ResponseError
from ..http.multidict import Headers, QueryParams
from ..http.request import EventReader, Request
from ..http.response import Response
from . import _common as c

if TYPE_CHECKING:
    from .identity import AuthSources

CONNECT = "$connect"
# eventType -> routeKey of the events API Gateway sends for a connection's open and close.
EVENT_TYPES = {"CONNECT": CONNECT, "DISCONNECT": "$disconnect"}


class ConnectionsClient(Protocol):
    """What ``request.connections`` offers: :class:`lamroute.websocket.connections.Connections`
    (the formats know no WebSocket feature, only this shape)."""

    endpoint: str | None

    def send(self, connection_id: str, data: str | bytes | Any) -> None: ...
    def close(self, connection_id: str) -> None: ...
    def info(self, connection_id: str) -> Any: ...


class ConnectionsSource(Protocol):
    """The app's connections setting: gives the client for one request's API and stage."""

    def for_request(self, request: WebSocketRequest) -> ConnectionsClient: ...


class WebSocketRequest(Request):
    """One WebSocket API event: a connect, a message or a disconnect.

    ``method`` is the event type (``CONNECT``, ``MESSAGE``, ``DISCONNECT``) and ``path`` the
    route key, so logs and problem bodies name them. ``headers`` and ``query`` are only
    sent by API Gateway on ``$connect``; ``body``, ``text`` and ``json()`` carry the message.
    """

    __slots__ = (
        "_connections",
        "_connections_config",
        "api_id",
        "connected_at",
        "connection_id",
        "disconnect_reason",
        "disconnect_status_code",
        "domain_name",
        "event_type",
        "message_id",
        "route_key",
    )

    def __init__(
        self,
        *,
        connection_id: str,
        route_key: str,
        event_type: str,
        domain_name: str | None,
        api_id: str | None,
        stage: str | None,
        request_id: str | None,
        connected_at: int | None,
        message_id: str | None,
        disconnect_status_code: int | None,
        disconnect_reason: str | None,
        event: Mapping[str, Any],
        context: Any,
        reader: EventReader,
    ) -> None:
        super().__init__(method=event_type, path=route_key, root_path="", format="websocket",
                         stage=stage, request_id=request_id, event=event, context=context,
                         reader=reader)
        self.connection_id = connection_id
        self.route_key = route_key
        self.event_type = event_type
        self.domain_name = domain_name
        self.api_id = api_id
        self.connected_at = connected_at
        self.message_id = message_id
        self.disconnect_status_code = disconnect_status_code
        self.disconnect_reason = disconnect_reason
        self._connections: ConnectionsClient | None = None
        # The app's connections setting: set by the App that parsed the event.
        self._connections_config: ConnectionsSource | None = None

    @property
    def connections(self) -> ConnectionsClient:
        """The app's :class:`~lamroute.websocket.connections.Connections`, with this event's
        endpoint unless one is configured (built on first use)."""
        if self._connections is None:
            config = self._connections_config
            if config is None:
                raise LookupError(
                    "request.connections comes from the App that received the event; outside "
                    "one, use lamroute.websocket.connections.Connections(...).for_request(request)."
                )
            self._connections = config.for_request(self)
        return self._connections

    def send(self, data: str | bytes | Any) -> None:
        """Send ``data`` back to this request's own connection."""
        self.connections.send(self.connection_id, data)

    def __repr__(self) -> str:
        return f"<WebSocketRequest {self.route_key} {self.connection_id}>"


# https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-execution-service-websocket-limits-table.html
MAX_MESSAGE = 128 * 1024


def route_response_body(response: Response) -> str:
    """A WebSocket route response body is text of at most 128 KB (the message size quota)."""
    body = response.body
    if not isinstance(body, (bytes, bytearray)):
        raise ResponseError("Response.body must be bytes.")
    if len(body) > MAX_MESSAGE:
        raise ResponseError(
            f"A WebSocket route response of {len(body)} bytes is over the 128 KB message quota."
        )
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise ResponseError(
            "A WebSocket route response must be text (UTF-8); send binary frames with "
            "connections.send(connection_id, data)."
        ) from None


class WebSocketFormat(c.ProxyReader):
    """Reads WebSocket API events and writes the integration response."""

    name = "websocket"

    def detect(self, event: Mapping[str, Any]) -> bool:
        context = event.get("requestContext")
        return (
            isinstance(context, Mapping)
            and "connectionId" in context
            and ("routeKey" in context or "eventType" in context)
            and "httpMethod" not in event
        )

    def parse(self, event: Mapping[str, Any], context: Any) -> WebSocketRequest:
        ctx = c.request_context(event)
        connection_id = ctx.get("connectionId")
        if not isinstance(connection_id, str) or not connection_id:
            raise InvalidEvent("The event's 'requestContext.connectionId' must be a string.")
        event_type = ctx.get("eventType")
        route_key = ctx.get("routeKey")
        if not isinstance(route_key, str):  # every WebSocket event names its route
            raise InvalidEvent("The event's 'requestContext.routeKey' must be a string.")
        if not isinstance(event_type, str):
            event_type = {v: k for k, v in EVENT_TYPES.items()}.get(route_key, "MESSAGE")
        status = ctx.get("disconnectStatusCode")
        return WebSocketRequest(
            connection_id=connection_id,
            route_key=route_key,
            event_type=event_type,
            domain_name=c.str_or_none(ctx.get("domainName")),
            api_id=c.str_or_none(ctx.get("apiId")),
            stage=c.str_or_none(ctx.get("stage")),
            request_id=c.str_or_none(ctx.get("requestId")),
            connected_at=_int_or_none(ctx.get("connectedAt")),
            message_id=c.str_or_none(ctx.get("messageId")),
            disconnect_status_code=_int_or_none(status),
            disconnect_reason=c.str_or_none(ctx.get("disconnectReason")),
            event=event,
            context=context,
            reader=self,
        )

    # -- lazy readers (EventReader) ------------------------------------------------------------

    def headers(self, event: Mapping[str, Any]) -> Headers:
        multi = c.mapping(event, "multiValueHeaders")
        if multi:
            return Headers(c.string_pairs(multi, "header"))
        return Headers(c.string_pairs(c.mapping(event, "headers"), "header"))

    def query(self, event: Mapping[str, Any]) -> QueryParams:
        multi = c.mapping(event, "multiValueQueryStringParameters")
        if multi:
            return QueryParams(c.string_pairs(multi, "query"))
        return QueryParams(c.string_pairs(c.mapping(event, "queryStringParameters"), "query"))

    def source_ip(self, event: Mapping[str, Any]) -> str | None:
        identity = c.request_context(event).get("identity")
        return c.str_or_none(identity.get("sourceIp")) if isinstance(identity, Mapping) else None

    def auth_sources(self, event: Mapping[str, Any]) -> AuthSources:
        """A ``$connect`` Lambda authorizer's output (``principalId`` and its context values,
        as in REST APIs) and the caller ``identity`` (IAM), for ``request.auth``.
        https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api-lambda-auth.html
        """
        from .identity import AuthSources  # only apps that read request.auth load it

        identity = c.request_context(event).get("identity")
        return AuthSources(authorizer=self.authorizer(event),
                           identity=identity if isinstance(identity, Mapping) else {})

    # -- the integration response --------------------------------------------------------------

    def render(self, response: Response, request: Request | None) -> dict[str, Any]:
        """``{"statusCode", "body"}``; headers only on ``$connect``.

        A non-2xx status on ``$connect`` refuses the connection. Headers only mean something in
        the handshake answer (``Sec-WebSocket-Protocol`` to pick a subprotocol):
        https://docs.aws.amazon.com/apigateway/latest/developerguide/websocket-connect-route-subprotocol.html
        A message route's body reaches the client only when the route has a route response.
        """
        out: dict[str, Any] = {
            "statusCode": c.check_status(response.status),
            "body": route_response_body(response),
        }
        if isinstance(request, WebSocketRequest) and request.route_key == CONNECT:
            headers = {
                name: ", ".join(values)
                for name, values in c.header_lists(response, include_cookies=True).items()
                if name.lower() != "content-type"
            }
            if headers:
                out["headers"] = headers
        return out


def _int_or_none(value: Any) -> int | None:
    return int(value) if isinstance(value, int) and not isinstance(value, bool) else None


WEBSOCKET = WebSocketFormat()
