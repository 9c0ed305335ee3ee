"""Hypothesis strategies for hostile events and misbehaving handlers, and the shared checks."""

from __future__ import annotations

import builtins
import collections
import dataclasses
import datetime
import decimal
import enum
import json
import signal
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from lamroute import HTTPError, Response
from lamroute.http.charsets import CODECS as WHATWG_CODECS
from lamroute.testing import FORMATS, make_event
from lamroute.testing.rules import check_proxy_response

CASES: collections.Counter[str] = collections.Counter()
"""Cases tried per property, printed at the end of the session (conftest)."""

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
GATEWAY_ERROR = {"message": "Internal server error"}


def fuzz_settings(ci_examples: int) -> settings:
    """``ci_examples`` in the default run; the campaign profile's count under ``make fuzz``."""
    current = settings.default
    campaign = current is settings.get_profile("campaign")
    return settings(
        max_examples=current.max_examples if campaign else ci_examples,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
    )


# -- hostile strings and values -------------------------------------------------------------

SURROGATES = st.characters(categories=["Cs"])
ANY_CHAR = st.characters(codec=None, exclude_categories=())
PERCENT_JUNK = st.lists(st.sampled_from(
    ["%", "%%", "%zz", "%ff", "%FF", "%2F", "%2f", "%00", "%C3%28", "%E2%82", "%F0%9F%98%80",
     "%u0041", "+", "%20", "%2525", "/", "//", "..", "%2e%2e", "?", "#", "&", "=", ";", "\\",
     "\r\n", "\0", "é", "\u202e", "\ufeff", "\U0001d518"]), max_size=8).map("".join)
HUGE = st.sampled_from([10_000, 100_000, 1_000_000]).flatmap(
    lambda n: st.sampled_from(["a", "é", "\U0001f600", "%", "\0"]).map(lambda c: c * n))

hostile_text = st.one_of(
    st.text(max_size=30),
    st.text(ANY_CHAR, max_size=30),
    st.lists(st.one_of(SURROGATES, ANY_CHAR), max_size=10).map("".join),
    PERCENT_JUNK,
    HUGE,
)
safe_text = st.text(st.characters(codec="utf-8", exclude_characters="\0"), max_size=20)
_junk_keys = hostile_text.filter(lambda k: k not in ("elb", "connectionId"))

hostile_scalar = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), hostile_text,
    st.just(float("nan")), st.just(10**400),
)
hostile_value = st.recursive(
    hostile_scalar,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(_junk_keys, inner, max_size=4)),
    max_leaves=8,
)


# -- charsets --------------------------------------------------------------------------------

# Python codecs a client could name that are no text encoding of the WHATWG Encoding Standard:
# some raise a plain UnicodeError, some are not text, utf-7 and the escapes decode to markup.
PYTHON_ONLY_CODECS = ["utf-7", "UTF7", "punycode", "undefined", "idna", "rot13", "hex", "base64",
                      "zlib", "bz2", "uu", "quopri", "unicode_escape", "raw_unicode_escape",
                      "utf-32", "utf-8-sig", "mbcs", "oem", "charmap", "cp037", "palmos",
                      "replacement", "x-user-defined", "\u212aoi8-r"]
CHARSET_LABELS = st.one_of(
    # the standard's labels, in any ASCII case, with the whitespace it trims
    st.tuples(st.sampled_from(sorted(WHATWG_CODECS)), st.sampled_from(["", " ", "\t"]),
              st.booleans()).map(lambda t: t[1] + (t[0].upper() if t[2] else t[0]) + t[1]),
    st.sampled_from(PYTHON_ONLY_CODECS),
    st.text(st.characters(codec="utf-8", exclude_categories=["Cc", "Cs"],
                          exclude_characters='";'), max_size=15),
)
"""What a hostile client may put in ``charset=`` or before the ``''`` of an RFC 8187 value."""


# -- events -----------------------------------------------------------------------------------

# Keys a mutation keeps, so the event still comes from the same kind of gateway: deleting
# them (or replacing their value) would make it an event no such gateway ever sends.
KEEP_KEY = {"rest": {("httpMethod",)}, "http-v1": {("httpMethod",)},
            "alb-multi": {("multiValueHeaders",), ("multiValueQueryStringParameters",)}}
KEEP_VALUE = {
    "http-v1": {("version",)},
    "http": {("version",), ("requestContext",), ("requestContext", "domainName")},
    "url": {("version",), ("requestContext",), ("requestContext", "domainName")},
    "alb": {("requestContext",), ("requestContext", "elb")},
    "alb-multi": {("requestContext",), ("requestContext", "elb")},
}


