"""A test client that sends real-shaped events through ``app(event, context)``.

>>> from lamroute import App
>>> app = App()
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
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ..http.multidict import Headers
from .events import FORMATS, PairsInit, make_event, pairs
from .gateway_auth import AuthorizerCallable, GatewayAuthorizer, as_gateway_authorizer
from .identity import IdentityInit, with_identity
from .rules import assert_valid_proxy_response
from .websocket import MemoryBackend

if TYPE_CHECKING:
    from .websocket import WebSocketSession


class FakeContext:
    """A stand-in for the Lambda context object, with a real deadline.

    >>> FakeContext(timeout_ms=3000).get_remaining_time_in_millis() <= 3000
    True
    """

    def __init__(self, *, timeout_ms: int = 30_000, function_name: str = "lamroute-test",
                 memory_limit_in_mb: int = 128) -> None:
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
    the test with :class:`~lamroute.testing.rules.MalformedResponse`.
    """

    __test__ = False

    def __init__(self, app: Callable[[Any, Any], Any], *, format: str = "rest",
                 stage: str | None = None, timeout_ms: int = 30_000,
                 authorizer: Mapping[str, Any] | None = None,
                 identity: IdentityInit | None = None,
                 lambda_authorizer: GatewayAuthorizer | AuthorizerCallable | None = None,
                 ) -> None:
        if format not in FORMATS:
            raise ValueError(f"Unknown format {format!r}; use one of {FORMATS}.")
        self.app = app
        self.format = format
        self.stage = stage
        self.timeout_ms = timeout_ms
        self.authorizer = authorizer
        self.identity = identity
        # Run a Lambda authorizer before the app, as the gateway would (401/403 on its own).
        self.lambda_authorizer = (
            as_gateway_authorizer(lambda_authorizer) if lambda_authorizer is not None else None
        )
        # What handlers send to WebSocket sessions' connections (see websocket_connect).
        self.connections = MemoryBackend()

    def request(self, method: str, path: str, *, query: PairsInit = None,
                headers: PairsInit = None, cookies: Mapping[str, str] | None = None,
                body: str | bytes | None = None, json: Any = None,
                authorizer: Mapping[str, Any] | None = None,
                identity: IdentityInit | None = None, **event_options: Any) -> TestResponse:
        """Send one request; ``path`` may carry a query string (``/a?b=c``).

        ``identity`` (an :class:`~lamroute.http.identity.Identity` or a dict such as
        ``{"scopes": ["admin"]}``) puts a caller into the event in the authorizer shape of the
        client's format; ``authorizer`` sets the raw authorizer object instead.
        """
        path, _, query_string = path.partition("?")
        if query_string:
            from urllib.parse import parse_qsl

            query = [*parse_qsl(query_string, keep_blank_values=True), *pairs(query)]
        event = make_event(
            self.format, method, path, query=query, headers=headers, cookies=cookies, body=body,
            json=json, stage=self.stage, authorizer=authorizer or self.authorizer,
            **event_options,
        )
        identity = identity if identity is not None else self.identity
        if identity is not None:
            with_identity(event, self.format, identity)
        if self.lambda_authorizer is not None:
            outcome = self.lambda_authorizer.authorize(event, self.format)
            if not outcome.allowed:
                return TestResponse(outcome.proxy_answer())
        return self.invoke(event)

    def invoke(self, event: Any) -> TestResponse:
        """Call the app with a ready-made event and check the answer."""
        raw = self.app(event, FakeContext(timeout_ms=self.timeout_ms))
        assert_valid_proxy_response(self.format, raw)
        return TestResponse(raw)

    def websocket_connect(self, **options: Any) -> WebSocketSession:
        """Open a WebSocket session: runs ``$connect`` (``headers=``, ``query=``, ...).

        See :class:`lamroute.testing.websocket.WebSocketSession`.
        """
        from .websocket import WebSocketSession

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

