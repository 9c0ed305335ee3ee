"""Helpers shared by the payload formats: reading event fields safely and rendering responses.

Only the format modules (this package) read or write event keys.
"""

from __future__ import annotations

import base64
import binascii
import functools
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from ..exceptions import InvalidEvent, ResponseError, plain_status
from ..http.multidict import Headers
from ..http.response import CONTENT_TYPE, JSON_TYPE, PROBLEM_TYPE, Response

if TYPE_CHECKING:
    from ..http.identity import Identity

# Media types sent as UTF-8 text; anything else (or a Content-Encoding) goes base64-encoded.
_TEXT_MARKERS = ("json", "xml", "javascript", "x-www-form-urlencoded", "yaml", "csv")


def mapping(event: Mapping[str, Any], key: str, *, required: bool = False) -> Mapping[str, Any]:
    """``event[key]`` when it is a dict; ``{}`` when missing or null (400 if ``required``);
    400 for other types."""
    value = event.get(key)
    if type(value) is dict:  # the usual case, without the slower abstract Mapping check
        return value
    if value is None:
        if required:
            raise InvalidEvent(f"The event has no {key!r} object: it is not a proxy event.")
        return {}
    if not isinstance(value, Mapping):
        raise InvalidEvent(f"The event's {key!r} must be an object.")
    return value


def string(event: Mapping[str, Any], key: str, *, required: bool = False) -> str | None:
    """``event[key]`` as a string; 400 for a wrong type or a missing required key."""
    value = event.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str):
        if value is None:
            raise InvalidEvent(f"The event has no {key!r}: it is not a proxy event.")
        raise InvalidEvent(f"The event's {key!r} must be a string.")
    return value


def string_pairs(values: Mapping[str, Any], what: str) -> list[tuple[str, str]]:
    """Flatten ``{name: value}`` or ``{name: [values]}`` into pairs, checking every type."""
    pairs: list[tuple[str, str]] = []
    append = pairs.append
    for name, value in values.items():
        if not isinstance(name, str):
            raise InvalidEvent(f"The event's {what} names must be strings.")
        if isinstance(value, str):
            append((name, value))
        elif isinstance(value, list):
            for item in value:
                if not isinstance(item, str):
                    raise InvalidEvent(f"The event's {what} values must be strings.")
                append((name, item))
        elif value is not None:
            raise InvalidEvent(f"The event's {what} values must be strings.")
    return pairs


def first_headers(source: Mapping[str, Any], names: tuple[str, ...]) -> dict[str, str | None]:
    """The first value of each header of ``names`` (lower-case) in a headers map, in one pass,
    without parsing it all: ``None`` when absent.

    Gives what ``Headers(string_pairs(source)).get(name)`` gives for each; a name whose value is
    malformed is left out (the caller parses the full map, which reports it), and a key that is
    not a string raises ``LookupError`` (likewise).

    >>> first_headers({"Host": "h", "User-Agent": ["ua/1"]}, ("content-type", "user-agent"))
    {'content-type': None, 'user-agent': 'ua/1'}
    """
    sizes = _SIZES.get(names)
    if sizes is None:
        sizes = _SIZES[names] = frozenset(map(len, names))
    found: dict[str, Any] = dict.fromkeys(names)  # None: wanted, not found yet
    left = len(names)
    try:
        for key in source:
            # The length first (no call), then the lower-cased name, only for those lengths
            # (this runs on every access line).
            if len(key) not in sizes or found.get(key.lower(), _SKIP) is not None:
                continue  # not a name wanted, or one found already
            value = source[key]
            if value is None:
                continue
            if type(value) is str:
                pass
            elif type(value) is list and len(value) == 1 and type(value[0]) is str:
                value = value[0]  # the usual multiValueHeaders entry
            elif isinstance(value, str):
                pass
            elif not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                value = _MALFORMED
            elif value:
                value = str(value[0])
            else:
                continue  # an empty list: a later spelling may hold the value
            found[key.lower()] = value
            left -= 1
            if not left:
                break
    except (TypeError, AttributeError):  # a key that is not a string
        raise LookupError("header names must be strings") from None
    if _MALFORMED in found.values():
        return {k: v for k, v in found.items() if v is not _MALFORMED}
    return found


_SIZES: dict[tuple[str, ...], frozenset[int]] = {}
_MALFORMED: Any = object()
_SKIP: Any = object()


def context_string(event: Mapping[str, Any], section: str, key: str) -> str | None:
    """``requestContext[section][key]`` when it is a string, else ``None`` (one lookup each).

    >>> context_string({"requestContext": {"http": {"userAgent": "ua/1"}}}, "http", "userAgent")
    'ua/1'
    """
    context_ = event.get("requestContext")
    part = context_.get(section) if type(context_) is dict else None
    if type(part) is not dict:
        return None
    value = part.get(key)
    return value if type(value) is str else None


def str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def request_context(event: Mapping[str, Any]) -> Mapping[str, Any]:
    return mapping(event, "requestContext")


