"""``multipart/form-data`` bodies (RFC 7578), parsed with ``python-multipart``'s streaming parser.

``python-multipart`` is the ``lamroute[forms]`` extra: this module imports it on first use
(:func:`load_parser`), and routes that declare ``Form()``/``File()`` check at registration that it
is installed. Limits (:class:`~lamroute.http.forms.FormLimits`) are enforced while the body is
parsed: the part over ``max_part_size`` or the field past ``max_fields`` stops the parse with a
413; a missing or malformed boundary, a truncated body or a part without a name is a 400.

A part with a ``filename`` parameter is a file (:class:`~lamroute.http.forms.UploadFile`), any
other a text field (``str``, decoded as UTF-8 or the part's ``charset``). The file name is taken
from ``filename*`` (RFC 8187, formerly 5987: ``utf-8''%C3%A9.txt``, sent by .NET and some older
clients) when present, else from ``filename`` (raw UTF-8, as browsers send it, RFC 7578 §4.2).
A charset, of a part or of a ``*=`` value, must be a label of the WHATWG Encoding Standard
(:mod:`lamroute.http.charsets`): any other, text not valid in it, a malformed ``*=`` value or a
base64 part that is not base64 is a 400.

>>> body = (b'--xyz\\r\\nContent-Disposition: form-data; name="title"\\r\\n\\r\\nhi\\r\\n'
...         b'--xyz\\r\\nContent-Disposition: form-data; name="f"; filename="a.txt"\\r\\n'
...         b'Content-Type: text/plain\\r\\n\\r\\nhello\\r\\n--xyz--\\r\\n')
>>> form = parse_multipart(body, "multipart/form-data; boundary=xyz")
>>> form["title"], form["f"].filename, form["f"].read()
('hi', 'a.txt', b'hello')
"""

from __future__ import annotations

import base64
import binascii
import logging
from typing import Any
from urllib.parse import unquote_to_bytes

from ..exceptions import BadRequest
from .charsets import decode
from .forms import (
    DEFAULT_LIMITS,
    FormData,
    FormLimits,
    FormValue,
    UploadFile,
    part_too_large,
    too_many_fields,
)
from .multidict import Headers

# A logger outside the hierarchy that drops everything (no handler, no lastResort output).
_QUIET = logging.Logger("lamroute.multipart.quiet", logging.CRITICAL + 1)
INSTALL_HINT = "install the forms extra: pip install 'lamroute[forms]' (python-multipart)"
# RFC 2046 §5.1.1: 1 to 70 characters; python-multipart accepts up to 256.
MAX_BOUNDARY = 256


def load_parser() -> Any:
    """``python_multipart.multipart`` (the parser module); ImportError naming the extra."""
    try:
        from python_multipart import multipart
    except ImportError as exc:
        raise ImportError(f"multipart/form-data bodies need python-multipart: {INSTALL_HINT}."
                          ) from exc
    return multipart


def header_params(value: str) -> tuple[str, dict[str, str]]:
    """``'form-data; name="a"; filename*=utf-8\\'\\'%C3%A9'`` → ``("form-data", {...})``.

    Quoted strings keep ``;`` inside them; an extended parameter
    (``name*=charset'lang'value``, RFC 8187) is decoded and wins over the plain one; a 400
    when it is malformed, in a charset that is not a text encoding, or not valid in it.

    >>> header_params('form-data; name="a;b"; filename*=UTF-8\\'\\'caf%C3%A9.txt')
    ('form-data', {'name': 'a;b', 'filename': 'café.txt'})
    """
    kind, _, rest = value.partition(";")
    plain: dict[str, str] = {}
    extended: dict[str, str] = {}
    for key, raw in _split_params(rest):
        if key.endswith("*"):
            extended[key[:-1]] = _extended_value(key, raw)
        elif key not in plain:
            plain[key] = raw
    plain.update(extended)
    return kind.strip().lower(), plain


