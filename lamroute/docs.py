"""Optional routes that serve the OpenAPI document and a documentation page.

>>> from lamroute import App
>>> from lamroute.testing import TestClient
>>> app = App(title="Notes", openapi_url="/openapi.json", docs_url="/docs")
>>> TestClient(app).get("/openapi.json").json()["info"]["title"]
'Notes'

The page loads Swagger UI from a CDN in the reader's browser; the Lambda only sends HTML.
Both URLs are resolved against the request's ``root_path`` (stage, base path), so they work
behind ``/prod`` too.
"""

from __future__ import annotations

import html
import json
from typing import Any

from .errors import RouteDefinitionError
from .request import Request
from .response import Response, dump_json

SWAGGER_UI = "https://cdn.jsdelivr.net/npm/swagger-ui-dist@5"
PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="stylesheet" href="{cdn}/swagger-ui.css">
</head>
<body>
<div id="docs"></div>
<script src="{cdn}/swagger-ui-bundle.js" crossorigin></script>
<script>
window.ui = SwaggerUIBundle({{url: {url}, dom_id: "#docs"}});
</script>
</body>
</html>
"""


def install_docs(app: Any, *, openapi_url: str | None, docs_url: str | None) -> None:
    """Register ``GET openapi_url`` (the JSON document) and ``GET docs_url`` (the page).

    The page needs the document, so ``docs_url`` alone also serves ``/openapi.json``.
    """
    if docs_url and not openapi_url:
        openapi_url = "/openapi.json"
    for url in (openapi_url, docs_url):
        if url is not None and not url.startswith("/"):
            raise RouteDefinitionError(f"Documentation URL {url!r} must start with '/'.")
    cache: dict[str, Any] = {}

    def openapi_document() -> Response:
        # Routes may be added after App(...); rebuild when their number changed.
        if cache.get("routes") != len(app.routes):
            cache["body"] = dump_json(app.openapi())
            cache["routes"] = len(app.routes)
        return Response(cache["body"], media_type="application/json")

    app.get(openapi_url, include_in_schema=False, name="openapi_document",
            public=True)(openapi_document)
    if docs_url:
        document_url = openapi_url

        def docs_page(request: Request) -> Response:
            url = json.dumps(request.root_path + str(document_url)).replace("<", "\\u003c")
            page = PAGE.format(title=html.escape(str(app.title)), cdn=SWAGGER_UI, url=url)
            return Response(page, media_type="text/html")

        app.get(docs_url, include_in_schema=False, name="docs_page", public=True)(docs_page)
