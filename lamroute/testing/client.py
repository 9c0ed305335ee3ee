"""A test client that sends real-shaped events through ``app(event, context)``.

>>> from lamroute import App
>>> app = App(access_log=False)
>>> @app.get("/ping")
... def ping() -> str:
...     return "pong"
>>> TestClient(app, format="http").get("/ping").text
'pong'
"""

from __future__ import annotations

import base64
import json as jsonlib
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ..http.multidict import Headers
from ..routing.routes import CONNECT, DISCONNECT
from ..websocket.connections import Connections, use_connections
from ..websocket.routes import select_route
from .bodies import DataInit, FilesInit, delivered_body, encode_multipart, encode_urlencoded
from .events import FORMATS, PairsInit, custom_event, make_event, pairs
from .gateway_auth import AuthorizerCallable, GatewayAuthorizer, as_gateway_authorizer
from .identity import IdentityInit, with_identity
from .jwt_authorizer import JwtAuthorizer
from .route_auth import RouteAuthorizers
from .rules import assert_valid_proxy_response
from .websocket import (
    ROUTE_SELECTION,
    MemoryBackend,
    make_websocket_event,
    new_id,
)


class FakeContext:
    """A stand-in for the Lambda context object, with a real deadline; ``tenant_id`` is the
    tenant of a function in tenant isolation mode (``None`` otherwise, as in Lambda).

    >>> FakeContext(timeout_ms=3000).get_remaining_time_in_millis() <= 3000
    True
    """

    def __init__(self, *, timeout_ms: int = 30_000, function_name: str = "lamroute-test",
                 memory_limit_in_mb: int = 128, tenant_id: str | None = None) -> None:
        self.tenant_id = tenant_id
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = memory_limit_in_mb
        self.invoked_function_arn = (
            f"arn:aws:lambda:us-east-1:123456789012:function:{function_name}"
        )
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "2026/01/01/[$LATEST]0123456789abcdef"
        self._deadline = time.monotonic() + timeout_ms / 1000

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class TestResponse:
    """What the client got back: status, headers (Set-Cookie included), body and the raw dict."""

    __test__ = False

    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw
        self.status_code: int = raw["statusCode"]
        self.headers = Headers()
        for name, value in (raw.get("headers") or {}).items():
            self.headers.add(name, value)
        for name, values in (raw.get("multiValueHeaders") or {}).items():
            for value in values:
                self.headers.add(name, value)
        for cookie in raw.get("cookies") or ():
            self.headers.add("Set-Cookie", cookie)
        body = raw.get("body") or ""
        self.content = base64.b64decode(body) if raw.get("isBase64Encoded") else body.encode()

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        return jsonlib.loads(self.content)

    @property
    def cookies(self) -> dict[str, str]:
        """``Set-Cookie`` values by cookie name."""
        found = {}
        for header in self.headers.getall("set-cookie"):
            name, _, rest = header.partition("=")
            found[name.strip()] = rest.split(";", 1)[0]
        return found

    def __repr__(self) -> str:
        return f"<TestResponse {self.status_code}>"


