"""Cookies leave in `cookies` (payload 2.0) and come back in the request's `cookies`."""

from __future__ import annotations

from lamroute.testing import TestClient

from .app import app


def test_cookie_round_trip_over_payload_2() -> None:
    client = TestClient(app, format="http")
    response = client.get("/hello/ada")
    assert response.json() == {"greeting": "Hello, ada!"}
    assert response.raw["cookies"] == [
        "last_name=ada; Max-Age=3600; Path=/; Secure; HttpOnly; SameSite=Lax"]
    again = client.get("/again", cookies={"last_name": response.cookies["last_name"]})
    assert again.json() == {"greeting": "Hello again, ada!"}
    assert client.get("/again").json() == {"greeting": "Hello again, stranger!"}
