"""The payload-agnostic request a handler sees.

A format module (``lamroute.formats``) builds it from the event with the few fields routing needs;
everything else (headers, query, cookies, body) is read from the event on first access, through the
format's :class:`EventReader`, and cached. The event is never copied.

>>> from lamroute.testing import make_event
>>> from lamroute.formats import parse_event
>>> request = parse_event(make_event("rest", "GET", "/notes", query={"q": "x"}), None)
>>> request.method, request.path, request.query["q"]
('GET', '/notes', 'x')
"""

from __future__ import annotations

import functools
import json
import re
import sys
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from ..exceptions import BadRequest, UnsupportedMediaType
from .multidict import Headers, QueryParams

if TYPE_CHECKING:
    from .forms import FormData, FormLimits
    from .identity import Identity
    from .state import State

_UNSET: Any = object()


class EventReader(Protocol):
    """What a payload format knows how to read lazily from its event."""

    def headers(self, event: Mapping[str, Any]) -> Headers: ...
    def query(self, event: Mapping[str, Any]) -> QueryParams: ...
    def cookies(self, event: Mapping[str, Any], headers: Headers) -> dict[str, str]: ...
    def body(self, event: Mapping[str, Any]) -> bytes: ...
    def source_ip(self, event: Mapping[str, Any]) -> str | None: ...
    def authorizer(self, event: Mapping[str, Any]) -> dict[str, Any]: ...


_WITH_BODY = ("content-type", "user-agent")  # what one pass looks for when a body is read


