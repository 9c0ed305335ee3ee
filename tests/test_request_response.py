"""Request (lazy, payload-agnostic) and Response (what handlers may return), over every format."""

from __future__ import annotations

import base64
import dataclasses
import datetime
import enum
import uuid
from decimal import Decimal
from typing import Any

import pytest
from fixtures import load_event
from pydantic import BaseModel

from lamroute import App, Headers, QueryParams, Request, Response, ResponseError
from lamroute.formats import parse_event
from lamroute.http.request import EventReader
from lamroute.http.response import dump_json, to_response
from lamroute.testing import FORMATS, FakeContext, TestClient

STAGED = {"rest": "prod", "http-v1": "prod", "http": "prod"}


def client_for(app: App, fmt: str) -> TestClient:
    return TestClient(app, format=fmt, stage=STAGED.get(fmt))


# -- Request ---------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_request_attributes(fmt: str) -> None:
    app = App(access_log=False)
    seen: dict[str, Any] = {}

    @app.post("/things/{thing_id}")
    def handler(thing_id: str, request: Request, context: Any) -> None:
        seen.update(
            thing_id=thing_id, method=request.method, path=request.path,
            root_path=request.root_path, path_params=request.path_params,
            header=request.headers.get("x-custom"), query=request.query.getall("tag"),
            cookies=request.cookies, body=request.body, text=request.text, json=request.json(),
            stage=request.stage, request_id=request.request_id, source_ip=request.source_ip,
            user_agent=request.user_agent, authorizer=request.authorizer,
            event=request.event, context=context is request.context, format=request.format,
            route=request.route, content_type=request.content_type,
        )

    client = client_for(app, fmt)
    authorizer = None if fmt.startswith("alb") else {"principalId": "u1", "tenant": "acme"}
    response = client.post(
        "/things/t%201?tag=a&tag=b", headers={"X-Custom": "yes", "User-Agent": "tester/1"},
        cookies={"sid": "s1"}, json={"n": 1}, authorizer=authorizer,
        request_id="req-123", source_ip="192.0.2.9",
    )
    assert response.status_code == 204
    assert seen["thing_id"] == "t 1" and seen["path_params"] == {"thing_id": "t 1"}
    assert (seen["method"], seen["path"]) == ("POST", "/things/t 1")
    assert seen["root_path"] == ("/prod" if fmt in STAGED else "")
    assert seen["stage"] == ({"url": "$default"}.get(fmt) or STAGED.get(fmt))
    assert seen["header"] == "yes" and seen["user_agent"] == "tester/1"
    # Without multi-value mode ALB passes only the last value of a repeated key.
    assert seen["query"] == (["b"] if fmt == "alb" else ["a", "b"])
    assert seen["cookies"] == {"sid": "s1"}
    assert seen["body"] == b'{"n": 1}' and seen["text"] == '{"n": 1}'
    assert seen["json"] == {"n": 1}
    assert seen["content_type"] == "application/json"
    assert seen["format"] == ("alb" if fmt.startswith("alb") else fmt)
    assert seen["route"] == "/things/{thing_id}"
    assert seen["context"] is True
    assert seen["event"]["httpMethod" if fmt in ("rest", "http-v1", "alb", "alb-multi")
                         else "rawPath"]
    if fmt.startswith("alb"):
        assert seen["authorizer"] == {} and seen["request_id"].startswith("Root=1-")
        assert seen["source_ip"] == "192.0.2.9"
    else:
        assert seen["authorizer"] == {"principalId": "u1", "tenant": "acme"}
        assert (seen["request_id"], seen["source_ip"]) == ("req-123", "192.0.2.9")


class CountingReader:
    """An EventReader that counts how often each part is read."""

    def __init__(self) -> None:
        self.calls: dict[str, int] = {}

    def _count(self, name: str) -> None:
        self.calls[name] = self.calls.get(name, 0) + 1

    def headers(self, event: Any) -> Headers:
        self._count("headers")
        return Headers([("Cookie", "a=1"), ("User-Agent", "x")])

    def query(self, event: Any) -> QueryParams:
        self._count("query")
        return QueryParams([("q", "1")])

    def cookies(self, event: Any, headers: Headers) -> dict[str, str]:
        self._count("cookies")
        return {"a": "1"}

    def body(self, event: Any) -> bytes:
        self._count("body")
        return b'{"x": 1}'

    def source_ip(self, event: Any) -> str | None:
        return "1.2.3.4"

    def authorizer(self, event: Any) -> dict[str, Any]:
        return {}


