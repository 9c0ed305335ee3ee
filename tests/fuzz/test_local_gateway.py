"""End to end: real HTTP requests through the local gateway, hostile inputs and handlers, and no
answer is ever the gateway's own error (``{"message": "Internal server error"}``, a 500 for a
failed invocation or a 502 for a malformed response)."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lamroute import App, HTTPError, Request, Response, Timeout
from lamroute.local import LocalGateway

from .strategies import CASES, fuzz_settings

GATEWAYS = [("rest", "2.0"), ("http", "2.0"), ("http", "1.0"), ("url", "2.0")]
GATEWAY_ERROR = {"message": "Internal server error"}


class Unprintable(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no")


def hostile_app() -> App:
    # The local gateway calls the app in a worker thread, where a handler cannot be
    # interrupted: a late answer is replaced by the 504 once the handler returns.
    app = App(timeout=Timeout(integration_s=1.0, margin_s=0.4), max_body_size=64 * 1024)

    @app.route("/echo/{rest+}", methods=["GET", "POST", "PUT", "DELETE", "PATCH"])
    def echo(rest: str, request: Request) -> dict[str, Any]:
        return {"path": request.path, "query": request.query.multi_items(),
                "headers": len(request.headers), "body": request.text[:100],
                "cookies": request.cookies}

    @app.get("/raise/{kind}")
    def raiser(kind: str) -> None:
        errors: dict[str, BaseException] = {
            "value": ValueError("bad"), "base": GeneratorExit(), "key": KeyError("k"),
            "http": HTTPError(418, "teapot"), "junk-status": HTTPError("x"),  # type: ignore[arg-type]
            "unprintable": Unprintable(), "recursion": RecursionError(),
        }
        raise errors.get(kind, LookupError(kind))

    @app.get("/return/{kind}")
    def returner(kind: str) -> Any:
        values: dict[str, Any] = {
            "object": object(), "nan": {"x": float("nan")}, "gen": (i for i in range(2)),
            "set": {1, 2}, "status": Response("x", status=999), "header": Response(
                "x", headers={"X-Bad": "a\r\nb"}), "surrogate": Response(
                "x", headers={"X-S": "\ud800"}), "huge": "x" * 7_000_000,
            "bytes": b"\xff\xfe", "none": None,
        }
        return values.get(kind, kind)

    @app.get("/slow")
    def slow() -> str:
        time.sleep(0.75)  # past the 0.6 s budget, within the gateway's 1 s
        return "too late"

    return app


@pytest.fixture(scope="module", params=GATEWAYS, ids=["-".join(g) for g in GATEWAYS])
def gateway(request: pytest.FixtureRequest) -> Iterator[LocalGateway]:
    api, version = request.param
    server = LocalGateway(hostile_app(), api=api, payload_version=version, timeout=1.0, port=0)
    with server:
        yield server


def send(server: LocalGateway, method: bytes, target: bytes, headers: list[bytes],
         body: bytes = b"") -> tuple[int, bytes]:
    """A raw HTTP/1.1 request (bytes as they are), the status and body of the answer."""
    prefix = server.gateway.config.prefix.encode()
    lines = [method + b" " + prefix + target + b" HTTP/1.1", b"Host: 127.0.0.1",
             b"Connection: close", b"Content-Length: " + str(len(body)).encode(), *headers]
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(b"\r\n".join(lines) + b"\r\n\r\n" + body)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    raw = b"".join(chunks)
    head, _, payload = raw.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), payload


def check(status: int, body: bytes) -> None:
    try:
        parsed = json.loads(body)
    except ValueError:
        parsed = None
    assert parsed != GATEWAY_ERROR, (status, body[:300])
    assert status != 502, (status, body[:300])


PATH_PARTS = st.sampled_from([
    b"a", b"%", b"%zz", b"%ff", b"%2F", b"%00", b"%C3%28", b"\xff", b"\xc3\xa9", b"..", b"",
    b"%F0%9F%98%80", b"a%20b", b"+", b"~", b";x=1", b"\xed\xa0\x80",
])
HEADER_VALUES = st.sampled_from([
    b"plain", b"\xff\xfe", b"\xc3\xa9t\xc3\xa9", b"", b"a" * 8000, b"gzip;q=0", b"%00",
    b"=?utf-8?b?w6k=?=", b"\xed\xa0\x80",
])
BODIES = st.one_of(st.binary(max_size=200), st.just(b"\xff" * 70_000),
                   st.just(b'{"a": [1, 2]}'), st.just(b"[" * 3000))


@fuzz_settings(ci_examples=25)
@given(
    method=st.sampled_from([b"GET", b"POST", b"PUT", b"DELETE", b"PATCH", b"HEAD", b"OPTIONS"]),
    route=st.sampled_from([b"/echo/", b"/raise/", b"/return/", b"/", b"/nothing/"]),
    parts=st.lists(PATH_PARTS, max_size=4),
    query=st.lists(st.tuples(PATH_PARTS, PATH_PARTS), max_size=3),
    headers=st.lists(st.tuples(st.sampled_from([b"X-A", b"Cookie", b"Accept-Encoding",
                                                b"Content-Type", b"X-\xff"]), HEADER_VALUES),
                     max_size=4),
    body=BODIES,
)
def test_hostile_http_requests_never_get_the_gateway_error(
    gateway: LocalGateway, method: bytes, route: bytes, parts: list[bytes],
    query: list[tuple[bytes, bytes]], headers: list[tuple[bytes, bytes]], body: bytes,
) -> None:
    CASES["local gateway requests"] += 1
    target = route + b"/".join(parts)
    if query:
        target += b"?" + b"&".join(k + b"=" + v for k, v in query)
    status, answer = send(gateway, method, target, [k + b": " + v for k, v in headers], body)
    check(status, answer)


@pytest.mark.parametrize("path", [
    "/raise/value", "/raise/base", "/raise/key", "/raise/http", "/raise/junk-status",
    "/raise/unprintable", "/raise/recursion", "/return/object", "/return/nan", "/return/gen",
    "/return/set", "/return/status", "/return/header", "/return/surrogate", "/return/huge",
    "/return/bytes", "/return/none", "/slow",
])
def test_misbehaving_handlers_never_get_the_gateway_error(gateway: LocalGateway,
                                                          path: str) -> None:
    status, body = send(gateway, b"GET", path.encode(), [b"Accept: application/json"])
    check(status, body)
    expected = {"/raise/http": 418, "/return/none": 204, "/return/bytes": 200, "/slow": 504}
    assert status == expected.get(path, 500), (path, status, body[:200])
    if status >= 400:
        assert json.loads(body)["status"] == status


@pytest.fixture(scope="module")
def upload_gateway() -> Iterator[LocalGateway]:
    app = App(access_log=False)

    @app.post("/upload")
    def upload(request: Request) -> Response:
        return Response(request.body, media_type="application/octet-stream")

    with LocalGateway(app, api="http", port=0) as server:
        yield server


def exchange(server: LocalGateway, head: bytes, body: bytes) -> tuple[int, bytes]:
    """A raw request (framing exactly as given), the upload ended, and the answer."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(b"POST /upload HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                     b"Content-Type: application/octet-stream\r\n" + head + b"\r\n" + body)
        sock.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    status_line, _, rest = b"".join(chunks).partition(b"\r\n")
    return int(status_line.split(b" ", 2)[1]), rest.partition(b"\r\n\r\n")[2]


