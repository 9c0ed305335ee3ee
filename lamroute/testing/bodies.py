"""Request bodies as each service delivers them to Lambda, and form bodies for tests.

:func:`delivered_body` applies the services' base64 rules (the TestClient and the local gateway
share it):

- a REST API base64-encodes a body whose ``Content-Type`` matches one of its
  ``binaryMediaTypes`` and passes any other as UTF-8 text (bytes that are not UTF-8 are lost):
  https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-payload-encodings-workflow.html
- ALB base64-encodes every body sent with a ``Content-Encoding``, and otherwise every body but
  ``text/*``, ``application/json``, ``application/javascript`` and ``application/xml``:
  https://docs.aws.amazon.com/elasticloadbalancing/latest/application/lambda-functions.html#receive-event-from-load-balancer
- HTTP APIs and Function URLs: AWS documents ``isBase64Encoded`` without saying which bodies
  are binary ("If the content type of the request is binary, the body is base64-encoded",
  https://docs.aws.amazon.com/lambda/latest/dg/urls-invocation.html#urls-request-payload;
  https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html
  lists no types). lamroute applies ALB's list of text types, which matches what they are seen
  to do, forms being base64 (ministackorg/ministack#766).

URL-encoded and multipart forms and bodies without a ``Content-Type`` are base64 for all but
REST. A "text" body that is not UTF-8 is passed base64-encoded, unchanged (no JSON string could
carry it), so tests of such bodies see their bytes.

>>> delivered_body("http", b"a=1", "application/x-www-form-urlencoded")
b'a=1'
>>> delivered_body("alb", b"{}", "application/json"), delivered_body(
...     "alb", b"{}", "application/json", content_encoding="identity")
('{}', b'{}')
>>> delivered_body("rest", b"a=1", "application/x-www-form-urlencoded", binary_media_types=())
'a=1'
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from urllib.parse import urlencode

TEXT_TYPES = frozenset({"application/json", "application/javascript", "application/xml"})

FileValue = (bytes | tuple[str, bytes] | tuple[str, bytes, str]
             | tuple[str, bytes, str, Mapping[str, str]])
"""A file for ``files=``: its content, or ``(filename, content[, content_type[, headers]])``."""
FilesInit = Mapping[str, FileValue] | Iterable[tuple[str, FileValue]]
DataInit = Mapping[str, str | Sequence[str]] | Iterable[tuple[str, str]]


def media_type(value: str | None) -> str:
    return (value or "").split(";", 1)[0].strip().lower()


def is_text_type(content_type: str | None) -> bool:
    """Whether HTTP APIs, Function URLs and ALB pass a body of this type as text."""
    kind = media_type(content_type)
    return kind.startswith("text/") or kind in TEXT_TYPES


def matches_media_types(content_type: str | None, patterns: Iterable[str]) -> bool:
    """Whether ``content_type`` matches one of ``patterns`` (``*/*``, ``image/*``, exact)."""
    kind = media_type(content_type)
    for pattern in patterns:
        pattern = pattern.lower()
        if pattern in ("*/*", kind) or (pattern.endswith("/*") and kind.startswith(pattern[:-1])):
            return True
    return False


def delivered_body(format: str, body: str | bytes | None, content_type: str | None, *,
                   binary_media_types: Iterable[str] = ("*/*",),
                   content_encoding: str | None = None) -> str | bytes | None:
    """The body as the service puts it in the event: ``str`` is sent as text, ``bytes``
    base64-encoded (``isBase64Encoded``), ``None`` when there is none. ``content_encoding`` is
    the request's ``Content-Encoding`` header, if it has one (ALB reads it)."""
    if body is None or len(body) == 0:
        return None
    raw = body.encode("utf-8") if isinstance(body, str) else body
    if format == "rest":
        if matches_media_types(content_type, binary_media_types):
            return raw
        return raw.decode("utf-8", errors="replace")  # what is not UTF-8 is lost, as on AWS
    if format.startswith("alb") and content_encoding is not None:
        return raw
    if not is_text_type(content_type):
        return raw
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:  # a "text" body that is not UTF-8: handed over unchanged
        return raw


def encode_urlencoded(data: DataInit) -> bytes:
    """``application/x-www-form-urlencoded``, as a browser sends it (``+`` for spaces)."""
    items = data.items() if isinstance(data, Mapping) else data
    pairs = [(k, v) for k, value in items
             for v in ([value] if isinstance(value, str) else value)]
    return urlencode(pairs).encode("ascii")


def encode_multipart(data: DataInit = (), files: FilesInit = (), *,
                     boundary: str | None = None) -> tuple[bytes, str]:
    """``(body, content_type)`` of a ``multipart/form-data`` body as browsers write it
    (RFC 7578): text fields, then files; names and file names in UTF-8 with ``"``, CR and LF
    percent-encoded (the HTML standard's escaping).

    >>> body, kind = encode_multipart({"a": "1"}, boundary="b")
    >>> kind
    'multipart/form-data; boundary=b'
    >>> body
    b'--b\\r\\nContent-Disposition: form-data; name="a"\\r\\n\\r\\n1\\r\\n--b--\\r\\n'
    """
    boundary = boundary or os.urandom(16).hex()
    chunks: list[bytes] = []
    items = data.items() if isinstance(data, Mapping) else data
    for name, value in items:
        for text in [value] if isinstance(value, str) else value:
            chunks.append(_part_head(boundary, name, None, None, {}) + text.encode("utf-8"))
    file_items = files.items() if isinstance(files, Mapping) else files
    for name, spec in file_items:
        filename, content, kind, headers = _file_parts(name, spec)
        chunks.append(_part_head(boundary, name, filename, kind, headers) + content)
    body = b"".join(f"--{boundary}\r\n".encode() + chunk + b"\r\n" for chunk in chunks)
    body += f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def _file_parts(name: str, spec: FileValue) -> tuple[str, bytes, str, Mapping[str, str]]:
    if isinstance(spec, bytes):
        return name, spec, "application/octet-stream", {}
    filename, content = spec[0], spec[1]
    kind = spec[2] if len(spec) > 2 else "application/octet-stream"
    headers = spec[3] if len(spec) > 3 else {}
    return filename, content, kind, headers


def _escape(text: str) -> str:
    return text.replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")


def _part_head(boundary: str, name: str, filename: str | None, content_type: str | None,
               headers: Mapping[str, str]) -> bytes:
    disposition = f'form-data; name="{_escape(name)}"'
    if filename is not None:
        disposition += f'; filename="{_escape(filename)}"'
    lines = [f"Content-Disposition: {disposition}"]
    if content_type is not None:
        lines.append(f"Content-Type: {content_type}")
    lines.extend(f"{k}: {v}" for k, v in headers.items())
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")
