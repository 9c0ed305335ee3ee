"""OpenAPI: the document of an app and the routes that serve it.

``document.py`` builds the OpenAPI 3.1 document from the routes' signatures and options
(``app.openapi()``); ``docs.py`` installs ``openapi_url`` and ``docs_url`` (a Swagger UI page).
Built on demand, never per request: nothing here loads until an app asks for it.
"""
