"""Form and multipart bodies: real bodies (urllib3's encoder) round-trip exactly, text parts in
every charset of the WHATWG Encoding Standard included; mangled, truncated, mislabelled and
random bodies (any ``charset=``, any RFC 8187 ``name*=``/``filename*=`` value) are answered
with a 4xx, never a 5xx; in every payload format, base64 or text as each service delivers
them."""

from __future__ import annotations

import functools
import json
from typing import Annotated, Any
from urllib.parse import quote

from hypothesis import given
from hypothesis import strategies as st
from urllib3 import encode_multipart_formdata
from urllib3.fields import RequestField

from lamroute import App, File, Form, Request, Timeout, UploadFile
from lamroute.testing import FORMATS, FakeContext, make_event
from lamroute.testing.bodies import delivered_body

from .strategies import (
    CASES,
    CHARSET_LABELS,
    PERCENT_JUNK,
    WHATWG_CODECS,
    check_answer,
    fuzz_settings,
)


def forms_app() -> App:
    app = App(timeout=Timeout(margin_s=0.05), max_part_size=4096, max_fields=50)

    @app.post("/echo")
    def echo(request: Request) -> dict[str, Any]:
        return {"items": [[k, v] if isinstance(v, str) else
                          [k, {"filename": v.filename, "content": v.read().hex(),
                               "type": v.content_type}]
                          for k, v in request.form().multi_items()]}

    @app.post("/typed")
    def typed(title: Annotated[str, Form(max_length=50)], count: Annotated[int, Form()] = 0,
              files: Annotated[list[UploadFile], File(alias="file")] = [],  # noqa: B006
              raw: Annotated[bytes | None, File()] = None) -> dict[str, int]:
        return {"files": len(files), "raw": len(raw or b"")}

    return app


APP = forms_app()
# Text the HTML escaping of urllib3 (and browsers) leaves as is: no '"', no control characters.
plain_text = st.text(st.characters(codec="utf-8", exclude_characters='"',
                                   exclude_categories=["Cc", "Cs"]), max_size=12)
field_names = plain_text.filter(bool)
text_fields = st.tuples(field_names, st.text(st.characters(codec="utf-8"), max_size=40))
file_fields = st.tuples(field_names, st.tuples(plain_text, st.binary(max_size=300),
                                               st.sampled_from(["application/octet-stream",
                                                                "image/png", "text/plain"])))


def send(fmt: str, body: bytes, content_type: str | None, path: str = "/echo") -> dict[str, Any]:
    delivered = delivered_body(fmt, body, content_type)
    headers = [("Content-Type", content_type)] if content_type is not None else []
    event = make_event(fmt, "POST", path, headers=headers, body=delivered)
    answer = APP(event, FakeContext(timeout_ms=10_000))
    check_answer(fmt, answer)
    return answer  # type: ignore[no-any-return]


@fuzz_settings(ci_examples=60)
@given(st.sampled_from(FORMATS), st.lists(st.one_of(text_fields, file_fields), max_size=8))
def test_real_multipart_bodies_round_trip_exactly(fmt: str, fields: list[Any]) -> None:
    CASES["multipart round trips"] += 1
    body, content_type = encode_multipart_formdata(fields)
    answer = send(fmt, body, content_type)
    assert answer["statusCode"] == 200, answer["body"][:300]
    expected = [[name, value] if isinstance(value, str) else
                [name, {"filename": value[0], "content": value[1].hex(), "type": value[2]}]
                for name, value in fields]
    assert json.loads(answer["body"])["items"] == expected


