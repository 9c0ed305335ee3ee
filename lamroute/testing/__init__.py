"""Testing helpers: event factories, a fake Lambda context, the gateway's rules and a TestClient.

>>> from lamroute import App
>>> client = TestClient(App(), format="http")
>>> client.get("/missing").status_code
404
"""

from .client import FakeContext, TestClient, TestResponse
from .events import FORMATS, make_event
from .rules import MalformedResponse, assert_valid_proxy_response, check_proxy_response

__all__ = [
    "FORMATS",
    "FakeContext",
    "MalformedResponse",
    "TestClient",
    "TestResponse",
    "assert_valid_proxy_response",
    "check_proxy_response",
    "make_event",
]
