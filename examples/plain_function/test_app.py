"""Decorators return the function unchanged, so a route is tested like any function."""

from __future__ import annotations

import pytest

from lamroute import BadRequest
from lamroute.testing import TestClient

from .app import app, quote


def test_quote_as_a_plain_function() -> None:
    assert quote("fr", "1000") == {"country": "fr", "net": 1000, "vat": 200, "gross": 1200}


def test_plain_function_raises_the_http_error() -> None:
    with pytest.raises(BadRequest, match="no VAT rate"):
        quote("xx", "1000")


def test_and_the_same_route_through_the_lambda_entry_point() -> None:
    response = TestClient(app, format="http").get("/quote/de/1000")
    assert response.json()["gross"] == 1190
    assert TestClient(app).get("/rates?country=lu").json() == {"lu": 17}