def decode_body(event: Mapping[str, Any]) -> bytes:
    """The body as bytes, base64-decoded when ``isBase64Encoded`` says so."""
    body = event.get("body")
    if body is None:
        return b""
    if not isinstance(body, str):
        raise InvalidEvent("The event's 'body' must be a string.")
    if event.get("isBase64Encoded") is True:
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidEvent("The body is flagged base64 but is not valid base64.") from None
    return body.encode("utf-8", errors="surrogatepass")


def parse_cookie_header(values: list[str]) -> dict[str, str]:
    """Cookies from ``Cookie`` header values (``a=1; b=2``); the first occurrence of a name wins.

    Values are percent-decoded, as ``Response.set_cookie`` encodes them.
    """
    cookies: dict[str, str] = {}
    for value in values:
        for part in value.split(";"):
            name, sep, content = part.strip().partition("=")
            if sep and name and name not in cookies:
                content = content.strip().strip('"')
                cookies[name] = unquote(content, errors="replace") if "%" in content else content
    return cookies


def decode_path(raw: str) -> str:
    """Percent-decode a path that the gateway delivered still encoded."""
    return unquote(raw, errors="replace") if "%" in raw else raw


def raw_app_path(raw: str, prefix: str, app_path: str) -> str | None:
    """The app's path still percent-encoded: ``raw`` (the whole path as delivered) minus the
    segments of the decoded ``prefix``; ``None`` when the two do not line up (an encoded slash
    inside the prefix), and routing falls back to the decoded ``app_path``.

    REST APIs, Function URLs and ALB pass the path on encoded, so an encoded slash (``%2F``)
    is data inside one segment; routing splits this raw path before decoding it. Live captures:
    a REST request for ``/capture/space%20value`` has that ``path`` and ``pathParameters``
    ``{"proxy": "capture/space%20value"}`` (HTTP APIs decode, even ``%2F``:
    https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-routes.html).

    >>> raw_app_path("/v1/users/a%2Fb", "/v1", "/users/a/b")
    '/users/a%2Fb'
    """
    if not prefix:  # the usual case: the app path is the whole path
        return leading_slash(raw)
    parts = leading_slash(raw).split("/")
    rest = "/" + "/".join(parts[prefix.count("/") + 1:])
    return rest if unquote(rest, errors="replace") == app_path else None


def fill_template(template: str, params: Mapping[str, Any]) -> str | None:
    """Rebuild the matched part of a path from a gateway resource template and its parameters.

    ``/{proxy+}`` with ``{"proxy": "a/b"}`` gives ``/a/b``; ``None`` when a value is missing.
    """
    if "{" not in template:
        return template
    parts = []
    for literal, name in _template_parts(template):
        if name is None:
            parts.append(literal)
            continue
        value = params.get(name)
        if not isinstance(value, str):
            return None
        parts.append(value)
    return "/".join(parts)


@functools.lru_cache(maxsize=512)
def _template_parts(template: str) -> tuple[tuple[str, str | None], ...]:
    """A resource template's segments as (literal, None) or ("", parameter name), memoised:
    an API has few resources and every request names one."""
    return tuple(
        ("", segment[1:-1].rstrip("+"))
        if segment.startswith("{") and segment.endswith("}") else (segment, None)
        for segment in template.split("/")
    )


def split_prefix(path: str, suffix: str | None) -> tuple[str, str]:
    """Split a decoded ``path`` into (prefix, app path) when it ends with the matched ``suffix``.

    The prefix is whatever the gateway routed on before the resource: a stage (HTTP APIs) or a
    custom domain's base path mapping. Without a usable suffix the whole path is the app's.
    """
    path = leading_slash(path)
    if suffix is None:
        return "", path
    if suffix in ("", "/"):
        return path.rstrip("/"), "/"
    # REST pathParameters are seen both encoded and decoded (reports differ): accept either.
    for candidate in (suffix, decode_path(suffix)):
        if path.endswith(candidate):
            prefix = path[: len(path) - len(candidate)]
            if not prefix or (prefix.startswith("/") and not prefix.endswith("/")):
                return prefix, candidate
    return "", path


def leading_slash(path: str) -> str:
    """``path`` starting with exactly one ``/`` (an empty path is ``/``)."""
    return path if path.startswith("/") else "/" + path


def strip_stage(prefix: str, path: str, stage: str | None) -> tuple[str, str]:
    """Move a named stage from the front of ``path`` into ``prefix`` when no prefix was found.

    HTTP API paths carry a named stage (``/dev/...``) but not ``$default``:
    https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-stages.html
    """
    if prefix or not stage or stage == "$default":
        return prefix, path
    stage_prefix = "/" + stage
    if path == stage_prefix or path.startswith(stage_prefix + "/"):
        return stage_prefix, path[len(stage_prefix):] or "/"
    return prefix, path


def check_status(status: Any) -> int:
    # An `HTTPStatus` assigned to `response.status` after construction: sent as the plain int.
    status = status if type(status) is int else plain_status(status)
    if type(status) is not int or not 100 <= status <= 599:
        raise ResponseError(f"Status {status!r} is not an int between 100 and 599.")
    return status


