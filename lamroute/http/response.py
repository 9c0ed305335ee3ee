"""The payload-agnostic response, and the rules that turn a handler's return value into one.

>>> Response.json({"ok": True}, status=201).body
b'{"ok":true}'
>>> to_response("hi", 200).headers["content-type"]
'text/plain; charset=utf-8'
"""

from __future__ import annotations

import dataclasses
import enum
import json
import sys
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from ..exceptions import ResponseError, plain_status
from .multidict import Headers

if TYPE_CHECKING:
    from datetime import datetime

JSON_TYPE = "application/json"
# The one header of a JSON answer, by identity: a format that finds this very string (and
# JSON_TYPE or PROBLEM_TYPE) knows the header is valid and textual without checking it.
CONTENT_TYPE = "Content-Type"
PROBLEM_TYPE = "application/problem+json"
HeadersInit = Mapping[str, str] | Iterable[tuple[str, str]] | None


class Response:
    """Status, headers (repeatable), cookies and a body of bytes.

    ``body`` may be given as ``str`` (encoded as UTF-8; ``text/plain`` unless a media type is
    given) or ``bytes``; ``media_type`` sets the ``Content-Type`` unless ``headers`` already
    carries one. A body without a textual ``Content-Type`` is sent base64-encoded. ``status``
    may be an ``int`` subclass such as ``HTTPStatus.CREATED`` (kept as the plain ``int``).

    >>> r = Response("<p>hi</p>", media_type="text/html")
    >>> r.set_cookie("session", "abc", http_only=True)
    >>> r.cookies
    ['session=abc; Path=/; Secure; HttpOnly; SameSite=Lax']
    """

    __slots__ = ("_headers", "_media_type", "body", "cookies", "status")
    _headers: Headers | None
    _media_type: str  # the Content-Type of a JSON answer whose headers are not made yet

    def __init__(
        self,
        body: str | bytes | None = None,
        status: int = 200,
        *,
        headers: HeadersInit = None,
        media_type: str | None = None,
        cookies: Iterable[str] = (),
    ) -> None:
        self.status = status if type(status) is int else plain_status(status)
        if headers is None:
            self.headers = Headers()
        else:
            self.headers = Headers(headers.items() if isinstance(headers, Mapping) else headers)
        self.cookies: list[str] = list(cookies)
        if isinstance(body, str):
            self.body = body.encode("utf-8")
            media_type = media_type or "text/plain"
            if media_type and media_type.startswith("text/") and "charset" not in media_type:
                media_type += "; charset=utf-8"
        else:
            self.body = body if body is not None else b""
        if media_type and "content-type" not in self.headers:
            self.headers.add("Content-Type", media_type)

    @property
    def headers(self) -> Headers:
        """The answer's headers (case-insensitive, repeatable)."""
        headers = self._headers
        if headers is None:  # a JSON answer as lamroute built it: its header, made when read
            headers = self._headers = Headers([(CONTENT_TYPE, self._media_type)])
        return headers

    @headers.setter
    def headers(self, headers: Headers) -> None:
        self._headers = headers

    @classmethod
    def json(
        cls, data: Any, status: int = 200, *, headers: HeadersInit = None,
        media_type: str = JSON_TYPE,
    ) -> Response:
        """A JSON response; raises :class:`ResponseError` when ``data`` is not serialisable."""
        return cls(dump_json(data), status, headers=headers, media_type=media_type)

    def copy(self, body: bytes | None = None) -> Response:
        """A copy whose headers and cookies change apart from this one's; ``body`` replaces
        the body.

        >>> original = Response("a", headers={"X-A": "1"})
        >>> twin = original.copy(b"b")
        >>> twin.headers["X-B"] = "2"
        >>> original.body, twin.body, "x-b" in original.headers
        (b'a', b'b', False)
        """
        copy = Response.__new__(Response)
        copy.status = self.status
        copy.headers = type(self.headers)(self.headers.multi_items())
        copy.cookies = list(self.cookies)
        copy.body = self.body if body is None else body
        return copy

    @classmethod
    def redirect(cls, location: str, status: int = 307, *, headers: HeadersInit = None
                 ) -> Response:
        """A redirect to ``location``: a ``Location`` header and no body.

        ``307`` (the default) and ``308`` keep the method and body, ``303`` turns the next
        request into a ``GET`` (after a form post), ``301``/``302`` are the historic ones.
        Characters a header cannot carry (non-ASCII, spaces, CR/LF) are percent-encoded; a
        status outside 300-399 raises :class:`ValueError`.

        >>> Response.redirect("/notes/café", 303).headers["location"]
        '/notes/caf%C3%A9'
        """
        status = status if type(status) is int else plain_status(status)
        if type(status) is not int or not 300 <= status <= 399:
            raise ValueError(f"A redirect's status is 300-399, not {status!r}.")
        from urllib.parse import quote

        # What Starlette keeps: the URL's own syntax, and existing escapes (%).
        target = quote(location, safe=":/%#?=@[]!$&'()*+,;~")
        response = cls(None, status, headers=headers)
        response.headers["Location"] = target
        return response

    def set_cookie(
        self,
        name: str,
        value: str,
        *,
        max_age: int | None = None,
        expires: datetime | float | None = None,
        path: str = "/",
        domain: str | None = None,
        secure: bool = True,
        http_only: bool = False,
        same_site: str | None = "Lax",
    ) -> None:
        """Add a ``Set-Cookie`` (delivered as ``cookies`` in payload 2.0, a header otherwise).

        ``value`` is percent-encoded where RFC 6265 forbids a character (``;``, ``,``, spaces,
        quotes, controls, non-ASCII, and ``%`` itself); ``request.cookies`` decodes it back.
        ``name`` must be a token, ``path``/``domain``/``same_site`` well-formed: anything else
        raises :class:`ValueError`. ``expires`` is a ``datetime`` (naive means UTC) or seconds
        from now, sent as an HTTP date.

        >>> r = Response()
        >>> r.set_cookie("lang", "x; Domain=evil.example")
        >>> r.cookies
        ['lang=x%3B%20Domain=evil.example; Path=/; Secure; SameSite=Lax']
        """
        from .cookies import set_cookie_line

        self.cookies.append(set_cookie_line(
            name, value, max_age=max_age, expires=expires, path=path, domain=domain,
            secure=secure, http_only=http_only, same_site=same_site))

    def delete_cookie(self, name: str, *, path: str = "/", domain: str | None = None) -> None:
        """Tell the browser to drop cookie ``name`` (give the ``path`` and ``domain`` it was set
        with): an empty value, ``Max-Age=0`` and an ``Expires`` in the past.

        >>> r = Response()
        >>> r.delete_cookie("session")
        >>> r.cookies
        ['session=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/; Secure; SameSite=Lax']
        """
        from .cookies import EPOCH, set_cookie_line

        self.cookies.append(set_cookie_line(name, "", max_age=0, expires=EPOCH, path=path,
                                            domain=domain))

    @property
    def text(self) -> str:
        """The body decoded as UTF-8."""
        return self.body.decode("utf-8", errors="replace")

    def __repr__(self) -> str:
        return f"<Response {self.status} {len(self.body)} bytes>"