class Request:
    """One HTTP request, whatever the payload format it arrived in.

    ``path`` is the app's own path (stage and base path removed, percent-decoded);
    ``root_path`` is the public prefix in front of it, so ``root_path + path`` is the URL path
    the client used. ``raw_path`` is the app's path still percent-encoded when the gateway
    delivered it so (REST APIs, Function URLs, ALB) and it holds a ``%``, else ``None``:
    routing splits it on ``/`` before decoding, so ``%2F`` stays inside one segment.
    """

    __slots__ = (
        "_auth",
        "_body",
        "_cookies",
        "_form",
        "_form_limits",
        "_headers",
        "_json",
        "_query",
        "_reader",
        "_seen",
        "_state",
        "context",
        "event",
        "format",
        "method",
        "path",
        "path_params",
        "raw_path",
        "request_id",
        "root_path",
        "route",
        "stage",
    )

    def __init__(
        self,
        method: str,
        path: str,
        root_path: str,
        format: str,
        stage: str | None,
        request_id: str | None,
        event: Mapping[str, Any],
        context: Any,
        reader: EventReader,
        raw_path: str | None = None,
    ) -> None:
        self.method = method
        self.path = path
        self.raw_path = raw_path
        self.root_path = root_path
        self.format = format
        self.stage = stage
        self.request_id = request_id
        self.event = event
        self.context = context
        self.path_params: dict[str, str] = {}
        self.route: str | None = None
        self._state: State | None = None
        self._reader = reader
        self._headers: Headers | None = None
        self._query: QueryParams | None = None
        self._cookies: dict[str, str] | None = None
        self._body: bytes | None = None
        self._json: Any = _UNSET
        self._auth: Identity | None = None
        self._seen: dict[str, str | None] | None = None

    @property
    def headers(self) -> Headers:
        """Request headers, case-insensitive and multi-valued."""
        if self._headers is None:
            self._headers = self._reader.headers(self.event)
        return self._headers

    @property
    def query(self) -> QueryParams:
        """Query parameters, decoded, multi-valued (``get``/``getall``)."""
        if self._query is None:
            self._query = self._reader.query(self.event)
        return self._query

    @property
    def cookies(self) -> dict[str, str]:
        """Request cookies by name."""
        if self._cookies is None:
            self._cookies = self._reader.cookies(self.event, self.headers)
        return self._cookies

    @property
    def body(self) -> bytes:
        """The raw body, base64-decoded when the event says so."""
        if self._body is None:
            self._body = self._reader.body(self.event)
        return self._body

    @property
    def text(self) -> str:
        """The body as text (UTF-8, undecodable bytes replaced)."""
        return self.body.decode("utf-8", errors="replace")

    def json(self, *, allow_non_finite: bool = False) -> Any:
        """The body parsed as JSON.

        Malformed JSON, invalid UTF-8 and lone surrogates (``"\\ud800"``) are a 400
        :class:`BadRequest`: no answer could carry such a string back. ``NaN``, ``Infinity`` and
        numbers too large for a float (``1e999``) are a 422 listing where they are, unless
        ``allow_non_finite=True`` (then they are ``float("nan")``/``float("inf")``).
        """
        value = self._json
        if value is _UNSET:
            value = self._json = _parse_json(self.body, allow_non_finite)
        kind = type(value)
        if kind is _Unchecked:  # parsed for a caller that takes any number
            if allow_non_finite:
                return value.value
            value = self._json = value.checked()
            kind = type(value)
        if kind is _NonFiniteJSON:
            if not allow_non_finite:
                from .json_checks import non_finite_problem

                raise non_finite_problem(value.value)
            return value.value
        return value

    # Set only by the routes that use forms (never initialised: other requests pay nothing).
    _form: FormData
    _form_limits: FormLimits

    def form(self) -> FormData:
        """The body parsed as a form: ``application/x-www-form-urlencoded`` or
        ``multipart/form-data`` (text fields as ``str``, files as
        :class:`~lamroute.http.forms.UploadFile`), parsed once and cached.

        Another media type is a 415, a malformed body a 400, a body past the route's
        ``max_fields`` (1000 by default) or ``max_part_size`` a 413. Multipart bodies need the
        ``lamroute[forms]`` extra (python-multipart).
        """
        try:
            return self._form
        except AttributeError:
            pass
        from . import forms

        limits = getattr(self, "_form_limits", forms.DEFAULT_LIMITS)
        content_type = self._header("content-type")
        kind = (content_type or "").split(";", 1)[0].strip().lower()
        if kind == forms.URLENCODED:
            self._form = forms.parse_urlencoded(self.body, limits)
        elif kind == forms.MULTIPART:
            from .multipart import parse_multipart

            self._form = parse_multipart(self.body, content_type or "", limits)
        elif not kind and not self.body:
            self._form = forms.FormData()
        else:
            raise UnsupportedMediaType(f"The body must be a form ({forms.URLENCODED} or "
                                       f"{forms.MULTIPART}), not {kind or 'untyped'}.")
        return self._form

    @property
    def content_type(self) -> str | None:
        """The media type of the body without parameters (``application/json``), lower-cased."""
        value = self._header("content-type")
        return value.split(";", 1)[0].strip().lower() if value else None

    @property
    def source_ip(self) -> str | None:
        """The client's IP address as the gateway saw it, never a client-supplied header.

        API Gateway and Function URLs: the event's ``sourceIp``. ALB: the entry the ALB itself
        appended to ``X-Forwarded-For`` (see ``App(trusted_proxies=...)`` for a proxy in front).
        """
        return self._reader.source_ip(self.event)

    @property
    def user_agent(self) -> str | None:
        """The ``User-Agent`` header. Until the headers are parsed (a middleware may change
        them), as the gateway recorded it in the request context where the format has it there
        (one lookup: the access line reads it on every request); else from the headers."""
        if self._headers is None:
            recorded = getattr(self._reader, "user_agent", None)
            if recorded is not None:
                value: str | None = recorded(self.event)
                if value is not None:
                    return value
        return self._header("user-agent")

    def _header(self, name: str) -> str | None:
        """``headers.get(name)`` (``name`` lower-case); until something needs every header, a
        format that offers ``headers_named(event, names)`` finds this one without parsing them
        all (the access line reads one header on every request, a JSON body another: a body's
        ``Content-Type`` is read first, so that pass finds the ``User-Agent`` too)."""
        if self._headers is None:
            seen = self._seen
            if seen is None or name not in seen:
                lookup = getattr(self._reader, "headers_named", None)
                if lookup is None:
                    return self.headers.get(name)
                try:
                    found = lookup(self.event, _WITH_BODY if name == "content-type" else (name,))
                except LookupError:  # a malformed map: parsed in full, which says why
                    return self.headers.get(name)
                seen = self._seen = found if seen is None else {**seen, **found}
            if name in seen:  # (left out when its value is malformed: see below)
                return seen[name]
        return self.headers.get(name)

    @property
    def authorizer(self) -> dict[str, Any]:
        """The raw authorizer context of the event (``{}`` when there is none)."""
        return self._reader.authorizer(self.event)

    @property
    def auth(self) -> Identity:
        """Who is calling (:class:`~lamroute.http.identity.Identity`), read on first use.

        Formats that know authorizers provide ``identity(event)``; others give an anonymous
        identity. Tests and middleware may assign ``request.auth`` directly.
        """
        if self._auth is None:
            read = getattr(self._reader, "identity", None)
            if read is not None:
                self._auth = read(self.event)
            else:
                from .identity import ANONYMOUS

                self._auth = ANONYMOUS
        return self._auth

    @auth.setter
    def auth(self, identity: Identity) -> None:
        self._auth = identity

    @property
    def state(self) -> State:
        """Per-request scratch space for middleware, guards and handlers (created on first use):
        ``request.state.user = ...`` in a middleware, ``request.state.user`` in the handler."""
        if self._state is None:
            from .state import State  # apps that never use it never load it

            self._state = State()
        return self._state

    @property
    def tenant_id(self) -> str | None:
        """The tenant of the invocation under Lambda's tenant isolation mode
        (``context.tenant_id``), else ``None``; it is in the log lines' fields too.
        https://docs.aws.amazon.com/lambda/latest/dg/tenant-isolation-context.html"""
        tenant = getattr(self.context, "tenant_id", None)
        return tenant if tenant is None or type(tenant) is str else str(tenant)

    @property
    def url_path(self) -> str:
        """The path as the client addressed it: ``root_path + path``."""
        return self.root_path + self.path

    def __repr__(self) -> str:
        return f"<Request {self.method} {self.path} ({self.format})>"


