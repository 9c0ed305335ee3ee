"""Size limits: request bodies a route accepts, and responses the gateway can deliver.

The services' own limits (a request above them never reaches the function):

- API Gateway (REST and HTTP APIs): 10 MB payload
  (https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html,
  https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html);
- Lambda: 6 MB for the whole synchronous event and for the whole serialised response
  (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html), so a base64
  binary request body is usable up to about 4.5 MB;
- ALB: 1 MB request body and 1 MB response JSON
  (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/lambda-functions.html).

``max_body_size`` (app or route) sets a smaller request limit: above it the answer is a 413
problem before the handler runs. A response over the limit is answered by the service itself
(502, "Internal server error"); :class:`PayloadLimit` measures the rendered proxy response and
answers a formatted 500 ``Response Too Large`` problem instead, unless gzip brings it under.

The size is the one the runtime in use sends: the Python 3.12+ runtimes serialise the response
with non-ASCII characters as UTF-8, 3.11 and older as ``\\uXXXX`` escapes
(https://docs.aws.amazon.com/lambda/latest/dg/lambda-python.html#python-response-format), so
``"é"`` counts 2 bytes on one and 6 on the other.

>>> from lamroute.formats import BY_NAME
>>> limit_for(BY_NAME["alb"]), limit_for(BY_NAME["http"])
(1048576, 6291456)
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..errors import minimal_problem
from ..exceptions import InternalServerError, PayloadTooLarge, reraise_fatal
from ..formats import FALLBACK_PROXY_RESPONSE, render_safely
from ..http.response import Response
from ..routing.routes import Compression

if TYPE_CHECKING:
    from ..errors.boundary import Boundary
    from ..formats import PayloadFormat
    from ..http.request import Request

# The Lambda error reads "exceeded maximum allowed payload size (6291556 bytes)"; we keep to
# the documented 6 MiB, a hundred bytes below it (and the limit lamroute.testing checks): the
# margin, since the size itself is measured exactly as the runtime serialises.
LAMBDA_RESPONSE_LIMIT = 6 * 1024 * 1024
ALB_RESPONSE_LIMIT = 1024 * 1024
# Most bytes one str character can take in the serialised response: with escapes (3.11 and
# older) 12, an astral character being two \\uXXXX escapes; as UTF-8 (3.12+) 6, a control
# character or U+2028/U+2029 being one escape. Below the bound no exact measure is needed.
ESCAPED_BYTES_PER_CHAR = 12
UTF8_BYTES_PER_CHAR = 6
_PER_ITEM_OVERHEAD = 16


class ResponseTooLarge(InternalServerError):
    """500: the rendered response is larger than the gateway accepts (customise with
    ``app.exception_handler(ResponseTooLarge)``; keep that answer small)."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(
            "The response is too large for the gateway to deliver.",
            title="Response Too Large",
        )
        self.size = size
        self.limit = limit


def check_body_size(request: Request, limit: int) -> None:
    """Raise :class:`PayloadTooLarge` (413) when the request body is over ``limit`` bytes."""
    size = len(request.body)
    if size > limit:
        raise PayloadTooLarge(
            f"The request body is {size} bytes; this endpoint accepts at most {limit}."
        )


def limit_for(fmt: PayloadFormat | None) -> int:
    """The response size limit of a payload format (ALB's is 1 MB, Lambda's 6 MB)."""
    name = getattr(fmt, "name", "")
    return ALB_RESPONSE_LIMIT if name.startswith("alb") else LAMBDA_RESPONSE_LIMIT


