"""WebSocket APIs: the Lambda proxy events API Gateway sends for connects, messages, disconnects.

https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api-integrations.html
https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api-mapping-template-reference.html

``requestContext`` carries ``routeKey``, ``eventType`` (``CONNECT``/``MESSAGE``/``DISCONNECT``),
``connectionId``, ``domainName``, ``stage``, ``apiId``, ``connectedAt``, ``requestId`` and
``identity.sourceIp``; ``$disconnect`` adds ``disconnectStatusCode`` and ``disconnectReason``.
Headers and query parameters are only sent with ``$connect``. There is no ``httpMethod``.

>>> from lamroute.testing import make_websocket_event
>>> WEBSOCKET.detect(make_websocket_event("$connect"))
True
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..exceptions import InvalidEvent
from ..http.multidict import Headers, QueryParams
from ..http.request import Request
from ..http.response import Response
from ..websocket import CONNECT, EVENT_TYPES, WebSocketRequest, route_response_body
from . import _common as c

if TYPE_CHECKING:
    from .identity import AuthSources


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
