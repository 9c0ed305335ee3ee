"""The error boundary: HTTP errors, exception handlers, formatter, debug, bad results and events."""

from __future__ import annotations

import json
import math
import time
from http import HTTPStatus
from typing import Any

import pytest
from fixtures import NAMES, load_event, rules_format
from pydantic import BaseModel

from lamroute import (
    CORS,
    App,
    BadRequest,
    Conflict,
    Forbidden,
    GatewayTimeout,
    Headers,
    HTTPError,
    InternalServerError,
    InvalidEvent,
    LamrouteError,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    Problem,
    Request,
    Response,
    RouteDefinitionError,
    ServiceUnavailable,
    Timeout,
    TooManyRequests,
    Unauthorized,
    UnprocessableEntity,
    UnsupportedMediaType,
)
from lamroute.errors import SERVER_ERROR_DETAIL
from lamroute.formats import FALLBACK_PROXY_RESPONSE
from lamroute.security.guards import requires
from lamroute.testing import FORMATS, FakeContext, TestClient, check_proxy_response, make_event

SUBCLASSES = [
    (BadRequest, 400, "Bad Request"),
    (Unauthorized, 401, "Unauthorized"),
    (Forbidden, 403, "Forbidden"),
    (NotFound, 404, "Not Found"),
    (MethodNotAllowed, 405, "Method Not Allowed"),
    (Conflict, 409, "Conflict"),
    (PayloadTooLarge, 413, "Request Entity Too Large"),  # on every Python (3.13 renamed it)
    (UnsupportedMediaType, 415, "Unsupported Media Type"),
    (UnprocessableEntity, 422, "Unprocessable Entity"),
    (TooManyRequests, 429, "Too Many Requests"),
    (ServiceUnavailable, 503, "Service Unavailable"),
    (GatewayTimeout, 504, "Gateway Timeout"),
]
SECRET = "s3cr3t-password-in-exception"


def client_for(app: App, fmt: str) -> TestClient:
    return TestClient(app, format=fmt, stage="prod" if fmt in ("rest", "http-v1") else None)


def raising(exc: BaseException, **options: Any) -> App:
    app = App(access_log=False, **options)

    @app.get("/boom")
    def boom() -> None:
        raise exc

    return app


# -- HTTPError and its subclasses ----------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(("cls", "status", "title"), SUBCLASSES)
def test_http_error_subclasses_become_problems(fmt: str, cls: type[HTTPError], status: int,
                                               title: str) -> None:
    assert issubclass(cls, HTTPError) and issubclass(cls, LamrouteError)
    response = client_for(raising(cls("it went wrong")), fmt).get("/boom")
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == "about:blank"
    assert (problem["status"], problem["title"], problem["detail"]) == (status, title,
                                                                        "it went wrong")
    assert problem["instance"].endswith("/boom")
    assert isinstance(problem["request_id"], str) and problem["request_id"]


def test_problem_instance_is_the_public_path_and_request_id_is_the_gateways() -> None:
    app = raising(NotFound("no"))
    response = TestClient(app, format="rest", stage="prod").get("/boom", request_id="r-1")
    assert response.json()["instance"] == "/prod/boom"
    assert response.json()["request_id"] == "r-1"


def test_http_error_options() -> None:
    exc = HTTPError(418, "short", headers={"X-Teapot": "yes"}, title="Teapot",
                    type="https://example.com/teapot", extra={"hint": "tilt"})
    response = TestClient(raising(exc)).get("/boom")
    assert response.status_code == 418
    assert response.headers["x-teapot"] == "yes"
    assert response.json() == {
        "type": "https://example.com/teapot", "title": "Teapot", "status": 418,
        "detail": "short", "instance": "/prod/boom",
        "request_id": response.json()["request_id"], "hint": "tilt",
    }
    clash = TestClient(raising(Conflict("c", extra={"status": "oops", "title": "t", "n": 1})))
    assert clash.get("/boom").json()["status"] == 409  # extensions never replace core members
    assert clash.get("/boom").json()["title"] == "Conflict" and clash.get("/boom").json()["n"] == 1
    assert repr(HTTPError(404, "x")) == "HTTPError(404, 'x')"
    assert HTTPError().status == 500 and NotFound().title == "Not Found"
    assert str(NotFound()) == "Not Found" and str(NotFound("gone")) == "gone"