def runtime_escapes_non_ascii(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether the Lambda runtime in use sends non-ASCII characters as ``\\uXXXX`` escapes.

    Read from ``AWS_EXECUTION_ENV`` (``AWS_Lambda_python3.12``; see
    https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime):
    3.11 and older escape, 3.12 and later send UTF-8. Unset (a local run, tests), the running
    interpreter decides; a value naming no Python version counts as escaping, the larger size.

    >>> runtime_escapes_non_ascii({"AWS_EXECUTION_ENV": "AWS_Lambda_python3.12"})
    False
    >>> runtime_escapes_non_ascii({"AWS_EXECUTION_ENV": "AWS_Lambda_python3.11"})
    True
    """
    value = environ.get("AWS_EXECUTION_ENV")
    if not value:
        return sys.version_info < (3, 12)
    major, _, minor = value.removeprefix("AWS_Lambda_python").partition(".")
    if not (major.isdigit() and minor.isdigit()):
        return True
    return (int(major), int(minor)) < (3, 12)


def rough_bound(payload: Mapping[str, Any], per_char: int = ESCAPED_BYTES_PER_CHAR) -> int:
    """An upper bound of the serialised size, in a few hundred nanoseconds for usual answers.

    ``per_char``: the most bytes one character may take (:data:`UTF8_BYTES_PER_CHAR` for the
    3.12+ runtimes, :data:`ESCAPED_BYTES_PER_CHAR` for the older ones).
    """
    total = 64
    for value in payload.values():
        kind = type(value)
        if kind is int or kind is bool:  # statusCode, isBase64Encoded: no abstract Mapping check
            total += 32
        elif kind is str or isinstance(value, str):
            total += len(value) * per_char + _PER_ITEM_OVERHEAD
        elif kind is dict or isinstance(value, Mapping):
            for name, item in value.items():
                if type(name) is str and type(item) is str:  # (single-value headers)
                    total += _PER_ITEM_OVERHEAD + per_char * (len(name) + len(item))
                    continue
                total += _PER_ITEM_OVERHEAD + per_char * (
                    len(str(name)) + (sum(len(str(v)) + 4 for v in item)
                                      if isinstance(item, list) else len(str(item)))
                )
        elif isinstance(value, list):
            total += sum(len(str(v)) * per_char + _PER_ITEM_OVERHEAD for v in value)
        else:
            total += 32
    return total


def serialised_size(payload: Mapping[str, Any], *, escaped: bool | None = None) -> int:
    """The bytes Lambda counts for ``payload``, serialised as the runtime does.

    The runtime interface client uses simplejson with its default separators, escaping non-ASCII
    characters before 3.12 and sending UTF-8 from 3.12 on, where it still escapes U+2028 and
    U+2029 (6 bytes each instead of 3). ``escaped=None`` asks
    :func:`runtime_escapes_non_ascii`.

    >>> payload = {"body": "é"}
    >>> serialised_size(payload, escaped=True), serialised_size(payload, escaped=False)
    (18, 14)
    """
    if escaped is None:
        escaped = runtime_escapes_non_ascii()
    if escaped:
        return len(json.dumps(payload))
    text = json.dumps(payload, ensure_ascii=False)
    extra = 3 * (text.count("\u2028") + text.count("\u2029")) if not text.isascii() else 0
    return len(text.encode("utf-8", errors="surrogatepass")) + extra


class PayloadLimit:
    """Checks a rendered proxy response against its format's limit; never raises.

    ``compression`` is the app's setting: with it, REST answers may be gzipped to fit (the
    app is then assumed to have ``binaryMediaTypes`` set); other formats may always be.
    """

    def __init__(self, *, boundary: Boundary, logger: logging.Logger,
                 compression: Compression | None) -> None:
        self.boundary = boundary
        self.logger = logger
        self.compression = compression
        # The runtime cannot change within a container: read once.
        self.escaped = runtime_escapes_non_ascii()
        self.per_char = ESCAPED_BYTES_PER_CHAR if self.escaped else UTF8_BYTES_PER_CHAR
        self._limits: dict[PayloadFormat | None, int] = {}  # each format's, on its first answer

    def fit(self, payload: dict[str, Any], fmt: PayloadFormat | None, response: Response,
            request: Request | None, event: Any = None) -> dict[str, Any]:
        """``payload`` when it fits; else a gzipped or a ``Response Too Large`` answer."""
        limit = self._limits.get(fmt) or self._limits.setdefault(fmt, limit_for(fmt))
        try:
            if rough_bound(payload, self.per_char) <= limit:
                return payload
            size = serialised_size(payload, escaped=self.escaped)
        except Exception as exc:  # a payload the boundary built is JSON; be safe anyway
            self.logger.error("response size cannot be measured: %s", exc)
            return payload
        if size <= limit:
            return payload
        try:
            return self._shrink(payload, size, limit, fmt, response, request, event)
        except BaseException as exc:
            reraise_fatal(exc)
            self.logger.error("oversized response could not be replaced", exc_info=exc)
            return dict(FALLBACK_PROXY_RESPONSE, headers=dict(FALLBACK_PROXY_RESPONSE["headers"]))

    def _shrink(self, payload: dict[str, Any], size: int, limit: int, fmt: PayloadFormat | None,
                response: Response, request: Request | None, event: Any) -> dict[str, Any]:
        packed = self._gzipped(fmt, response, request)
        if packed is not None:
            rendered = render_safely(fmt, packed, request, event, self.boundary)
            packed_size = serialised_size(rendered, escaped=self.escaped)
            if packed_size <= limit:
                self.logger.warning("response gzipped to fit the gateway limit", extra={
                    "size": size, "compressed_size": packed_size, "limit": limit,
                    "route": request.route if request is not None else None})
                return rendered
        self.logger.error("response too large for the gateway", extra={
            "size": size, "limit": limit, "status": payload.get("statusCode"),
            "route": request.route if request is not None else None})
        error = self.boundary.handle(ResponseTooLarge(size, limit), request)
        rendered = render_safely(fmt, error, request, event, self.boundary)
        if serialised_size(rendered, escaped=self.escaped) <= limit:
            return rendered
        self.logger.error("the error answer is too large too; sending the minimal problem")
        request_id = request.request_id if request is not None else None
        instance = request.url_path if request is not None else None
        return render_safely(fmt, minimal_problem(500, request_id, instance=instance), request,
                             event, self.boundary)

    def _gzipped(self, fmt: PayloadFormat | None, response: Response,
                 request: Request | None) -> Response | None:
        # REST APIs turn base64 into binary only for binaryMediaTypes: gzip there only when
        # the app opted into compression (and so configured them).
        if request is None or (getattr(fmt, "name", "rest") == "rest" and not self.compression):
            return None
        from .compression import accepts_gzip, compress  # an oversized answer: rare

        try:
            if not accepts_gzip(request.headers.get("accept-encoding")):
                return None
            packed = compress(response, "gzip", Compression(min_size=0, level=9))
        except Exception:
            return None
        return packed if packed is not response and "content-encoding" in packed.headers else None