def _paths(value: Any, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield (*prefix, key)
            yield from _paths(item, (*prefix, key))


def _parent(event: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    node = event
    for key in path[:-1]:
        node = node[key]
    return node


@st.composite
def base_events(draw: st.DrawFn, fmt: str | None = None) -> tuple[str, dict[str, Any]]:
    """A well-formed event of a random format with random but valid contents."""
    fmt = fmt or draw(st.sampled_from(FORMATS))
    segments = draw(st.lists(st.one_of(safe_text, PERCENT_JUNK.filter(lambda s: "\0" not in s)),
                             max_size=4))
    path = "/" + "/".join(s.replace("?", "").replace("#", "") for s in segments)
    body = draw(st.one_of(st.none(), safe_text, st.binary(max_size=64),
                          st.just('{"a": [1, 2, {"b": null}]}'), st.just("[" * 5000)))
    json_type = draw(st.booleans())
    headers = draw(st.lists(st.tuples(st.from_regex(r"[A-Za-z][A-Za-z0-9-]{0,15}",
                                                    fullmatch=True), safe_text), max_size=4))
    if json_type:
        headers.append(("Content-Type", "application/json"))
    headers.append(("Accept-Encoding", draw(st.sampled_from(["gzip", "gzip;q=0", "*", "br"]))))
    event = make_event(
        fmt, draw(st.sampled_from(METHODS)), path,
        query=draw(st.lists(st.tuples(safe_text, safe_text), max_size=4)),
        headers=headers,
        cookies=draw(st.dictionaries(st.from_regex(r"[a-z]{1,8}", fullmatch=True), safe_text,
                                     max_size=3)),
        body=body,
        stage=draw(st.sampled_from([None, "prod", "dev", "$default"])),
    )
    return fmt, event


@st.composite
def hostile_events(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """A real-shaped event with some fields deleted, nulled, retyped or filled with junk."""
    fmt, event = draw(base_events())
    keep_key = KEEP_KEY.get(fmt, set())
    keep_value = KEEP_VALUE.get(fmt, set()) | keep_key
    for _ in range(draw(st.integers(0, 6))):
        paths = [p for p in _paths(event) if p not in keep_value]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = _parent(event, path)
        action = draw(st.sampled_from(["delete", "null", "junk", "add", "huge-headers",
                                       "bad-base64"]))
        if action == "delete":
            parent.pop(path[-1], None)
        elif action == "null":
            parent[path[-1]] = None
        elif action == "junk":
            parent[path[-1]] = draw(hostile_value)
        elif action == "add" and isinstance(parent[path[-1]], dict):
            parent[path[-1]][draw(_junk_keys)] = draw(hostile_value)
        elif action == "huge-headers":
            for key in ("headers", "multiValueHeaders"):
                if isinstance(event.get(key), dict):
                    many = {f"x-h{i}": "v" * 100 for i in range(500)}
                    event[key].update({k: [v] for k, v in many.items()}
                                      if key == "multiValueHeaders" else many)
                    event[key]["x-huge"] = (["h" * 200_000] if key == "multiValueHeaders"
                                            else "h" * 200_000)
        elif action == "bad-base64":
            event["isBase64Encoded"] = True
            event["body"] = draw(st.sampled_from(["!!!", "abc", "a===", "\u00e9", "YQ", ""]))
    return fmt, event


not_events = st.one_of(
    hostile_value,
    st.dictionaries(_junk_keys, hostile_value, max_size=6),
    st.builds(lambda v: {"httpMethod": v}, hostile_value),
    st.builds(lambda v: {"version": "2.0", "requestContext": v}, hostile_value),
    st.builds(lambda v: {"requestContext": {"elb": v}}, hostile_value),
)


# -- handler behaviours -------------------------------------------------------------------------

class CustomBase(BaseException):
    """A BaseException that is neither SystemExit nor KeyboardInterrupt."""


class BrokenStr(Exception):
    def __str__(self) -> str:
        raise RuntimeError("__str__ failed")

    def __repr__(self) -> str:
        raise RuntimeError("__repr__ failed")


class BrokenHTTPError(HTTPError):
    def __str__(self) -> str:
        raise ValueError("no text for you")


def _builtin_exceptions() -> list[BaseException]:
    found: list[BaseException] = []
    for value in vars(builtins).values():
        if (isinstance(value, type) and issubclass(value, BaseException)
                and not issubclass(value, (SystemExit, KeyboardInterrupt))):
            for args in (("hostile \ud800 é",), ()):
                try:
                    found.append(value(*args))
                    break
                except Exception:
                    continue
    return found


BUILTIN_EXCEPTIONS = _builtin_exceptions()
STATUSES = st.one_of(st.integers(100, 599), st.integers(), st.sampled_from(
    [0, 99, 600, 1000, -1, True, "404", None, 404.0, 500]))
header_pairs = st.lists(st.tuples(hostile_value, hostile_value), max_size=3)


@st.composite
def exceptions(draw: st.DrawFn) -> BaseException:
    kind = draw(st.sampled_from(["builtin", "http", "custom", "broken"]))
    if kind == "builtin":
        return draw(st.sampled_from(BUILTIN_EXCEPTIONS))
    if kind == "http":
        try:
            error = HTTPError(draw(STATUSES), draw(st.one_of(st.none(), hostile_text)),
                              headers=draw(st.one_of(st.none(), header_pairs)),
                              title=draw(st.one_of(st.none(), hostile_text)),
                              extra=draw(st.one_of(st.none(), st.dictionaries(
                                  hostile_text, hostile_value, max_size=3))))
        except Exception as exc:  # the constructor refused the junk: raise that instead
            return exc
        return error
    if kind == "custom":
        return draw(st.sampled_from([CustomBase("custom"), GeneratorExit(), StopIteration(),
                                     RecursionError("deep"), MemoryError()]))
    return draw(st.sampled_from([BrokenStr(), BrokenHTTPError(418, "teapot")]))


class Color(enum.Enum):
    RED = "red"
    WEIRD = float("nan")


@dataclasses.dataclass
class Point:
    x: Any
    y: Any


class FakeModel:
    model_fields: dict[str, Any] = {}

    def model_dump(self, **kwargs: Any) -> Any:
        raise RuntimeError("model_dump exploded")


def _cycle() -> list[Any]:
    value: list[Any] = []
    value.append(value)
    return value


def _deep(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth):
        value = [value]
    return value


DEEP = _deep(100_000)


def _generator() -> Iterator[int]:
    yield 1


def _weird_response(status: Any, headers: Any, body: Any, cookies: Any) -> Response:
    response = Response("ok")
    response.status = status
    if headers is not None:
        response.headers = headers
    response.body = body
    response.cookies = cookies
    return response


odd_values = st.sampled_from([
    float("nan"), float("inf"), decimal.Decimal("NaN"), decimal.Decimal("1e999999"),
    complex(1, 2), object(), Ellipsis, NotImplemented, type, len, lambda: None,
    b"\xff\xfe", bytearray(b"abc"), memoryview(b"xyz"), {1, 2}, frozenset(), (1, "a"),
    datetime.datetime(2026, 1, 1), uuid.UUID(int=0), Color.RED, Color.WEIRD, Point(1, [2]),
    Point(float("nan"), object()), FakeModel(), {(1, 2): "tuple key"}, {None: 1, 1.5: 2},
    10**5000, "\ud800", "é" * 1000, "x" * 7_000_000, b"\0" * 7_000_000,
    {"a": "\udfff"}, [float("-inf")],
])
returned_values = st.one_of(
    hostile_value, odd_values,
    st.builds(_cycle), st.just(DEEP),
    st.builds(_generator), st.builds(lambda: (i for i in range(3))),
    st.builds(_weird_response, STATUSES, st.one_of(st.none(), hostile_value),
              st.one_of(st.binary(max_size=20), hostile_value),
              st.one_of(st.lists(hostile_text, max_size=2), hostile_value)),
    st.builds(lambda k, v, c: Response("x", headers=[(k, v)], cookies=c), hostile_text,
              hostile_text, st.lists(hostile_text, max_size=2)),
    st.builds(lambda b, t: Response(b, media_type=t), st.binary(max_size=3000),
              st.sampled_from(["image/png", "text/plain", "application/json", "x/y"])),
)


def _recurse(n: int = 0) -> Any:
    return _recurse(n + 1) + 1


@st.composite
def behaviours(draw: st.DrawFn) -> tuple[str, Callable[[], Any]]:
    """A handler body: what it does when called, and a name for the expected outcome."""
    kind = draw(st.sampled_from(["raise"] * 5 + ["return"] * 5 + ["recurse", "generator-fn",
                                                                 "slow"]))
    if kind == "slow":
        kind = draw(st.sampled_from(["slow", "slow-swallow", "slow-busy"]))
    if kind == "raise":
        exc = draw(exceptions())

        def raiser() -> Any:
            raise exc

        return kind, raiser
    if kind == "return":
        value = draw(returned_values)
        return kind, lambda: value
    if kind == "recurse":
        return kind, _recurse
    if kind == "generator-fn":
        return kind, _generator
    return kind, _slow(kind)


def _slow(kind: str) -> Callable[[], Any]:
    import time

    def slow() -> Any:
        if kind == "slow-busy":
            while True:
                pass
        try:
            time.sleep(5)
        except BaseException:
            if kind != "slow-swallow":
                raise
        return "woke up"

    return slow


# -- checks -----------------------------------------------------------------------------------

def check_answer(fmt: str, answer: Any, *, debug: bool = False) -> None:
    """Everything the gateway requires of ``answer``, plus what lamroute promises."""
    problems = check_proxy_response(fmt, answer)
    assert problems == [], problems
    # Python 3.12+ runtimes send non-ASCII unescaped: the answer must encode as UTF-8.
    json.dumps(answer, ensure_ascii=False).encode("utf-8")
    body = answer.get("body") or ""
    if not answer.get("isBase64Encoded"):
        assert body.strip() != json.dumps(GATEWAY_ERROR)
        if not debug:
            assert "Traceback" not in body
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