def test_request_parses_lazily_and_once() -> None:
    reader = CountingReader()
    _: EventReader = reader
    event: dict[str, Any] = {"any": "thing"}
    request = Request(method="GET", path="/", root_path="", format="test", stage=None,
                      request_id=None, event=event, context=None, reader=reader)
    assert reader.calls == {}
    for _i in range(3):
        assert request.query["q"] == "1"
        assert request.json() == {"x": 1}
        assert request.cookies == {"a": "1"}
    assert reader.calls == {"query": 1, "body": 1, "cookies": 1, "headers": 1}
    assert request.event is event


@pytest.mark.parametrize("name", ["rest-proxy-get", "http-v2-default", "alb-multi"])
def test_malformed_parts_fail_only_when_read(name: str) -> None:
    event = load_event(name)
    event["headers"] = event["multiValueHeaders"] = ["not", "a", "mapping"]
    request = parse_event(event, None)  # routing fields are fine: no error yet
    assert request.path == "/items/42"
    with pytest.raises(Exception, match="must be an object"):
        _ = request.headers


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("body", ["{not json", "", "[1, 2", "\udcff"])
def test_invalid_json_is_a_400_problem(fmt: str, body: str) -> None:
    app = App(access_log=False)
    app.post("/j")(lambda request: request.json())
    response = client_for(app, fmt).post("/j", body=body.encode("utf-8", "surrogateescape")
                                         if body == "\udcff" else body)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 400 and problem["title"] == "Bad Request"
    assert "JSON" in problem["detail"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_bytes_body_is_base64_decoded(fmt: str) -> None:
    app = App(access_log=False)
    app.post("/b")(lambda request: Response(request.body[::-1], media_type="image/png"))
    response = client_for(app, fmt).post("/b", body=b"\x00\x01\xfe\xff")
    assert response.content == b"\xff\xfe\x01\x00"
    assert response.raw["isBase64Encoded"] is True


def test_request_repr_and_url_path() -> None:
    request = parse_event(load_event("rest-proxy-get"), FakeContext())
    assert repr(request) == "<Request GET /items/42 (rest)>"
    assert request.url_path == "/prod/items/42"


# -- what a handler may return -----------------------------------------------------------------


class Note(BaseModel):
    id: int
    text: str


@dataclasses.dataclass
class Point:
    x: int
    y: int


class Color(enum.Enum):
    RED = "red"


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    ("result", "status", "content_type", "body"),
    [
        ({"a": [1, 2]}, 200, "application/json", b'{"a":[1,2]}'),
        ([1, "two", None], 200, "application/json", b'[1,"two",null]'),
        (Note(id=1, text="hi"), 200, "application/json", b'{"id":1,"text":"hi"}'),
        (Point(1, 2), 200, "application/json", b'{"x":1,"y":2}'),
        ("héllo", 200, "text/plain; charset=utf-8", "héllo".encode()),
        (b"\x00\xff", 200, "application/octet-stream", b"\x00\xff"),
        (bytearray(b"ab"), 200, "application/octet-stream", b"ab"),
        (None, 204, None, b""),
        (Response("<p/>", 202, media_type="text/html"), 202, "text/html; charset=utf-8",
         b"<p/>"),
        ({"when": datetime.date(2024, 1, 2), "id": uuid.UUID(int=1), "n": Decimal("1.5"),
          "c": Color.RED, "s": (1,)}, 200, "application/json",
         b'{"when":"2024-01-02","id":"00000000-0000-0000-0000-000000000001","n":"1.5",'
         b'"c":"red","s":[1]}'),
    ],
)
def test_return_values(fmt: str, result: Any, status: int, content_type: str | None,
                       body: bytes) -> None:
    app = App(access_log=False)
    app.get("/r")(lambda: result)
    response = client_for(app, fmt).get("/r")
    assert response.status_code == status
    assert response.headers.get("content-type") == content_type
    assert response.content == body


@pytest.mark.parametrize("fmt", FORMATS)
def test_status_code_option_applies_to_return_values(fmt: str) -> None:
    app = App(access_log=False)
    app.post("/created", status_code=201)(lambda: {"id": 1})
    app.post("/accepted", status_code=202)(lambda: None)
    app.post("/explicit", status_code=201)(lambda: Response("x", 200))
    client = client_for(app, fmt)
    assert client.post("/created").status_code == 201
    assert (client.post("/accepted").status_code, client.post("/accepted").content) == (202, b"")
    assert client.post("/explicit").status_code == 200  # a Response keeps its own status


