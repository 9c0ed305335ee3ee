"""multipart/form-data uploads: File() as UploadFile and bytes, lists, mixed with Form() fields;
through every payload format with bodies built by standard encoders (urllib3's
``encode_multipart_formdata`` and the standard library's ``email.mime``), delivered base64 as
the services deliver them; a 1 MB file, unicode file names, hostile bodies and the limits."""

from __future__ import annotations

import email.policy
import hashlib
import os
from email.encoders import encode_base64
from email.mime.application import MIMEApplication
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from typing import Annotated, Any

import pytest
from urllib3 import encode_multipart_formdata

from lamroute import App, File, Form, Request, UploadFile
from lamroute.testing import TestClient

FORMATS = [("rest", ("*/*",)), ("rest", ("multipart/form-data",)), ("http-v1", ()),
           ("http", ()), ("url", ()), ("alb", ()), ("alb-multi", ())]
IDS = ["rest-binary", "rest-multipart", "http-v1", "http", "url", "alb", "alb-multi"]


def digest(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def upload_app(**options: Any) -> App:
    app = App(**options)

    @app.post("/upload")
    def upload(title: Annotated[str, Form()], file: UploadFile,
               tags: Annotated[list[str], Form(alias="tag")] = []  # noqa: B006
               ) -> dict[str, Any]:
        content = file.read()
        return {"title": title, "tags": tags, "filename": file.filename,
                "content_type": file.content_type, "size": file.size,
                "sha256": digest(content), "header": file.headers.get("x-part")}

    @app.post("/many")
    def many(files: Annotated[list[UploadFile], File(alias="file")],
             raw: Annotated[list[bytes], File()] = []  # noqa: B006
             ) -> dict[str, Any]:
        return {"names": [f.filename for f in files], "raw": [digest(r) for r in raw]}

    @app.post("/bytes")
    def as_bytes(data: Annotated[bytes, File()], note: Annotated[str | None, Form()] = None
                 ) -> dict[str, Any]:
        return {"size": len(data), "sha256": digest(data), "note": note}

    @app.post("/optional")
    def optional(avatar: UploadFile | None = None) -> dict[str, Any]:
        return {"avatar": None if avatar is None else avatar.filename}

    @app.post("/echo")
    def echo(request: Request) -> dict[str, Any]:
        form = request.form()
        return {"items": [[k, v if isinstance(v, str) else {"file": v.filename, "size": v.size}]
                          for k, v in form.multi_items()]}

    @app.post("/names")
    def names(files: Annotated[list[UploadFile], File(alias="f")]) -> dict[str, Any]:
        return {"raw": [f.filename for f in files], "safe": [f.safe_filename for f in files]}

    @app.post("/small", max_part_size=10, max_fields=3)
    def small(request: Request) -> dict[str, int]:
        return {"parts": len(request.form().multi_items())}

    return app


@pytest.fixture(params=FORMATS, ids=IDS)
def client(request: pytest.FixtureRequest) -> TestClient:
    fmt, binary = request.param
    return TestClient(upload_app(), format=fmt, binary_media_types=binary)


def post(client: TestClient, path: str, fields: Any) -> Any:
    body, content_type = encode_multipart_formdata(fields)
    return client.post(path, body=body, headers={"Content-Type": content_type})


BINARY = bytes(range(256)) * 4  # every byte value, invalid UTF-8 included


def test_a_file_and_form_fields_in_every_format(client: TestClient) -> None:
    response = post(client, "/upload", [("title", "report"), ("tag", "a"), ("tag", "b"),
                                        ("file", ("data.bin", BINARY, "application/pdf"))])
    assert response.status_code == 200, response.text
    assert response.json() == {"title": "report", "tags": ["a", "b"], "filename": "data.bin",
                               "content_type": "application/pdf", "size": len(BINARY),
                               "sha256": digest(BINARY), "header": None}


def test_the_event_carries_the_body_as_the_service_delivers_it(client: TestClient) -> None:
    body, content_type = encode_multipart_formdata({"f": ("a.bin", b"\x00\xff")})
    seen: list[bool] = []
    app = client.app

    def spy(event: Any, context: Any) -> Any:
        seen.append(event["isBase64Encoded"])
        return app(event, context)

    client.app = spy
    assert client.post("/echo", body=body,
                       headers={"Content-Type": content_type}).status_code == 200
    assert seen == [True]  # multipart is binary for every service once configured for it


def test_a_one_megabyte_file_arrives_intact(client: TestClient) -> None:
    content = os.urandom(1024 * 1024)
    if client.format.startswith("alb"):  # ALB's request body limit is 1 MB in all
        content = content[: 700 * 1024]  # base64 in the event: 4/3 of that
    response = post(client, "/bytes", {"data": ("big.bin", content), "note": "x"})
    assert response.status_code == 200, response.text[:300]
    assert response.json() == {"size": len(content), "sha256": digest(content), "note": "x"}


def test_several_files_under_one_name_are_a_list(client: TestClient) -> None:
    response = post(client, "/many", [("file", ("a.txt", b"1", "text/plain")),
                                      ("file", ("b.txt", b"22", "text/plain")),
                                      ("raw", ("r1", b"x")), ("raw", ("r2", b"y"))])
    assert response.json() == {"names": ["a.txt", "b.txt"],
                               "raw": [digest(b"x"), digest(b"y")]}


def test_unicode_file_names_raw_utf8_as_browsers_send_them(client: TestClient) -> None:
    name = 'résumé "final" 📄.pdf'
    response = post(client, "/echo", {"f": (name, b"%PDF")})
    # urllib3 writes the HTML standard's form: raw UTF-8, '"' as %22 (not decoded back)
    assert response.json()["items"] == [["f", {"file": name.replace('"', "%22"), "size": 4}]]


def test_unicode_file_names_in_rfc5987_filename_star(client: TestClient) -> None:
    message = MIMEMultipart("form-data")
    text = MIMEBase("text", "plain", charset="utf-8")
    text.set_payload("naïve".encode())
    text.add_header("Content-Disposition", "form-data", name="title")
    message.attach(text)
    part = MIMEApplication(BINARY)  # email writes it base64 (Content-Transfer-Encoding)
    part.add_header("Content-Disposition", "form-data", name="file",
                    filename=("utf-8", "", "Übersicht 2026 📊.xlsx"))
    message.attach(part)
    raw = message.as_bytes(policy=email.policy.HTTP)
    assert b"filename*=utf-8''%C3%9Cbersicht" in raw
    body = raw.partition(b"\r\n\r\n")[2]
    response = client.post("/upload", body=body,
                           headers={"Content-Type": message["Content-Type"]})
    assert response.status_code == 200, response.text
    assert response.json()["filename"] == "Übersicht 2026 📊.xlsx"
    assert response.json()["sha256"] == digest(BINARY)
    assert response.json()["title"] == "naïve"


# (what a client may send as a file name, what safe_filename makes of it)
HOSTILE_NAMES = [("../../etc/passwd", "passwd"), ("..\\..\\windows\\win.ini", "win.ini"),
                 ("C:\\Users\\ann\\résumé.pdf", "résumé.pdf"),
                 ("a\r\nSet-Cookie: x.txt", "aSet-Cookie: x.txt"),
                 ("evil\x00.php.jpg", "evil.php.jpg"), ("\u202egpj.exe", "gpj.exe"),
                 ("..", None), ("/", None), (" .htaccess ", "htaccess"),
                 ("é" * 200 + ".pdf", "é" * 125 + ".pdf"),
                 ("Übersicht 📊.xlsx", "Übersicht 📊.xlsx")]


def test_upload_filename_is_the_clients_raw_value_and_safe_filename_is_not(
        client: TestClient) -> None:
    """``filename`` passes through whatever the client sent (paths, CR/LF, NUL), as in
    Starlette; ``safe_filename`` is a name that cannot leave a directory or break a line."""
    message = MIMEMultipart("form-data")
    for name, _ in HOSTILE_NAMES:
        part = MIMEApplication(b"x")
        part.add_header("Content-Disposition", "form-data", name="f",
                        filename=("utf-8", "", name))  # RFC 8187: %0D%0A, %00 arrive as is
        message.attach(part)
    body = message.as_bytes(policy=email.policy.HTTP).partition(b"\r\n\r\n")[2]
    response = client.post("/names", body=body, headers={"Content-Type": message["Content-Type"]})
    assert response.status_code == 200, response.text
    assert response.json() == {"raw": [name for name, _ in HOSTILE_NAMES],
                               "safe": [safe for _, safe in HOSTILE_NAMES]}
    assert all(len(s.encode()) <= 255 for s in response.json()["safe"] if s)


def test_part_headers_reach_the_upload(client: TestClient) -> None:
    response = client.post("/upload", data={"title": "t"},
                           files={"file": ("a.txt", b"hi", "text/plain", {"X-Part": "7"})})
    assert response.json()["header"] == "7"
    assert response.json()["content_type"] == "text/plain"


def test_a_text_field_where_a_file_is_expected_is_a_422(client: TestClient) -> None:
    response = post(client, "/upload", {"title": "t", "file": "not a file"})
    assert response.status_code == 422
    assert response.json()["errors"] == [{"loc": ["body", "file"], "type": "file_type",
                                          "msg": "Input should be a file upload, not a text "
                                                 "field"}]


def test_a_file_where_a_text_field_is_expected_is_a_422(client: TestClient) -> None:
    response = post(client, "/upload", {"title": ("t.txt", b"x"), "file": ("a", b"1")})
    assert response.status_code == 422
    assert [(e["loc"], e["type"]) for e in response.json()["errors"]] == [
        (["body", "title"], "string_type")]


def test_a_missing_file_is_a_422_and_an_unfilled_file_input_is_none(client: TestClient) -> None:
    missing = post(client, "/upload", {"title": "t"})
    assert missing.status_code == 422
    assert missing.json()["errors"][0] == {"loc": ["body", "file"], "msg": "Field required",
                                           "type": "missing"}
    # a browser sends an empty file input as a part with filename="" and no content
    assert post(client, "/optional", {"avatar": ("", b"")}).json() == {"avatar": None}
    assert post(client, "/optional", {"avatar": ("a.png", b"x")}).json() == {"avatar": "a.png"}


def test_limits_are_413_problems(client: TestClient) -> None:
    assert post(client, "/small", {"a": "0123456789"}).json() == {"parts": 1}
    too_big = post(client, "/small", {"a": "01234567890"})
    assert too_big.status_code == 413
    assert "larger than 10 bytes" in too_big.json()["detail"]
    too_many = post(client, "/small", [("a", "1")] * 4)
    assert too_many.status_code == 413
    assert "more than 3 fields" in too_many.json()["detail"]


def test_ten_thousand_parts_are_a_413_with_the_default_limit(client: TestClient) -> None:
    response = post(client, "/echo", [(f"f{i}", "v") for i in range(10_000)])
    assert response.status_code == 413
    assert "more than 1000 fields" in response.json()["detail"]


# -- hostile bodies: 400s, never a 500 --------------------------------------------------------

BOUNDARY = "b0undary"
GOOD, _ = encode_multipart_formdata({"title": "t", "file": ("a.txt", b"hello")},
                                    boundary=BOUNDARY)


@pytest.mark.parametrize(("content_type", "body", "detail"), [
    ("multipart/form-data", GOOD, "no boundary"),
    ("multipart/form-data; boundary=", GOOD, "no boundary"),
    (f"multipart/form-data; boundary={'x' * 300}", GOOD, "malformed"),
    ("multipart/form-data; boundary=other", GOOD, "malformed"),
    (f"multipart/form-data; boundary={BOUNDARY}", GOOD[: len(GOOD) // 2], "truncated"),
    (f"multipart/form-data; boundary={BOUNDARY}", GOOD[:-20], "truncated"),
    (f"multipart/form-data; boundary={BOUNDARY}", b"", "truncated"),
    (f"multipart/form-data; boundary={BOUNDARY}",
     GOOD.replace(b"Content-Disposition", b"Content-Dispositio"), "Content-Disposition"),
    (f"multipart/form-data; boundary={BOUNDARY}",
     GOOD.replace(b'name="title"', b'filename="x"'), "no name"),
    (f"multipart/form-data; boundary={BOUNDARY}",
     GOOD.replace(b"\r\n\r\nt\r\n", b"\r\nContent-Transfer-Encoding: x-gzip\r\n\r\nt\r\n"),
     "Content-Transfer-Encoding"),
    (f"multipart/form-data; boundary={BOUNDARY}",
     GOOD.replace(b"\r\n\r\nt\r\n", b"\r\nContent-Type: text/plain; charset=nope\r\n\r\nt\r\n"),
     "charset 'nope', which is not a text encoding"),
    (f"multipart/form-data; boundary={BOUNDARY}",
     GOOD.replace(b"\r\n\r\nt\r\n", b"\r\n\r\n\xff\xfe\r\n"), "not valid utf-8"),
])
def test_hostile_multipart_bodies_are_400_problems(client: TestClient, content_type: str,
                                                   body: bytes, detail: str) -> None:
    for path in ("/upload", "/echo"):
        response = client.post(path, body=body, headers={"Content-Type": content_type})
        assert response.status_code == 400, (path, response.text)
        assert detail in response.json()["detail"], response.json()["detail"]


def with_part_headers(headers: bytes, content: bytes = b"t") -> bytes:
    """GOOD with extra headers and new content in its text part ``title``."""
    return GOOD.replace(b"\r\n\r\nt\r\n", b"\r\n" + headers + b"\r\n\r\n" + content + b"\r\n")


# Python codecs that are not text encodings a client could send: some raise a plain
# UnicodeError (undefined, punycode), some decode to markup (utf-7: +ADw- is "<"; unicode_escape).
NOT_TEXT_CHARSETS = ["undefined", "punycode", "utf-7", "UTF7", "rot13", "hex", "base64", "zlib",
                     "idna", "unicode_escape", "raw_unicode_escape", "utf-32", "utf-8-sig",
                     "replacement", "x-user-defined", "mbcs", "\u212aoi8-r"]


@pytest.mark.parametrize("charset", NOT_TEXT_CHARSETS)
def test_hostile_part_charsets_are_400_not_500(client: TestClient, charset: str) -> None:
    body = with_part_headers(f"Content-Type: text/plain; charset={charset}".encode(),
                             b"+ADw-script+AD4-alert(1)+ADw-/script+AD4-abc\\")
    for path in ("/upload", "/echo"):
        response = client.post(path, body=body, headers={
            "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"})
        assert response.status_code == 400, (path, response.text)
        assert "not a text encoding" in response.json()["detail"]


@pytest.mark.parametrize(("parameter", "detail"), [
    (b"filename*=punycode''abc%5C", "charset 'punycode'"),
    (b"filename*=undefined''%41", "charset 'undefined'"),
    (b"filename*=utf-7''%2BADw-script%2BAD4-.html", "charset 'utf-7'"),
    (b"filename*=utf-8''%FF.txt", "not valid utf-8 text"),
    (b"filename*=a.txt", "RFC 8187"),
])
def test_hostile_rfc8187_file_names_are_400_not_500(client: TestClient, parameter: bytes,
                                                    detail: str) -> None:
    """A ``filename*`` that cannot be read is refused, never ignored: without it the file
    part would turn into a text field."""
    body = GOOD.replace(b'filename="a.txt"', parameter)
    assert body != GOOD
    for path in ("/upload", "/echo"):
        response = client.post(path, body=body, headers={
            "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"})
        assert response.status_code == 400, (path, response.text)
        assert detail in response.json()["detail"]


@pytest.mark.parametrize("parameter", [b"name*=punycode''%5C", b"name*=undefined''title",
                                       b"name*=utf-7''+AHQ-itle"])
def test_hostile_rfc8187_field_names_are_400_not_500(client: TestClient,
                                                     parameter: bytes) -> None:
    body = GOOD.replace(b'name="title"', parameter)
    response = client.post("/echo", body=body, headers={
        "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"})
    assert response.status_code == 400, response.text
    assert "not a text encoding" in response.json()["detail"]


# (label as a client writes it, text, how the client encodes it): decoded as the WHATWG Encoding
# Standard says (latin1 means windows-1252; utf-16 is written with a byte-order mark).
LABELLED_TEXTS = [("utf-8", "naïve 📄", "utf-8"), ("UTF8", "ok", "utf-8"),
                  ("us-ascii", "plain", "ascii"), ("iso-8859-1", "café", "latin-1"),
                  ("latin1", "€uro", "cp1252"), ("windows-1251", "Привет", "cp1251"),
                  ("koi8-r", "Привет", "koi8-r"), ("iso-8859-7", "Γειά", "iso8859-7"),
                  ("shift_jis", "日本語", "shift_jis"), ("euc-jp", "日本語", "euc-jp"),
                  ("iso-2022-jp", "日本語", "iso2022-jp"), ("gb2312", "中文", "gb2312"),
                  ("big5", "中文", "big5"), ("euc-kr", "한국어", "euc-kr"),
                  ("utf-16", "naïve", "utf-16"), ("utf-16be", "naïve", "utf-16-be")]


@pytest.mark.parametrize(("label", "text", "codec"), LABELLED_TEXTS)
def test_part_charsets_decode_as_browsers_decode_them(client: TestClient, label: str,
                                                      text: str, codec: str) -> None:
    message = MIMEMultipart("form-data")
    part = MIMEBase("text", "plain", charset=label)
    part.set_payload(text.encode(codec))
    encode_base64(part)  # what email writes for such a part
    part.add_header("Content-Disposition", "form-data", name="field")
    message.attach(part)
    body = message.as_bytes(policy=email.policy.HTTP).partition(b"\r\n\r\n")[2]
    response = client.post("/echo", body=body, headers={"Content-Type": message["Content-Type"]})
    assert response.status_code == 200, response.text
    assert response.json()["items"] == [["field", text]]


def test_only_the_whatwg_standards_labels_are_honoured() -> None:
    """221 labels (every one of the standard's but ``replacement`` and ``x-user-defined``),
    each decoded by a Python text codec; no other name Python knows is honoured."""
    import codecs
    from encodings.aliases import aliases

    from lamroute.http.charsets import CODECS, codec_of

    assert len(CODECS) == 221
    assert all(codecs.lookup(codec)._is_text_encoding for codec in set(CODECS.values()))
    python_names = set(aliases) | set(aliases.values())
    honoured = {name for name in python_names if codec_of(name) is not None}
    assert honoured <= set(CODECS)
    assert not honoured & {"utf_7", "u7", "unicode_escape", "punycode", "idna", "rot_13",
                           "hex_codec", "base64_codec", "zlib_codec", "utf_32", "utf_8_sig"}


def test_latin1_labelled_text_decodes_every_byte_as_windows_1252() -> None:
    client = TestClient(upload_app(), format="http")
    body = with_part_headers(b"Content-Type: text/plain; charset=ISO-8859-1",
                             b"caf\xe9 \x80 \x81")
    response = client.post("/echo", body=body, headers={
        "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"})
    assert response.json()["items"][0] == ["title", "café € \x81"]


def test_invalid_base64_part_is_a_400_not_silently_empty(client: TestClient) -> None:
    for content in (b"!!!", b"aGVsbG8", b"aGVs bG8=\x00"):
        body = with_part_headers(b"Content-Transfer-Encoding: base64", content)
        response = client.post("/echo", body=body, headers={
            "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"})
        assert response.status_code == 400, (content, response.text)
        assert "not valid base64" in response.json()["detail"]
    # MIME base64 is written in lines: line breaks (and spaces) are not part of the data
    body = with_part_headers(b"Content-Transfer-Encoding: base64", b"aGVs\r\nbG8=")
    response = client.post("/echo", body=body, headers={
        "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"})
    assert response.json()["items"][0] == ["title", "hello"]


def test_too_many_part_headers_are_a_400() -> None:
    client = TestClient(upload_app(), format="http")
    headers = b"".join(b"X-H%d: v\r\n" % i for i in range(20))
    body = GOOD.replace(b"\r\n\r\nt\r\n", b"\r\n" + headers + b"\r\nt\r\n")
    response = client.post("/echo", body=body,
                           headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"})
    assert response.status_code == 400


def test_rest_without_binary_media_types_corrupts_binary_uploads() -> None:
    """Why an upload API needs BinaryMediaTypes: without it a REST API passes the body as
    UTF-8 text, and bytes that are not UTF-8 are lost before the function sees them."""
    client = TestClient(upload_app(), format="rest", binary_media_types=())
    response = post(client, "/bytes", {"data": ("b.bin", BINARY)})
    assert response.status_code == 200
    assert response.json()["sha256"] != digest(BINARY)
    text = post(client, "/bytes", {"data": ("a.txt", "héllo".encode())})
    assert text.json()["sha256"] == digest("héllo".encode())  # UTF-8 survives


def test_testclient_files_and_urllib3_build_bodies_that_parse_the_same() -> None:
    client = TestClient(upload_app(), format="http")
    fields = {"title": "t"}
    ours = client.post("/echo", data=fields, files={"file": ("é.txt", b"x")}).json()
    theirs = post(client, "/echo", {**fields, "file": ("é.txt", b"x")}).json()
    assert ours == theirs == {"items": [["title", "t"], ["file", {"file": "é.txt", "size": 1}]]}


def test_a_malformed_body_adds_no_parser_log_lines(caplog: pytest.LogCaptureFixture) -> None:
    """python-multipart logs a warning before each error it raises; a client sending junk
    must not be able to fill the logs with them (the 400 and the access line say it)."""
    client = TestClient(upload_app(access_log=False), format="http")
    with caplog.at_level("DEBUG"):
        response = client.post("/echo", body=b"junk" * 100, headers={
            "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"})
    assert response.status_code == 400
    assert [r for r in caplog.records if r.name.startswith("python_multipart")] == []
