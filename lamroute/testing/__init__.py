"""Testing helpers: event factories, a fake Lambda context, the gateway's rules and a TestClient.

``client.py`` (:class:`TestClient`, ``FakeContext``), ``events.py`` (``make_event`` for every
format), ``bodies.py`` (bodies as each service delivers them, form bodies), ``rules.py`` (what
the gateways accept as a proxy response), ``websocket.py`` (WebSocket events, an in-memory
``@connections``), ``identity.py`` (a caller in an event); the authorizers as the gateway runs
them: ``authorizer_events.py``, ``gateway_auth.py``, ``jwt_authorizer.py`` and
``route_auth.py`` (which routes they guard). The local gateway reuses them all.

>>> from lamroute import App
>>> client = TestClient(App(access_log=False), format="http")
>>> client.get("/missing").status_code
404
"""

from .authorizer_events import http_authorizer_event, method_arn, request_event, token_event
from .client import FakeContext, TestClient, TestResponse, WebSocketRejected, WebSocketSession
from .events import FORMATS, make_event
from .gateway_auth import AuthorizerOutcome, GatewayAuthorizer
from .identity import with_identity
from .jwt_authorizer import JwtAuthorizer, make_jwt
from .rules import MalformedResponse, assert_valid_proxy_response, check_proxy_response
from .websocket import MemoryBackend, make_websocket_event

__all__ = [
    "FORMATS",
    "AuthorizerOutcome",
    "FakeContext",
    "GatewayAuthorizer",
    "JwtAuthorizer",
    "MalformedResponse",
    "MemoryBackend",
    "TestClient",
    "TestResponse",
    "WebSocketRejected",
    "WebSocketSession",
    "assert_valid_proxy_response",
    "check_proxy_response",
    "http_authorizer_event",
    "make_event",
    "make_jwt",
    "make_websocket_event",
    "method_arn",
    "request_event",
    "token_event",
    "with_identity",
]
