"""A local API Gateway: ``lamroute serve`` turns real HTTP requests into proxy events.

``gateway.py`` is the pipeline without sockets (HTTP request → event → app → HTTP answer),
``answers.py`` turns a proxy response into the HTTP answer as the services do, ``server.py`` is
the HTTP server on 127.0.0.1, ``terminal.py`` what it prints, ``reload.py`` ``--reload``;
``websocket.py`` and ``websocket_management.py`` serve a WebSocket API and its ``@connections``
endpoint; ``custom.py`` and ``vtl.py`` the custom (non-proxy) integration and its mapping
templates; ``sam.py`` reads a SAM template (the one reader), ``template_settings.py`` takes the
API's settings from it (gateway responses, throttling, declared routes) and
``gateway_errors.py`` answers the gateway's own errors with them. The function runs in-process
or in the local runtime's worker processes (``invocation.py`` is how either is invoked and how an
invocation ended; ``workers.py`` runs the AWS runtime interface client against the Runtime API
emulator of ``runtime_api.py``, ``processes.py`` is their plumbing, ``function.py`` the function's
settings and environment, ``failures.py`` the gateway's answers to a failed invocation).
Imported only by the ``serve`` command and tests (it pulls in ``http.server``).

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
