"""A local WebSocket API: real WebSocket clients in front of ``app(event, context)``.

Emulates API Gateway's WebSocket APIs on ``ws://127.0.0.1:3001``: the handshake runs
``$connect`` (with headers and query string; a non-2xx answer refuses the connection), each
message runs the route its route selection expression picks (``$request.body.action`` by
default, else ``$default``), and the end of a connection runs ``$disconnect`` with the close
code. A local ``@connections`` endpoint (next port, see :mod:`.websocket_management`) lets the
same ``connections.send(...)`` code reach the clients.

    $ python -m lamroute.local.websocket examples.chat.app:app --port 3001

or from Python (tests use ``port=0`` for an ephemeral port)::

    with start(app, port=0) as server:
        ...  # connect to server.url
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import threading
import time
from collections.abc import Collection, Sequence
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from ..formats.websocket import MAX_MESSAGE
from ..routing.routes import CONNECT, DEFAULT, DISCONNECT
from ..testing.client import FakeContext
from ..testing.websocket import ROUTE_SELECTION, make_websocket_event, new_id
from ..websocket.connections import ENDPOINT_ENV, Connections, use_connections
from ..websocket.routes import select_route
from .gateway import forwarded_headers, logger
from .websocket_management import ManagementServer, iso


class _AnyKey:
    """Route keys of an app that does not list them: every selected value is a route."""

    def __contains__(self, item: object) -> bool:
        return True


class _Client:
    def __init__(self, connection: ServerConnection, source_ip: str, user_agent: str,
                 authorizer: dict[str, Any] | None = None) -> None:
        self.connection = connection
        self.source_ip, self.user_agent = source_ip, user_agent
        self.authorizer = authorizer  # what the $connect authorizer returned
        self.connected_at = datetime.now(timezone.utc)
        self.last_active_at = self.connected_at


class LocalWebSocketServer:
    """The WebSocket server and its ``@connections`` endpoint, run in a background thread.

    ``two_way=False`` drops route answers, as a route without a route response does; by
    default a non-empty answer is sent back to the client (a ``$default`` route response).
    ``authorizers`` (:class:`~lamroute.testing.route_auth.RouteAuthorizers`) authorize each
    connection at ``$connect`` as the gateway does (``lamroute serve --authorizer``).
    """

    def __init__(self, app: Any, *, host: str = "127.0.0.1", port: int = 3001,
                 management_port: int | None = None, stage: str = "local",
                 route_selection: str = ROUTE_SELECTION, two_way: bool = True,
                 route_keys: Collection[str] | None = None, authorizers: Any = None) -> None:
        self.app = app
        self.authorizers = authorizers
        self.host, self.port, self.stage = host, port, stage
        self.route_selection, self.two_way = route_selection, two_way
        routes = getattr(getattr(app, "websockets", None), "routes", None)
        self.route_keys: Collection[str] | _AnyKey = (
            route_keys if route_keys is not None else routes if routes is not None else _AnyKey()
        )
        self.clients: dict[str, _Client] = {}
        self.management = ManagementServer(
            self, host=host, port=management_port if management_port is not None
            else (port + 1 if port else 0))
        self.connections = Connections(self.management.url(stage))
        self._invoke_lock = threading.Lock()  # one invocation at a time, like one container
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="lamroute-websocket",
                                        daemon=True)

    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}"

    @property
    def management_url(self) -> str:
        return self.management.url(self.stage)

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> LocalWebSocketServer:
        self.management.start()
        self._thread.start()
        self._ready.wait(timeout=30)
        if self._failure is not None or not self._ready.is_set():
            self.management.stop()
            raise RuntimeError(f"The WebSocket server did not start: {self._failure}")
        return self

    def stop(self) -> None:
        """Close every connection (running ``$disconnect``), then both servers; idempotent."""
        if self._stopped:
            return
        self._stopped = True
        if self._loop is not None and self._stopping is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stopping.set)
        self._thread.join(timeout=10)
        self.management.stop()

    def __enter__(self) -> LocalWebSocketServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # reported by start()
            self._failure = exc
            self._ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        server: Server
        # Messages over the 128 KB quota close the connection with 1009, as the gateway does.
        async with serve(self._handle, self.host, self.port, max_size=MAX_MESSAGE,
                         process_request=self._connect,
                         process_response=self._handshake_headers) as server:
            self.port = int(server.sockets[0].getsockname()[1])
            self._ready.set()
            await self._stopping.wait()
            server.close(close_connections=True)
            await server.wait_closed()

    # -- invoking the app ----------------------------------------------------------------------

    def _event(self, route_key: str, connection_id: str, **options: Any) -> dict[str, Any]:
        return make_websocket_event(route_key, connection_id=connection_id, stage=self.stage,
                                    domain_name=f"{self.host}:{self.port}", api_id="local",
                                    **options)

    async def _invoke(self, route_key: str, connection_id: str, **options: Any) -> dict[str, Any]:
        return await self._call(self._event(route_key, connection_id, **options))

    async def _call(self, event: dict[str, Any]) -> dict[str, Any]:
        def call() -> dict[str, Any]:
            with self._invoke_lock, use_connections(self.connections):
                result = self.app(event, FakeContext())
            return result if isinstance(result, dict) else {"statusCode": 502, "body": ""}

        return await asyncio.to_thread(call)

    async def _connect(self, connection: ServerConnection, request: Request) -> Response | None:
        connection_id = new_id()
        connection.lamroute_id = connection_id  # type: ignore[attr-defined]
        source_ip = str(connection.remote_address[0])
        user_agent = request.headers.get("User-Agent", "")
        event = self._event(
            CONNECT, connection_id,
            headers=forwarded_headers(list(request.headers.raw_items()), source_ip),
            query=parse_qsl(urlsplit(request.path).query, keep_blank_values=True),
            source_ip=source_ip, user_agent=user_agent)
        authorizer = None
        if self.authorizers is not None:
            # API Gateway authorizes a WebSocket connection at $connect, before the route.
            outcome = await asyncio.to_thread(self.authorizers.authorize, event, "websocket")
            if outcome is not None and not outcome.allowed:
                logger.warning("$connect refused by the authorizer: %s %s", outcome.status,
                               outcome.reason or outcome.message)
                return connection.respond(outcome.status, outcome.proxy_answer()["body"])
            authorizer = event["requestContext"].get("authorizer")
        answer = await self._call(event)
        status = answer.get("statusCode")
        if not isinstance(status, int) or not 200 <= status < 300:
            return connection.respond(status if isinstance(status, int) else 502,
                                      str(answer.get("body") or ""))
        connection.lamroute_headers = answer.get("headers") or {}  # type: ignore[attr-defined]
        self.clients[connection_id] = _Client(connection, source_ip, user_agent, authorizer)
        return None

    def _handshake_headers(self, connection: ServerConnection, request: Request,
                           response: Response) -> Response:
        # `$connect` may pick a subprotocol with a Sec-WebSocket-Protocol header.
        for name, value in getattr(connection, "lamroute_headers", {}).items():
            if name.lower() == "sec-websocket-protocol":
                response.headers["Sec-WebSocket-Protocol"] = value
        return response

    async def _handle(self, connection: ServerConnection) -> None:
        connection_id: str = connection.lamroute_id  # type: ignore[attr-defined]
        client = self.clients[connection_id]
        try:
            async for message in connection:
                client.last_active_at = datetime.now(timezone.utc)
                await self._message(connection, connection_id, message, client.authorizer)
        except ConnectionClosed:
            pass  # an abnormal close (1006, or 1009 for an oversized message)
        finally:
            self.clients.pop(connection_id, None)
            code, reason = _close_status(connection)
            await self._invoke(DISCONNECT, connection_id, disconnect_status_code=code,
                               disconnect_reason=reason, authorizer=client.authorizer)

    async def _message(self, connection: ServerConnection, connection_id: str,
                       message: str | bytes, authorizer: dict[str, Any] | None = None) -> None:
        route_key = select_route(self.route_selection, message, self.route_keys)
        if route_key == DEFAULT and DEFAULT not in self.route_keys:
            # API Gateway's own answer when no route matches and there is no $default.
            await connection.send(json.dumps({"message": "Forbidden",
                                              "connectionId": connection_id,
                                              "requestId": new_id()}))
            return
        answer = await self._invoke(route_key, connection_id, body=message,
                                    authorizer=authorizer)
        body = answer.get("body")
        if self.two_way and isinstance(body, str) and body:
            await connection.send(base64.b64decode(body) if answer.get("isBase64Encoded")
                                  else body)

    # -- the @connections side (called from the management server's threads) ------------------

    def _on_loop(self, coroutine: Any) -> Any:
        if self._loop is None:
            raise RuntimeError("The WebSocket server is not running.")
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=30)

    def post(self, connection_id: str, data: bytes) -> bool:
        client = self.clients.get(connection_id)
        if client is None:
            return False
        try:
            frame: str | bytes = data.decode("utf-8")
        except UnicodeDecodeError:
            frame = data
        try:
            self._on_loop(client.connection.send(frame))
        except Exception:  # the client went away meanwhile
            return False
        return True

    def delete(self, connection_id: str) -> bool:
        client = self.clients.get(connection_id)
        if client is None:
            return False
        self._on_loop(client.connection.close(1000, "Going away"))
        return True

    def describe(self, connection_id: str) -> dict[str, Any] | None:
        client = self.clients.get(connection_id)
        if client is None:
            return None
        return {"connectedAt": iso(client.connected_at), "lastActiveAt": iso(client.last_active_at),
                "identity": {"sourceIp": client.source_ip, "userAgent": client.user_agent}}


def _close_status(connection: ServerConnection) -> tuple[int, str]:
    """The close frame's code and reason: the client's, else ours (1009), else 1006."""
    frame = connection.protocol.close_rcvd or connection.protocol.close_sent
    return (int(frame.code), frame.reason) if frame is not None else (1006, "")


def start(app: Any, **options: Any) -> LocalWebSocketServer:
    """Start a :class:`LocalWebSocketServer` in the background; ``stop()`` it (or use ``with``)."""
    return LocalWebSocketServer(app, **options).start()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("app", help="the app to serve, as module:attribute")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=3001, help="WebSocket port (3001)")
    parser.add_argument("--management-port", type=int, default=None,
                        help="@connections port (default: --port + 1)")
    parser.add_argument("--stage", default="local", help="stage name in events (local)")
    parser.add_argument("--route-selection", default=ROUTE_SELECTION,
                        help="route selection expression ($request.body.action)")
    parser.add_argument("--one-way", action="store_true",
                        help="do not send route answers back (routes without route responses)")


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m lamroute.local.websocket module:app``: serve until Ctrl-C."""
    from ..cli import UsageError, load_app

    parser = argparse.ArgumentParser(prog="python -m lamroute.local.websocket",
                                     description="Serve a lamroute app's WebSocket routes.")
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        app = load_app(args.app)
    except UsageError as exc:
        parser.error(str(exc))
    server = start(app, host=args.host, port=args.port, management_port=args.management_port,
                   stage=args.stage, route_selection=args.route_selection,
                   two_way=not args.one_way)
    # Code outside WebSocket handlers (an HTTP route calling app.connections) finds it too.
    os.environ.setdefault(ENDPOINT_ENV, server.management_url)
    print(f"WebSocket API on {server.url} (@connections on {server.management_url})", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        return 0
    finally:
        server.stop()


if __name__ == "__main__":
    raise SystemExit(main())