def _check_header(name: Any, value: Any) -> None:
    if not isinstance(name, str) or not isinstance(value, str):
        raise ResponseError(f"Header {name!r} must have a string name and value.")
    # Plain `in` tests: per header of every response, cheaper than a generator over characters.
    if (not name or ":" in name or " " in name or "\r" in name or "\n" in name or "\0" in name
            or "\r" in value or "\n" in value or "\0" in value):
        raise ResponseError(f"Header {name!r} contains a forbidden character (CR, LF, NUL).")
    if not (name.isascii() and value.isascii()):
        # Python 3.12+ runtimes send the response as UTF-8 (not \u-escaped): a lone surrogate
        # makes the runtime fail, and the gateway answers 502.
        try:
            name.encode("utf-8")
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ResponseError(f"Header {name!r} is not valid Unicode (lone surrogate).") from None


def header_lists(response: Response, *, include_cookies: bool) -> dict[str, list[str]]:
    """Response headers grouped by name (first spelling kept), validated; optionally Set-Cookie."""
    if not isinstance(response.headers, Headers):
        raise ResponseError("Response.headers must be a lamroute Headers object.")
    grouped: dict[str, list[str]] = {}
    spelling: dict[str, str] = {}
    for name, value in response.headers.multi_items():
        _check_header(name, value)
        key = spelling.setdefault(name.lower(), name)
        grouped.setdefault(key, []).append(value)
    if include_cookies and response.cookies:
        grouped.setdefault(spelling.get("set-cookie", "Set-Cookie"), []).extend(
            checked_cookies(response)
        )
    return grouped


def simple_parts(response: Response) -> tuple[int, str, str, str, bool] | None:
    """``(status, name, value, body, is_base64)`` of the common answer: one ``Content-Type``
    header, no cookies, a bytes body; ``None`` for anything else (the general path decides).

    Gives what ``check_status``, ``header_lists`` and ``encode_body`` give for such a response,
    in one call instead of a dozen (this runs on every request).
    """
    if response.cookies:
        return None
    headers = response._headers
    if headers is None:  # lamroute's JSON answer, its one header not made yet
        name, value = CONTENT_TYPE, response._media_type
    elif type(headers) is not Headers or len(headers._items) != 1:
        return None
    else:
        name, value = headers._items[0]
    status, body = response.status, response.body
    if type(status) is not int or not 100 <= status <= 599 or type(body) is not bytes:
        return None
    if name is CONTENT_TYPE and (value is JSON_TYPE or value is PROBLEM_TYPE):
        textual = True  # lamroute's own JSON header (the same strings): valid, and text
    elif (type(name) is not str or type(value) is not str or name.lower() != "content-type"
            or "\r" in value or "\n" in value or "\0" in value or not value.isascii()):
        return None  # (a non-ASCII value is checked for lone surrogates by the general path)
    else:
        textual = _is_textual(value)
    if not body:
        return status, name, value, "", False
    if textual:
        try:
            return status, name, value, body.decode("utf-8"), False
        except UnicodeDecodeError:
            pass
    return status, name, value, base64.b64encode(body).decode("ascii"), True


def checked_cookies(response: Response) -> list[str]:
    cookies = response.cookies
    if not isinstance(cookies, list):
        raise ResponseError("Response.cookies must be a list of strings.")
    for cookie in cookies:
        _check_header("Set-Cookie", cookie)
    return cookies


def encode_body(response: Response) -> tuple[str, bool]:
    """The body as the proxy ``body`` string and its ``isBase64Encoded`` flag."""
    body = response.body
    if not isinstance(body, (bytes, bytearray)):
        raise ResponseError("Response.body must be bytes.")
    if not body:
        return "", False
    content_type = response.headers.get("content-type") or ""
    if _is_textual(content_type) and "content-encoding" not in response.headers:
        try:
            return body.decode("utf-8"), False
        except UnicodeDecodeError:
            pass
    return base64.b64encode(body).decode("ascii"), True


@functools.lru_cache(maxsize=256)
def _is_textual(content_type: str) -> bool:
    """Whether a body of this media type travels as UTF-8 text (memoised: few distinct types)."""
    lowered = content_type.lower()
    return lowered.startswith("text/") or any(m in lowered for m in _TEXT_MARKERS)


class ProxyReader:
    """The lazy reads most proxy formats share; a format overrides what it does differently."""

    def cookies(self, event: Mapping[str, Any], headers: Headers) -> dict[str, str]:
        return parse_cookie_header(headers.getall("cookie"))

    def body(self, event: Mapping[str, Any]) -> bytes:
        return decode_body(event)

    def authorizer(self, event: Mapping[str, Any]) -> dict[str, Any]:
        value = request_context(event).get("authorizer")
        return dict(value) if isinstance(value, Mapping) else {}

    def identity(self, event: Mapping[str, Any]) -> Identity:
        """``request.auth``: the caller read from what ``auth_sources(event)`` finds (formats
        without authorizers have no ``auth_sources``: anonymous)."""
        from ..http.identity import ANONYMOUS  # only apps that read request.auth load these
        from .identity import identity_from

        read = getattr(self, "auth_sources", None)
        return identity_from(read(event)) if read is not None else ANONYMOUS
