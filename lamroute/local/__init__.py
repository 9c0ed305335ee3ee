"""A local API Gateway: ``lamroute serve`` turns real HTTP requests into proxy events.

``gateway.py`` is the pipeline without sockets (HTTP request → event → app → HTTP answer),
``answers.py`` turns a proxy response into the HTTP answer as the services do, ``server.py`` is
the HTTP server on 127.0.0.1, ``terminal.py`` what it prints, ``reload.py`` ``--reload``;
``websocket.py`` and ``websocket_management.py`` serve a WebSocket API and its ``@connections``
endpoint; ``custom.py`` and ``vtl.py`` the custom (non-proxy) integration and its mapping
templates; ``template_settings.py`` reads a SAM template's API settings (gateway responses,
throttling, declared routes) and ``gateway_errors.py`` answers the gateway's own errors with
them. Imported only by the ``serve`` command and tests (it pulls in ``http.server``).

>>> from lamroute import App
>>> with LocalGateway(App(access_log=False), port=0) as server:
...     server.url.endswith("/prod")
True
"""

from .answers import Conversion, HttpAnswer, gateway_error, to_http_answer
from .gateway import Gateway, GatewayConfig, HttpRequest, Outcome
from .server import LocalGateway, configure_logging

__all__ = [
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
