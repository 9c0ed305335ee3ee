"""Application Load Balancer targets (with and without multi-value headers).

https://docs.aws.amazon.com/elasticloadbalancing/latest/application/lambda-functions.html
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote_plus

from ..errors import status_phrase
from ..multidict import Headers, QueryParams
from ..request import Request
from ..response import Response
from . import _common as c


class AlbFormat(c.ProxyReader):
    """Reads and writes ALB events; the response uses the header mode the request shows."""

    name = "alb"

    def detect(self, event: Mapping[str, Any]) -> bool:
        context_ = event.get("requestContext")
        return isinstance(context_, Mapping) and "elb" in context_

    def parse(self, event: Mapping[str, Any], context: Any) -> Request:
        method = c.string(event, "httpMethod", required=True)
        # ALB passes the path as the client sent it, percent-encoding included; every ALB
        # event has one (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/lambda-functions.html).
        raw_path = c.leading_slash(c.string(event, "path", required=True) or "/")
        path = c.decode_path(raw_path)
        return Request(
            method=str(method).upper(),
            path=path,
            root_path="",
            format=self.name,
            stage=None,
            request_id=self._trace_id(event),
            event=event,
            context=context,
            reader=self,
            raw_path=raw_path if path is not raw_path else None,
        )

    @staticmethod
    def _trace_id(event: Mapping[str, Any]) -> str | None:
        """ALB has no request id; its trace header is the closest (read raw: parsing stays lazy).

        ALB lower-cases header names, so one lookup is enough.
        """
        for key in ("multiValueHeaders", "headers"):
            headers = event.get(key)
            if isinstance(headers, Mapping):
                value = headers.get("x-amzn-trace-id")
                if isinstance(value, list) and value:
                    value = value[0]
                if isinstance(value, str):
                    return value
        return None

    @staticmethod
    def multi_value(event: Mapping[str, Any]) -> bool:
        """True when the target group has multi-value headers on (the event then has them)."""
        return "multiValueHeaders" in event or "multiValueQueryStringParameters" in event

    def headers(self, event: Mapping[str, Any]) -> Headers:
        multi = c.mapping(event, "multiValueHeaders")
        return Headers(c.string_pairs(multi or c.mapping(event, "headers"), "header"))

    def query(self, event: Mapping[str, Any]) -> QueryParams:
        # ALB does not decode query parameters: names and values arrive percent-encoded.
        multi = c.mapping(event, "multiValueQueryStringParameters")
        pairs = c.string_pairs(multi or c.mapping(event, "queryStringParameters"), "query")
        return QueryParams((unquote_plus(k), unquote_plus(v)) for k, v in pairs)

    def source_ip(self, event: Mapping[str, Any]) -> str | None:
        forwarded = self.headers(event).get("x-forwarded-for")
        return forwarded.split(",")[0].strip() if forwarded else None

    def authorizer(self, event: Mapping[str, Any]) -> dict[str, Any]:
        return {}

    def render(self, response: Response, request: Request | None) -> dict[str, Any]:
        """``multiValueHeaders`` when the target group uses them, else ``headers``.

        Without multi-value mode a header can carry one value only: repeated headers are
        comma-joined, and only the last ``Set-Cookie`` survives.
        """
        status = c.check_status(response.status)
        grouped = c.header_lists(response, include_cookies=True)
        body, is_base64 = c.encode_body(response)
        out: dict[str, Any] = {
            "statusCode": status,
            "statusDescription": f"{status} {status_phrase(status)}",
            "body": body,
            "isBase64Encoded": is_base64,
        }
        if request is not None and self.multi_value(request.event):
            out["multiValueHeaders"] = grouped
        else:
            out["headers"] = {
                name: values[-1] if name.lower() == "set-cookie" else ", ".join(values)
                for name, values in grouped.items()
            }
        return out


ALB = AlbFormat()
