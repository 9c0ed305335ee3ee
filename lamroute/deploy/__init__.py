"""Deployment: the SAM template of an app (``lamroute template``).

``sam.py`` is the entry point (``sam_template``, ``to_yaml``); ``builder.py`` composes the
function, the REST or HTTP API (``routes.py``: a proxy or one route per app route, and which
route a request reaches; ``definition.py``: the API definition and its integrations, the Lambda
proxy by default; ``custom_integration.py``: lamroute's custom (non-proxy) integration, its
mapping templates and integration responses; ``auth.py``: the authorizers the guards need,
``sam_auth.py`` in SAM's notation; ``gateway_responses.py``: the REST API's own error answers),
the WebSocket API (``websocket.py``) and what ``app_facts.py`` infers from the app (binary
bodies, connections), as ``options.py`` asks (the function's and the template's options).
"""