def _split_params(text: str) -> list[tuple[str, str]]:
    """``; a="x;y"; b=z`` → ``[("a", "x;y"), ("b", "z")]`` (names lower-cased)."""
    found: list[tuple[str, str]] = []
    i, size = 0, len(text)
    while i < size:
        while i < size and text[i] in "; \t":
            i += 1
        start = i
        while i < size and text[i] not in "=;":
            i += 1
        key = text[start:i].strip().lower()
        value = ""
        if i < size and text[i] == "=":
            i += 1
            while i < size and text[i] in " \t":
                i += 1
            if i < size and text[i] == '"':
                close = _closing_quote(text, i + 1)
                value = text[i + 1:close]
                if '"' in value:  # an RFC 7230 quoted-pair (\"): browsers send %22 instead
                    value = value.replace('\\"', '"')
                i = close + 1
            else:
                start = i
                while i < size and text[i] != ";":
                    i += 1
                value = text[start:i].strip()
        if key:
            found.append((key, value))
    return found


def _closing_quote(text: str, start: int) -> int:
    """The quote that ends a quoted value opened before ``start``: the first one followed by
    ``;`` or the end (the HTML standard sends ``"`` as ``%22`` and a backslash as itself, so a
    value may end in a backslash); the end of ``text`` when the string is unterminated."""
    at = text.find('"', start)
    while at != -1:
        if text[at + 1:].lstrip(" \t").startswith(";") or not text[at + 1:].strip(" \t"):
            return at
        at = text.find('"', at + 1)
    return len(text)


def _extended_value(key: str, raw: str) -> str:
    """RFC 8187 ``charset'language'percent-encoded`` → text; a 400 when it cannot be read.

    Ignoring a bad value would change the meaning of the part: without its ``filename*`` a
    file would become a text field.
    """
    charset, sep, rest = raw.partition("'")
    _, sep2, encoded = rest.partition("'")
    if not (sep and sep2):
        raise BadRequest(f"The multipart parameter {key}= is not charset'language'value "
                         "(RFC 8187).")
    return _decoded_text(unquote_to_bytes(encoded), charset or "utf-8",
                         f"The multipart parameter {key}=")


def _header_text(raw: bytes) -> str:
    """A part header value: UTF-8 (browsers put raw UTF-8 file names there), else Latin-1."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def boundary_of(content_type: str) -> bytes:
    """The ``boundary`` parameter of a multipart ``Content-Type``; 400 when missing or bad."""
    _, params = header_params(content_type)
    boundary = params.get("boundary", "")
    if not boundary:
        raise BadRequest("The multipart body has no boundary in its Content-Type.")
    if len(boundary) > MAX_BOUNDARY or not boundary.isascii() or boundary.endswith(" "):
        raise BadRequest("The multipart boundary is malformed (RFC 2046: at most 70 "
                         "characters, ASCII, not ending with a space).")
    return boundary.encode("ascii")


class _Collector:
    """The parser's callbacks: collects the parts, enforcing the limits as it goes."""

    def __init__(self, limits: FormLimits) -> None:
        self.limits = limits
        self.items: list[tuple[str, FormValue]] = []
        self.count = 0
        self.field = bytearray()
        self.value = bytearray()
        self.headers: list[tuple[str, str]] = []
        self.chunks: list[bytes] = []
        self.size = 0
        self.name = ""
        self.ended = False

    def callbacks(self) -> dict[str, Any]:
        return {
            "on_part_begin": self.part_begin,
            "on_header_field": self.header_field,
            "on_header_value": self.header_value,
            "on_header_end": self.header_end,
            "on_headers_finished": self.headers_finished,
            "on_part_data": self.part_data,
            "on_part_end": self.part_end,
            "on_end": self.end,
        }

    def part_begin(self) -> None:
        self.count += 1
        if self.count > self.limits.max_fields:
            raise too_many_fields(self.limits.max_fields)
        self.headers, self.chunks, self.size, self.name = [], [], 0, ""

    def header_field(self, data: bytes, start: int, end: int) -> None:
        self.field += data[start:end]

    def header_value(self, data: bytes, start: int, end: int) -> None:
        self.value += data[start:end]

    def header_end(self) -> None:
        self.headers.append((self.field.decode("latin-1"), _header_text(bytes(self.value))))
        self.field.clear()
        self.value.clear()

    def headers_finished(self) -> None:
        disposition = next((v for k, v in self.headers
                            if k.lower() == "content-disposition"), None)
        if disposition is None:
            raise BadRequest("A multipart part has no Content-Disposition header.")
        _, params = header_params(disposition)
        if "name" not in params:
            raise BadRequest("A multipart part has no name in its Content-Disposition.")
        self.name = params["name"]
        self.filename = params.get("filename")

    def part_data(self, data: bytes, start: int, end: int) -> None:
        self.size += end - start
        limit = self.limits.max_part_size
        if limit is not None and self.size > limit:
            raise part_too_large(self.name, limit)
        self.chunks.append(data[start:end])

    def part_end(self) -> None:
        headers = Headers(self.headers)
        content = _decoded(b"".join(self.chunks), headers.get("content-transfer-encoding"))
        self.chunks = []
        if self.filename is not None:
            value: FormValue = UploadFile(content, filename=self.filename,
                                          content_type=headers.get("content-type"),
                                          headers=headers)
        else:
            value = _text(content, headers.get("content-type"), self.name)
        self.items.append((self.name, value))

    def end(self) -> None:
        self.ended = True


