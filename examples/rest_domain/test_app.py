"""Links carry the public prefix: the stage on execute-api, the base path on the domain."""

from __future__ import annotations

from lamroute.testing import TestClient

from .app import app


def test_on_the_execute_api_domain_links_carry_the_stage() -> None:
    client = TestClient(app, format="rest", stage="prod")
    assert client.get("/items/7").json()["self"] == "/prod/items/7"


def test_on_the_custom_domain_links_carry_the_base_path() -> None:
    client = TestClient(app, format="rest", stage="prod")
    response = client.get("/items/7", domain_name="api.example.com", base_path="/shop")
    assert response.json()["self"] == "/shop/items/7"
    missing = client.get("/items/8", domain_name="api.example.com", base_path="/shop")
    assert (missing.status_code, missing.json()["instance"]) == (404, "/shop/items/8")