class RedirectResponse(Response):
    """``Response.redirect`` as a class, for code written against Starlette or FastAPI:
    ``RedirectResponse("/login", 303)``.

    >>> RedirectResponse("/login", 303).status
    303
    """

    __slots__ = ()

    def __init__(self, url: str, status: int = 307, *, headers: HeadersInit = None) -> None:
        built = Response.redirect(url, status, headers=headers)
        super().__init__(None, built.status, headers=built.headers.multi_items())


def json_default(value: Any) -> Any:
    """``json.dumps`` fallback for common non-JSON types (datetimes, UUIDs, models, ...)."""
    dump = getattr(value, "model_dump", None)
    if callable(dump) and hasattr(type(value), "model_fields"):
        return dump(mode="json", by_alias=True)
    # A datetime, UUID or Decimal value means its module is loaded: no import needed to check.
    datetime = sys.modules.get("datetime")
    if datetime is not None and isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()  # datetime.datetime is a date
    uuid, decimal = sys.modules.get("uuid"), sys.modules.get("decimal")
    if (uuid is not None and isinstance(value, uuid.UUID)) or (
        decimal is not None and isinstance(value, decimal.Decimal)
    ):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


# Built once: ``json.dumps`` with options builds a new encoder on every call.
_ENCODER = json.JSONEncoder(
    separators=(",", ":"), ensure_ascii=False, allow_nan=False, default=json_default
)