def _decoded(content: bytes, encoding: str | None) -> bytes:
    """A part's content without its ``Content-Transfer-Encoding`` (deprecated by RFC 7578 but
    still written by MIME libraries such as Python's ``email``)."""
    kind = (encoding or "").strip().lower()
    if kind in ("", "7bit", "8bit", "binary"):
        return content
    try:
        if kind == "base64":  # line breaks are part of MIME base64, anything else is not
            return base64.b64decode(content.translate(None, b" \t\r\n"), validate=True)
        if kind == "quoted-printable":
            return binascii.a2b_qp(content)
    except (binascii.Error, ValueError):
        raise BadRequest(f"A multipart part is not valid {kind}.") from None
    raise BadRequest(f"Unsupported Content-Transfer-Encoding {kind!r} in a multipart part.")


def _text(content: bytes, content_type: str | None, name: str) -> str:
    charset = "utf-8"
    if content_type:
        charset = header_params(content_type)[1].get("charset") or charset
    return _decoded_text(content, charset, f"The form field {name!r}")


def _decoded_text(content: bytes, charset: str, what: str) -> str:
    """``content`` in ``charset`` (a WHATWG label); a 400 naming ``what`` otherwise."""
    try:
        return decode(content, charset)
    except LookupError:
        raise BadRequest(f"{what} declares the charset {charset!r}, which is not a text "
                         "encoding (see the WHATWG Encoding Standard).") from None
    except ValueError:  # UnicodeDecodeError, or a codec's plain UnicodeError
        raise BadRequest(f"{what} is not valid {charset} text.") from None


def parse_multipart(body: bytes, content_type: str,
                    limits: FormLimits = DEFAULT_LIMITS) -> FormData:
    """The parts of a ``multipart/form-data`` body (see the module docstring)."""
    multipart = load_parser()
    boundary = boundary_of(content_type)
    collector = _Collector(limits)
    parser = multipart.MultipartParser(boundary, collector.callbacks())
    # The parser logs a warning before each error it raises: a hostile client could fill the
    # logs with them. The 400 problem says the same, and the access line records it.
    parser.logger = _QUIET
    try:
        parser.write(body)
        parser.finalize()
    except multipart.FormParserError as exc:  # MultipartParseError and its relatives
        raise BadRequest(f"The multipart body is malformed: {exc}") from None
    if not collector.ended:
        raise BadRequest("The multipart body is truncated: its closing boundary is missing.")
    return FormData(collector.items)
