"""The local ``@connections`` endpoint: the API Gateway Management API for the local server.

``POST /{stage}/@connections/{id}`` sends the request body to the client, ``GET`` describes the
connection and ``DELETE`` closes it; a connection that is not open answers ``410`` with
``x-amzn-ErrorType: GoneException``, as API Gateway does, so boto3 raises the same errors and
``lamroute.websocket.connections.Connections`` works unchanged against it.
https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-how-to-call-websocket-api-connections.html
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

# PostToConnection's Data is at most 128 KB (the service model's `max`).
MAX_DATA = 128 * 1024


class ConnectionRegistry(Protocol):
    """What the management endpoint needs from the WebSocket server."""

    def post(self, connection_id: str, data: bytes) -> bool: ...
    def delete(self, connection_id: str) -> bool: ...
    def describe(self, connection_id: str) -> dict[str, Any] | None: ...


def iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


class _Handler(BaseHTTPRequestHandler):
    registry: ConnectionRegistry
    server_version = "lamroute-connections"

    def log_message(self, format: str, *args: Any) -> None:  # quiet, like the gateway
        return

    def _connection_id(self) -> str | None:
        parts = urlsplit(self.path).path.split("/")
        # `/{stage}/@connections/{id}` (or `/@connections/{id}` when the endpoint has no stage)
        if len(parts) >= 3 and parts[-2] == "@connections" and parts[-1]:
            return unquote(parts[-1])
        return None

    def _answer(self, status: int, body: Any = None, error: str | None = None) -> None:
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if error:
            self.send_header("x-amzn-ErrorType", error)
        self.end_headers()
        self.wfile.write(data)

    def _gone(self, connection_id: str) -> None:
        self._answer(410, {"message": f"Connection {connection_id} is gone."}, "GoneException")

    def _route(self, action: Callable[[str], None]) -> None:
        connection_id = self._connection_id()
        if connection_id is None:
            self._answer(403, {"message": "Forbidden"}, "ForbiddenException")
            return
        action(connection_id)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        data = self.rfile.read(length) if length else b""

        def post(connection_id: str) -> None:
            if len(data) > MAX_DATA:
                self._answer(413, {"message": "Data exceeds 131072 bytes."},
                             "PayloadTooLargeException")
            elif self.registry.post(connection_id, data):
                self._answer(200)
            else:
                self._gone(connection_id)

        self._route(post)

    def do_DELETE(self) -> None:
        def delete(connection_id: str) -> None:
            if self.registry.delete(connection_id):
                self._answer(204)
            else:
                self._gone(connection_id)

        self._route(delete)

    def do_GET(self) -> None:
        def get(connection_id: str) -> None:
            info = self.registry.describe(connection_id)
            if info is None:
                self._gone(connection_id)
            else:
                self._answer(200, info)

        self._route(get)


class ManagementServer:
    """A threaded HTTP server on 127.0.0.1 serving ``@connections`` for ``registry``."""

    def __init__(self, registry: ConnectionRegistry, *, host: str = "127.0.0.1",
                 port: int = 0) -> None:
        handler = type("ConnectionsHandler", (_Handler,), {"registry": registry})
        self.httpd = ThreadingHTTPServer((host, port), handler)
        self.httpd.daemon_threads = True
        self.host, self.port = host, int(self.httpd.server_address[1])
        self._thread = threading.Thread(target=self.httpd.serve_forever,
                                        name="lamroute-connections", daemon=True)

    def url(self, stage: str) -> str:
        """The endpoint the app calls; a wildcard address (``0.0.0.0``) is reached on loopback."""
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        return f"http://{host}:{self.port}/{stage}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(timeout=5)
