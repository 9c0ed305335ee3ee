"""Payload formats: detection, the path the app sees, request parts and rendering, per format."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from fixtures import NAMES, load_event
from hypothesis import given, settings
from hypothesis import strategies as st

from lamroute import App, Request, Response
from lamroute.formats import BY_NAME, detect, parse_event
from lamroute.testing import FORMATS, FakeContext, TestClient, check_proxy_response, make_event

# fixture -> (format, method, app path, root_path, stage)
EXPECTED = {
    "rest-proxy-get": ("rest", "GET", "/items/42", "/prod", "prod"),
    "rest-custom-domain": ("rest", "GET", "/items/42", "/v1", "prod"),
    "rest-root-base64": ("rest", "POST", "/", "/prod", "prod"),
    "rest-authorizer": ("rest", "GET", "/files/my report.pdf", "/prod", "prod"),
    "rest-encoded-slash": ("rest", "GET", "/users/a/b c", "/v1", "prod"),
    "http-v1-named-stage": ("http-v1", "GET", "/items/42", "/dev", "dev"),
    "http-v2-default": ("http", "POST", "/items/42", "", "$default"),
    "http-v2-named-stage": ("http", "GET", "/items/42", "/dev", "dev"),
    "http-v2-proxy-route": ("http", "GET", "/items/42", "/dev", "dev"),
    "url-encoded-path": ("url", "GET", "/files/my report.pdf", "", "$default"),
    "alb-single": ("alb", "GET", "/items/42", "", None),
    "alb-multi": ("alb", "GET", "/items/42", "", None),
}
# The rules the gateway applies to the answer (the factory's names: ALB modes differ).
RULES = {name: "alb-multi" if name == "alb-multi" else fmt for name, (fmt, *_) in EXPECTED.items()}


def test_every_fixture_has_an_expectation() -> None:
    assert sorted(EXPECTED) == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_fixture_detection_path_root_path_and_stage(name: str) -> None:
    fmt, method, path, root_path, stage = EXPECTED[name]
    event = load_event(name)
    request = parse_event(event, None)
    assert detect(event).name == fmt
    assert (request.format, request.method, request.path) == (fmt, method, path)
    assert (request.root_path, request.stage) == (root_path, stage)
    assert request.event is event  # never copied


def _echo_app(**options: Any) -> App:
    app = App(access_log=False, **options)

    @app.route("/items/{item_id}", methods=["GET", "POST"])
    def item(item_id: str, request: Request) -> dict[str, Any]:
        return {"id": item_id, "url": request.url_path, "root": request.root_path}

    @app.route("/files/{name}", methods=["GET"])
    def file(name: str) -> dict[str, str]:
        return {"name": name}

    @app.get("/users/{user_id}")
    def user(user_id: str, request: Request) -> dict[str, Any]:
        return {"user": user_id, "path": request.path}

    @app.post("/")
    def root(request: Request) -> dict[str, Any]:
        return {"body": request.json()}

    return app


@pytest.mark.parametrize("name", NAMES)
def test_fixture_round_trip_through_the_app(name: str) -> None:
    _, _, path, root_path, _ = EXPECTED[name]
    payload = _echo_app()(load_event(name), FakeContext())
    assert check_proxy_response(RULES[name], payload) == []
    assert payload["statusCode"] == 200
    body = json.loads(payload["body"])
    if path.startswith("/items"):
        assert body == {"id": "42", "url": root_path + "/items/42", "root": root_path}
    elif path.startswith("/files"):
        assert body == {"name": "my report.pdf"}
    elif path.startswith("/users"):  # the encoded slash is data inside one segment
        assert body == {"user": "a/b c", "path": "/users/a/b c"}
    else:
        assert body == {"body": {"test": "body"}}


# -- path rules --------------------------------------------------------------------------------


def test_rest_path_excludes_stage_root_path_has_it() -> None:
    request = parse_event(load_event("rest-proxy-get"), None)
    assert (request.path, request.root_path, request.url_path) == (
        "/items/42", "/prod", "/prod/items/42")


def test_rest_custom_domain_base_path() -> None:
    event = load_event("rest-custom-domain")
    request = parse_event(event, None)
    assert (request.path, request.root_path) == ("/items/42", "/v1")
    event["path"] = "/items/42"  # a custom domain mapped at its root: no prefix at all
    assert parse_event(event, None).root_path == ""


def test_rest_without_resource_keeps_whole_path() -> None:
    event = load_event("rest-proxy-get")
    del event["resource"], event["pathParameters"]
    request = parse_event(event, None)
    assert (request.path, request.root_path) == ("/items/42", "/prod")


def test_http_api_named_stage_vs_default() -> None:
    named = parse_event(load_event("http-v2-named-stage"), None)
    default = parse_event(load_event("http-v2-default"), None)
    assert (named.path, named.root_path) == ("/items/42", "/dev")
    assert (default.path, default.root_path) == ("/items/42", "")


def test_http_api_path_that_merely_starts_like_the_stage_is_kept() -> None:
    event = load_event("http-v2-named-stage")
    event["rawPath"] = "/devices/1"
    request = parse_event(event, None)
    assert (request.path, request.root_path) == ("/devices/1", "")


def test_http_api_v1_named_stage_without_resource_is_still_stripped() -> None:
    event = load_event("http-v1-named-stage")
    event["resource"] = "$default"
    event["pathParameters"] = None
    request = parse_event(event, None)
    assert (request.path, request.root_path) == ("/items/42", "/dev")


def test_http_api_proxy_route_key_gives_prefix() -> None:
    event = load_event("http-v2-proxy-route")
    event["rawPath"] = "/dev/v1/items/42"  # a mapping or stage prefix, known from the route
    request = parse_event(event, None)
    assert (request.path, request.root_path) == ("/items/42", "/dev/v1")


def test_function_url_path_is_percent_decoded() -> None:
    request = parse_event(load_event("url-encoded-path"), None)
    assert request.path == "/files/my report.pdf"
    assert _echo_app()(load_event("url-encoded-path"), None)["body"] == (
        '{"name":"my report.pdf"}')


def test_http_api_path_arrives_decoded_and_is_not_decoded_twice() -> None:
    event = load_event("http-v2-default")
    event["rawPath"] = "/files/100%"  # HTTP APIs decode the path; a literal % stays
    assert parse_event(event, None).path == "/files/100%"


def test_alb_path_is_percent_decoded() -> None:
    event = load_event("alb-single")
    event["path"] = "/files/a%2Bb%20c"
    assert parse_event(event, None).path == "/files/a+b c"


@pytest.mark.parametrize("fmt", FORMATS)
def test_strip_prefixes(fmt: str) -> None:
    app = _echo_app(strip_prefixes=["/v1/", "/api"])
    client = TestClient(app, format=fmt)
    body = client.get("/v1/items/42").json()
    assert body["id"] == "42"
    assert body["root"].endswith("/v1")
    assert body["url"].endswith("/v1/items/42")
    assert client.get("/api/items/7").json()["id"] == "7"
    assert client.get("/v10/items/42").status_code == 404  # only whole segments


@pytest.mark.parametrize("fmt", ["rest", "http-v1", "http"])
def test_stage_and_root_path_from_factory_events(fmt: str) -> None:
    request = parse_event(make_event(fmt, "GET", "/a/b", stage="staging"), None)
    assert (request.path, request.root_path, request.stage) == ("/a/b", "/staging", "staging")


@pytest.mark.parametrize("fmt", ["rest", "http-v1"])
def test_custom_domain_base_path_from_factory_events(fmt: str) -> None:
    event = make_event(fmt, "GET", "/a/b", domain_name="api.example.com", base_path="/v2")
    request = parse_event(event, None)
    assert (request.path, request.root_path) == ("/a/b", "/v2")


def test_path_without_leading_slash_is_normalised() -> None:
    event = load_event("alb-single")
    event["path"] = "items/42"
    request = parse_event(event, None)
    assert request.path == "/items/42"


# -- headers, query, cookies, bodies -------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "values"),
    [
        ("rest-proxy-get", ["red", "blue"]),
        ("alb-multi", ["red", "blue"]),
        ("http-v1-named-stage", None),
    ],
)
def test_headers_are_case_insensitive_and_multi_valued(name: str, values: Any) -> None:
    request = parse_event(load_event(name), None)
    if values is not None:
        assert request.headers.getall("x-tag") == values
        assert request.headers["X-TAG"] == values[0]
    else:
        assert request.headers.getall("Header2") == ["value1", "value2"]
    assert request.headers.get("missing") is None
    assert request.headers.getall("missing") == []


def test_v2_headers_arrive_comma_joined() -> None:
    request = parse_event(load_event("http-v2-default"), None)
    assert request.headers.getall("HEADER2") == ["value1,value2"]


@pytest.mark.parametrize(
    ("name", "key", "values"),
    [
        ("rest-proxy-get", "tag", ["a", "b"]),
        ("rest-proxy-get", "q", ["hello world"]),
        ("http-v1-named-stage", "parameter1", ["value1", "value2"]),
        ("http-v2-default", "parameter1", ["value1", "value2"]),  # from rawQueryString
        ("http-v2-default", "parameter2", ["a b"]),
        ("url-encoded-path", "q", ["a b", "c"]),
        ("alb-single", "q", ["hello world"]),  # ALB does not decode; lamroute does
        ("alb-multi", "tag", ["a", "b"]),
        ("alb-multi", "q", ["hello world"]),
    ],
)
def test_query_is_decoded_and_multi_valued(name: str, key: str, values: list[str]) -> None:
    query = parse_event(load_event(name), None).query
    assert query.getall(key) == values
    assert query.get(key) == values[0]
    assert query.get("absent", "d") == "d"


def test_v2_without_raw_query_string_falls_back_to_parameters() -> None:
    event = load_event("http-v2-default")
    del event["rawQueryString"]
    assert parse_event(event, None).query.getall("parameter2") == ["a b"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_query_round_trip_from_factory(fmt: str) -> None:
    event = make_event(fmt, "GET", "/", query=[("a", "1 2"), ("a", "x&y"), ("b", "é")])
    query = parse_event(event, None).query
    # Without multi-value mode ALB passes only the last value of a repeated key.
    expected = ["x&y"] if fmt == "alb" else ["1 2", "x&y"]
    assert query.getall("a") == expected
    assert query.get("b") == "é"


@pytest.mark.parametrize("name", NAMES)
def test_cookies(name: str) -> None:
    cookies = parse_event(load_event(name), None).cookies
    assert cookies["session"] == "abc123"


def test_v2_cookies_come_from_the_cookies_list() -> None:
    event = load_event("http-v2-default")
    event["headers"]["cookie"] = "ignored=1"
    assert parse_event(event, None).cookies == {"session": "abc123", "theme": "dark"}


@pytest.mark.parametrize("fmt", FORMATS)
def test_cookies_from_factory(fmt: str) -> None:
    event = make_event(fmt, "GET", "/", cookies={"a": "1", "b": "two"})
    assert parse_event(event, None).cookies == {"a": "1", "b": "two"}


@pytest.mark.parametrize(
    ("name", "body"),
    [
        ("rest-root-base64", b'{"test":"body"}'),
        ("http-v2-default", b'{"name":"widget"}'),
        ("http-v1-named-stage", b"Hello from Lambda!"),
        ("alb-single", b""),
    ],
)
def test_bodies(name: str, body: bytes) -> None:
    request = parse_event(load_event(name), None)
    assert request.body == body
    assert request.text == body.decode()


@pytest.mark.parametrize("fmt", FORMATS)
def test_binary_body_from_factory(fmt: str) -> None:
    data = bytes(range(256))
    assert parse_event(make_event(fmt, "POST", "/", body=data), None).body == data


def test_authorizer_contexts() -> None:
    rest = parse_event(load_event("rest-authorizer"), None).authorizer
    assert rest["principalId"] == "user-7" and rest["admin"] is True and rest["quota"] == 5
    jwt = parse_event(load_event("http-v2-proxy-route"), None).authorizer
    assert jwt["jwt"]["claims"]["sub"] == "user-7"
    iam = parse_event(load_event("url-encoded-path"), None).authorizer
    assert iam["iam"]["accountId"] == "111122223333"
    assert parse_event(load_event("alb-single"), None).authorizer == {}
    assert parse_event(load_event("rest-proxy-get"), None).authorizer == {}


@pytest.mark.parametrize(
    ("name", "ip", "agent", "request_id"),
    [
        ("rest-proxy-get", "198.51.100.10", "Mozilla/5.0 (X11; Linux x86_64)",
         "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"),
        ("http-v1-named-stage", "192.0.2.1", "curl/8.5.0", "id="),
        ("http-v2-default", "192.0.2.1", "curl/8.5.0", "JKJaXmPLvHcESHA="),
        ("url-encoded-path", "203.0.113.4", "curl/8.5.0", "c9b8a7d6-0000-4000-8000-000000000001"),
        ("alb-single", "72.12.164.125", "Mozilla/5.0 (X11; Linux x86_64)",
         "Root=1-5c536348-3d683b8b04734faae651f476"),
    ],
)
def test_source_ip_user_agent_request_id(name: str, ip: str, agent: str, request_id: str) -> None:
    request = parse_event(load_event(name), None)
    assert (request.source_ip, request.user_agent, request.request_id) == (ip, agent, request_id)


# -- rendering ---------------------------------------------------------------------------------


def _rendered(name: str, response: Response) -> dict[str, Any]:
    event = load_event(name)
    fmt = detect(event)
    payload = fmt.render(response, fmt.parse(event, None))
    assert check_proxy_response(RULES[name], payload) == []
    return payload


def _multi_response() -> Response:
    response = Response("ok", headers=[("X-One", "1"), ("Vary", "Accept"), ("vary", "Origin")],
                        media_type="text/plain")
    response.set_cookie("a", "1")
    response.set_cookie("b", "2", http_only=True)
    return response


@pytest.mark.parametrize("name", ["rest-proxy-get", "http-v1-named-stage"])
def test_v1_render_headers_and_multi_value_headers(name: str) -> None:
    payload = _rendered(name, _multi_response())
    headers, multi = payload["headers"], payload["multiValueHeaders"]
    assert headers["X-One"] == "1"
    assert headers["Content-Type"] == "text/plain; charset=utf-8"
    assert multi["Vary"] == ["Accept", "Origin"]
    assert multi["Set-Cookie"] == ["a=1; Path=/; Secure; SameSite=Lax",
                                   "b=2; Path=/; Secure; HttpOnly; SameSite=Lax"]
    lowered = [n.lower() for n in headers] + [n.lower() for n in multi]
    assert len(lowered) == len(set(lowered))  # each header in exactly one map
    assert payload["body"] == "ok" and payload["isBase64Encoded"] is False


def test_v1_single_set_cookie_stays_a_header() -> None:
    response = Response("x")
    response.set_cookie("only", "1", secure=False, same_site=None)
    payload = _rendered("rest-proxy-get", response)
    assert payload["headers"]["Set-Cookie"] == "only=1; Path=/"
    assert "multiValueHeaders" not in payload


def test_v1_set_cookie_header_and_cookies_merge() -> None:
    response = Response("x", headers=[("set-cookie", "h=1")])
    response.set_cookie("c", "2")
    payload = _rendered("rest-proxy-get", response)
    assert payload["multiValueHeaders"]["set-cookie"] == [
        "h=1", "c=2; Path=/; Secure; SameSite=Lax"]
    assert "Set-Cookie" not in payload["headers"] and "set-cookie" not in payload["headers"]


@pytest.mark.parametrize("name", ["http-v2-default", "url-encoded-path"])
def test_v2_render_cookies_and_joined_headers(name: str) -> None:
    payload = _rendered(name, _multi_response())
    assert payload["cookies"] == ["a=1; Path=/; Secure; SameSite=Lax",
                                  "b=2; Path=/; Secure; HttpOnly; SameSite=Lax"]
    assert payload["headers"]["Vary"] == "Accept, Origin"
    assert "set-cookie" not in {n.lower() for n in payload["headers"]}
    assert "multiValueHeaders" not in payload


def test_v2_render_without_cookies_has_no_cookies_key() -> None:
    assert "cookies" not in _rendered("http-v2-default", Response("x"))


def test_alb_single_render() -> None:
    payload = _rendered("alb-single", _multi_response())
    assert payload["statusDescription"] == "200 OK"
    assert "multiValueHeaders" not in payload
    assert payload["headers"]["Vary"] == "Accept, Origin"
    assert payload["headers"]["Set-Cookie"].startswith("b=2")  # one value per header here


def test_alb_multi_render() -> None:
    payload = _rendered("alb-multi", _multi_response())
    assert "headers" not in payload
    assert payload["multiValueHeaders"]["Vary"] == ["Accept", "Origin"]
    assert len(payload["multiValueHeaders"]["Set-Cookie"]) == 2


@pytest.mark.parametrize("status", [201, 404, 418, 503, 599])
def test_alb_status_description(status: int) -> None:
    payload = _rendered("alb-single", Response(None, status))
    assert payload["statusDescription"].startswith(f"{status} ")
    assert payload["statusCode"] == status


@pytest.mark.parametrize("name", NAMES)
def test_binary_body_is_base64(name: str) -> None:
    data = b"\x89PNG\r\n\x1a\n\x00\xff"
    payload = _rendered(name, Response(data, media_type="image/png"))
    assert payload["isBase64Encoded"] is True
    assert base64.b64decode(payload["body"]) == data


@pytest.mark.parametrize("name", NAMES)
def test_text_bodies_are_not_base64(name: str) -> None:
    payload = _rendered(name, Response.json({"x": "é"}))
    assert (payload["body"], payload["isBase64Encoded"]) == ('{"x":"é"}', False)


@pytest.mark.parametrize("name", NAMES)
def test_compressed_text_is_base64(name: str) -> None:
    response = Response(b"\x1f\x8b\x08\x00", headers={"Content-Encoding": "gzip"},
                        media_type="application/json")
    assert _rendered(name, response)["isBase64Encoded"] is True


@pytest.mark.parametrize("name", NAMES)
def test_empty_body(name: str) -> None:
    payload = _rendered(name, Response(None, 204))
    assert (payload["statusCode"], payload["body"], payload["isBase64Encoded"]) == (204, "", False)


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_registered_and_client_answers(fmt: str) -> None:
    app = App(access_log=False)
    app.get("/x")(lambda: {"ok": True})
    assert TestClient(app, format=fmt).get("/x").json() == {"ok": True}
    assert {"rest", "http-v1", "http", "url", "alb"} <= set(BY_NAME)


# -- required keys: an event without what its format always carries is refused, not served -------

# The keys every event of a format carries (AWS docs of each format); the fixture they are
# deleted from keeps everything else, so the detected format is unchanged.
REQUIRED = {
    "rest-proxy-get": [("path",), ("requestContext",), ("httpMethod",)],
    "http-v1-named-stage": [("path",), ("requestContext",), ("httpMethod",)],
    "http-v2-default": [("rawPath",), ("requestContext", "http", "method")],
    "url-encoded-path": [("rawPath",), ("requestContext", "http", "method")],
    "alb-single": [("path",), ("httpMethod",)],
    "alb-multi": [("path",), ("httpMethod",)],
}


def _served_anything() -> App:
    app = App(access_log=False)
    app.route("/", methods=["GET", "POST"])(lambda: "root")
    app.route("/{p+}", methods=["GET", "POST"])(lambda p: p)
    return app


@pytest.mark.parametrize(("name", "key"), [(n, k) for n, keys in REQUIRED.items() for k in keys],
                         ids=str)
def test_event_missing_a_required_key_is_a_400(name: str, key: tuple[str, ...]) -> None:
    event = load_event(name)
    assert _served_anything()(event, FakeContext())["statusCode"] == 200  # whole, it is served
    parent = event
    for part in key[:-1]:
        parent = parent[part]
    del parent[key[-1]]
    payload = _served_anything()(event, FakeContext())
    assert check_proxy_response(RULES[name], payload) == []
    assert payload["statusCode"] == 400
    detail = json.loads(payload["body"])["detail"]
    assert key[-1] in detail or "not an API Gateway" in detail  # (httpMethod: no format left)


@pytest.mark.parametrize("event", [
    {"httpMethod": "GET"},
    {"httpMethod": "GET", "path": "/"},
    {"httpMethod": "GET", "requestContext": {"stage": "prod"}},
    {"version": "1.0", "httpMethod": "GET", "path": "/"},
    {"version": "2.0", "requestContext": {"http": {"method": "GET"}}},
    {"version": "2.0", "rawPath": "/", "requestContext": {"domainName": "x.lambda-url.a.on.aws"}},
    {"httpMethod": "GET", "requestContext": {"elb": {"targetGroupArn": "arn"}}},
    {"requestContext": {"connectionId": "abc=", "eventType": "MESSAGE"}},
], ids=repr)
def test_events_that_are_not_proxy_events_are_not_served(event: dict[str, Any]) -> None:
    app = _served_anything()
    app.websocket("$default")(lambda: "ws")
    payload = app(event, FakeContext())
    assert payload["statusCode"] == 400
    assert json.loads(payload["body"])["title"] == "Bad Request"


@pytest.mark.parametrize("fmt", FORMATS)
def test_factory_events_carry_every_required_key(fmt: str) -> None:
    for path in ("/", "/a%2Fb/c"):
        assert _served_anything()(make_event(fmt, "GET", path), FakeContext())["statusCode"] == 200


@settings(max_examples=200, deadline=None)
@given(status=st.sampled_from([200, 201, 204, 301, 404, 418, 500, 599]),
       media=st.sampled_from(["application/json", "application/problem+json", "text/plain",
                              "text/html; charset=utf-8", "image/png", "application/x-thing"]),
       body=st.one_of(st.binary(max_size=40), st.text(max_size=40).map(
           lambda t: t.encode("utf-8", "surrogatepass"))),
       lazy=st.booleans(),
       fmt=st.sampled_from(["rest", "http-v1", "http", "url", "alb", "alb-multi"]))
def test_the_one_header_answer_renders_as_the_general_path(
        status: int, media: str, body: bytes, lazy: bool, fmt: str) -> None:
    """Every format renders an answer with one Content-Type header and no cookie straight from
    its parts (lamroute's JSON answers without making their headers): the payload is the
    general path's, header for header."""
    from lamroute.formats import _common
    from lamroute.http.response import _json_response

    if lazy and media in ("application/json", "application/problem+json"):
        response = _json_response(body, status, media)
    else:
        response = Response(body, status, media_type=media)
    event = make_event(fmt, "GET", "/x")
    request = parse_event(event, None)
    reader = request._reader
    quick = reader.render(response, request)
    original = _common.simple_parts
    try:
        _common.simple_parts = lambda response: None
        general = reader.render(response, request)
    finally:
        _common.simple_parts = original
    assert quick == general