@pytest.mark.parametrize("fmt", FORMATS)
def test_error_headers_survive(fmt: str) -> None:
    exc = Unauthorized("who?", headers=[("WWW-Authenticate", 'Bearer realm="api"')])
    response = client_for(raising(exc), fmt).get("/boom")
    assert response.headers["www-authenticate"] == 'Bearer realm="api"'
    limited = client_for(raising(TooManyRequests(headers={"Retry-After": "3"})), fmt).get("/boom")
    assert (limited.status_code, limited.headers["retry-after"]) == (429, "3")


# -- exception handlers by MRO -------------------------------------------------------------------


class AppError(Exception):
    pass


class PaymentError(AppError):
    pass


class CardDeclined(PaymentError):
    pass


@pytest.mark.parametrize("fmt", FORMATS)
def test_exception_handler_picked_by_mro(fmt: str) -> None:
    app = App(access_log=False)

    @app.exception_handler(AppError)
    def app_error(request: Request, exc: AppError) -> Response:
        return Response.json({"handler": "app", "type": type(exc).__name__}, 409)

    @app.exception_handler(PaymentError)
    def payment_error(request: Request, exc: PaymentError) -> dict[str, str]:
        return {"handler": "payment", "path": request.path}

    @app.get("/{kind}")
    def fail(kind: str) -> None:
        raise {"app": AppError, "payment": PaymentError, "card": CardDeclined}[kind]()

    client = client_for(app, fmt)
    assert client.get("/app").json() == {"handler": "app", "type": "AppError"}
    assert client.get("/app").status_code == 409
    card = client.get("/card")
    assert card.json() == {"handler": "payment", "path": "/card"}
    assert card.status_code == 500  # a plain return value from a handler for a non-HTTP error


def test_exception_handler_for_http_errors_gets_routing_errors_and_keeps_status() -> None:
    app = App(access_log=False)
    app.get("/a")(lambda: "a")

    @app.exception_handler(HTTPError)
    def http_error(request: Request | None, exc: HTTPError) -> dict[str, Any]:
        return {"custom": exc.status}

    client = TestClient(app, format="http")
    assert (client.get("/zzz").status_code, client.get("/zzz").json()) == (404, {"custom": 404})
    assert client.post("/a").json() == {"custom": 405}


def test_exception_handler_sees_invalid_events_with_no_request() -> None:
    app = App(access_log=False)
    seen: list[Any] = []

    @app.exception_handler(InvalidEvent)
    def invalid(request: Request | None, exc: InvalidEvent) -> Response:
        seen.append(request)
        return Response("bad event", 400)  # a str body is text/plain

    payload = app(None, None)
    assert (payload["statusCode"], payload["body"], seen) == (400, "bad event", [None])


def test_exception_handler_must_be_registered_for_an_exception_class() -> None:
    def handler(request: Request | None, exc: Exception) -> str:
        return "handled"

    assert App().exception_handler(ValueError)(handler) is handler  # returned unchanged
    with pytest.raises(RouteDefinitionError):
        App().exception_handler("ValueError")  # type: ignore[arg-type]
    with pytest.raises(RouteDefinitionError):
        App().exception_handler(int)  # type: ignore[arg-type]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("failure", ["raise", "unrenderable", "bad-status"])
def test_failing_exception_handler_falls_back_to_minimal_problem(fmt: str, failure: str) -> None:
    app = raising(AppError(SECRET))

    @app.exception_handler(AppError)
    def broken(request: Request, exc: AppError) -> Any:
        if failure == "raise":
            raise RuntimeError(SECRET)
        if failure == "unrenderable":
            return {"x": object()}
        return Response("x", status=1000)

    response = client_for(app, fmt).get("/boom")
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["title"] == "Internal Server Error"
    assert SECRET not in response.text


# -- the error formatter -------------------------------------------------------------------------


def envelope(problem: Problem, request: Request | None) -> dict[str, Any]:
    return {"error": {"code": problem.status, "message": problem.detail or problem.title,
                      "path": request.path if request is not None else None}}


