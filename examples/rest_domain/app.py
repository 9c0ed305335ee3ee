"""A shop API deployed on ``https://api.example.com/shop/...`` (a base path mapping to the
``prod`` stage) and on ``https://<id>.execute-api.<region>.amazonaws.com/prod/...``.

The app's routes do not mention either prefix: ``request.path`` is ``/items/7`` in both cases,
and ``request.root_path`` is the public prefix (``/shop`` or ``/prod``), used to build links.
"""

from __future__ import annotations

from lamroute import App, NotFound, Request

app = App(title="Shop", version="1.0.0")
ITEMS = {"7": {"id": "7", "name": "teapot", "price_cents": 1800}}


@app.get("/items/{item_id}")
def get_item(item_id: str, request: Request) -> dict[str, object]:
    item = ITEMS.get(item_id)
    if item is None:
        raise NotFound(f"item {item_id} does not exist")
    return {**item, "self": f"{request.root_path}/items/{item_id}"}