@pytest.mark.parametrize("fmt", FORMATS)
def test_response_headers_cookies_and_media_type(fmt: str) -> None:
    app = App(access_log=False)

    @app.get("/r")
    def handler() -> Response:
        response = Response.json({"ok": True}, 200, headers=[("X-A", "1"), ("X-A", "2")])
        response.set_cookie("session", "abc", max_age=60, http_only=True)
        response.set_cookie("theme", "dark", secure=False, same_site=None, domain="example.com")
        return response

    response = client_for(app, fmt).get("/r")
    assert response.json() == {"ok": True}
    assert response.headers["content-type"] == "application/json"
    if fmt == "alb":  # one value per header without multi-value mode: comma-joined
        assert response.headers.getall("x-a") == ["1, 2"]
        assert response.cookies == {"theme": "dark"}
    else:
        assert ", ".join(response.headers.getall("x-a")) == "1, 2"
        assert response.cookies == {"session": "abc", "theme": "dark"}
        assert "session=abc; Max-Age=60; Path=/; Secure; HttpOnly; SameSite=Lax" in (
            response.headers.getall("set-cookie"))


def test_response_constructor_rules() -> None:
    response = Response("hi", media_type="text/plain")
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert Response("x", headers={"content-type": "a/b"}, media_type="c/d").headers.getall(
        "Content-Type") == ["a/b"]
    assert Response(b"\x00").body == b"\x00" and Response().body == b""
    assert Response("plain").headers["content-type"] == "text/plain; charset=utf-8"
    assert "content-type" not in Response(b"raw").headers
    assert Response(None).headers.get("content-type") is None
    assert Response.redirect("/there").headers["location"] == "/there"
    assert Response.redirect("/there").status == 307
    assert Response.json([1], 201, media_type="application/vnd.x+json").headers[
        "content-type"] == "application/vnd.x+json"
    assert Response("é").text == "é"
    assert repr(Response("abc", 201)) == "<Response 201 3 bytes>"


def test_headers_multidict() -> None:
    headers = Headers([("A", "1"), ("a", "2"), ("B", "3")])
    assert headers["a"] == "1" and headers.getall("A") == ["1", "2"] and len(headers) == 2
    headers.set("a", "9")
    assert headers.getall("a") == ["9"]
    assert headers.setdefault("c", "4") == "4" and headers.setdefault("C", "5") == "4"
    headers.remove("b")
    headers.remove("missing")
    assert headers.multi_items() == [("a", "9"), ("c", "4")]
    assert "A" in headers and 1 not in headers
    query = QueryParams([("Q", "1")])
    assert "q" not in query and query["Q"] == "1"


def test_response_headers_support_item_assignment_and_deletion() -> None:
    headers = Headers([("Set-Cookie", "a=1"), ("set-cookie", "b=2"), ("X-Keep", "k")])
    headers["SET-COOKIE"] = "c=3"  # replaces every value of the name, whatever its case
    assert headers.getall("set-cookie") == ["c=3"]
    headers["X-New"] = "n"
    del headers["x-keep"]
    assert headers.multi_items() == [("SET-COOKIE", "c=3"), ("X-New", "n")]
    with pytest.raises(KeyError):
        del headers["x-keep"]
    headers.update({"x-new": "m"})
    assert headers.pop("X-NEW") == "m" and "x-new" not in headers
    assert QueryParams([("q", "1")]) == {"q": "1"}  # query parameters stay read-only
    assert not hasattr(QueryParams, "__setitem__")


@pytest.mark.parametrize("fmt", FORMATS)
def test_response_header_item_assignment_reaches_the_client(fmt: str) -> None:
    app = App(access_log=False)

    @app.middleware
    def stamp(request: Request, call_next: Any) -> Response:
        response: Response = call_next(request)
        response.headers["X-Handled-By"] = "lamroute"
        del response.headers["X-Internal"]
        return response

    @app.get("/r")
    def handler() -> Response:
        response = Response("ok", headers=[("X-Tag", "a"), ("X-Tag", "b"), ("X-Internal", "1")])
        response.headers["x-tag"] = "c"
        return response

    response = client_for(app, fmt).get("/r")
    assert response.headers.getall("x-tag") == ["c"]
    assert response.headers["x-handled-by"] == "lamroute"
    assert "x-internal" not in response.headers


