"""WebSocket API events, and the in-memory ``@connections`` the test client's sessions share.

The events follow the shapes API Gateway sends (see the examples in
https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api-integrations.html):
headers and query only on ``$connect``, ``disconnectStatusCode``/``disconnectReason`` on
``$disconnect``. The local server (``lamroute.local.websocket``) builds its events here too. The
session that connects, sends, receives and disconnects is ``TestClient.websocket_connect``
(:class:`~lamroute.testing.client.WebSocketSession`).

>>> from lamroute import App
>>> from lamroute.testing import TestClient
>>> app = App(access_log=False)
>>> @app.websocket("$default")
... def echo(request, connections):
...     connections.send(request.connection_id, request.text.upper())
>>> with TestClient(app).websocket_connect(query={"room": "a"}) as ws:
...     _ = ws.send("hi")
...     ws.receive_text()
'HI'
"""

from __future__ import annotations

import base64
import json as jsonlib
import os
import time
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from ..routing.routes import CONNECT, DEFAULT, DISCONNECT
from ..websocket.connections import ConnectionGone, ConnectionInfo
from .events import API_ID, REGION, PairsInit, _group, pairs

ROUTE_SELECTION = "$request.body.action"
_EVENT_TYPES = {CONNECT: "CONNECT", DISCONNECT: "DISCONNECT"}


def new_id() -> str:
    """An id shaped like API Gateway's connection and request ids (``"IU3kkeN4IAMCJwA="``)."""
    return base64.b64encode(os.urandom(11)).decode("ascii")


def make_websocket_event(
    route_key: str = DEFAULT,
    *,
    connection_id: str | None = None,
    body: str | bytes | None = None,
    json: Any = None,
    headers: PairsInit = None,
    query: PairsInit = None,
    stage: str = "prod",
    domain_name: str | None = None,
    api_id: str = API_ID,
    authorizer: Mapping[str, Any] | None = None,
    source_ip: str = "203.0.113.7",
    user_agent: str = "lamroute-testclient",
    connected_at: int | None = None,
    request_id: str | None = None,
    disconnect_status_code: int = 1000,
    disconnect_reason: str = "",
) -> dict[str, Any]:
    """A WebSocket API event for ``route_key`` (``$connect``, ``$disconnect`` or a message).

    ``body`` as bytes is a binary frame (base64, ``isBase64Encoded``); ``json`` is sent as text.
    """
    domain = domain_name or f"{api_id}.execute-api.{REGION}.amazonaws.com"
    now = time.time()
    request_id = request_id or new_id()
    event_type = _EVENT_TYPES.get(route_key, "MESSAGE")
    context: dict[str, Any] = {
        "routeKey": route_key,
        "eventType": event_type,
        "extendedRequestId": request_id,
        "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
        "messageDirection": "IN",
        "stage": stage,
        "connectedAt": connected_at if connected_at is not None else int(now * 1000),
        "requestTimeEpoch": int(now * 1000),
        "identity": {"sourceIp": source_ip},
        "requestId": request_id,
        "domainName": domain,
        "connectionId": connection_id or new_id(),
        "apiId": api_id,
    }
    event: dict[str, Any] = {"requestContext": context, "isBase64Encoded": False}
    if event_type == "CONNECT":
        header_pairs = [("Host", domain), ("Sec-WebSocket-Extensions",
                        "permessage-deflate; client_max_window_bits"),
                        ("Sec-WebSocket-Key", base64.b64encode(os.urandom(16)).decode()),
                        ("Sec-WebSocket-Version", "13"), ("User-Agent", user_agent),
                        ("X-Forwarded-For", source_ip), ("X-Forwarded-Port", "443"),
                        ("X-Forwarded-Proto", "https")]
        given = pairs(headers)
        names = {k.lower() for k, _ in given}
        _set_headers(event, [*[h for h in header_pairs if h[0].lower() not in names], *given])
        context["identity"]["userAgent"] = user_agent
        query_pairs = pairs(query)
        if query_pairs:
            grouped = _group(query_pairs)
            event["queryStringParameters"] = {k: v[-1] for k, v in grouped.items()}
            event["multiValueQueryStringParameters"] = grouped
    elif event_type == "DISCONNECT":
        # $disconnect carries a few gateway headers, and the close frame's code and reason.
        _set_headers(event, [("Host", domain), ("x-api-key", ""), ("X-Forwarded-For", ""),
                             ("x-restapi", "")])
        context["disconnectStatusCode"] = disconnect_status_code
        context["disconnectReason"] = disconnect_reason
    else:
        context["messageId"] = new_id()
        if json is not None:
            event["body"] = jsonlib.dumps(json)
        elif isinstance(body, bytes):
            event["body"], event["isBase64Encoded"] = base64.b64encode(body).decode(), True
        elif body is not None:
            event["body"] = body
    if authorizer is not None:
        context["authorizer"] = dict(authorizer)
    return event


def _set_headers(event: dict[str, Any], header_pairs: list[tuple[str, str]]) -> None:
    grouped = _group(header_pairs)
    event["headers"] = {k: v[-1] for k, v in grouped.items()}
    event["multiValueHeaders"] = grouped


class MemoryBackend:
    """Connections kept in memory: what the TestClient's WebSocket sessions use.

    ``messages[connection_id]`` lists what was sent to each open connection.
    """

    def __init__(self) -> None:
        self.messages: dict[str, list[bytes]] = {}
        self.infos: dict[str, ConnectionInfo] = {}
        self.closed: list[str] = []

    def open(self, connection_id: str, *, source_ip: str | None = None,
             user_agent: str | None = None) -> None:
        now = datetime.now(timezone.utc)
        self.messages[connection_id] = []
        self.infos[connection_id] = ConnectionInfo(connection_id, now, now, source_ip,
                                                   user_agent)

    def forget(self, connection_id: str) -> None:
        """The client went away: later calls for it raise :class:`ConnectionGone`."""
        self.messages.pop(connection_id, None)
        self.infos.pop(connection_id, None)

    def post(self, connection_id: str, data: bytes) -> None:
        if connection_id not in self.messages:
            raise ConnectionGone(connection_id)
        self.messages[connection_id].append(data)

    def delete(self, connection_id: str) -> None:
        if connection_id not in self.messages:
            raise ConnectionGone(connection_id)
        self.closed.append(connection_id)
        self.forget(connection_id)

    def get(self, connection_id: str) -> ConnectionInfo:
        if connection_id not in self.infos:
            raise ConnectionGone(connection_id)
        return self.infos[connection_id]
