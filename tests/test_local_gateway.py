"""The local gateway over real sockets: every API mode, the gateway's failure modes, binary
bodies, repeated headers, cookies, concurrency and timeouts."""

from __future__ import annotations

import base64
import http.client
import json
import logging
import socket
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fixtures import Records, serving

from lamroute import App, Request, Response
from lamroute.local import LocalGateway

BINARY = bytes(range(256))


def make_app() -> App:
    app = App(access_log=False)

    @app.route("/echo", methods=["GET", "POST", "PUT"])
    def echo(request: Request) -> dict[str, Any]:
        return {
            "method": request.method,
            "path": request.path,
            "url_path": request.url_path,
            "format": request.format,
            "stage": request.stage,
            "query": request.query.getall("q"),
            "multi": request.headers.getall("x-multi"),
            "cookies": request.cookies,
            "body": base64.b64encode(request.body).decode(),
            "source_ip": request.source_ip,
            "xff": request.headers.getall("x-forwarded-for"),
        }

    @app.get("/files/{path+}")
    def files(path: str) -> dict[str, str]:
        return {"path": path}

    @app.get("/binary")
    def binary() -> Response:
        return Response(BINARY, media_type="image/png")

    @app.post("/upload")
    def upload(request: Request) -> Response:
        return Response(request.body, media_type="application/octet-stream")

    @app.get("/cookies")
    def cookies() -> Response:
        response = Response("ok", headers=[("X-Multi", "a"), ("X-Multi", "b")])
        response.set_cookie("one", "1")
        response.set_cookie("two", "2", http_only=True)
        return response

    return app