BAD_SIZES = st.sampled_from([b"-1", b"0x5", b"+5", b" 5", b"5_0", b"g", b"", b"5\r", b"-0",
                             b"\xff", b"1" * 5000])


@fuzz_settings(ci_examples=25)
@given(body=st.binary(max_size=300), cuts=st.lists(st.integers(1, 64), max_size=8),
       ext=st.sampled_from([b"", b";a=b", b" ;x", b"\t;y=\"z\""]),
       coding=st.sampled_from([b"chunked", b"Chunked", b"CHUNKED", b" chunked "]),
       bad=st.one_of(st.none(), st.tuples(BAD_SIZES, st.integers(0, 8))))
def test_chunked_uploads_are_read_exactly_or_refused(
    upload_gateway: LocalGateway, body: bytes, cuts: list[int], ext: bytes, coding: bytes,
    bad: tuple[bytes, int] | None,
) -> None:
    """A well-framed chunked body arrives byte for byte; one bad chunk-size line is a 400,
    never a body read some other way."""
    CASES["local gateway chunked uploads"] += 1
    pieces, rest = [], body
    for cut in cuts:
        if rest:
            pieces.append(rest[:cut])
            rest = rest[cut:]
    if rest:
        pieces.append(rest)
    lines = [b"%x%s\r\n%s\r\n" % (len(p), ext, p) for p in pieces] + [b"0\r\n\r\n"]
    if bad is not None:
        size, at = bad
        at = min(at, len(lines) - 1)
        lines[at] = size + b"\r\n" + lines[at].partition(b"\r\n")[2]
    status, answer = exchange(upload_gateway, b"Transfer-Encoding: " + coding + b"\r\n",
                              b"".join(lines))
    if bad is None:
        assert (status, answer) == (200, body)
    else:
        assert status == 400, (status, answer[:100])