@st.composite
def mangled_multipart(draw: st.DrawFn) -> tuple[bytes, str]:
    fields = draw(st.lists(st.one_of(text_fields, file_fields), min_size=1, max_size=6))
    body, content_type = encode_multipart_formdata(fields, boundary="fuzz-b0undary")
    data = bytearray(body)
    for _ in range(draw(st.integers(1, 4))):
        action = draw(st.sampled_from(["truncate", "flip", "insert", "delete", "boundary",
                                       "header", "charset", "extended"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if action == "truncate":
            del data[at:]
        elif action == "flip" and data:
            data[at] ^= draw(st.integers(1, 255))
        elif action == "insert":
            data[at:at] = draw(st.sampled_from([b"\r\n", b"--", b"--fuzz-b0undary", b"\r\n\r\n",
                                                b"--fuzz-b0undary--\r\n", b"\x00", b'"', b";",
                                                b"Content-Disposition: form-data\r\n"]))
        elif action == "delete":
            del data[at:at + draw(st.integers(1, 20))]
        elif action == "boundary":
            content_type = draw(st.sampled_from([
                "multipart/form-data", "multipart/form-data; boundary=",
                "multipart/form-data; boundary=other", 'multipart/form-data; boundary="fuzz',
                "multipart/form-data; boundary=" + "b" * 300, "multipart/mixed; boundary=x",
                "multipart/form-data; boundary=fuzz-b0undary; charset=utf-8",
                "multipart/form-data; boundary=\u00e9", "application/x-www-form-urlencoded"]))
        elif action == "charset":  # a text part in any charset a client may name
            end = bytes(data).find(b"\r\n\r\n")
            if end != -1:
                label = draw(CHARSET_LABELS).encode()
                data[end:end] = b"\r\nContent-Type: text/plain; charset=" + label
        elif action == "extended":  # an RFC 8187 name*= or filename*= in any charset
            key = draw(st.sampled_from([b"name", b"filename"]))
            label = draw(CHARSET_LABELS).encode()
            value = draw(st.one_of(PERCENT_JUNK, st.text(max_size=12).map(quote))).encode()
            data = bytearray(bytes(data).replace(
                b" " + key + b'="', b" " + key + b"*=" + label + b"''" + value + b'; x="', 1))
        else:
            data = bytearray(bytes(data).replace(b"Content-Disposition", draw(st.sampled_from(
                [b"Content-Type", b"X", b"content-disposition", b"Content-Disposition\r\n"])), 1))
    return bytes(data), content_type


# Characters of many scripts; each charset encodes some of them.
_SCRIPTS = "".join(chr(c) for c in [
    *range(0x20, 0x7F), *range(0xA0, 0x180), *range(0x391, 0x3CA), *range(0x401, 0x460),
    *range(0x5D0, 0x5EB), *range(0x621, 0x64B), *range(0x2013, 0x2023), 0x20AC, 0x2122,
]) + "日本語中文한국어漢字かなカナ"


@functools.cache
def repertoire(codec: str) -> str:
    """The characters of ``_SCRIPTS`` that ``codec`` writes and reads back unchanged."""
    def round_trips(char: str) -> bool:
        try:
            return char.encode(codec).decode(codec) == char
        except UnicodeError:
            return False
    return "".join(char for char in _SCRIPTS if round_trips(char))


@st.composite
def labelled_texts(draw: st.DrawFn) -> tuple[str, str, bytes]:
    """(a WHATWG label, a text, the text as a client encodes it in that charset)."""
    label = draw(st.sampled_from(sorted(WHATWG_CODECS)))
    codec = WHATWG_CODECS[label]
    text = draw(st.text(st.sampled_from(repertoire(codec)), max_size=30))
    return label, text, text.encode(codec)


@fuzz_settings(ci_examples=60)
@given(st.sampled_from(FORMATS), labelled_texts())
def test_text_parts_in_every_whatwg_charset_round_trip(fmt: str,
                                                      case: tuple[str, str, bytes]) -> None:
    CASES["charset round trips"] += 1
    label, text, encoded = case
    field = RequestField(name="t", data=encoded)
    field.make_multipart(content_type=f"text/plain; charset={label}")
    body, content_type = encode_multipart_formdata([field])
    answer = send(fmt, body, content_type)
    assert answer["statusCode"] == 200, answer["body"][:300]
    assert json.loads(answer["body"])["items"] == [["t", text]]


@fuzz_settings(ci_examples=100)
@given(st.sampled_from(FORMATS), mangled_multipart(), st.sampled_from(["/echo", "/typed"]))
def test_mangled_multipart_bodies_get_a_4xx_at_worst(fmt: str, case: tuple[bytes, str],
                                                     path: str) -> None:
    CASES["mangled multipart bodies"] += 1
    body, content_type = case
    answer = send(fmt, body, content_type, path)
    assert answer["statusCode"] in (200, 400, 413, 415, 422), answer["body"][:300]


@fuzz_settings(ci_examples=60)
@given(st.sampled_from(FORMATS),
       st.one_of(st.binary(max_size=200), PERCENT_JUNK.map(str.encode),
                 st.lists(st.tuples(plain_text, plain_text), max_size=80).map(
                     lambda pairs: "&".join(f"{k}={v}" for k, v in pairs).encode())),
       st.sampled_from(["application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
                        None, "text/plain"]),
       st.sampled_from(["/echo", "/typed"]))
def test_random_form_bodies_get_a_4xx_at_worst(fmt: str, body: bytes, content_type: str | None,
                                               path: str) -> None:
    CASES["random form bodies"] += 1
    answer = send(fmt, body, content_type, path)
    assert answer["statusCode"] in (200, 400, 413, 415, 422), answer["body"][:300]