def request(server: LocalGateway, method: str, path: str, *, body: bytes | None = None,
            headers: list[tuple[str, str]] = (), prefix: bool = True,  # type: ignore[assignment]
            ) -> tuple[int, http.client.HTTPMessage, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        target = (server.gateway.config.prefix if prefix else "") + path
        connection.putrequest(method, target, skip_accept_encoding=True)
        for name, value in headers:
            connection.putheader(name, value)
        if body is not None:
            connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        response = connection.getresponse()
        return response.status, response.headers, response.read()
    finally:
        connection.close()


MODES = [
    pytest.param({"api": "rest"}, "rest", "/prod", id="rest-prod"),
    pytest.param({"api": "rest", "stage": "v1"}, "rest", "/v1", id="rest-v1"),
    pytest.param({"api": "http"}, "http", "", id="http-default"),
    pytest.param({"api": "http", "stage": "dev"}, "http", "/dev", id="http-dev"),
    pytest.param({"api": "http", "payload_version": "1.0"}, "http-v1", "", id="http-v1"),
    pytest.param({"api": "url"}, "url", "", id="url"),
]


@pytest.mark.parametrize(("options", "fmt", "prefix"), MODES)
def test_each_api_mode_builds_its_own_event(options: dict[str, Any], fmt: str,
                                            prefix: str) -> None:
    with serving(make_app(), **options) as server:
        assert server.url.endswith(f":{server.port}{prefix}")
        status, headers, body = request(
            server, "POST", "/echo?q=a+b&q=c%26d", body=b'{"x": 1}',
            headers=[("Content-Type", "application/json"), ("X-Multi", "a"), ("X-Multi", "b"),
                     ("Cookie", "sid=abc; theme=dark")],
        )
    assert status == 200, body
    assert headers["Content-Type"] == "application/json"
    seen = json.loads(body)
    assert seen["format"] == fmt
    assert seen["method"] == "POST"
    assert seen["path"] == "/echo"
    assert seen["url_path"] == prefix + "/echo"
    assert seen["query"] == ["a b", "c&d"]
    # Payload 2.0 joins repeated headers with commas; 1.0 keeps them apart.
    assert seen["multi"] == (["a,b"] if fmt in ("http", "url") else ["a", "b"])
    assert seen["cookies"] == {"sid": "abc", "theme": "dark"}
    assert base64.b64decode(seen["body"]) == b'{"x": 1}'
    assert seen["source_ip"] == "127.0.0.1"


@pytest.mark.parametrize(("options", "fmt", "prefix"), MODES)
def test_binary_bodies_go_through_unchanged(options: dict[str, Any], fmt: str,
                                            prefix: str) -> None:
    with serving(make_app(), **options) as server:
        status, headers, body = request(server, "GET", "/binary", headers=[("Accept", "*/*")])
        assert (status, headers["Content-Type"], body) == (200, "image/png", BINARY)
        status, _, body = request(server, "POST", "/upload", body=BINARY,
                                  headers=[("Content-Type", "application/octet-stream")])
        assert (status, body) == (200, BINARY)


@pytest.mark.parametrize(("options", "fmt", "prefix"), MODES)
def test_repeated_headers_and_cookies_reach_the_client(options: dict[str, Any], fmt: str,
                                                       prefix: str) -> None:
    with serving(make_app(), **options) as server:
        status, headers, body = request(server, "GET", "/cookies")
    assert (status, body) == (200, b"ok")
    cookies = headers.get_all("Set-Cookie")
    assert cookies == ["one=1; Path=/; Secure; SameSite=Lax",
                       "two=2; Path=/; Secure; HttpOnly; SameSite=Lax"]
    expected = ["a, b"] if fmt in ("http", "url") else ["a", "b"]
    assert headers.get_all("X-Multi") == expected


def test_greedy_paths_arrive_decoded() -> None:
    with serving(make_app(), api="rest") as server:
        status, _, body = request(server, "GET", "/files/a%20b/c.txt")
    assert status == 200
    assert json.loads(body) == {"path": "a b/c.txt"}


def test_rest_binary_answer_stays_base64_when_accept_is_not_a_binary_type() -> None:
    with serving(make_app(), api="rest", binary_media_types=("image/png",)) as server:
        _, _, as_binary = request(server, "GET", "/binary", headers=[("Accept", "image/png")])
        _, _, as_text = request(server, "GET", "/binary",
                                headers=[("Accept", "application/json")])
    assert as_binary == BINARY
    assert base64.b64decode(as_text) == BINARY


@pytest.mark.parametrize(("options", "status", "message"), [
    ({"api": "rest"}, 403, "Forbidden"),
    ({"api": "http", "stage": "dev"}, 404, "Not Found"),
])
def test_urls_outside_the_stage_get_the_gateways_answer(options: dict[str, Any], status: int,
                                                        message: str) -> None:
    with serving(make_app(), **options) as server:
        got, _, body = request(server, "GET", "/echo", prefix=False)
    assert (got, json.loads(body)) == (status, {"message": message})


def test_app_errors_are_the_apps_own_problem_answers() -> None:
    with serving(make_app(), api="http") as server:
        status, headers, body = request(server, "GET", "/missing")
    assert status == 404
    assert headers["Content-Type"] == "application/problem+json"
    assert json.loads(body)["status"] == 404


# The gateway's answer to a failed function or a malformed answer: REST 502, HTTP API 500,
# Function URL 502 (see lamroute/local/failures.py for the AWS documentation).
FUNCTION_FAILED = {"rest": (502, {"message": "Internal server error"}),
                   "http": (500, {"message": "Internal Server Error"}),
                   "url": (502, {"message": "Internal Server Error"})}


@pytest.mark.parametrize("api", ["rest", "http", "url"])
def test_malformed_response_is_the_gateways_error_with_a_loud_log_line(
        api: str, caplog: pytest.LogCaptureFixture) -> None:
    def bad(event: Any, context: Any) -> dict[str, Any]:
        return {"statusCode": "200", "body": {"not": "a string"}}

    with caplog.at_level(logging.ERROR, logger="lamroute.local"), \
            serving(bad, api=api) as server:
        status, headers, body = request(server, "GET", "/x")
    assert (status, json.loads(body)) == FUNCTION_FAILED[api]
    assert headers["Content-Type"] == "application/json"
    text = caplog.text
    assert str(status) in text and "malformed" in text
    assert "statusCode '200' is not an int" in text and "body is a dict" in text


@pytest.mark.parametrize("api", ["rest", "http", "url"])
def test_crashed_invocation_in_process_is_answered_as_the_gateway_answers_a_failed_function(
        api: str, caplog: pytest.LogCaptureFixture) -> None:
    """A REST API answers a failed function with 502, not 500 (500 is a rejected invocation).
    https://docs.aws.amazon.com/lambda/latest/dg/services-apigateway-errors.html"""
    def crash(event: Any, context: Any) -> dict[str, Any]:
        raise RuntimeError("database exploded")

    with caplog.at_level(logging.ERROR, logger="lamroute.local"), \
            serving(crash, api=api) as server:
        status, _, body = request(server, "GET", "/x")
    assert (status, json.loads(body)) == FUNCTION_FAILED[api]
    assert "RuntimeError: database exploded" in caplog.text
    assert "Traceback" in caplog.text


@pytest.mark.parametrize("api", ["rest", "http"])
def test_in_process_function_timeout_is_a_failed_function_not_an_integration_timeout(
        api: str, caplog: pytest.LogCaptureFixture) -> None:
    release = threading.Event()

    def slow(event: Any, context: Any) -> dict[str, Any]:
        release.wait(10)
        return {"statusCode": 200, "body": "late"}

    try:
        with caplog.at_level(logging.ERROR, logger="lamroute.local"), \
                serving(slow, api=api, timeout=5.0, function_timeout=0.2) as server:
            status, _, body = request(server, "GET", "/")
    finally:
        release.set()
    assert (status, json.loads(body)) == FUNCTION_FAILED[api]
    assert "Task timed out after 0.20 seconds" in caplog.text


def test_in_process_cold_start_is_the_first_invocation_with_the_measured_import() -> None:
    """`lamroute serve --in-process` times the app's import: the container's init, shown with
    the first invocation's cold-start mark (the same mark as a new worker's)."""
    from lamroute.local.gateway import HttpRequest, access_line

    app = App(access_log=False)

    @app.get("/x")
    def x() -> str:
        return "x"

    with serving(app, init_ms=42.4) as server:
        first = server.gateway.handle(HttpRequest("GET", "/prod/x"))
        second = server.gateway.handle(HttpRequest("GET", "/prod/x"))
    assert first.cold_start is not None and first.cold_start.init_ms == 42.4
    assert access_line(HttpRequest("GET", "/prod/x"), first, 0.001).endswith(
        "1.0ms cold (init 42ms)")
    assert second.cold_start is None


def test_payload_2_answer_without_status_code_is_a_200_json_body() -> None:
    def bare(event: Any, context: Any) -> dict[str, Any]:
        return {"hello": "world"}

    with serving(bare, api="http") as server:
        status, headers, body = request(server, "GET", "/")
    with serving(bare, api="rest") as server:
        rest_status, _, _ = request(server, "GET", "/")
    assert (status, headers["Content-Type"], json.loads(body)) == (
        200, "application/json", {"hello": "world"})
    assert rest_status == 502  # payload 1.0 infers nothing


def test_slow_invocation_times_out_with_504() -> None:
    release = threading.Event()

    def slow(event: Any, context: Any) -> dict[str, Any]:
        release.wait(10)
        return {"statusCode": 200, "body": "late"}

    try:
        with serving(slow, api="rest", timeout=0.2) as server:
            status, _, body = request(server, "GET", "/")
            release.set()
            # The container was busy with the late invocation; the next request is answered.
            assert request(server, "GET", "/")[:3:2] == (200, b"late")
    finally:
        release.set()
    assert (status, json.loads(body)) == (504, {"message": "Endpoint request timed out"})


def test_http_api_integration_timeout_is_a_503_service_unavailable() -> None:
    """HTTP APIs answer their integration timeout with 503 {"message":"Service Unavailable"}
    (no spaces, as HTTP APIs write it), not REST's 504 "Endpoint request timed out"."""
    release = threading.Event()

    def slow(event: Any, context: Any) -> dict[str, Any]:
        release.wait(10)
        return {"statusCode": 200, "body": "late"}

    try:
        with serving(slow, api="http", timeout=0.2) as server:
            status, _, body = request(server, "GET", "/")
    finally:
        release.set()
    assert (status, body) == (503, b'{"message":"Service Unavailable"}')


def test_concurrent_clients_are_all_answered_one_invocation_at_a_time() -> None:
    app = make_app()
    active = 0
    most = 0
    calls = 0
    guard = threading.Lock()

    def counting(event: Any, context: Any) -> dict[str, Any]:
        nonlocal active, most, calls
        with guard:
            active += 1
            calls += 1
            most = max(most, active)
        time.sleep(0.02)  # long enough for the other clients to pile up
        try:
            return app(event, context)
        finally:
            with guard:
                active -= 1

    results: list[int] = []

    def client(server: LocalGateway, n: int) -> None:
        status, _, body = request(server, "GET", f"/echo?q={n}")
        assert json.loads(body)["query"] == [str(n)]
        results.append(status)

    with serving(counting, api="http") as server:
        threads = [threading.Thread(target=client, args=(server, n)) for n in range(12)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert results == [200] * 12
    assert calls == 12
    assert most == 1


def test_head_has_headers_but_no_body_and_chunked_uploads_are_read() -> None:
    with serving(make_app(), api="rest") as server:
        status, headers, body = request(server, "HEAD", "/binary")
        assert (status, headers["Content-Type"], body) == (200, "image/png", b"")
        chunked = b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        connection.putrequest("POST", "/prod/upload")
        connection.putheader("Transfer-Encoding", "chunked")
        connection.putheader("Content-Type", "application/octet-stream")
        connection.endheaders(chunked)
        response = connection.getresponse()
        assert (response.status, response.read()) == (200, b"hello world")
        connection.close()


def test_access_log_line_per_request(local_logs: Records) -> None:
    with serving(make_app(), api="rest") as server:
        request(server, "GET", "/echo?q=1")
        request(server, "GET", "/missing")
    lines = local_logs.messages()
    assert any('"GET /prod/echo?q=1" 200' in line for line in lines)
    assert any('"GET /prod/missing" 404' in line for line in lines)


def test_request_hooks_can_answer_before_the_app() -> None:
    from lamroute.local import HttpAnswer

    with serving(make_app(), api="http") as server:
        server.gateway.request_hooks.append(
            lambda req, event: HttpAnswer(401, [("Content-Type", "text/plain")], b"no")
            if req.header("authorization") is None else None)
        denied = request(server, "GET", "/echo")
        allowed = request(server, "GET", "/echo", headers=[("Authorization", "x")])
    assert denied[0] == 401
    assert allowed[0] == 200


def test_invalid_options_are_refused() -> None:
    with pytest.raises(ValueError):
        LocalGateway(make_app(), api="alb", port=0)
    with pytest.raises(ValueError):
        LocalGateway(make_app(), api="url", stage="dev", port=0)


def test_connection_hooks_can_take_a_request_over() -> None:
    from http.server import BaseHTTPRequestHandler

    def teapot(handler: BaseHTTPRequestHandler) -> bool:
        if handler.headers.get("X-Teapot") is None:
            return False
        handler.send_response(418)
        handler.send_header("Content-Length", "0")
        handler.end_headers()
        return True

    with serving(make_app(), api="http") as server:
        server.connection_hooks.append(teapot)
        assert request(server, "GET", "/echo", headers=[("X-Teapot", "1")])[0] == 418
        assert request(server, "GET", "/echo")[0] == 200


@pytest.mark.parametrize(("length", "status"), [(str(11 * 1024 * 1024), 413), ("abc", 400)])
def test_oversized_or_unreadable_bodies_get_the_gateways_answer(length: str, status: int) -> None:
    with serving(make_app(), api="rest") as server:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        connection.putrequest("POST", "/prod/upload")
        connection.putheader("Content-Length", length)
        connection.endheaders()
        response = connection.getresponse()
        assert response.status == status
        assert "message" in json.loads(response.read())
        connection.close()


def raw_exchange(server: LocalGateway, head: list[bytes], body: bytes = b"") -> tuple[int, bytes]:
    """Send a hand-framed request (headers exactly as given), end the upload, read the answer."""
    lines = [b"POST /prod/upload HTTP/1.1", b"Host: 127.0.0.1", b"Connection: close",
             b"Content-Type: application/octet-stream", *head]
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(b"\r\n".join(lines) + b"\r\n\r\n" + body)
        sock.shutdown(socket.SHUT_WR)  # EOF: what a body read "to the end" would stop at
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    answer = b"".join(chunks)
    status_line, _, rest = answer.partition(b"\r\n")
    return int(status_line.split(b" ", 2)[1]), rest.partition(b"\r\n\r\n")[2]


SMUGGLED = b"x" * 100


@pytest.mark.parametrize(("head", "body"), [
    # A negative chunk size used to read to EOF, past the 10 MB limit.
    pytest.param([b"Transfer-Encoding: chunked"], b"-1\r\n" + SMUGGLED, id="chunk-size--1"),
    pytest.param([b"Transfer-Encoding: chunked"], b"0x5\r\nhello\r\n0\r\n\r\n", id="chunk-0x"),
    pytest.param([b"Transfer-Encoding: chunked"], b"+5\r\nhello\r\n0\r\n\r\n", id="chunk-plus"),
    pytest.param([b"Transfer-Encoding: chunked"], b" 5\r\nhello\r\n0\r\n\r\n", id="chunk-space"),
    pytest.param([b"Transfer-Encoding: chunked"], b"5_0\r\n" + SMUGGLED, id="chunk-underscore"),
    pytest.param([b"Transfer-Encoding: chunked"], b"zz\r\nhello\r\n0\r\n\r\n", id="chunk-not-hex"),
    pytest.param([b"Transfer-Encoding: chunked"], b"5\r\nhelloXX0\r\n\r\n", id="chunk-no-crlf"),
    pytest.param([b"Transfer-Encoding: chunked"], b"5\r\nhello\r\n", id="chunk-eof-no-last"),
    pytest.param([b"Transfer-Encoding: chunked"], b"5;" + b"e" * 6000 + b"\r\nhello\r\n0\r\n\r\n",
                 id="chunk-line-too-long"),
    pytest.param([b"Content-Length: 0_5"], b"hello", id="length-underscore"),
    pytest.param([b"Content-Length: +5"], b"hello", id="length-plus"),
    pytest.param([b"Content-Length: -1"], b"hello", id="length-negative"),
    pytest.param([b"Content-Length: 5", b"Content-Length: 5"], b"hello", id="length-twice"),
    pytest.param([b"Content-Length: 5, 5"], b"hello", id="length-list"),
    pytest.param([b"Content-Length: 10"], b"hello", id="length-short-body"),
    pytest.param([b"Transfer-Encoding: gzip, chunked"], b"5\r\nhello\r\n0\r\n\r\n", id="te-list"),
    pytest.param([b"Transfer-Encoding: chunked, chunked"], b"5\r\nhello\r\n0\r\n\r\n",
                 id="te-chunked-twice"),
    pytest.param([b"Transfer-Encoding: chunked", b"Transfer-Encoding: chunked"],
                 b"5\r\nhello\r\n0\r\n\r\n", id="te-header-twice"),
    pytest.param([b"Transfer-Encoding: xchunked"], b"5\r\nhello\r\n0\r\n\r\n", id="te-xchunked"),
    pytest.param([b"Transfer-Encoding: identity", b"Content-Length: 5"], b"hello",
                 id="te-identity"),
    pytest.param([b"Content-Length: 5", b"Transfer-Encoding: chunked"],
                 b"5\r\nhello\r\n0\r\n\r\n", id="length-and-te"),
])
def test_request_smuggling_framings_are_refused_with_400(head: list[bytes], body: bytes) -> None:
    """RFC 9112 §6: one unambiguous framing, or 400 (and the connection closed)."""
    with serving(make_app(), api="rest") as server:
        status, answer = raw_exchange(server, head, body)
    assert status == 400, answer
    assert "message" in json.loads(answer)


@pytest.mark.parametrize("size_line", [b"5 ", b"5\t", b"5 \t"])
def test_chunk_size_with_trailing_whitespace_is_refused(size_line: bytes) -> None:
    """RFC 9112 §7.1: ``chunk-size [chunk-ext] CRLF``; whitespace (BWS) is allowed only before
    the ``;`` of an extension, so ``"5 "`` is not a chunk size a strict reader agrees on."""
    chunked = [b"Transfer-Encoding: chunked"]
    with serving(make_app(), api="rest") as server:
        refused = raw_exchange(server, chunked, size_line + b"\r\nhello\r\n0\r\n\r\n")
        extended = raw_exchange(server, chunked, size_line + b";ext=1\r\nhello\r\n0\r\n\r\n")
    assert refused[0] == 400
    assert extended == (200, b"hello")


@pytest.mark.parametrize(("head", "body"), [
    pytest.param([b"Transfer-Encoding: gzip"], b"hello", id="te-gzip"),
    pytest.param([b"Content-Length: 0_5"], b"hello", id="length-underscore"),
    pytest.param([b"Content-Length: 5", b"Transfer-Encoding: chunked"],
                 b"5\r\nhello\r\n0\r\n\r\n", id="length-and-te"),
    pytest.param([b"Transfer-Encoding: chunked"], b"zz\r\nhello\r\n0\r\n\r\n", id="bad-chunk"),
])
def test_framing_refusals_write_an_access_line(head: list[bytes], body: bytes,
                                               local_logs: Records) -> None:
    """A request refused before the app (400 for its framing) is a request too: one line."""
    with serving(make_app(), api="rest") as server:
        assert raw_exchange(server, head, body)[0] == 400
    lines = local_logs.messages()
    (line,) = [line for line in lines if '"POST /prod/upload"' in line]
    assert line.startswith('127.0.0.1 "POST /prod/upload" 400 '), line


@pytest.mark.parametrize(("head", "body"), [
    pytest.param([b"Transfer-Encoding: Chunked"], b"5\r\nhello\r\n0\r\n\r\n", id="te-case"),
    pytest.param([b"Transfer-Encoding: chunked"], b"5;ext=1\r\nhello\r\n0\r\nX-T: 1\r\n\r\n",
                 id="extension-and-trailer"),
    pytest.param([b"Transfer-Encoding: chunked"], b"A\r\nhellohello\r\n0\r\n\r\n",
                 id="upper-hex"),
    pytest.param([b"Content-Length:  5 "], b"hello", id="length-padded"),
])
def test_well_framed_bodies_are_read_whole(head: list[bytes], body: bytes) -> None:
    with serving(make_app(), api="rest") as server:
        status, answer = raw_exchange(server, head, body)
    assert status == 200
    assert answer in (b"hello", b"hellohello")


@pytest.mark.parametrize(("options", "fmt", "prefix"), MODES)
def test_client_x_forwarded_for_gets_the_peer_appended(options: dict[str, Any], fmt: str,
                                                        prefix: str) -> None:
    """A client cannot pose as another address: the gateway appends the peer it saw."""
    with serving(make_app(), **options) as server:
        spoofed = request(server, "GET", "/echo", headers=[("X-Forwarded-For", "6.6.6.6")])
        plain = request(server, "GET", "/echo")
    seen = json.loads(spoofed[2])
    assert seen["xff"] == ["6.6.6.6, 127.0.0.1"]
    assert seen["source_ip"] == "127.0.0.1"
    assert json.loads(plain[2])["xff"] == ["127.0.0.1"]


class SlowRecords(Records):
    """A log handler that takes its time: the access line lands after the client has read its
    whole answer, as a busy terminal or a slow log sink makes it."""

    def emit(self, record: logging.LogRecord) -> None:
        time.sleep(0.3)
        super().emit(record)


def test_stop_waits_for_request_threads_before_the_log_is_taken_away() -> None:
    """A request thread wrote its access line after ``stop()`` returned, into a log stream its
    test had closed meanwhile ("--- Logging error --- I/O operation on closed file")."""
    logger = logging.getLogger("lamroute.local")
    slow, level = SlowRecords(), logger.level
    logger.addHandler(slow)
    logger.setLevel(logging.INFO)
    try:
        with serving(make_app(), api="rest") as server:
            assert request(server, "GET", "/missing")[0] == 404  # the answer is read whole
        lines = slow.messages()  # stop() has returned: nothing may log after this point
    finally:
        logger.removeHandler(slow)
        logger.setLevel(level)
    assert any('"GET /prod/missing" 404' in line for line in lines), lines


@pytest.fixture
def local_logger_restored() -> Iterator[logging.Logger]:
    logger = logging.getLogger("lamroute.local")
    saved = (logger.handlers[:], logger.propagate, logger.level)
    logger.handlers.clear()
    try:
        yield logger
    finally:
        logger.handlers[:], logger.propagate, logger.level = saved


def test_local_log_lines_never_go_to_a_closed_stderr(
        local_logger_restored: logging.Logger, monkeypatch: pytest.MonkeyPatch) -> None:
    """``configure_logging()`` under a harness that swaps stderr (pytest's capsys, in test_cli)
    kept the stream of that moment: once it was closed, every later access line of every
    local gateway failed with "--- Logging error ---". Lines follow the current stderr."""
    import io

    from lamroute.local import configure_logging

    first = io.StringIO()
    monkeypatch.setattr(sys, "stderr", first)
    configure_logging()
    local_logger_restored.info("while configured")
    first.close()  # the harness is done with it
    second = io.StringIO()
    monkeypatch.setattr(sys, "stderr", second)
    with serving(make_app(), api="rest") as server:
        assert request(server, "GET", "/missing")[0] == 404
    written = second.getvalue()
    assert '"GET /prod/missing" 404' in written
    assert "Logging error" not in written and "closed file" not in written