@pytest.mark.parametrize("fmt", FORMATS)
def test_error_formatter_applies_to_every_framework_error(fmt: str) -> None:
    app = App(access_log=False, error_formatter=envelope)
    app.get("/a")(lambda: "a")
    app.get("/crash")(lambda: 1 / 0)
    app.get("/http")(lambda: (_ for _ in ()).throw(Conflict("taken")))
    app.post("/json")(lambda request: request.json())
    app.get("/bad-result")(lambda: {"nan": math.nan})
    client = client_for(app, fmt)

    missing = client.get("/nope")
    assert missing.json() == {"error": {"code": 404, "message": "No route matches /nope.",
                                        "path": "/nope"}}
    assert missing.headers["content-type"] == "application/json"
    wrong = client.delete("/a")
    assert (wrong.status_code, wrong.json()["error"]["code"]) == (405, 405)
    assert wrong.headers["allow"] == "GET, HEAD, OPTIONS"  # problem headers kept
    crash = client.get("/crash")
    assert crash.json() == {"error": {"code": 500, "message": SERVER_ERROR_DETAIL,
                                      "path": "/crash"}}
    assert client.get("/http").json()["error"] == {"code": 409, "message": "taken",
                                                   "path": "/http"}
    assert client.post("/json", body="{").json()["error"]["code"] == 400
    assert client.get("/bad-result").json()["error"]["code"] == 500


def test_error_formatter_applies_to_invalid_events() -> None:
    app = App(access_log=False, error_formatter=envelope)
    payload = app([1, 2], None)
    assert payload["statusCode"] == 400
    assert json.loads(payload["body"])["error"]["path"] is None


def test_error_formatter_may_return_a_response() -> None:
    def text_errors(problem: Problem, request: Request | None) -> Response:
        return Response(f"error {problem.status}", problem.status, media_type="text/plain")

    app = App(access_log=False, error_formatter=text_errors)
    response = TestClient(app).get("/x")
    assert (response.status_code, response.text) == (404, "error 404")


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("failure", ["raise", "unrenderable", "bad-response"])
def test_failing_error_formatter_falls_back(fmt: str, failure: str) -> None:
    def broken(problem: Problem, request: Request | None) -> Any:
        if failure == "raise":
            raise ValueError(SECRET)
        if failure == "unrenderable":
            return {"when": object()}
        return Response("x", headers={"X-Bad": 5})  # type: ignore[dict-item]

    app = App(access_log=False, error_formatter=broken)
    app.get("/a")(lambda: "a")
    client = client_for(app, fmt)
    missing = client.get("/nope")
    assert missing.headers["content-type"] == "application/problem+json"
    assert SECRET not in missing.text
    if failure != "bad-response":  # a formatter answer that fails at render time becomes a 500
        assert missing.json() == {"type": "about:blank", "title": "Not Found", "status": 404,
                                  "detail": "No route matches /nope.",
                                  "instance": missing.json()["instance"],
                                  "request_id": missing.json()["request_id"]}
        assert missing.json()["instance"].endswith("/nope")
        wrong = client.put("/a")
        assert (wrong.status_code, wrong.headers["allow"]) == (405, "GET, HEAD, OPTIONS")
    else:
        assert missing.status_code == 500


# -- debug ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    "exc", [RuntimeError(SECRET), KeyError(SECRET), InternalServerError(SECRET),
            HTTPError(500, SECRET)],
)
def test_no_exception_text_or_traceback_without_debug(fmt: str, exc: Exception) -> None:
    response = client_for(raising(exc), fmt).get("/boom")
    assert response.status_code == 500
    assert SECRET not in response.text
    assert "Traceback" not in response.text and "traceback" not in response.json()
    assert response.json()["title"] == "Internal Server Error"


@pytest.mark.parametrize("fmt", FORMATS)
def test_debug_shows_exception_and_traceback(fmt: str) -> None:
    app = App(access_log=False, debug=True)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError(SECRET)

    problem = client_for(app, fmt).get("/boom").json()
    assert problem["detail"] == f"RuntimeError: {SECRET}"
    assert any("boom" in line for line in problem["traceback"])
    assert "Traceback" in "".join(problem["traceback"])
    internal = client_for(raising(InternalServerError(SECRET), debug=True), fmt)
    assert internal.get("/boom").json()["detail"] == SECRET


def unrenderable_app(*, debug: bool) -> App:
    app = App(access_log=False, debug=debug)

    @app.get("/status")
    def status() -> Response:
        return Response("x", 999)

    @app.get("/header")
    def header() -> Response:
        return Response("x", headers={"X-Secret": f"{SECRET}\r\nSet-Cookie: a=b"})

    return app


RENDER_FAILURES = [("/status", "Status 999 is not an int between 100 and 599."),
                   ("/header", "Header 'X-Secret' contains a forbidden character")]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(("path", "reason"), RENDER_FAILURES)
