"""Optional routes that serve the OpenAPI document and a documentation page.

>>> from lamroute import App
>>> from lamroute.testing import TestClient
>>> app = App(title="Notes", openapi_url="/openapi.json", docs_url="/docs", access_log=False)
>>> TestClient(app).get("/openapi.json").json()["info"]["title"]
'Notes'

The page loads Swagger UI from a CDN in the reader's browser; the Lambda only sends HTML.
Both URLs are resolved against the request's ``root_path`` (stage, base path), so they work
behind ``/prod`` too, and the served document names that prefix in ``servers``
(``[{"url": "/prod"}]``), so "Try it out" calls URLs inside the stage.
"""

from __future__ import annotations

import html
import json
from typing import Any
from urllib.parse import quote

from ..exceptions import RouteDefinitionError
from ..http.request import Request
from ..http.response import Response, dump_json

URL_PATH_SAFE = "/:@!$&'()*+,;=-._~"  # RFC 3986 pchar and "/": kept as they are
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


MAX_CACHED_ROOTS = 8  # a stage, a base path mapping or two: a handful per deployment


def server_urls(root_path: str) -> list[str]:
    """The document's ``servers`` for a request under ``root_path``: ``"/prod"`` → ``["/prod"]``.

    Paths in the document are the app's own (``/notes``); the public URL has the REST stage
    (``https://{api-id}.execute-api.{region}.amazonaws.com/{stage}/``, see
    https://docs.aws.amazon.com/apigateway/latest/developerguide/how-to-call-api.html), a named
    HTTP API stage or a custom domain's base path in front. A relative server URL is resolved
    against the document's own URL, so it holds on every domain the API answers on. Under
    ``$default`` (no prefix) there is nothing to add: no ``servers`` means ``/``.

    >>> server_urls("/prod"), server_urls("")
    (['/prod'], [])
    """
    return [quote(root_path, safe=URL_PATH_SAFE)] if root_path else []


def install_docs(app: Any, *, openapi_url: str | None, docs_url: str | None) -> None:
    """Register ``GET openapi_url`` (the JSON document) and ``GET docs_url`` (the page).

    The page needs the document, so ``docs_url`` alone also serves ``/openapi.json``.
    """
    if docs_url and not openapi_url:
        openapi_url = "/openapi.json"
    for url in (openapi_url, docs_url):
        if url is not None and not url.startswith("/"):
            raise RouteDefinitionError(f"Documentation URL {url!r} must start with '/'.")
    bodies: dict[str, bytes] = {}  # the document as JSON, per root_path
    built_for = [-1]  # the number of routes the cached bodies describe

    def openapi_document(request: Request) -> Response:
        # Routes may be added after App(...); rebuild when their number changed.
        if built_for[0] != len(app.routes):
            bodies.clear()
            built_for[0] = len(app.routes)
        root = request.root_path
        body = bodies.get(root)
        if body is None:
            body = dump_json(app.openapi(servers=server_urls(root)))
            if len(bodies) < MAX_CACHED_ROOTS:
                bodies[root] = body
        return Response(body, media_type="application/json")

    app.get(openapi_url, include_in_schema=False, name="openapi_document",
            public=True)(openapi_document)
    if docs_url:
        document_url = openapi_url

        def docs_page(request: Request) -> Response:
            url = json.dumps(request.root_path + str(document_url)).replace("<", "\\u003c")
            page = PAGE.format(title=html.escape(str(app.title)), cdn=SWAGGER_UI, url=url)
            return Response(page, media_type="text/html")

        app.get(docs_url, include_in_schema=False, name="docs_page", public=True)(docs_page)