@pytest.mark.parametrize("fmt", FORMATS)
def test_request_state_is_an_attribute_namespace(fmt: str) -> None:
    app = App(access_log=False)

    @app.middleware
    def who(request: Request, call_next: Any) -> Response:
        assert "user" not in request.state  # a fresh namespace per request
        request.state.user = request.headers.get("x-user", "anonymous")
        return call_next(request)  # type: ignore[no-any-return]

    @app.get("/me")
    def me(request: Request) -> dict[str, Any]:
        request.state.seen = True
        return {"user": request.state.user, "tenant": request.state.get("tenant"),
                "repr": repr(request.state)}

    @app.get("/missing")
    def missing(request: Request) -> str:
        return str(request.state.tenant)

    client = client_for(app, fmt)
    assert client.get("/me", headers={"X-User": "ann"}).json() == {
        "user": "ann", "tenant": None, "repr": "State(user='ann', seen=True)"}
    assert client.get("/me").json()["user"] == "anonymous"
    assert client.get("/missing").status_code == 500  # AttributeError: a handler bug


def test_request_state_missing_attribute_names_it() -> None:
    request = parse_event(load_event("rest-proxy-get"), None)
    with pytest.raises(AttributeError, match="'tenant'"):
        _ = request.state.tenant
    request.state.tenant = "acme"
    assert request.state.tenant == "acme" and request.state is request.state


def test_dump_json_and_to_response_errors() -> None:
    for bad in ({"x": float("nan")}, {"x": object()}, {(1, 2): 1}, {"s": "\ud800"}):
        with pytest.raises(ResponseError):
            dump_json(bad)
    circular: list[Any] = []
    circular.append(circular)
    with pytest.raises(ResponseError):
        dump_json(circular)
    with pytest.raises(ResponseError):
        to_response(object(), 200)
    with pytest.raises(ResponseError):
        to_response(3.5, 200)


def test_base64_round_trip_of_large_binary() -> None:
    app = App(access_log=False)
    data = bytes(range(256)) * 1000
    app.get("/blob")(lambda: data)
    response = TestClient(app, format="http").get("/blob")
    assert response.content == data
    assert base64.b64decode(response.raw["body"]) == data


# -- cookies: encoded values, checked names and attributes ------------------------------------


def set_cookie_lines(fmt: str, raw: dict[str, Any]) -> list[str]:
    """The ``Set-Cookie`` lines of a proxy answer, from where each format must carry them."""
    headers, multi = raw.get("headers") or {}, raw.get("multiValueHeaders") or {}
    if fmt in ("http", "url"):  # payload 2.0: the `cookies` list, never a header
        assert not any(k.lower() == "set-cookie" for k in (*headers, *multi))
        return list(raw.get("cookies", []))
    assert "cookies" not in raw
    if fmt == "alb-multi":
        assert "headers" not in raw
        return list(multi.get("Set-Cookie", []))
    if fmt == "alb":
        assert "multiValueHeaders" not in raw
        return [headers["Set-Cookie"]] if "Set-Cookie" in headers else []
    # 1.0: a single cookie in `headers`, several in `multiValueHeaders` (never both)
    assert not ("Set-Cookie" in headers and "Set-Cookie" in multi)
    return [headers["Set-Cookie"]] if "Set-Cookie" in headers else list(multi.get("Set-Cookie", []))


def browser_view(line: str) -> tuple[str, str, dict[str, str]]:
    """(name, value, attributes) as a user agent parses a Set-Cookie line (RFC 6265 5.2)."""
    pair, *attributes = line.split(";")
    name, _, value = pair.partition("=")
    parsed = {}
    for attribute in attributes:
        key, _, content = attribute.strip().partition("=")
        parsed[key.lower()] = content
    return name.strip(), value.strip(), parsed


def cookie_app(**cookie: Any) -> App:
    app = App(access_log=False)

    @app.get("/set/{value}")
    def set_value(value: str) -> Response:
        response = Response("ok")
        response.set_cookie("lang", value, **cookie)
        return response

    @app.get("/read")
    def read(request: Request) -> dict[str, str]:
        return request.cookies

    return app


