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

>>> from lamroute.formats import BY_NAME
>>> limit_for(BY_NAME["alb"]), limit_for(BY_NAME["http"])
(1048576, 6291456)
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .boundary import reraise_fatal
from .compression import Compression, accepts_gzip, compress
from .errors import InternalServerError, PayloadTooLarge
from .problems import FALLBACK_PROXY_RESPONSE, minimal_problem
from .response import Response

if TYPE_CHECKING:
    from .boundary import Boundary
    from .formats import PayloadFormat
    from .request import Request

# The Lambda error reads "exceeded maximum allowed payload size (6291556 bytes)"; we keep to
# the documented 6 MiB, a hundred bytes below it (and the limit lamroute.testing checks).
LAMBDA_RESPONSE_LIMIT = 6 * 1024 * 1024
ALB_RESPONSE_LIMIT = 1024 * 1024
# json.dumps(ensure_ascii=True) writes at most 12 bytes per str character (an astral character
# becomes two \\uXXXX escapes); below this bound no exact measure is needed.
_WORST_BYTES_PER_CHAR = 12
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


def rough_bound(payload: Mapping[str, Any]) -> int:
    """An upper bound of the serialised size, in a few hundred nanoseconds for usual answers."""
    total = 64
    for value in payload.values():
        kind = type(value)
        if kind is int or kind is bool:  # statusCode, isBase64Encoded: no abstract Mapping check
            total += 32
        elif kind is str or isinstance(value, str):
            total += len(value) * _WORST_BYTES_PER_CHAR + _PER_ITEM_OVERHEAD
        elif kind is dict or isinstance(value, Mapping):
            for name, item in value.items():
                total += _PER_ITEM_OVERHEAD + _WORST_BYTES_PER_CHAR * (
                    len(str(name)) + (sum(len(str(v)) + 4 for v in item)
                                      if isinstance(item, list) else len(str(item)))
                )
        elif isinstance(value, list):
            total += sum(len(str(v)) * _WORST_BYTES_PER_CHAR + _PER_ITEM_OVERHEAD for v in value)
        else:
            total += 32
    return total


def serialised_size(payload: Mapping[str, Any]) -> int:
    """The size Lambda counts: ``json.dumps`` with escaped non-ASCII (the larger encoding)."""
    return len(json.dumps(payload))


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

    def fit(self, payload: dict[str, Any], fmt: PayloadFormat | None, response: Response,
            request: Request | None, event: Any = None) -> dict[str, Any]:
        """``payload`` when it fits; else a gzipped or a ``Response Too Large`` answer."""
        limit = limit_for(fmt)
        try:
            if rough_bound(payload) <= limit:
                return payload
            size = serialised_size(payload)
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
            rendered = self.boundary.render(fmt, packed, request, event)
            packed_size = serialised_size(rendered)
            if packed_size <= limit:
                self.logger.warning("response gzipped to fit the gateway limit", extra={
                    "size": size, "compressed_size": packed_size, "limit": limit,
                    "route": request.route if request is not None else None})
                return rendered
        self.logger.error("response too large for the gateway", extra={
            "size": size, "limit": limit, "status": payload.get("statusCode"),
            "route": request.route if request is not None else None})
        error = self.boundary.handle(ResponseTooLarge(size, limit), request)
        rendered = self.boundary.render(fmt, error, request, event)
        if serialised_size(rendered) <= limit:
            return rendered
        self.logger.error("the error answer is too large too; sending the minimal problem")
        request_id = request.request_id if request is not None else None
        instance = request.url_path if request is not None else None
        return self.boundary.render(fmt, minimal_problem(500, request_id, instance=instance),
                                    request, event)

    def _gzipped(self, fmt: PayloadFormat | None, response: Response,
                 request: Request | None) -> Response | None:
        # REST APIs turn base64 into binary only for binaryMediaTypes: gzip there only when
        # the app opted into compression (and so configured them).
        if request is None or (getattr(fmt, "name", "rest") == "rest" and not self.compression):
            return None
        try:
            if not accepts_gzip(request.headers.get("accept-encoding")):
                return None
            packed = compress(response, "gzip", Compression(min_size=0, level=9))
        except Exception:
            return None
        return packed if packed is not response and "content-encoding" in packed.headers else None