# ``JSONEncoder.encode`` builds a new C encoder on every call; this one is built once. Without
# circular-reference markers (a cycle ends as RecursionError, reported like any other failure)
# it holds no per-call state, so it can be reused. ``None`` where the C accelerator is missing.
_make_c_encoder: Any = getattr(json.encoder, "c_make_encoder", None)
_C_ENCODE: Any = _make_c_encoder and _make_c_encoder(
    None, json_default, json.encoder.encode_basestring, None, ":", ",", False, False, False
)


def dump_json(data: Any) -> bytes:
    """Compact JSON bytes; NaN, infinities and unknown types raise :class:`ResponseError`.

    A pydantic model holding NaN or an infinity (its type allowed them) is written as pydantic
    writes it to JSON (``null`` by default, see its ``ser_json_inf_nan``); a bare NaN in a dict
    or list is a handler bug.
    """
    try:
        if _C_ENCODE is not None:
            return "".join(_C_ENCODE(data, 0)).encode("utf-8")
        return _ENCODER.encode(data).encode("utf-8")
    except ValueError as exc:
        failure: BaseException = exc
        try:  # (the rare path: models serialised by pydantic's JSON writer)
            return _MODEL_JSON_ENCODER.encode(data).encode("utf-8")
        except (TypeError, ValueError, RecursionError):
            pass
    except (TypeError, RecursionError) as exc:
        failure = exc
    raise ResponseError(f"The return value cannot be serialised as JSON: {failure}") from failure


def _model_json(value: Any) -> Any:
    """``json_default``, but models go through pydantic's JSON writer, which honours their
    ``ser_json_inf_nan`` (``model_dump(mode="json")`` leaves NaN as a float)."""
    if callable(getattr(value, "model_dump_json", None)) and hasattr(type(value), "model_fields"):
        return json.loads(value.model_dump_json(by_alias=True))
    return json_default(value)


_MODEL_JSON_ENCODER = json.JSONEncoder(
    separators=(",", ":"), ensure_ascii=False, allow_nan=False, default=_model_json
)


def to_response(result: Any, status: int) -> Response:
    """Turn a handler's return value into a :class:`Response`.

    ``Response`` as is; ``dict``/``list``/models/dataclasses as JSON; ``str`` as text; ``bytes``
    as ``application/octet-stream``; ``None`` as an empty 204 (or ``status`` when it is not 200).
    """
    if type(result) is dict:  # the common case first
        return _json_response(dump_json(result), status)
    if isinstance(result, Response):
        return result
    if result is None:
        return Response(None, 204 if status == 200 else status)
    if isinstance(result, str):
        return Response(result, status, media_type="text/plain")
    if isinstance(result, (bytes, bytearray, memoryview)):
        return Response(bytes(result), status, media_type="application/octet-stream")
    if isinstance(result, (dict, list)) or _is_json_object(result):
        return _json_response(dump_json(result), status)
    raise ResponseError(
        f"A handler returned {type(result).__name__}, which lamroute cannot render; return a "
        "Response, dict, list, pydantic model, dataclass, str, bytes or None."
    )


def _json_response(body: bytes, status: int, media_type: str = JSON_TYPE) -> Response:
    """``Response(body, status, media_type=media_type)`` without the general constructor's checks
    (``media_type`` is a JSON type: no charset to add); its headers are made when first read
    (most answers are rendered without: see ``formats._common.simple_parts``)."""
    response = Response.__new__(Response)
    response.status = status
    response._headers = None
    response._media_type = media_type
    response.cookies = []
    response.body = body
    return response


def untouched_json_body(response: Response) -> bytes | None:
    """The body of a JSON answer as lamroute built it, when nothing was added since (its one
    header never read, no cookies); ``None`` for any other answer.

    >>> untouched_json_body(to_response({"a": 1}, 200)), untouched_json_body(Response("a"))
    (b'{"a":1}', None)
    """
    if type(response) is Response and response._headers is None and not response.cookies:
        return response.body
    return None


def _is_json_object(value: Any) -> bool:
    cls = type(value)
    return hasattr(cls, "model_fields") or (
        dataclasses.is_dataclass(value) and not isinstance(value, type)
    )
