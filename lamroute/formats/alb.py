"""Application Load Balancer targets (with and without multi-value headers).

https://docs.aws.amazon.com/elasticloadbalancing/latest/application/lambda-functions.html
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import unquote_plus

from ..exceptions import status_phrase
from ..http.multidict import Headers, QueryParams
from ..http.request import Request
from ..http.response import Response
from . import _common as c


class AlbFormat(c.ProxyReader):
    """Reads and writes ALB events; the response uses the header mode the request shows.

    ``trusted_proxies`` says which ``X-Forwarded-For`` entry is the client (see
    :func:`client_address`); ``App(trusted_proxies=...)`` builds its own instance.
    """

    name = "alb"

    def __init__(self, *, trusted_proxies: int | Iterable[str] = 0) -> None:
        self.trusted = _trust(trusted_proxies)

    def detect(self, event: Mapping[str, Any]) -> bool:
        context_ = event.get("requestContext")
        return isinstance(context_, Mapping) and "elb" in context_

    def parse(self, event: Mapping[str, Any], context: Any) -> Request:
        method = c.string(event, "httpMethod", required=True)
        # ALB passes the path as the client sent it, percent-encoding included; every ALB
        # event has one (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/lambda-functions.html).
        raw_path = c.leading_slash(c.string(event, "path", required=True) or "/")
        path = c.decode_path(raw_path)
        return Request(  # (by position: a keyword call costs more than the request's fields)
            str(method).upper(),  # method
            path,
            "",  # root_path
            self.name,  # format
            None,  # stage
            self._trace_id(event),  # request_id
            event,
            context,
            self,  # reader
            raw_path if path is not raw_path else None,  # raw_path
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
        """The address the ALB appended to ``X-Forwarded-For`` (or a trusted proxy did).

        In the default ``append`` mode the ALB adds the address of its peer at the *end* of the
        header; every entry before it came from the client or a proxy, and the client can
        write anything there. ``remove`` mode drops the header (``None`` here); ``preserve``
        passes the client's header unchanged: no entry can be trusted then.
        https://docs.aws.amazon.com/elasticloadbalancing/latest/application/x-forwarded-headers.html
        """
        # Raw lookup in the map `headers()` reads (ALB lower-cases header names): no need to
        # parse every header for this one.
        source = c.mapping(event, "multiValueHeaders") or c.mapping(event, "headers")
        value = source.get("x-forwarded-for")
        if type(value) is str:
            values = [value]
        elif type(value) is list and all(type(v) is str for v in value):
            # Repeated header lines form one list, in order (RFC 9110 section 5.3): the entry
            # the ALB appends ends the combined list.
            values = value
        else:
            return None
        return client_address(values, self.trusted)

    def authorizer(self, event: Mapping[str, Any]) -> dict[str, Any]:
        return {}

    def render(self, response: Response, request: Request | None) -> dict[str, Any]:
        """``multiValueHeaders`` when the target group uses them, else ``headers``.

        Without multi-value mode a header can carry one value only: repeated headers are
        comma-joined, and only the last ``Set-Cookie`` survives.
        """
        simple = c.simple_parts(response)
        if simple is not None:
            status, name, value, body, is_base64 = simple
            grouped = {name: [value]}
        else:
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


Trust = int | tuple[Any, ...]  # hops, or the ``ipaddress`` networks of trusted proxies


def client_address(values: list[str], trusted: Trust = 0) -> str | None:
    """The client's address from ``X-Forwarded-For`` values, counted from the right.

    ``trusted`` is the number of proxies in front of the ALB that append to the header (1 for
    CloudFront, which appends the viewer's address), or the networks those proxies send from:
    entries from them are skipped, and the first other one is the client. A hop count trusts
    whoever reaches the ALB: use it only when the ALB accepts traffic from the proxy alone.
    https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/RequestAndResponseBehaviorCustomOrigin.html#RequestCustomIPAddresses

    >>> client_address(["6.6.6.6, 203.0.113.9"])
    '203.0.113.9'
    >>> client_address(["6.6.6.6, 198.51.100.2, 130.176.1.1"], 1)
    '198.51.100.2'
    >>> client_address(["[2001:db8::1]:443"]), client_address(["203.0.113.9:51234"])
    ('2001:db8::1', '203.0.113.9')
    """
    entries = ",".join(values).split(",")
    if isinstance(trusted, int):
        return _host(entries[max(0, len(entries) - 1 - trusted)])
    import ipaddress  # only apps that trust proxy networks get here

    for index in range(len(entries) - 1, -1, -1):
        host = _host(entries[index])
        if host is None or index == 0:
            return host
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return host  # not an address a trusted proxy would write: stop here
        if not any(address in network for network in trusted):
            return host
    return None  # (unreachable: index 0 returns)


def _host(entry: str) -> str | None:
    """An entry without spaces and port (the ALB's ``xff_client_port`` option adds one:
    ``203.0.113.9:51234``, ``[2001:db8::1]:51234``); ``None`` for an empty entry."""
    entry = entry.strip()
    if entry.startswith("["):
        end = entry.find("]")
        return (entry[1:end] or None) if end > 0 else None
    if entry.count(":") == 1:  # IPv4 with a port (a bare IPv6 address has several colons)
        entry = entry.partition(":")[0]
    return entry or None


def _trust(option: int | Iterable[str]) -> Trust:
    """Check ``trusted_proxies`` once, at app creation: a hop count or networks (CIDRs)."""
    if isinstance(option, (bool, str)):
        raise TypeError("trusted_proxies must be an int (hops) or a list of CIDRs, not "
                        f"{option!r}.")
    if isinstance(option, int):
        if option < 0:
            raise ValueError(f"trusted_proxies must be >= 0, not {option!r}.")
        return option
    cidrs = list(option)
    if not cidrs:
        return 0
    if not all(isinstance(cidr, str) for cidr in cidrs):
        raise TypeError(f"trusted_proxies networks must be CIDR strings, not {cidrs!r}.")
    import ipaddress

    try:
        return tuple(ipaddress.ip_network(cidr, strict=False) for cidr in cidrs)
    except ValueError as exc:
        raise ValueError(f"trusted_proxies: {exc}") from None


ALB = AlbFormat()