class _NonFinite(Exception):
    """Raised by the decoder's hooks at the first NaN, infinity or out-of-range number."""


def _finite_float(text: str) -> float:
    number = float(text)
    if number - number == 0:  # false for NaN and both infinities (1e999 is one)
        return number
    raise _NonFinite


def _no_constant(name: str) -> Any:  # NaN, Infinity, -Infinity: not JSON, but Python reads them
    raise _NonFinite


# Built once (json.loads with options builds a decoder per call). The hooks cost a call per
# float literal; a body without NaN or huge numbers decodes in one pass.
_FINITE = json.JSONDecoder(parse_float=_finite_float, parse_constant=_no_constant)
_ANY_NUMBER = json.JSONDecoder()


class _Unchecked:
    """A body parsed without looking for NaN and infinities (its caller takes any number, and a
    typed body's validator checks them field by field); looked at if a strict caller comes."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def checked(self) -> Any:
        from .json_checks import non_finite_paths

        return _NonFiniteJSON(self.value) if non_finite_paths(self.value) else self.value


class _NonFiniteJSON:
    """A parsed body holding NaN or infinities: handed out only on request."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


def _parse_json(body: bytes, any_number: bool) -> Any:
    if not body:
        raise BadRequest("The request body is empty; JSON was expected.")
    # A body opening with an ASCII `{` or `[` and no NUL next is UTF-8 in
    # json.detect_encoding's terms (no BOM, not UTF-16/32): no call.
    first = body[0]
    utf8 = (first == 0x7B or first == 0x5B) and body[1:2] != b"\x00"
    if any_number and utf8 and (_int_digits is None or not 0 < _int_digits() < 4300):
        # A typed body (its validator checks the numbers): pydantic's JSON parser, four times
        # json's speed on a small body, gives the value json gives to every body it accepts.
        # What it refuses (lone surrogates, NUL bytes, nesting past its limit, bad JSON) takes
        # json's way below, for json's answer. No string cache: its first use in a process
        # costs ~0.1 ms of the cold start, and it saves ~0.02 µs per body after.
        try:
            return _Unchecked((_from_json or _load_from_json())(body, cache_strings=False))
        except ValueError:
            pass
    try:
        # strict: surrogate bytes fail here.
        text = body.decode("utf-8" if utf8 else json.detect_encoding(body))
        if any_number:
            value: Any = _Unchecked(_ANY_NUMBER.decode(text))
        else:
            try:
                value = _FINITE.decode(text)
            except _NonFinite:
                value = _NonFiniteJSON(_ANY_NUMBER.decode(text))
    except (ValueError, RecursionError) as exc:
        from .json_checks import malformed

        raise malformed(exc) from None
    if "\\" in text and _surrogate_escape().search(text):
        from .json_checks import refuse_lone_surrogates

        refuse_lone_surrogates(value.value if type(value) in (_NonFiniteJSON, _Unchecked)
                               else value)
    return value


_from_json: Callable[..., Any] | None = None
# pydantic's parser reads integers of up to 4300 digits (CPython's default limit) whatever the
# interpreter's limit is; json keeps to it. Under a lower one (PYTHONINTMAXSTRDIGITS,
# sys.set_int_max_str_digits) json parses typed bodies too, so a longer integer stays refused.
# (None: a Python before 3.10.7, without a limit.)
_int_digits: Callable[[], int] | None = getattr(sys, "get_int_max_str_digits", None)


def _load_from_json() -> Callable[..., Any]:
    """``pydantic_core.from_json``, loaded with the first typed JSON body (pydantic validates
    it: the module is there already)."""
    global _from_json
    from pydantic_core import from_json

    _from_json = from_json
    return from_json


@functools.cache
def _surrogate_escape() -> re.Pattern[str]:
    """A \\uD800-\\uDFFF escape: compiled on first use (import stays light)."""
    return re.compile(r"\\u[dD][89a-fA-F]")