def test_debug_shows_render_time_failures(fmt: str, path: str, reason: str) -> None:
    """A result that fails only when the format renders it shows its error and traceback under
    debug, as a handler's exception does (it used to get the generic 500 detail)."""
    response = client_for(unrenderable_app(debug=True), fmt).get(path)
    problem = response.json()
    assert response.status_code == 500
    assert problem["detail"].startswith(f"ResponseError: {reason}")
    assert "Traceback" in "".join(problem["traceback"])
    assert any("render" in line for line in problem["traceback"])
    assert problem["instance"].endswith(path) and problem["request_id"]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(("path", "reason"), RENDER_FAILURES)
def test_render_time_failures_stay_generic_without_debug(fmt: str, path: str,
                                                         reason: str) -> None:
    response = client_for(unrenderable_app(debug=False), fmt).get(path)
    assert response.status_code == 500
    assert response.json()["detail"] == SERVER_ERROR_DETAIL
    assert "traceback" not in response.json()
    assert reason not in response.text and SECRET not in response.text


# -- return values that cannot be rendered -------------------------------------------------------

BAD_RESULTS: list[tuple[str, Any]] = [
    ("object", lambda: object()),
    ("float", lambda: 1.5),
    ("set in dict", lambda: {"x": object()}),
    ("nan", lambda: {"x": math.nan}),
    ("inf", lambda: [math.inf]),
    ("lone surrogate", lambda: {"x": "\ud800"}),
    ("status too big", lambda: Response("x", 600)),
    ("status too small", lambda: Response("x", 99)),
    ("status str", lambda: Response("x", "200")),  # type: ignore[arg-type]
    ("status bool", lambda: Response("x", True)),
    ("status float", lambda: Response("x", 200.0)),  # type: ignore[arg-type]
    ("int header", lambda: Response("x", headers={"X-Count": 3})),  # type: ignore[dict-item]
    ("none header", lambda: Response("x", headers={"X-None": None})),  # type: ignore[dict-item]
    ("bytes header", lambda: Response("x", headers={"X-B": b"v"})),  # type: ignore[dict-item]
    ("CRLF header", lambda: Response("x", headers={"X-Split": "a\r\nSet-Cookie: evil=1"})),
    ("LF header", lambda: Response("x", headers={"X-Split": "a\nb"})),
    ("colon in name", lambda: Response("x", headers={"X:Y": "1"})),
    ("empty name", lambda: Response("x", headers={"": "1"})),
    ("CR cookie", lambda: Response("x", cookies=["a=1\r\nX: y"])),
    ("cookies not list", lambda: _with(Response("x"), cookies="a=1")),
    ("body str", lambda: _with(Response("x"), body="text")),
    ("body int", lambda: _with(Response("x"), body=5)),
    ("headers dict", lambda: _with(Response("x"), headers={"a": "b"})),
    ("int body arg", lambda: Response(12)),  # type: ignore[arg-type]
]


def _with(response: Response, **attrs: Any) -> Response:
    for name, value in attrs.items():
        setattr(response, name, value)
    return response


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(("label", "make"), BAD_RESULTS, ids=[label for label, _ in BAD_RESULTS])
def test_unrenderable_results_become_a_formatted_500(fmt: str, label: str, make: Any) -> None:
    app = App(access_log=False)
    app.get("/bad")(make)
    response = client_for(app, fmt).get("/bad")  # the client checks the gateway's rules
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 500
    assert "evil" not in json.dumps(response.raw["headers"] if "headers" in response.raw
                                    else response.raw["multiValueHeaders"])


# -- events that are not proxy events ------------------------------------------------------------

NOT_EVENTS: list[Any] = [None, [], [1, 2], "GET /", 42, 1.5, b"{}", {}, {"foo": "bar"},
                         {"version": "2.0"}, {"requestContext": {"elb": {}}}]


@pytest.mark.parametrize("event", NOT_EVENTS, ids=repr)
def test_non_proxy_events_are_a_formatted_400(event: Any) -> None:
    app = App(access_log=False)
    payload = app(event, FakeContext())
    # An event that looks like ALB's is answered in ALB's shape.
    rules = "alb" if isinstance(event, dict) and "requestContext" in event else "rest"
    assert check_proxy_response(rules, payload) == []
    assert payload["statusCode"] == 400
    assert payload["headers"]["Content-Type"] == "application/problem+json"
    assert "Bad Request" in payload.get("statusDescription", "Bad Request")
    problem = json.loads(payload["body"])
    assert (problem["status"], problem["title"]) == (400, "Bad Request")
    assert "event" in problem["detail"]


