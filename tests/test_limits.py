"""Payload limits: oversized answers become formatted problems; request bodies get a 413."""

from __future__ import annotations

import gzip
import json
import os
import sys
from typing import Any

import pytest
from fixtures import Records
from hypothesis import given, settings
from hypothesis import strategies as st

from lamroute import App, Request, Response, RouteDefinitionError
from lamroute.errors import SERVER_ERROR_DETAIL
from lamroute.safeguards import SURELY_FITS
from lamroute.safeguards.limits import (
    ALB_RESPONSE_LIMIT,
    LAMBDA_RESPONSE_LIMIT,
    UTF8_BYTES_PER_CHAR,
    ResponseTooLarge,
    rough_bound,
    runtime_escapes_non_ascii,
    serialised_size,
)
from lamroute.testing import FORMATS, TestClient, rules

API_FORMATS = [f for f in FORMATS if not f.startswith("alb")]




def big_app(**options: Any) -> App:
    app = App(**options)

    @app.get("/text/{size}")
    def text(size: str) -> str:
        return "x" * int(size)

    @app.get("/random/{size}")
    def random_bytes(size: str) -> Response:
        return Response(os.urandom(int(size)), media_type="application/octet-stream")

    @app.get("/image")
    def image() -> Response:
        return Response(b"\0" * 5_000_000, media_type="image/png")

    @app.post("/echo")
    def echo(request: Request) -> dict[str, int]:
        return {"size": len(request.body)}

    @app.post("/small", max_body_size=4)
    def small(request: Request) -> dict[str, int]:
        return {"size": len(request.body)}

    @app.post("/unlimited", max_body_size=None)
    def unlimited(request: Request) -> dict[str, int]:
        return {"size": len(request.body)}

    return app


def test_the_limits_match_the_gateway_rules() -> None:
    assert LAMBDA_RESPONSE_LIMIT == rules.LAMBDA_RESPONSE_LIMIT
    assert ALB_RESPONSE_LIMIT == rules.ALB_RESPONSE_LIMIT


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_oversized_answer_becomes_a_formatted_500(fmt: str, logs: Records) -> None:
    response = TestClient(big_app(), format=fmt).get("/text/7000000")
    assert response.status_code == 500
    assert response.json()["title"] == "Response Too Large"
    line = next(r for r in logs.records if r.getMessage() == "response too large for the gateway")
    assert line.__dict__["size"] > line.__dict__["limit"]
    assert line.__dict__["route"] == "/text/{size}"


@pytest.mark.parametrize("fmt", ["alb", "alb-multi"])
def test_alb_answers_are_limited_to_one_megabyte(fmt: str) -> None:
    client = TestClient(big_app(), format=fmt)
    assert client.get("/text/1100000").status_code == 500
    assert client.get("/text/1000000").status_code == 200
    assert TestClient(big_app(), format="http").get("/text/1100000").status_code == 200


@pytest.mark.parametrize("fmt", ["http", "url", "alb", "http-v1"])
def test_gzip_rescues_an_oversized_answer_when_the_client_accepts_it(fmt: str) -> None:
    client = TestClient(big_app(), format=fmt)
    response = client.get("/text/7000000", headers={"Accept-Encoding": "gzip, br"})
    assert response.status_code == 200
    assert response.headers["content-encoding"] == "gzip"
    assert gzip.decompress(response.content) == b"x" * 7_000_000


def test_rest_answers_are_gzipped_to_fit_only_when_the_app_compresses() -> None:
    headers = {"Accept-Encoding": "gzip"}
    plain = TestClient(big_app(), format="rest").get("/text/7000000", headers=headers)
    assert plain.status_code == 500  # without binaryMediaTypes the client would get base64 text
    packed = TestClient(big_app(compress=True), format="rest").get("/text/7000000",
                                                                  headers=headers)
    assert packed.status_code == 200 and packed.headers["content-encoding"] == "gzip"


