"""The response parameter: ``response: Response`` in a handler's signature, FastAPI's shape.

The handler gets a fresh :class:`~lamroute.http.response.Response` whose ``status`` is the
route's; what it sets there (headers, cookies, another status) is merged into the answer built
from its return value, which still goes through the response model. The body is always the
return value: a body written into the parameter is a 500 (logged), never silently dropped.

>>> from lamroute import App, Response
>>> from lamroute.testing import TestClient
>>> app = App(access_log=False)
>>> @app.post("/notes", status_code=201)
... def create(response: Response) -> dict[str, int]:
...     response.headers["Location"] = "/notes/7"
...     return {"id": 7}
>>> answer = TestClient(app, format="http").post("/notes")
>>> answer.status_code, answer.headers["location"], answer.json()
(201, '/notes/7', {'id': 7})
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..exceptions import ResponseError
from ..http.response import Response, to_response
from .signature import call_kind


def with_response_param(handler: Callable[..., Any], serialize: Callable[[Any], Any] | None,
                        name: str, status: int, where: str) -> Callable[..., Any]:
    """``handler`` answering a :class:`Response` with the parameter ``name`` merged in;
    ``serialize`` (the response model) runs on the return value first. An ``async def``
    handler gets an ``async def`` wrapper, so the route stays async."""

    def finish(draft: Response, result: Any) -> Response:
        if result is draft:  # the handler built its whole answer on the parameter
            checked: Response = serialize(draft) if serialize is not None else draft
            return checked
        if draft.body:
            raise ResponseError(
                f"{where} wrote a body into its `{name}` parameter; return the body instead "
                f"(the `{name}` parameter carries headers, cookies and the status).")
        returned = isinstance(result, Response)
        if serialize is not None:
            result = serialize(result)
        answer = to_response(result, draft.status)
        if returned or answer is result:  # never modify a Response the handler may share
            answer = answer.copy()
        return merge(draft, answer, changed_status=draft.status != status)

    def draft_of(kwargs: dict[str, Any]) -> Response:
        draft: Response = kwargs[name]
        draft.status = status
        return draft

    if call_kind(handler) == "async":
        async def arespond(**kwargs: Any) -> Response:
            draft = draft_of(kwargs)
            return finish(draft, await handler(**kwargs))

        arespond.__wrapped__ = handler  # type: ignore[attr-defined]
        return arespond

    def respond(**kwargs: Any) -> Response:
        draft = draft_of(kwargs)
        return finish(draft, handler(**kwargs))

    respond.__wrapped__ = handler  # type: ignore[attr-defined]
    return respond


def merge(draft: Response, answer: Response, *, changed_status: bool) -> Response:
    """``answer`` with the headers (each name set replaces the answer's), cookies and, when
    changed, the status of ``draft``."""
    if changed_status:
        answer.status = draft.status
    if len(draft.headers):
        for key in {name.lower() for name, _ in draft.headers.multi_items()}:
            answer.headers.remove(key)
        for key, value in draft.headers.multi_items():
            answer.headers.add(key, value)
    answer.cookies.extend(draft.cookies)
    return answer