def _breakers() -> list[tuple[str, str, Any]]:
    """(fixture, dotted key, bad value): each makes the event malformed for its format."""
    cases: list[tuple[str, str, Any]] = []
    for name in NAMES:
        event = load_event(name)
        if "httpMethod" in event:
            cases += [(name, "httpMethod", None), (name, "httpMethod", 5),
                      (name, "path", ["/"])]
        else:
            cases += [(name, "requestContext.http", None), (name, "requestContext.http.method", 7),
                      (name, "rawPath", 1)]
        cases += [
            (name, "requestContext", ["not", "an", "object"]) if "elb" not in
            event["requestContext"] else (name, "httpMethod", {}),
            (name, "headers", "Accept: */*"),
            (name, "headers", {"x": 1}),
            (name, "headers", {3: "x"}),
            (name, "body", 12),
            (name, "body", ["a"]),
            (name, "isBase64Encoded", True),  # with a body that is not base64
        ]
    return cases


def _set(event: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, last = dotted.split(".")
    for key in parents:
        event = event[key]
    event[last] = value
    if last == "headers":
        event.pop("multiValueHeaders", None)


@pytest.mark.parametrize(("name", "key", "value"), _breakers(), ids=repr)
def test_malformed_events_are_a_formatted_400(name: str, key: str, value: Any) -> None:
    event = load_event(name)
    _set(event, key, value)
    if key == "isBase64Encoded":
        event["body"] = "%%% not base64 %%%"
    app = App(access_log=False, error_formatter=envelope)

    def everything(request: Request, path: str = "") -> dict[str, Any]:
        # Read every part, as a real handler might.
        return {"h": dict(request.headers), "q": dict(request.query), "c": request.cookies,
                "b": request.text, "ip": request.source_ip, "a": request.authorizer}

    app.route("/{path+}", methods=["GET", "POST"])(everything)
    app.route("/", methods=["GET", "POST"])(everything)
    payload = app(event, FakeContext())
    assert check_proxy_response(rules_format(name), payload) == []
    assert payload["statusCode"] == 400, payload
    assert json.loads(payload["body"])["error"]["code"] == 400


@pytest.mark.parametrize("fmt", ["rest", "http-v1", "http", "url"])
def test_boundary_last_resort_is_a_valid_proxy_response(fmt: str) -> None:
    assert check_proxy_response(fmt, dict(FALLBACK_PROXY_RESPONSE)) == []


def test_every_layer_failing_still_answers() -> None:
    def broken(problem: Problem, request: Request | None) -> Response:
        response = Response("x")
        response.headers = Headers([("X", "\n")])
        return response

    app = App(access_log=False, error_formatter=broken)
    app.get("/bad")(lambda: Response("x", 999))
    payload = TestClient(app, format="http").get("/bad")
    assert payload.status_code == 500
    assert payload.json()["title"] == "Internal Server Error"


@pytest.mark.parametrize("exc", [SystemExit(3), GeneratorExit(), BaseException("base")])
def test_base_exceptions_from_handlers_are_answered(exc: BaseException) -> None:
    response = TestClient(raising(exc), format="http").get("/boom")
    assert response.status_code == 500


def test_keyboard_interrupt_is_not_swallowed() -> None:
    with pytest.raises(KeyboardInterrupt):
        raising(KeyboardInterrupt())(make_event("http", "GET", "/boom"), None)


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_huge_path_or_request_id_is_clipped_in_the_error_body(fmt: str) -> None:
    """Echoing a multi-megabyte path twice (detail and instance) would pass Lambda's 6 MB limit
    and turn a 404 into a 500; echoed values are clipped instead."""
    app = App(access_log=False)
    app.get("/known")(lambda: "ok")
    huge = "/" + "a" * 4_000_000
    event = make_event(fmt, "GET", huge, request_id="r" * 2_000_000)
    answer = app(event, None)
    assert answer["statusCode"] == 404
    assert len(answer["body"]) < 5_000
    body = json.loads(answer["body"])
    assert body["instance"].endswith("…") and len(body["instance"]) <= 1025
    assert "aaaa" in body["detail"] and len(body["detail"]) < 1100


# -- HTTPStatus values ---------------------------------------------------------------------------


def _status_app() -> App:
    app = App(access_log=False)
    app.get("/response")(lambda: Response("created", HTTPStatus.CREATED))
    app.get("/json")(lambda: Response.json({"ok": True}, HTTPStatus.ACCEPTED))
    app.get("/redirect")(lambda: Response.redirect("/json", HTTPStatus.FOUND))
    app.post("/decorator", status_code=HTTPStatus.CREATED)(lambda: {"made": True})

    @app.get("/raise")
    def missing() -> None:
        raise HTTPError(HTTPStatus.NOT_FOUND, "gone")

    class Teapot(HTTPError):
        STATUS = HTTPStatus.IM_A_TEAPOT

    @app.get("/subclass")
    def teapot() -> None:
        raise Teapot()

    @app.get("/assigned")
    def assigned() -> Response:
        response = Response("accepted")
        response.status = HTTPStatus.ACCEPTED
        return response

    @app.exception_handler(KeyError)
    def key_error(request: Request, exc: KeyError) -> Response:
        return Response("conflict", HTTPStatus.CONFLICT)

    @app.get("/handled")
    def handled() -> None:
        raise KeyError("k")

    @app.websocket("ping", status_code=HTTPStatus.ACCEPTED)
    def ping() -> str:
        return "pong"

    return app


@pytest.mark.parametrize("fmt", FORMATS)
def test_http_status_values_are_accepted_wherever_a_status_is_taken(fmt: str) -> None:
    client = client_for(_status_app(), fmt)
    expected = {"/response": 201, "/json": 202, "/redirect": 302, "/raise": 404,
                "/subclass": 418, "/assigned": 202, "/handled": 409}
    for path, status in expected.items():
        response = client.get(path)
        assert response.status_code == status, path
        assert type(response.raw["statusCode"]) is int  # a plain int reaches the gateway
        if "statusDescription" in response.raw:  # ALB: "201 Created", not "HTTPStatus.CREATED"
            assert response.raw["statusDescription"].startswith(f"{status} ")
    problem = client.get("/raise").json()
    assert problem["status"] == 404 and problem["title"] == "Not Found"
    assert '"status":404' in client.get("/raise").text
    created = client.post("/decorator")
    assert (created.status_code, created.json()) == (201, {"made": True})


def test_http_status_values_are_plain_ints_once_registered() -> None:
    app = _status_app()
    route = next(r for r in app.routes if r.path == "/decorator")
    assert type(route.status_code) is int and route.status_code == 201
    assert type(HTTPError(HTTPStatus.NOT_FOUND).status) is int
    assert type(Response("x", HTTPStatus.CREATED).status) is int
    assert type(Problem(HTTPStatus.NOT_FOUND, "Not Found").status) is int
    with TestClient(app, format="http").websocket_connect() as session:
        assert session.send_json({"action": "ping"}).status_code == 202


@pytest.mark.parametrize("bad", [True, False, 200.0, "201", 600])
def test_a_bool_or_other_non_int_status_code_is_still_refused_at_registration(bad: Any) -> None:
    app = App(access_log=False)
    with pytest.raises(RouteDefinitionError):
        app.get("/x", status_code=bad)(lambda: "x")
    with pytest.raises(RouteDefinitionError):
        app.websocket("x", status_code=bad)(lambda: "x")


# -- every problem carries the six members ------------------------------------------------------


def _every_problem_app() -> App:
    """One route per way lamroute answers with a problem (the boundary, limits, deadline,
    safeguards, guards, CORS, middleware, fallbacks)."""
    app = App(access_log=False, cors=CORS(allow_origins=["https://ok.example"]))
    app.get("/crash")(lambda: 1 / 0)
    app.get("/internal")(lambda: (_ for _ in ()).throw(InternalServerError(SECRET)))
    app.get("/http-500")(lambda: (_ for _ in ()).throw(HTTPError(500, SECRET)))
    app.get("/unavailable")(lambda: (_ for _ in ()).throw(ServiceUnavailable()))
    app.get("/object")(lambda: object())
    app.get("/bad-status")(lambda: Response("x", 999))
    app.get("/bad-header")(lambda: Response("x", headers={"X-Split": "a\nb"}))
    app.get("/huge")(lambda: "x" * 7_000_000)
    app.get("/slow", timeout=Timeout(integration_s=0.05, margin_s=0.0))(
        lambda: time.sleep(5))
    app.post("/model")(create_item)
    app.post("/small", max_body_size=2)(lambda request: "ok")
    app.get("/guarded", auth=requires(scopes=["admin"]))(lambda: "ok")

    @app.get("/handler-fails")
    def handler_fails() -> None:
        raise AppError(SECRET)

    @app.exception_handler(AppError)
    def broken_handler(request: Request, exc: AppError) -> None:
        raise RuntimeError(SECRET)

    def failing_middleware(request: Request, call_next: Any) -> Response:
        if request.path == "/middleware":
            raise RuntimeError(SECRET)
        return call_next(request)

    app.middleware(failing_middleware)
    return app


class Item(BaseModel):
    name: str


def create_item(item: Item) -> dict[str, str]:
    return {"ok": "yes"}


EVERY_PROBLEM: list[tuple[str, str, str, dict[str, Any], int]] = [
    # (label, method, path, request options, status)
    ("no route", "GET", "/nope", {}, 404),
    ("wrong method", "DELETE", "/crash", {}, 405),
    ("malformed JSON", "POST", "/model", {"body": "{", "headers": {"content-type":
                                                                  "application/json"}}, 400),
    ("not JSON", "POST", "/model", {"body": "a", "headers": {"content-type": "text/plain"}}, 415),
    ("validation", "POST", "/model", {"json": {"name": 5}}, 422),
    ("body too large", "POST", "/small", {"body": "12345"}, 413),
    ("guard", "GET", "/guarded", {"identity": {"scopes": ["user"]}}, 403),
    ("CORS preflight refused", "OPTIONS", "/crash",
     {"headers": {"origin": "https://evil.example", "access-control-request-method": "GET"}}, 403),
    ("exception", "GET", "/crash", {}, 500),
    ("InternalServerError", "GET", "/internal", {}, 500),
    ("HTTPError 500", "GET", "/http-500", {}, 500),
    ("503 without detail", "GET", "/unavailable", {}, 503),
    ("unrenderable result", "GET", "/object", {}, 500),
    ("bad status", "GET", "/bad-status", {}, 500),
    ("bad header", "GET", "/bad-header", {}, 500),
    ("response too large", "GET", "/huge", {}, 500),
    ("deadline", "GET", "/slow", {}, 504),
    ("exception handler fails", "GET", "/handler-fails", {}, 500),
    ("middleware raises", "GET", "/middleware", {}, 500),
]


def _check_problem(response: Any, path: str, status: int) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert {"type", "title", "status", "detail", "instance", "request_id"} <= set(problem)
    assert problem["status"] == status and problem["type"] == "about:blank"
    assert isinstance(problem["detail"], str) and problem["detail"]
    assert problem["instance"].endswith(path)
    assert isinstance(problem["request_id"], str) and problem["request_id"]
    if status >= 500:
        assert SECRET not in response.text
    if status == 500:
        assert problem["detail"] == SERVER_ERROR_DETAIL


@pytest.mark.parametrize("fmt", [f for f in FORMATS if not f.startswith("alb")])
@pytest.mark.parametrize(("label", "method", "path", "options", "status"), EVERY_PROBLEM,
                         ids=[case[0] for case in EVERY_PROBLEM])
def test_every_problem_has_type_title_status_detail_instance_and_request_id(
    fmt: str, label: str, method: str, path: str, options: dict[str, Any], status: int
) -> None:
    client = TestClient(_every_problem_app(), format=fmt, timeout_ms=60_000,
                        stage="prod" if fmt in ("rest", "http-v1") else None)
    _check_problem(client.request(method, path, **options), path, status)


@pytest.mark.parametrize("fmt", ["alb", "alb-multi"])
def test_every_alb_problem_has_the_six_members(fmt: str) -> None:
    client = TestClient(_every_problem_app(), format=fmt, timeout_ms=60_000)
    for label, method, path, options, status in EVERY_PROBLEM:
        if label in ("guard", "response too large"):
            continue  # ALB events carry no identity; ALB's 1 MB limit is tested in test_limits
        _check_problem(client.request(method, path, **options), path, status)


@pytest.mark.parametrize("fmt", FORMATS)
def test_fallback_problems_keep_detail_instance_and_request_id(fmt: str) -> None:
    """The minimal problem (a failing formatter, an error answer itself too large) still says
    where and which request."""
    def fails_on_errors(problem: Problem, request: Request | None) -> Any:
        raise ValueError(SECRET)

    app = App(access_log=False, error_formatter=fails_on_errors)
    app.get("/crash")(lambda: 1 / 0)
    app.get("/bad-status")(lambda: Response("x", 999))
    client = client_for(app, fmt)
    _check_problem(client.get("/crash"), "/crash", 500)
    _check_problem(client.get("/bad-status"), "/bad-status", 500)
    _check_problem(client.get("/nope"), "/nope", 404)

    huge = App(access_log=False)
    huge.get("/text")(lambda: "x" * 7_000_000)
    huge.exception_handler(Exception)(lambda request, exc: "y" * 7_000_000)
    _check_problem(client_for(huge, fmt).get("/text"), "/text", 500)


def test_the_last_resort_answer_has_a_detail() -> None:
    body = json.loads(FALLBACK_PROXY_RESPONSE["body"])
    assert body["detail"] == SERVER_ERROR_DETAIL and body["status"] == 500


@pytest.mark.parametrize("exc", [RuntimeError(SECRET), InternalServerError(SECRET)])
def test_debug_still_shows_the_500_detail(exc: Exception) -> None:
    problem = TestClient(raising(exc, debug=True)).get("/boom").json()
    assert SECRET in problem["detail"] and problem["instance"] == "/prod/boom"


def test_websocket_problems_have_the_six_members() -> None:
    app = App(access_log=False)
    app.websocket("crash")(lambda: 1 / 0)
    with TestClient(app).websocket_connect() as session:
        for action, status in (("crash", 500), ("nope", 404)):
            problem = session.send_json({"action": action}).json()
            assert problem["status"] == status
            assert {"type", "title", "status", "detail", "instance", "request_id"} <= set(problem)


# -- the 404 of an unknown path, answered without the exception (issue 18) -----------------------


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("path", ["/no/such/path", "/caf%C3%A9/x", "/" + "long" * 400])
def test_an_unknown_path_is_answered_without_raising_not_found(
        fmt: str, path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    raised: list[NotFound] = []
    real_init = NotFound.__init__

    def counting(self: NotFound, *args: Any, **kwargs: Any) -> None:
        raised.append(self)
        real_init(self, *args, **kwargs)

    plain = App(access_log=False)
    plain.get("/items")(lambda: {"ok": True})
    general = App(access_log=False)  # an exception handler: the general path, NotFound raised
    general.get("/items")(lambda: {"ok": True})
    general.exception_handler(KeyError)(lambda request, exc: {"key": str(exc)})
    event = make_event(fmt, "GET", path, request_id="req-404")
    monkeypatch.setattr(NotFound, "__init__", counting)
    fast = plain(event, FakeContext())
    assert raised == []
    slow = general(event, FakeContext())
    assert len(raised) == 1
    assert fast == slow and fast["statusCode"] == 404
    assert check_proxy_response(fmt, fast) == []


def test_a_not_found_handler_still_answers_unknown_paths() -> None:
    app = App(access_log=False)
    app.exception_handler(NotFound)(lambda request, exc: {"nowhere": request.path})
    response = TestClient(app).get("/gone")
    assert (response.status_code, response.json()) == (404, {"nowhere": "/gone"})


@pytest.mark.parametrize("fmt", FORMATS)
def test_out_of_memory_in_the_handler_and_in_logging_still_answers_500(
        fmt: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A handler that runs out of memory, then every log call failing as well (their imports
    and records need memory too): the boundary's last log call must not let it out."""
    import logging

    class NoMemory(logging.Filter):
        def filter(self, record: logging.LogRecord) -> bool:
            raise MemoryError

    app = App()

    @app.get("/hog")
    def hog() -> None:
        raise MemoryError

    logger = logging.getLogger("lamroute")
    failing = NoMemory()
    logger.addFilter(failing)
    try:
        response = app(make_event(fmt, "GET", "/hog"), FakeContext())
    finally:
        logger.removeFilter(failing)
    assert check_proxy_response(fmt, response) == []
    assert response["statusCode"] == 500


@pytest.mark.parametrize(("status", "title"), [
    (413, "Request Entity Too Large"), (414, "Request-URI Too Long"),
    (416, "Requested Range Not Satisfiable"), (422, "Unprocessable Entity")])
def test_a_title_is_the_same_on_every_python(status: int, title: str) -> None:
    """Python 3.13 renamed these reason phrases (RFC 9110): a problem's title does not change
    with the Lambda runtime."""
    from lamroute.exceptions import HTTPError, status_phrase

    assert status_phrase(status) == title
    app = App()

    @app.get("/fail")
    def fail() -> None:
        raise HTTPError(status)

    assert TestClient(app).get("/fail").json()["title"] == title
