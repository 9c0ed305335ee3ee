"""A greeter behind an HTTP API: payload 2.0, ``$default`` stage, cookies both ways.

    lamroute serve examples.http_api.app:app --api http
    curl -i http://127.0.0.1:3000/hello/ada

The name comes from the URL, so it is the client's text: ``set_cookie`` percent-encodes it
(``/hello/x;%20Domain=evil.example`` cannot add a ``Domain`` to the cookie) and
``request.cookies`` decodes it back.
"""

from __future__ import annotations

from lamroute import App, Request, Response

app = App(title="Greeter", version="1.0.0")


@app.get("/hello/{name}")
def hello(name: str) -> Response:
    response = Response.json({"greeting": f"Hello, {name}!"})
    response.set_cookie("last_name", name, http_only=True, max_age=3600)
    return response


@app.get("/again")
def again(request: Request) -> dict[str, str]:
    name = request.cookies.get("last_name", "stranger")
    return {"greeting": f"Hello again, {name}!"}


@app.get("/forget")
def forget() -> Response:
    response = Response.json({"greeting": "Goodbye!"})
    response.delete_cookie("last_name")
    return response
