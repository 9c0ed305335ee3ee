"""Security checks: no leaks in answers, secrets redacted in logs, header injection, JSON depth."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fixtures import load_event

from lamroute import App, Request, Response
from lamroute.errors import SERVER_ERROR_DETAIL
from lamroute.logs import LOGGER_NAME
from lamroute.routing.routes import Handler
from lamroute.security.guards import requires
from lamroute.testing import TestClient

FORMATS = ["rest", "http-v1", "http", "url", "alb", "alb-multi"]
SECRET = "sk_live_SECRET_42"


@pytest.fixture
def log_lines() -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """The JSON lines the lamroute handler writes (its stream swapped for a buffer)."""
    App(access_log=False)  # make sure the handler exists
    handler = next(h for h in logging.getLogger(LOGGER_NAME).handlers
                   if isinstance(h, logging.StreamHandler))
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    try:
        yield lambda: [json.loads(line) for line in buffer.getvalue().splitlines() if line]
    finally:
        handler.setStream(previous)  # type: ignore[arg-type]


def leaky_app(debug: bool = False) -> App:
    app = App(access_log=False, debug=debug)

    @app.get("/handler")
    def handler() -> str:
        raise RuntimeError(f"db password {SECRET}")

    @app.get("/guard", auth=lambda who: 1 / 0 > 0)
    def guarded() -> str:
        return "x"

    @app.get("/middleware", middleware=[lambda r, n: (_ for _ in ()).throw(KeyError(SECRET))])
    def with_middleware() -> str:
        return "x"

    @app.get("/result")
    def result() -> Any:
        return {SECRET: object()}

    return app


@pytest.mark.parametrize("format", FORMATS)
@pytest.mark.parametrize("path", ["/handler", "/guard", "/middleware", "/result"])
def test_no_exception_text_or_traceback_in_answers(format: str, path: str) -> None:
    if path == "/guard" and format.startswith("alb"):
        pytest.skip("ALB events carry no identity: the guard answers 401 before the predicate")
    client = TestClient(leaky_app(), format=format, identity={} if format[:3] != "alb" else None)
    response = client.get(path)
    assert response.status_code == 500
    problem = response.json()
    assert problem == {"type": "about:blank", "title": "Internal Server Error", "status": 500,
                       "detail": SERVER_ERROR_DETAIL, "instance": problem["instance"],
                       "request_id": problem["request_id"]}
    assert problem["instance"].endswith(path) and problem["request_id"]
    for leak in (SECRET, "Traceback", "RuntimeError", "ZeroDivisionError", "KeyError", ".py"):
        assert leak not in response.text


def test_debug_shows_the_details() -> None:
    response = TestClient(leaky_app(debug=True), format="http").get("/handler")
    assert SECRET in response.json()["detail"] and "traceback" in response.json()


def test_secrets_are_redacted_in_logs(log_lines: Callable[[], list[dict[str, Any]]]) -> None:
    app = App()  # access log on

    @app.get("/echo")
    def echo(request: Request) -> str:
        app.app_logger.info("incoming", extra={"headers": dict(request.headers),
                                               "cookies": request.cookies,
                                               "x-api-key": request.headers.get("x-api-key")})
        logging.getLogger(LOGGER_NAME).info("who", extra={"identity": repr(request.auth)})
        return "ok"

    TestClient(app, format="rest").get(
        "/echo", headers={"Authorization": f"Bearer {SECRET}", "X-Api-Key": SECRET},
        cookies={"session": SECRET},
        identity={"kind": "api_key", "api_key": SECRET, "principal_id": "key-1"})
    TestClient(app, format="http").get("/echo", cookies={"session": SECRET},
                                       headers={"authorization": SECRET})
    lines = log_lines()
    assert len(lines) == 6, lines
    text = json.dumps(lines)
    assert SECRET not in text
    assert "[REDACTED]" in text and any(line.get("message") == "request" for line in lines)


@pytest.mark.parametrize("format", FORMATS)
@pytest.mark.parametrize(("name", "value"), [
    ("X-Injected", "a\r\nSet-Cookie: evil=1"), ("X-Injected", "a\nb"), ("X-Bad\r\nName", "v"),
    ("X-Nul", "a\0b"),
])
def test_crlf_in_a_header_is_a_formatted_500_and_never_sent(format: str, name: str,
                                                            value: str) -> None:
    app = App(access_log=False)

    @app.get("/")
    def index() -> Response:
        return Response("x", headers=[(name, value)])

    response = TestClient(app, format=format).get("/")
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert "evil" not in json.dumps(response.raw) and "X-Injected" not in json.dumps(response.raw)


@pytest.mark.parametrize("format", ["rest", "http"])
def test_crlf_added_by_middleware_or_cookie_is_caught_too(format: str) -> None:
    app = App(access_log=False)

    @app.middleware
    def inject(request: Request, call_next: Handler) -> Response:
        response = call_next(request)
        if request.path == "/mw":
            response.headers.add("X-Trace", "1\r\nLocation: https://evil.example")
        return response

    @app.get("/mw")
    def mw() -> str:
        return "x"

    @app.get("/cookie")
    def cookie() -> Response:  # a raw Set-Cookie line, past set_cookie's encoding
        return Response("x", cookies=["a=b\r\nSet-Cookie: evil=1"])

    @app.get("/set-cookie")
    def set_cookie() -> Response:
        response = Response("x")
        response.set_cookie("a", "b\r\nSet-Cookie: evil=1")
        return response

    client = TestClient(app, format=format)
    for path in ("/mw", "/cookie"):
        response = client.get(path)
        assert response.status_code == 500 and "evil" not in json.dumps(response.raw)
    response = client.get("/set-cookie")  # set_cookie percent-encodes the CR LF instead
    assert response.status_code == 200
    assert response.headers.getall("set-cookie") == [
        "a=b%0D%0ASet-Cookie:%20evil=1; Path=/; Secure; SameSite=Lax"]


@pytest.mark.parametrize("format", ["rest", "http", "alb"])
@pytest.mark.parametrize("body", ["[" * 100_000, '{"a":' * 50_000 + "1" + "}" * 50_000])
def test_deeply_nested_json_is_a_400_problem(format: str, body: str) -> None:
    app = App(access_log=False)

    @app.post("/items")
    def create(request: Request) -> Any:
        return {"type": type(request.json()).__name__}

    client = TestClient(app, format=format)
    response = client.post("/items", body=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert "not valid JSON" in response.json()["detail"]
    ok = client.post("/items", json=[[[[{"a": [1]}]]]])
    assert ok.json() == {"type": "list"}


def test_guarded_errors_do_not_reveal_the_route_exists_beyond_status() -> None:
    app = App(access_log=False, auth=requires(scopes=["admin"]))

    @app.get("/admin/{user_id}")
    def admin(user_id: str) -> str:
        return f"secret data for {user_id}"

    response = TestClient(app, format="http").get("/admin/7")
    assert response.status_code == 401 and "secret data" not in response.text


# -- source IP: never a client-supplied entry -------------------------------------------------


def _ip_app(**options: Any) -> App:
    app = App(**options)

    @app.get("/ip")
    def ip(request: Request) -> dict[str, Any]:
        return {"ip": request.source_ip}

    return app


def _alb_fixture(name: str, forwarded: str | list[str] | None) -> dict[str, Any]:
    """The ALB fixture with the ``X-Forwarded-For`` a real ALB would deliver."""
    event = load_event(name)
    event["path"] = "/ip"
    key = "multiValueHeaders" if name == "alb-multi" else "headers"
    if forwarded is None:
        del event[key]["x-forwarded-for"]
    else:
        multi = [forwarded] if isinstance(forwarded, str) else forwarded
        event[key]["x-forwarded-for"] = multi if name == "alb-multi" else multi[-1]
    return event


@pytest.mark.parametrize("name", ["alb-single", "alb-multi"])
def test_alb_forged_x_forwarded_for_does_not_set_source_ip(
        name: str, log_lines: Callable[[], list[dict[str, Any]]]) -> None:
    # The client sent `X-Forwarded-For: 6.6.6.6`; the ALB appended its peer, 203.0.113.9.
    payload = _ip_app()(_alb_fixture(name, "6.6.6.6, 203.0.113.9"), None)
    assert json.loads(payload["body"]) == {"ip": "203.0.113.9"}
    (access,) = [line for line in log_lines() if line["message"] == "request"]
    assert access["source_ip"] == "203.0.113.9"  # the log shows the address the app saw


@pytest.mark.parametrize("format", ["alb", "alb-multi"])
def test_alb_forged_x_forwarded_for_through_the_test_client(format: str) -> None:
    client = TestClient(_ip_app(access_log=False), format=format)
    response = client.get("/ip", headers={"X-Forwarded-For": "6.6.6.6"}, source_ip="203.0.113.9")
    assert response.json() == {"ip": "203.0.113.9"}


def test_alb_repeated_x_forwarded_for_lines_end_with_the_albs_entry() -> None:
    event = _alb_fixture("alb-multi", ["6.6.6.6", "7.7.7.7, 203.0.113.9"])
    assert json.loads(_ip_app(access_log=False)(event, None)["body"]) == {"ip": "203.0.113.9"}


@pytest.mark.parametrize(("forwarded", "ip"), [
    ("6.6.6.6, 203.0.113.9:51234", "203.0.113.9"),        # routing.http.xff_client_port.enabled
    ("6.6.6.6, [2001:db8::9]:51234", "2001:db8::9"),
    ("6.6.6.6, 2001:db8::9", "2001:db8::9"),
    ("6.6.6.6, ", None),                                   # no entry of the ALB's: nothing
    (None, None),                                          # `remove` mode: no header at all
])
@pytest.mark.parametrize("name", ["alb-single", "alb-multi"])
def test_alb_source_ip_forms(name: str, forwarded: str | None, ip: str | None) -> None:
    event = _alb_fixture(name, forwarded)
    assert json.loads(_ip_app(access_log=False)(event, None)["body"]) == {"ip": ip}


@pytest.mark.parametrize("trusted", [1, ["130.176.0.0/16", "2600:9000::/28"]])
def test_alb_behind_cloudfront_trusted_proxies_picks_the_viewer(trusted: Any) -> None:
    app = _ip_app(access_log=False, trusted_proxies=trusted)
    # Client → CloudFront (appends the viewer, 198.51.100.2) → ALB (appends the edge address).
    via_cloudfront = _alb_fixture("alb-single", "6.6.6.6, 198.51.100.2, 130.176.1.1")
    assert json.loads(app(via_cloudfront, None)["body"]) == {"ip": "198.51.100.2"}
    # A short header: every entry was written by a trusted hop, the first one is the client.
    assert json.loads(app(_alb_fixture("alb-single", "130.176.1.1"), None)["body"]) == {
        "ip": "130.176.1.1"}


def test_alb_trusted_networks_are_not_fooled_by_a_client_bypassing_the_proxy() -> None:
    app = _ip_app(access_log=False, trusted_proxies=["130.176.0.0/16"])
    direct = _alb_fixture("alb-single", "6.6.6.6, 130.176.9.9, 203.0.113.9")
    assert json.loads(app(direct, None)["body"]) == {"ip": "203.0.113.9"}


@pytest.mark.parametrize(("option", "error"), [
    (-1, ValueError), (True, TypeError), ("130.176.0.0/16", TypeError), (["nope"], ValueError),
    ([16], TypeError),
])
def test_trusted_proxies_are_checked_at_app_creation(option: Any,
                                                     error: type[Exception]) -> None:
    with pytest.raises(error, match=r"^trusted_proxies"):
        App(trusted_proxies=option)


@pytest.mark.parametrize("format", ["rest", "http-v1", "http", "url"])
@pytest.mark.parametrize("trusted", [0, 1])
def test_api_gateway_source_ip_ignores_x_forwarded_for(format: str, trusted: int) -> None:
    # REST identity.sourceIp, HTTP API / Function URL requestContext.http.sourceIp: the gateway's
    # own value, whatever the client writes in a header (and whatever trusted_proxies says).
    client = TestClient(_ip_app(access_log=False, trusted_proxies=trusted), format=format)
    response = client.get("/ip", headers={"X-Forwarded-For": "6.6.6.6", "X-Real-Ip": "6.6.6.6",
                                          "Forwarded": "for=6.6.6.6"}, source_ip="203.0.113.9")
    assert response.json() == {"ip": "203.0.113.9"}


def test_websocket_source_ip_ignores_x_forwarded_for() -> None:
    app = App(access_log=False, trusted_proxies=1)
    seen: list[str | None] = []

    @app.websocket("$connect")
    def connect(request: Request) -> None:
        seen.append(request.source_ip)

    client = TestClient(app)
    with client.websocket_connect(headers={"X-Forwarded-For": "6.6.6.6, 7.7.7.7"},
                                  source_ip="203.0.113.9"):
        pass
    assert seen == ["203.0.113.9"]  # requestContext.identity.sourceIp
