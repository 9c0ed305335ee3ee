"""Realistic REST API proxy events for the benchmark workloads.

Built with :func:`lamroute.testing.make_event` (stage, full ``requestContext``) plus the ~20
headers a browser behind CloudFront and API Gateway delivers.
"""

from __future__ import annotations

import copy
from typing import Any

from lamroute.testing import make_event

HEADERS = {
    "Accept": "application/json, text/plain, */*",
    "Accept-Encoding": "gzip, deflate, br",
    "Accept-Language": "en-GB,en;q=0.9",
    "Authorization": "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJl",
    "CloudFront-Forwarded-Proto": "https",
    "CloudFront-Is-Desktop-Viewer": "true",
    "CloudFront-Is-Mobile-Viewer": "false",
    "CloudFront-Is-SmartTV-Viewer": "false",
    "CloudFront-Is-Tablet-Viewer": "false",
    "CloudFront-Viewer-ASN": "3320",
    "CloudFront-Viewer-Country": "DE",
    "Host": "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com",
    "Origin": "https://app.example.com",
    "Referer": "https://app.example.com/dashboard",
    "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36",
    "Via": "2.0 0f1e2d3c4b5a69788796a5b4c3d2e1f0.cloudfront.net (CloudFront)",
    "X-Amz-Cf-Id": "Hq0FYp3c6W1Ze5uQ_4rVbZUGmL8yQ6WkD1x7NvPq2c3Rb5tY9sA1Bw==",
    "X-Amzn-Trace-Id": "Root=1-67a1b2c3-0123456789abcdef01234567",
    "X-Forwarded-For": "203.0.113.7, 130.176.89.12",
    "X-Forwarded-Port": "443",
    "X-Forwarded-Proto": "https",
}

# workload -> (method, path, JSON body, Chalice resource template)
WORKLOADS: dict[str, tuple[str, str, Any, str | None]] = {
    "health": ("GET", "/health", None, "/health"),
    "user": ("GET", "/users/42", None, "/users/{user_id}"),
    "create_item": ("POST", "/items", {"name": "pen", "price": 1.5, "tags": ["office"]}, "/items"),
    "boom": ("GET", "/boom", None, "/boom"),
    "not_found": ("GET", "/no/such/path", None, None),
}
SUCCESSFUL = ("health", "user", "create_item", "not_found")
EXPECTED_STATUS = {"health": 200, "user": 200, "create_item": 201, "boom": 500, "not_found": 404}
# Chalice answers an event for a path it has no route for with its own error: 405
# MethodNotAllowedError (its routes are a defaultdict keyed by resource). Deployed by Chalice,
# API Gateway would answer such a path itself; behind a catch-all resource, this is its 404.
CHALICE_STATUS = {**EXPECTED_STATUS, "not_found": 405}


def rest_event(workload: str) -> dict[str, Any]:
    """The event API Gateway sends through a ``/{proxy+}`` resource for ``workload``."""
    method, path, body, _ = WORKLOADS[workload]
    return make_event("rest", method, path, headers=HEADERS, json=body, stage="prod",
                      request_id="c6af9ac6-7b61-11e6-9a41-93e8deadbeef")


def chalice_event(workload: str) -> dict[str, Any]:
    """The event for a Chalice deployment (one resource per route). An unknown path keeps its
    own path as the resource: what Chalice sees if the event reaches it (see CHALICE_STATUS)."""
    resource = WORKLOADS[workload][3] or WORKLOADS[workload][1]
    event = copy.deepcopy(rest_event(workload))
    event["resource"] = event["requestContext"]["resourcePath"] = resource
    event["pathParameters"] = {"user_id": "42"} if "{user_id}" in resource else None
    return event


def event_for(framework: str, workload: str) -> dict[str, Any]:
    return chalice_event(workload) if framework == "chalice" else rest_event(workload)


def expected_status(framework: str, workload: str) -> int:
    return (CHALICE_STATUS if framework == "chalice" else EXPECTED_STATUS)[workload]