class TestClient:
    """Calls ``app`` (any ``(event, context) -> dict`` callable) with events of ``format``.

    Every answer is checked against the gateway's rules for the format; a malformed one fails
    the test with :class:`~lamroute.testing.rules.MalformedResponse`. Each request gets a new
    :class:`FakeContext` (``timeout_ms``, ``tenant_id``). Async apps run unchanged; from an
    ``async def`` test the call still blocks until the answer is there.

    ``lambda_authorizer`` (a handler or a :class:`GatewayAuthorizer`) and ``jwt_claims`` (an
    HTTP API JWT authorizer, a Cognito one for ``rest``, whose token stands for these claims,
    see :mod:`lamroute.testing.jwt_authorizer`) run before the app on the routes that require
    auth, as the gateway's authorizers would (:mod:`lamroute.testing.route_auth`).
    """

    __test__ = False

    def __init__(self, app: Callable[[Any, Any], Any], *, format: str = "rest",
                 stage: str | None = None, timeout_ms: int = 30_000,
                 authorizer: Mapping[str, Any] | None = None,
                 identity: IdentityInit | None = None,
                 lambda_authorizer: GatewayAuthorizer | AuthorizerCallable | None = None,
                 jwt_claims: Mapping[str, Any] | None = None,
                 binary_media_types: Iterable[str] = ("*/*",),
                 tenant_id: str | None = None,
                 ) -> None:
        if format not in FORMATS and format != "custom":
            raise ValueError(f"Unknown format {format!r}; use one of {(*FORMATS, 'custom')}.")
        self.app = app
        self.format = format
        self.stage = stage
        self.timeout_ms = timeout_ms
        # A REST API's setting (``*/*``, as `lamroute template` writes it; ``()`` for none):
        # bodies of those types arrive base64-encoded, others as text.
        self.binary_media_types = tuple(binary_media_types)
        self.tenant_id = tenant_id  # the context's, as under Lambda's tenant isolation mode
        self.authorizer = authorizer
        self.identity = identity
        # Run a Lambda authorizer before the app, as the gateway would (401/403 on its own).
        self.lambda_authorizer = (
            as_gateway_authorizer(lambda_authorizer) if lambda_authorizer is not None else None
        )
        if jwt_claims is not None and format not in ("rest", "http", "http-v1"):
            raise ValueError(f"{format} has no JWT authorizer; jwt_claims needs rest, http or "
                             "http-v1")
        self.authorizers = RouteAuthorizers(
            app, self.lambda_authorizer,
            JwtAuthorizer(jwt_claims) if jwt_claims is not None else None)
        # What handlers send to WebSocket sessions' connections (see websocket_connect).
        self.connections = MemoryBackend()

    def request(self, method: str, path: str, *, query: PairsInit = None,
                headers: PairsInit = None, cookies: Mapping[str, str] | None = None,
                body: str | bytes | None = None, json: Any = None,
                data: DataInit | None = None, files: FilesInit | None = None,
                authorizer: Mapping[str, Any] | None = None,
                identity: IdentityInit | None = None, **event_options: Any) -> TestResponse:
        """Send one request; ``path`` may carry a query string (``/a?b=c``).

        The body is ``body`` (bytes or text), ``json`` (serialised, ``application/json``),
        ``data`` alone (a URL-encoded form) or ``data`` and ``files`` (a ``multipart/form-data``
        body; a file is its content or ``(filename, content[, content_type[, headers]])``). It
        reaches the app as the service delivers it: base64-encoded or as text by its
        ``Content-Type`` (see :mod:`lamroute.testing.bodies`; REST by ``binary_media_types``).

        ``identity`` (an :class:`~lamroute.http.identity.Identity` or a dict such as
        ``{"scopes": ["admin"]}``) puts a caller into the event in the authorizer shape of the
        client's format; ``authorizer`` sets the raw authorizer object instead.
        """
        path, _, query_string = path.partition("?")
        if query_string:
            from urllib.parse import parse_qsl

            query = [*parse_qsl(query_string, keep_blank_values=True), *pairs(query)]
        # A custom integration's request sees what a REST proxy event holds (its authorizer
        # included), then goes through the request template's shape.
        fmt = "rest" if self.format == "custom" else self.format
        header_pairs = pairs(headers)
        body = self._body(fmt, body, json, data, files, header_pairs)
        event = make_event(
            fmt, method, path, query=query, headers=header_pairs, cookies=cookies,
            body=body, stage=self.stage, authorizer=authorizer or self.authorizer,
            **event_options,
        )
        identity = identity if identity is not None else self.identity
        if identity is not None:
            with_identity(event, fmt, identity)
        if self.authorizers.lambda_authorizer or self.authorizers.jwt:
            outcome = self.authorizers.authorize(event, fmt)
            if outcome is not None and not outcome.allowed:
                return TestResponse(outcome.proxy_answer())
        if self.format == "custom":
            event = custom_event(event)
        return self.invoke(event)

    def _body(self, fmt: str, body: str | bytes | None, json: Any, data: DataInit | None,
              files: FilesInit | None, headers: list[tuple[str, str]]) -> str | bytes | None:
        """The body as the service delivers it; adds the ``Content-Type`` it implies."""
        given = [x is not None for x in (body, json, data if files is None else files)]
        if sum(given) > 1:
            raise ValueError("Give one body: body=, json= or data=/files=.")
        content_type = next((v for k, v in headers if k.lower() == "content-type"), None)
        implied = None
        if json is not None:
            body, implied = jsonlib.dumps(json), "application/json"
        elif files is not None:
            body, implied = encode_multipart(data or (), files)
            if content_type is not None:  # the boundary must be the one just written
                raise ValueError("files= sets the Content-Type (with its boundary); drop it.")
        elif data is not None:
            body, implied = encode_urlencoded(data), "application/x-www-form-urlencoded"
        if implied is not None and content_type is None:
            headers.append(("Content-Type", implied))
            content_type = implied
        encoding = next((v for k, v in headers if k.lower() == "content-encoding"), None)
        return delivered_body(fmt, body, content_type, content_encoding=encoding,
                              binary_media_types=self.binary_media_types)

    def invoke(self, event: Any) -> TestResponse:
        """Call the app with a ready-made event and check the answer."""
        raw = self.app(event, FakeContext(timeout_ms=self.timeout_ms, tenant_id=self.tenant_id))
        assert_valid_proxy_response(self.format, raw)
        return TestResponse(raw)

    def websocket_connect(self, **options: Any) -> WebSocketSession:
        """Open a WebSocket session: runs ``$connect`` (``headers=``, ``query=``, ...).

        See :class:`WebSocketSession`.
        """
        return WebSocketSession(self, **options).connect()

    def get(self, path: str, **kwargs: Any) -> TestResponse:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> TestResponse:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> TestResponse:
        return self.request("PUT", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> TestResponse:
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> TestResponse:
        return self.request("DELETE", path, **kwargs)

    def head(self, path: str, **kwargs: Any) -> TestResponse:
        return self.request("HEAD", path, **kwargs)

    def options(self, path: str, **kwargs: Any) -> TestResponse:
        return self.request("OPTIONS", path, **kwargs)


class WebSocketRejected(AssertionError):
    """``$connect`` answered with a non-2xx status: the gateway refused the connection."""

    def __init__(self, response: TestResponse) -> None:
        self.response = response
        super().__init__(f"$connect refused the connection with {response.status_code}: "
                         f"{response.text[:200]}")


class WebSocketSession:
    """One client connection through ``app(event, context)``; use ``TestClient.websocket_connect``.

    ``send``/``send_json`` invoke the route the route selection expression picks and return the
    route's answer; ``receive*`` pop what handlers sent to this connection through
    ``connections.send`` (an in-memory backend shared by the client's sessions).
    """

    __test__ = False

    def __init__(self, client: TestClient, *, headers: PairsInit = None, query: PairsInit = None,
                 authorizer: Mapping[str, Any] | None = None, stage: str | None = None,
                 route_selection: str = ROUTE_SELECTION, source_ip: str = "203.0.113.7",
                 connection_id: str | None = None) -> None:
        self.client = client
        self.backend: MemoryBackend = client.connections
        self.connection_id = connection_id or new_id()
        self.headers, self.query, self.authorizer = headers, query, authorizer or client.authorizer
        self.stage = stage or client.stage or "prod"
        self.route_selection = route_selection
        self.source_ip = source_ip
        self.connected_at = int(time.time() * 1000)
        self.handshake: TestResponse | None = None
        self.closed = False

    # -- lifecycle -----------------------------------------------------------------------------

    def connect(self) -> WebSocketSession:
        """Run ``$connect``; raise :class:`WebSocketRejected` unless it answers 2xx."""
        self.backend.open(self.connection_id, source_ip=self.source_ip)
        authorizers = self.client.authorizers
        if authorizers.lambda_authorizer is not None and authorizers.connect_guarded():
            # API Gateway authorizes a WebSocket connection once, at $connect; what the
            # authorizer returned is in every event of the connection.
            event = self._event(CONNECT, headers=self.headers, query=self.query)
            outcome = authorizers.authorize(event, "websocket")
            if outcome is not None and not outcome.allowed:
                self.backend.forget(self.connection_id)
                self.closed = True
                raise WebSocketRejected(TestResponse(outcome.proxy_answer()))
            self.authorizer = event["requestContext"].get("authorizer")
        response = self._invoke(CONNECT, headers=self.headers, query=self.query)
        self.handshake = response
        if not 200 <= response.status_code < 300:
            self.backend.forget(self.connection_id)
            self.closed = True
            raise WebSocketRejected(response)
        return self

    def close(self, code: int = 1000, reason: str = "") -> TestResponse | None:
        """Disconnect (runs ``$disconnect`` with the close ``code`` and ``reason``)."""
        if self.closed:
            return None
        self.closed = True
        self.backend.forget(self.connection_id)
        return self._invoke(DISCONNECT, disconnect_status_code=code, disconnect_reason=reason)

    def __enter__(self) -> WebSocketSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- messages ------------------------------------------------------------------------------

    def send(self, data: str | bytes) -> TestResponse:
        """Send one frame (text or binary); returns the route's answer."""
        if self.closed:
            raise AssertionError(f"Connection {self.connection_id} is closed.")
        routes = getattr(getattr(self.client.app, "websockets", None), "routes", {})
        route_key = select_route(self.route_selection, data, routes)
        response = self._invoke(route_key, body=data)
        if self.connection_id in self.backend.closed and not self.closed:
            # The app closed this connection (DeleteConnection): the gateway runs $disconnect.
            self.closed = True
            self._invoke(DISCONNECT, disconnect_status_code=1000, disconnect_reason="")
        return response

    def send_json(self, data: Any) -> TestResponse:
        return self.send(jsonlib.dumps(data))

    @property
    def messages(self) -> list[bytes]:
        """What was sent to this connection and not received yet."""
        return list(self.backend.messages.get(self.connection_id, ()))

    def receive(self) -> bytes:
        """The oldest message sent to this connection; ``AssertionError`` when there is none."""
        queue = self.backend.messages.get(self.connection_id)
        if not queue:
            raise AssertionError(f"No message was sent to connection {self.connection_id}.")
        return queue.pop(0)

    def receive_text(self) -> str:
        return self.receive().decode("utf-8")

    def receive_json(self) -> Any:
        return jsonlib.loads(self.receive())

    # -- internals -----------------------------------------------------------------------------

    def _event(self, route_key: str, **options: Any) -> dict[str, Any]:
        return make_websocket_event(
            route_key, connection_id=self.connection_id, stage=self.stage,
            authorizer=self.authorizer, source_ip=self.source_ip,
            connected_at=self.connected_at, **options,
        )

    def _invoke(self, route_key: str, **options: Any) -> TestResponse:
        event = self._event(route_key, **options)
        with use_connections(Connections(backend=self.backend)):
            raw = self.client.app(event, FakeContext(timeout_ms=self.client.timeout_ms,
                                                     tenant_id=self.client.tenant_id))
        assert_valid_proxy_response("websocket", raw)
        return TestResponse(raw)