@pytest.mark.parametrize("fmt", FORMATS)
def test_set_cookie_value_cannot_inject_a_domain_attribute(fmt: str) -> None:
    client = client_for(cookie_app(), fmt)
    response = client.get("/set/x;%20Domain=evil.example")
    (line,) = set_cookie_lines(fmt, response.raw)
    name, value, attributes = browser_view(line)
    assert (name, value) == ("lang", "x%3B%20Domain=evil.example")
    assert attributes == {"path": "/", "secure": "", "samesite": "Lax"}  # no Domain
    # The browser sends the value back as it got it; request.cookies decodes it.
    assert client.get("/read", cookies={"lang": value}).json() == {
        "lang": "x; Domain=evil.example"}


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("payload", [
    "a,b", "a b", "a\tb", 'a"b', "a\\b", "a\r\nSet-Cookie: evil=1", "a\x00b", "a\x7fb", "é→✓",
    "100%", "%3B", "a=b=c", "", "; Secure; HttpOnly", "a\u2028b",
])
def test_set_cookie_values_are_percent_encoded_and_round_trip(fmt: str, payload: str) -> None:
    app = App(access_log=False)

    @app.get("/set")
    def set_value() -> Response:
        response = Response("ok")
        response.set_cookie("c", payload, secure=False, same_site=None, path="")
        return response

    app.get("/read")(lambda request: request.cookies)
    client = client_for(app, fmt)
    (line,) = set_cookie_lines(fmt, client.get("/set").raw)
    name, value, attributes = browser_view(line)
    assert name == "c" and attributes == {}
    # RFC 6265 cookie-octets only (and "%" only as an escape)
    assert all(ch not in value for ch in ' ",;\\\t\r\n\x00\x7f') and value.isascii()
    assert client.get("/read", cookies={"c": value}).json() == {"c": payload}


@pytest.mark.parametrize("name", ["", "a b", "a;b", "a=b", "a,b", 'a"b', "é", "a\r\nb", "a/b",
                                  "(a)", "a\tb"])
def test_set_cookie_refuses_a_name_that_is_not_a_token(name: str) -> None:
    with pytest.raises(ValueError, match="not an RFC 6265 token"):
        Response().set_cookie(name, "v")


@pytest.mark.parametrize("options", [
    {"path": "/; Domain=evil.example"}, {"path": "/a\r\nb"}, {"path": "relative"},
    {"path": "/é"}, {"domain": "example.com; HttpOnly"}, {"domain": "evil example"},
    {"domain": "example.com\r\n"}, {"domain": "a..b"}, {"same_site": "Lax; Domain=evil.example"},
    {"same_site": "sometimes"}, {"same_site": "None", "secure": False},
    {"max_age": "60; Domain=evil.example"}, {"max_age": 1.5}, {"max_age": True},
    {"expires": "Thu, 01 Jan 1970 00:00:00 GMT; Domain=evil.example"},
])
def test_set_cookie_attributes_cannot_inject(options: dict[str, Any]) -> None:
    response = Response()
    with pytest.raises((ValueError, TypeError), match="Cookie 'lang'"):
        response.set_cookie("lang", "v", **options)
    assert response.cookies == []


def test_set_cookie_attribute_forms() -> None:
    response = Response()
    response.set_cookie("a", "1", domain=".example.com", path="/app", same_site="strict",
                        http_only=True, max_age=-1)
    response.set_cookie("b", "2", same_site="none")
    assert response.cookies == [
        "a=1; Max-Age=-1; Path=/app; Domain=.example.com; Secure; HttpOnly; SameSite=Strict",
        "b=2; Path=/; Secure; SameSite=None"]


@pytest.mark.parametrize(("name", "options"), [
    ("__Host-sid", {"domain": "example.com"}), ("__Host-sid", {"path": "/app"}),
    ("__Host-sid", {"secure": False}), ("__Secure-sid", {"secure": False}),
])
def test_set_cookie_refuses_prefixed_cookies_browsers_would_drop(name: str,
                                                                 options: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=name):
        Response().set_cookie(name, "v", **options)


