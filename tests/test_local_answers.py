"""Proxy response → HTTP answer rules of the local gateway, without sockets."""

from __future__ import annotations

import base64

import pytest

from lamroute.local import to_http_answer
from lamroute.local.answers import is_text_type, matches_media_types


def test_v1_headers_and_multi_value_headers_are_merged_without_duplicates() -> None:
    done = to_http_answer("rest", {
        "statusCode": 200, "body": "",
        "headers": {"X-One": "1", "X-Both": "b", "Content-Type": "text/plain"},
        "multiValueHeaders": {"X-Both": ["a", "b"], "Set-Cookie": ["c=1", "d=2"]},
    })
    headers = done.answer.headers
    assert [v for k, v in headers if k == "X-Both"] == ["a", "b"]
    assert [v for k, v in headers if k == "Set-Cookie"] == ["c=1", "d=2"]
    assert ("X-One", "1") in headers
    assert done.answer.header("content-type") == "text/plain"


def test_v2_cookies_become_set_cookie_headers_and_framing_headers_are_dropped() -> None:
    done = to_http_answer("http", {
        "statusCode": 204, "cookies": ["a=1", "b=2"],
        "headers": {"content-length": "999", "connection": "close", "x-a": "1"},
    })
    assert done.answer.status == 204
    assert [v for k, v in done.answer.headers if k == "Set-Cookie"] == ["a=1", "b=2"]
    assert done.answer.header("content-length") is None
    assert done.answer.header("connection") is None
    assert done.answer.header("content-type") == "application/json"


@pytest.mark.parametrize("payload", [
    None, [], "text", {"statusCode": 99}, {"statusCode": 200, "body": 1},
    {"statusCode": 200, "isBase64Encoded": True, "body": "!!"},
    {"statusCode": 200, "headers": {"a": 1}}, {"statusCode": 200, "cookies": ["a"]},
])
def test_malformed_v1_responses_are_502s_with_reasons(payload: object) -> None:
    done = to_http_answer("rest", payload)
    assert done.answer.status == 502
    assert done.answer.body == b'{"message": "Internal server error"}'
    assert done.problems


def test_payload_2_infers_a_json_body_but_not_for_unserialisable_values() -> None:
    assert to_http_answer("http", ["a"]).answer.body == b'["a"]'
    assert to_http_answer("url", "hi").answer.body == b'"hi"'
    assert to_http_answer("http", {"statusCode": 200, "extra": 1}).answer.status == 502
    assert to_http_answer("http", {1j}).answer.status == 502


def test_rest_binary_decoding_follows_the_first_accept_type() -> None:
    body = base64.b64encode(b"\x00\xff").decode()
    payload = {"statusCode": 200, "body": body, "isBase64Encoded": True}
    png = ("image/png",)
    assert to_http_answer("rest", payload, accept="image/png, */*",
                          binary_media_types=png).answer.body == b"\x00\xff"
    kept = to_http_answer("rest", payload, accept="text/html, image/png",
                          binary_media_types=png)
    assert kept.answer.body == body.encode() and kept.warnings
    assert to_http_answer("http", payload, accept="text/html").answer.body == b"\x00\xff"


def test_media_type_helpers() -> None:
    assert matches_media_types("image/png; q=1", ["image/*"])
    assert not matches_media_types("text/plain", ["image/*", "application/pdf"])
    assert matches_media_types(None, ["*/*"])
    assert is_text_type("application/problem+json") and is_text_type("text/csv")
    assert not is_text_type("application/octet-stream") and not is_text_type(None)
