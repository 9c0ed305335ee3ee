"""A chat room on one Lambda behind an API Gateway WebSocket API.

Clients connect with ``wss://.../prod?name=alice``, send ``{"action": "sendMessage", "text":
"hi"}`` and receive ``{"from": "alice", "text": "hi"}`` pushed through ``@connections``.
Connections are kept in DynamoDB when ``CONNECTIONS_TABLE`` is set (as in ``template.yaml``),
in memory otherwise (tests, ``python -m lamroute.local.websocket examples.chat.app:app``).

Run locally and talk to it with any WebSocket client::

    python -m lamroute.local.websocket examples.chat.app:app --port 3001
    python -m websockets 'ws://127.0.0.1:3001/?name=alice'
    > {"action": "sendMessage", "text": "hello"}
"""

from __future__ import annotations

import os
import threading
from typing import Any, Protocol

from pydantic import BaseModel, Field

from lamroute import App, BadRequest
from lamroute.formats.websocket import WebSocketRequest
from lamroute.websocket.connections import ConnectionGone, Connections

app = App(title="Chat", version="1.0.0")


class ConnectionStore(Protocol):
    """Who is connected: connection id → display name."""

    def add(self, connection_id: str, name: str) -> None: ...
    def remove(self, connection_id: str) -> None: ...
    def members(self) -> dict[str, str]: ...


class MemoryStore:
    """Connections in this process only: fine for tests and the local server."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._members: dict[str, str] = {}

    def add(self, connection_id: str, name: str) -> None:
        with self._lock:
            self._members[connection_id] = name

    def remove(self, connection_id: str) -> None:
        with self._lock:
            self._members.pop(connection_id, None)

    def members(self) -> dict[str, str]:
        with self._lock:
            return dict(self._members)


class DynamoStore:
    """Connections in a DynamoDB table keyed by ``connectionId`` (shared by all containers)."""

    def __init__(self, table_name: str) -> None:
        import boto3

        self.table = boto3.resource("dynamodb").Table(table_name)

    def add(self, connection_id: str, name: str) -> None:
        self.table.put_item(Item={"connectionId": connection_id, "name": name})

    def remove(self, connection_id: str) -> None:
        self.table.delete_item(Key={"connectionId": connection_id})

    def members(self) -> dict[str, str]:
        found: dict[str, str] = {}
        options: dict[str, Any] = {"ProjectionExpression": "connectionId, #n",
                                   "ExpressionAttributeNames": {"#n": "name"}}
        while True:
            page = self.table.scan(**options)
            found.update({item["connectionId"]: item["name"] for item in page["Items"]})
            if "LastEvaluatedKey" not in page:
                return found
            options["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def make_store() -> ConnectionStore:
    table = os.environ.get("CONNECTIONS_TABLE")
    return DynamoStore(table) if table else MemoryStore()


store: ConnectionStore = make_store()


class ChatMessage(BaseModel):
    action: str
    text: str = Field(min_length=1, max_length=2000)


@app.websocket("$connect")
def connect(request: WebSocketRequest) -> None:
    """Refuse (400) a client without a name; remember the others."""
    name = (request.query.get("name") or "").strip()
    if not name or len(name) > 40:
        raise BadRequest("Connect with ?name=<1-40 characters>.")
    store.add(request.connection_id, name)


@app.websocket("$disconnect")
def disconnect(connection_id: str) -> None:
    store.remove(connection_id)


@app.websocket("sendMessage")
def send_message(message: ChatMessage, connection_id: str,
                 connections: Connections) -> dict[str, int]:
    """Push the message to every member; forget the ones that are gone."""
    members = store.members()
    payload = {"from": members.get(connection_id, "?"), "text": message.text}
    delivered = 0
    for member in members:
        try:
            connections.send(member, payload)
            delivered += 1
        except ConnectionGone:
            store.remove(member)
    return {"delivered": delivered}


@app.websocket("$default")
def default(request: WebSocketRequest) -> dict[str, Any]:
    """Anything else: say what the API understands (a two-way route answer)."""
    return {"error": "Unknown action.", "actions": ["sendMessage"],
            "example": {"action": "sendMessage", "text": "hello"}}
