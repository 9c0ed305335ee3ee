"""A local API Gateway: ``lamroute serve`` turns real HTTP requests into proxy events.

Imported only by the ``serve`` command and tests (it pulls in ``http.server``). The function
runs in-process or in the local runtime's worker processes (:mod:`.workers`, which run the
AWS runtime interface client against the Runtime API emulator of :mod:`.runtime_api`).

>>> from lamroute import App
>>> with LocalGateway(App(access_log=False), port=0) as server:
...     server.url.endswith("/prod")
True
"""

from .answers import ColdStart, Conversion, HttpAnswer, gateway_error, to_http_answer
from .gateway import Gateway, GatewayConfig, HttpRequest
from .invocation import Outcome
from .server import LocalGateway, configure_logging

__all__ = [
    "ColdStart",
    "Conversion",
    "Gateway",
    "GatewayConfig",
    "HttpAnswer",
    "HttpRequest",
    "LocalGateway",
    "Outcome",
    "configure_logging",
    "gateway_error",
    "to_http_answer",
]
