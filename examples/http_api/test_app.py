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


def test_a_name_cannot_add_cookie_attributes() -> None:
    # lamroute invoke examples.http_api.app:app --format http \
    #     --path '/hello/x;%20Domain=evil.example'
    client = TestClient(app, format="http")
    response = client.get("/hello/x;%20Domain=evil.example")
    assert response.json() == {"greeting": "Hello, x; Domain=evil.example!"}
    (cookie,) = response.raw["cookies"]
    assert cookie == ("last_name=x%3B%20Domain=evil.example; Max-Age=3600; Path=/; Secure; "
                      "HttpOnly; SameSite=Lax")
    attributes = [part.strip().partition("=")[0] for part in cookie.split(";")[1:]]
    assert "Domain" not in attributes
    again = client.get("/again", cookies={"last_name": response.cookies["last_name"]})
    assert again.json() == {"greeting": "Hello again, x; Domain=evil.example!"}


def test_forget_deletes_the_cookie() -> None:
    response = TestClient(app, format="http").get("/forget")
    assert response.raw["cookies"] == [
        "last_name=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/; Secure; "
        "SameSite=Lax"]
