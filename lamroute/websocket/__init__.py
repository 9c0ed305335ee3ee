"""WebSocket APIs: routes keyed by ``routeKey`` and the ``@connections`` client.

API Gateway WebSocket APIs invoke the Lambda once per connection event: ``$connect`` (the
handshake, with headers and query string), one invocation per message (``$default`` or a custom
route key chosen by the API's route selection expression) and ``$disconnect``. ``routes.py``
compiles and dispatches the routes, ``connections.py`` talks back to clients (boto3 on first use).
The request a handler sees is :class:`~lamroute.formats.websocket.WebSocketRequest` (built by its
payload format) and the route records are :mod:`lamroute.routing.routes`; both are re-exported
here. This package loads only for apps with WebSocket routes (or on a WebSocket event).

>>> from lamroute import App
>>> from lamroute.testing import TestClient
>>> app = App(access_log=False)
>>> @app.websocket("sendMessage")
... def send_message(request: WebSocketRequest) -> dict[str, str]:
...     return {"echo": request.json()["text"]}
>>> with TestClient(app).websocket_connect() as ws:
...     ws.send_json({"action": "sendMessage", "text": "hi"}).json()
{'echo': 'hi'}
"""

from ..formats.websocket import WebSocketRequest
from ..routing.routes import CONNECT, DEFAULT, DISCONNECT, WebSocketOptions, WebSocketRoute
from .routes import select_route

__all__ = ["CONNECT", "DEFAULT", "DISCONNECT", "WebSocketOptions", "WebSocketRequest",
           "WebSocketRoute", "select_route"]