@pytest.mark.parametrize(("name", "options"), [
    ("__host-id", {"path": "/a"}), ("__HOST-id", {"domain": "example.com"}),
    ("__hOsT-id", {"secure": False}), ("__secure-id", {"secure": False}),
    ("__SECURE-id", {"secure": False}),
])
def test_set_cookie_prefix_checks_are_case_insensitive(name: str,
                                                       options: dict[str, Any]) -> None:
    """Browsers match ``__Host-``/``__Secure-`` case-insensitively (RFC 6265bis storage model),
    so ``__host-id`` with ``Path=/a`` is dropped like ``__Host-id`` would be."""
    with pytest.raises(ValueError, match=r"a __(Host|Secure)- cookie needs"):
        Response().set_cookie(name, "x", **options)
    if "secure" not in options:  # deleting one must meet the same rules to reach the browser
        with pytest.raises(ValueError, match="a __Host- cookie needs"):
            Response().delete_cookie(name, **options)


def test_set_cookie_expires_is_an_imf_fixdate(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    monkeypatch.setattr(time, "time", lambda: 1_445_412_480.0)  # Wed, 21 Oct 2015 07:28:00 GMT
    response = Response()
    response.set_cookie("a", "1", expires=3600, secure=False, same_site=None)
    response.set_cookie("b", "1", expires=90.5, secure=False, same_site=None)
    paris = datetime.timezone(datetime.timedelta(hours=2))
    response.set_cookie("c", "1", expires=datetime.datetime(2030, 1, 2, 5, 4, 5, tzinfo=paris),
                        secure=False, same_site=None)
    response.set_cookie("d", "1", expires=datetime.datetime(2030, 1, 2, 3, 4, 5),  # naive: UTC
                        secure=False, same_site=None)
    assert response.cookies == [
        "a=1; Expires=Wed, 21 Oct 2015 08:28:00 GMT; Path=/",
        "b=1; Expires=Wed, 21 Oct 2015 07:29:30 GMT; Path=/",
        "c=1; Expires=Wed, 02 Jan 2030 03:04:05 GMT; Path=/",
        "d=1; Expires=Wed, 02 Jan 2030 03:04:05 GMT; Path=/"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_delete_cookie_in_every_format(fmt: str) -> None:
    app = App(access_log=False)

    @app.get("/logout")
    def logout() -> Response:
        response = Response("bye")
        response.delete_cookie("session", path="/app", domain="example.com")
        response.delete_cookie("theme")
        return response

    lines = set_cookie_lines(fmt, client_for(app, fmt).get("/logout").raw)
    expected = [
        "session=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/app; "
        "Domain=example.com; Secure; SameSite=Lax",
        "theme=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/; Secure; SameSite=Lax",
    ]
    # ALB without multi-value headers carries one value per header: only the last cookie.
    assert lines == (expected[-1:] if fmt == "alb" else expected)


@pytest.mark.parametrize("fmt", FORMATS)
def test_request_cookies_are_percent_decoded(fmt: str) -> None:
    client = client_for(cookie_app(), fmt)
    response = client.get("/read", cookies={"a": "x%3B%20y", "b": "%E2%9C%93", "c": "50%",
                                            "d": "plain"})
    assert response.json() == {"a": "x; y", "b": "✓", "c": "50%", "d": "plain"}


@pytest.mark.parametrize("fmt", ["rest", "http", "alb"])
def test_a_json_answer_s_headers_read_and_change_like_any_other(fmt: str) -> None:
    """A handler's dict becomes a JSON answer whose headers are made when first read: a
    middleware that reads, adds, replaces or copies them sees and sends the usual headers."""
    app = App(access_log=False)
    copies: list[Response] = []

    @app.middleware
    def decorate(request: Any, call_next: Any) -> Response:
        response: Response = call_next(request)
        if request.path == "/added":
            assert response.headers["content-type"] == "application/json"
            response.headers["X-Trace"] = "t-1"
        elif request.path == "/replaced":
            response.headers = Headers([("Content-Type", "application/json"), ("X-New", "2")])
        elif request.path == "/copied":
            twin = response.copy()
            twin.headers["X-Twin"] = "1"
            copies.append(response)
            return twin
        return response

    for path in ("/added", "/replaced", "/copied", "/plain"):
        app.get(path)(lambda: {"ok": True})
    client = TestClient(app, format=fmt)
    added = client.get("/added")
    assert (added.headers["content-type"], added.headers["x-trace"]) == ("application/json",
                                                                        "t-1")
    replaced = client.get("/replaced")
    assert replaced.headers["x-new"] == "2" and replaced.json() == {"ok": True}
    copied = client.get("/copied")
    assert copied.headers["x-twin"] == "1" and "x-twin" not in copies[0].headers
    plain = client.get("/plain")
    assert plain.headers["content-type"] == "application/json" and plain.json() == {"ok": True}
