"""Deployment: the SAM template of an app (``lamroute template``).

``sam.py`` is the entry point (``sam_template``, ``to_yaml``); ``builder.py`` composes the
function, the REST or HTTP API (``routes.py``: a proxy or one route per app route;
``definition.py``: the API definition and its integrations; ``auth.py``: the authorizers the
guards need, ``sam_auth.py`` in SAM's notation; ``gateway_responses.py``: the REST API's own
error answers), the WebSocket API (``websocket.py``) and what ``app_facts.py`` infers from the
app (binary bodies, connections).
"""