def test_incompressible_oversized_answers_stay_errors() -> None:
    client = TestClient(big_app(compress=True), format="http")
    response = client.get("/random/5000000", headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 500  # base64 of 5 MB random bytes is 6.7 MB
    assert response.json()["title"] == "Response Too Large"
    image = client.get("/image", headers={"Accept-Encoding": "gzip"})
    assert image.status_code == 500  # never gzip an image, even to make it fit


def test_a_too_large_custom_error_answer_falls_back_to_the_minimal_problem() -> None:
    app = big_app()

    @app.exception_handler(ResponseTooLarge)
    def huge(request: Request, exc: ResponseTooLarge) -> str:
        return "y" * exc.size

    response = TestClient(app, format="http").get("/text/7000000")
    assert response.status_code == 500
    assert response.json() == {"type": "about:blank", "title": "Internal Server Error",
                               "status": 500, "detail": SERVER_ERROR_DETAIL,
                               "instance": "/text/7000000",
                               "request_id": response.json()["request_id"]}


def test_the_error_answer_is_customisable() -> None:
    app = big_app()

    @app.exception_handler(ResponseTooLarge)
    def too_large(request: Request, exc: ResponseTooLarge) -> Response:
        return Response.json({"error": "too large", "size": exc.size}, 500)

    response = TestClient(app, format="url").get("/text/7000000")
    assert response.json()["error"] == "too large" and response.json()["size"] > 7_000_000


@pytest.mark.parametrize("fmt", FORMATS)
def test_max_body_size_answers_413(fmt: str) -> None:
    client = TestClient(big_app(max_body_size=10), format=fmt)
    assert client.post("/echo", body="0123456789").json() == {"size": 10}
    response = client.post("/echo", body="0123456789A")
    assert response.status_code == 413
    assert response.json()["detail"] == (
        "The request body is 11 bytes; this endpoint accepts at most 10."
    )
    assert client.post("/echo", body=b"\xff" * 11).status_code == 413  # base64: decoded size
    assert client.post("/small", body="12345").status_code == 413
    assert client.post("/unlimited", body="z" * 1000).json() == {"size": 1000}


def test_max_body_size_counts_utf8_bytes() -> None:
    client = TestClient(big_app(), format="http")
    assert client.post("/small", body="éé").status_code == 200
    assert client.post("/small", body="ééé").status_code == 413


@pytest.mark.parametrize("bad", [-1, 1.5, "10", True])
def test_invalid_max_body_size_is_rejected_at_registration(bad: Any) -> None:
    with pytest.raises(RouteDefinitionError):
        App(max_body_size=bad)
    with pytest.raises(RouteDefinitionError):
        App().post("/", max_body_size=bad)(lambda: None)


_header_value = st.text(max_size=40)
_payloads = st.fixed_dictionaries({
    "statusCode": st.integers(100, 599),
    "headers": st.dictionaries(st.text(min_size=1, max_size=10), _header_value, max_size=4),
    "body": st.text(max_size=300),
    "isBase64Encoded": st.booleans(),
}, optional={
    "multiValueHeaders": st.dictionaries(st.text(min_size=1, max_size=10),
                                         st.lists(_header_value, max_size=3), max_size=3),
    "cookies": st.lists(_header_value, max_size=3),
    "statusDescription": st.text(max_size=20),
})


@settings(max_examples=300)
@given(_payloads)
def test_the_quick_bound_is_never_below_the_real_size(payload: dict[str, Any]) -> None:
    assert rough_bound(payload) >= serialised_size(payload, escaped=True)
    assert rough_bound(payload, UTF8_BYTES_PER_CHAR) >= serialised_size(payload, escaped=False)
    assert serialised_size(payload, escaped=True) >= serialised_size(payload, escaped=False)
    assert serialised_size(payload, escaped=False) >= len(
        json.dumps(payload, ensure_ascii=False).encode("utf-8", errors="surrogatepass")
    )


def test_the_size_is_the_serialisation_of_the_runtime_in_use() -> None:
    payload = {"body": "é" * 10}
    assert serialised_size(payload, escaped=True) == len('{"body": "' + "\\u00e9" * 10 + '"}')
    assert serialised_size(payload, escaped=False) == len('{"body": ""}') + 20
    # simplejson (the runtime interface client) escapes U+2028/U+2029 even in UTF-8 mode.
    assert serialised_size({"body": "\u2028"}, escaped=False) == len('{"body": "\\u2028"}')
    assert serialised_size({"body": "😀"}, escaped=False) == len('{"body": ""}') + 4


RUNTIMES = [("AWS_Lambda_python3.9", True), ("AWS_Lambda_python3.11", True),
            ("AWS_Lambda_python3.12", False), ("AWS_Lambda_python3.13", False),
            ("AWS_Lambda_python3.14", False), ("AWS_Lambda_nodejs20.x", True), ("", None)]


@pytest.mark.parametrize(("runtime", "escapes"), RUNTIMES)
def test_the_runtime_is_read_from_aws_execution_env(runtime: str, escapes: bool | None) -> None:
    expected = sys.version_info < (3, 12) if escapes is None else escapes  # unset: this Python
    assert runtime_escapes_non_ascii({"AWS_EXECUTION_ENV": runtime}) is expected
    assert runtime_escapes_non_ascii({}) is (sys.version_info < (3, 12))


# (body, runtime, answered): the Python 3.12+ runtimes send UTF-8, older ones escape.
UNICODE_BODIES = [
    ("é" * 2_900_000, "AWS_Lambda_python3.12", 200),   # 5.8 MB as UTF-8, 17.4 MB escaped
    ("é" * 2_900_000, "AWS_Lambda_python3.11", 500),
    ("😀" * 1_500_000, "AWS_Lambda_python3.13", 200),  # 6.0 MB as UTF-8, 18 MB escaped
    ("😀" * 1_600_000, "AWS_Lambda_python3.13", 500),  # 6.4 MB as UTF-8
    ("\u2028" * 1_100_000, "AWS_Lambda_python3.12", 500),  # 3.3 MB raw, escaped to 6.6 MB
    ("é" * 1_000_000 + "x" * 4_000_000, "AWS_Lambda_python3.12", 200),
]


@pytest.mark.parametrize("fmt", API_FORMATS)
@pytest.mark.parametrize(("body", "runtime", "status"), UNICODE_BODIES,
                         ids=[f"{len(b)}x{b[0]!r}-{r[-4:]}" for b, r, _ in UNICODE_BODIES])
def test_the_6_mb_rule_counts_the_bytes_the_runtime_sends(
    fmt: str, body: str, runtime: str, status: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_EXECUTION_ENV", runtime)
    app = App(access_log=False)
    app.get("/unicode")(lambda: body)
    response = TestClient(app, format=fmt).get("/unicode")  # the client checks the real size
    assert response.status_code == status
    if status == 200:
        assert response.text == body
    else:
        assert response.json()["title"] == "Response Too Large"


def test_the_alb_limit_counts_utf8_bytes_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_EXECUTION_ENV", "AWS_Lambda_python3.12")
    app = App(access_log=False)
    app.get("/unicode")(lambda: "é" * 500_000)  # 1 MB as UTF-8, 3 MB escaped
    assert TestClient(app, format="alb").get("/unicode").status_code == 200
    monkeypatch.setenv("AWS_EXECUTION_ENV", "AWS_Lambda_python3.11")
    app = App(access_log=False)
    app.get("/unicode")(lambda: "é" * 500_000)
    assert TestClient(app, format="alb").get("/unicode").status_code == 500


def test_the_testing_rules_measure_like_the_runtime(monkeypatch: pytest.MonkeyPatch) -> None:
    answer = {"statusCode": 200, "headers": {}, "body": "é" * 2_900_000,
              "isBase64Encoded": False}
    monkeypatch.setenv("AWS_EXECUTION_ENV", "AWS_Lambda_python3.12")
    assert rules.check_proxy_response("http", answer) == []
    monkeypatch.setenv("AWS_EXECUTION_ENV", "AWS_Lambda_python3.11")
    assert "over the" in rules.check_proxy_response("http", answer)[0]


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_oversized_dict_answer_is_still_measured(fmt: str) -> None:
    """A dict answer is left unmeasured only while it surely fits: a large one is a 500."""
    app = App(access_log=False)

    @app.get("/big/{size}")
    def big(size: int) -> dict[str, str]:
        return {"data": "x" * size}

    client = TestClient(app, format=fmt)
    limit = ALB_RESPONSE_LIMIT if fmt.startswith("alb") else LAMBDA_RESPONSE_LIMIT
    assert client.get(f"/big/{SURELY_FITS}").status_code == 200
    too_large = client.get(f"/big/{limit}")
    assert too_large.status_code == 500
    assert too_large.json()["title"] == "Response Too Large"


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("char", ["\x01", "\u2028", "\U0001f600", "\ud800"])
def test_an_unmeasured_answer_fits_every_format(fmt: str, char: str) -> None:
    """The claim behind SURELY_FITS: a lamroute JSON answer of that many body bytes, of the
    characters that serialise largest (or bytes that are not UTF-8, sent base64), fits the
    format's limit under a runtime that escapes non-ASCII."""
    from lamroute.formats import detect
    from lamroute.http.response import _json_response, untouched_json_body
    from lamroute.testing import make_event

    unit = char.encode("utf-8", "surrogatepass")
    body = (unit * (SURELY_FITS // len(unit) + 1))[:SURELY_FITS]
    response = _json_response(body, 200)
    assert untouched_json_body(response) == body
    event = make_event(fmt, "GET", "/x")
    parsed = detect(event)
    payload = parsed.render(response, parsed.parse(event, None))
    limit = ALB_RESPONSE_LIMIT if fmt.startswith("alb") else LAMBDA_RESPONSE_LIMIT
    assert serialised_size(payload, escaped=True) <= limit
