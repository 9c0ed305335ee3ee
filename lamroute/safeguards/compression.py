"""gzip for responses the client accepts compressed: ``App(compress=True)`` or per route.

A body is compressed when the client's ``Accept-Encoding`` allows gzip (``gzip;q=0`` does
not), it is at least ``min_size`` bytes, its media type is not already compressed (images,
video, audio, archives, fonts), no ``Content-Encoding`` is set and gzip makes it smaller. The
answer then carries ``Content-Encoding: gzip`` and goes base64-encoded (``isBase64Encoded``);
``Vary: Accept-Encoding`` is added whenever the choice depended on that header.

REST APIs pass a base64 body on as binary only for media types listed in the API's
``binaryMediaTypes`` (``*/*`` covers all), otherwise the client gets the base64 text:
https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-payload-encodings.html
HTTP APIs, Function URLs and ALB always decode it.

>>> from lamroute.http import Response
>>> accepts_gzip("br;q=1.0, gzip;q=0.5"), accepts_gzip("gzip;q=0"), accepts_gzip("*")
(True, False, True)
>>> r = compress(Response("x" * 2000, media_type="text/plain"), "gzip", Compression())
>>> r.headers["content-encoding"], r.headers["vary"], len(r.body) < 100
('gzip', 'Accept-Encoding', True)
"""

from __future__ import annotations

from functools import lru_cache

from ..http.response import Response
from ..routing.routes import Compression

# Media types whose content is already compressed: gzip would only cost CPU and bytes.
INCOMPRESSIBLE_PREFIXES = ("image/", "video/", "audio/", "font/woff")
INCOMPRESSIBLE_TYPES = frozenset({
    "application/zip", "application/gzip", "application/x-gzip", "application/x-bzip2",
    "application/x-xz", "application/zstd", "application/x-7z-compressed",
    "application/x-rar-compressed", "application/vnd.rar", "application/x-compress",
    "application/x-brotli", "application/pdf", "application/ogg", "application/wasm",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/epub+zip", "application/java-archive",
})
# Image formats that are text and compress well.
COMPRESSIBLE_IMAGES = frozenset({"image/svg+xml", "image/x-icon", "image/bmp"})


def resolve(option: bool | Compression | None) -> Compression | None:
    """``True`` → the defaults, ``False``/``None`` → off, a :class:`Compression` as is."""
    if option is None or option is False:
        return None
    if option is True:
        return Compression()
    if isinstance(option, Compression):
        return option
    raise TypeError(f"compress must be a bool or a Compression, not {option!r}.")


def accepts_gzip(accept_encoding: str | None) -> bool:
    """Whether an ``Accept-Encoding`` value allows gzip (RFC 9110 §12.5.3).

    ``gzip`` (or ``x-gzip``) with a non-zero q-value wins; otherwise ``*`` with a non-zero one.
    A malformed q-value counts as 0: never compress for a client whose header we misread.
    """
    if not accept_encoding:
        return False
    if len(accept_encoding) <= 200:  # browsers send a handful of short values: cache those
        return _accepts_gzip_cached(accept_encoding)
    return _accepts_gzip(accept_encoding)


@lru_cache(maxsize=128)
def _accepts_gzip_cached(accept_encoding: str) -> bool:
    return _accepts_gzip(accept_encoding)


def _accepts_gzip(accept_encoding: str) -> bool:
    star: bool | None = None
    for element in accept_encoding.split(","):
        coding, _, params = element.partition(";")
        coding = coding.strip().lower()
        if coding in ("gzip", "x-gzip"):
            return _qvalue(params) > 0
        if coding == "*":
            star = _qvalue(params) > 0
    return bool(star)


def _qvalue(params: str) -> float:
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            try:
                q = float(value.strip())
            except ValueError:
                return 0.0
            return q if 0.0 <= q <= 1.0 else 0.0
    return 1.0


def compressible(response: Response, config: Compression) -> bool:
    """Whether the body is worth compressing, whatever the client accepts."""
    if len(response.body) < config.min_size or "content-encoding" in response.headers:
        return False
    if response.status in (204, 206, 304) or not 200 <= response.status < 600:
        return False
    media = (response.headers.get("content-type") or "").split(";", 1)[0].strip().lower()
    if media in COMPRESSIBLE_IMAGES:
        return True
    return not (media.startswith(INCOMPRESSIBLE_PREFIXES) or media in INCOMPRESSIBLE_TYPES)


def compress(response: Response, accept_encoding: str | None, config: Compression) -> Response:
    """``response`` gzipped when allowed and worth it, as a new object (handlers may reuse theirs).

    Returns ``response`` itself when nothing changes.
    """
    if not isinstance(response.body, bytes) or not compressible(response, config):
        return response
    headers = response.headers.multi_items()
    vary = [v for k, v in headers if k.lower() == "vary"]
    if not any(_names_accept_encoding(v) for v in vary):
        headers.append(("Vary", "Accept-Encoding"))
    if accepts_gzip(accept_encoding):
        import gzip  # only apps that compress pay for the import

        packed = gzip.compress(response.body, compresslevel=config.level, mtime=0)
        if len(packed) < len(response.body):
            # A Content-Length set by the handler would describe the uncompressed body.
            headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
            headers.append(("Content-Encoding", "gzip"))
            return _copy(response, packed, headers)
    if len(headers) == len(response.headers.multi_items()):
        return response
    return _copy(response, response.body, headers)


def _names_accept_encoding(vary: str) -> bool:
    return any(p.strip().lower() in ("accept-encoding", "*") for p in vary.split(","))


def _copy(response: Response, body: bytes, headers: list[tuple[str, str]]) -> Response:
    return Response(body, response.status, headers=headers, cookies=list(response.cookies))
