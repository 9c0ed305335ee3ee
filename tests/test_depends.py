"""Depends: sub-dependencies, per-request resolution, the per-container cache, errors."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

import pytest

from lamroute import App, Depends, Header, Request, RouteDefinitionError, Unauthorized
from lamroute.params import clear_dependency_cache
from lamroute.testing import TestClient

CALLS: dict[str, int] = {}


def count(name: str) -> None:
    CALLS[name] = CALLS.get(name, 0) + 1


def settings() -> dict[str, str]:
    count("settings")
    return {"region": "eu-west-1"}


def client_factory(cfg: Annotated[dict[str, str], Depends(settings)]) -> dict[str, Any]:
    count("client")
    return {"client_for": cfg["region"], "id": CALLS["client"]}


def pagination(limit: int = 10, offset: int = 0) -> tuple[int, int]:
    count("pagination")
    return limit, offset


def current_user(
    request: Request, authorization: Annotated[str | None, Header()] = None
) -> str:
    count("user")
    if not authorization or not authorization.startswith("Bearer "):
        raise Unauthorized("A bearer token is required.",
                           headers={"WWW-Authenticate": "Bearer"})
    return authorization.removeprefix("Bearer ")


def audit(user: Annotated[str, Depends(current_user)],
          page: Annotated[tuple[int, int], Depends(pagination)]) -> str:
    return f"{user}@{page[0]}"


class Paginator:
    def __init__(self, size: int = 5) -> None:
        self.size = size


@pytest.fixture(autouse=True)
def _reset() -> Iterator[None]:
    CALLS.clear()
    clear_dependency_cache()
    yield
    clear_dependency_cache()


def make_app() -> App:
    app = App(access_log=False)

    @app.get("/items")
    def items(page: Annotated[tuple[int, int], Depends(pagination)],
              client: Annotated[dict[str, Any], Depends(client_factory, cache="container")]
              ) -> dict[str, Any]:
        return {"page": list(page), "client": client}

    @app.get("/me")
    def me(user: Annotated[str, Depends(current_user)],
           trail: Annotated[str, Depends(audit)]) -> dict[str, str]:
        return {"user": user, "trail": trail}

    @app.get("/fresh")
    def fresh(a: Annotated[tuple[int, int], Depends(pagination, cache="none")],
              b: Annotated[tuple[int, int], Depends(pagination, cache="none")]) -> dict[str, int]:
        return {"calls": CALLS["pagination"]}

    @app.get("/class")
    def by_class(p: Paginator = Depends(Paginator)) -> dict[str, int]:  # noqa: B008
        return {"size": p.size}

    return app


@pytest.mark.parametrize("fmt", ["rest", "http"])
def test_sub_dependencies_and_container_cache(fmt: str) -> None:
    client = TestClient(make_app(), format=fmt)
    first = client.get("/items?limit=3&offset=6").json()
    assert first == {"page": [3, 6], "client": {"client_for": "eu-west-1", "id": 1}}
    second = client.get("/items").json()
    assert second == {"page": [10, 0], "client": {"client_for": "eu-west-1", "id": 1}}
    assert CALLS == {"pagination": 2, "settings": 1, "client": 1}


@pytest.mark.parametrize("fmt", ["rest", "http"])
def test_request_cache_resolves_a_shared_dependency_once(fmt: str) -> None:
    client = TestClient(make_app(), format=fmt)
    got = client.get("/me?limit=4", headers={"Authorization": "Bearer alice"})
    assert got.json() == {"user": "alice", "trail": "alice@4"}
    assert CALLS["user"] == 1
    client.get("/me", headers={"Authorization": "Bearer bob"})
    assert CALLS["user"] == 2


def test_cache_none_calls_every_time() -> None:
    assert TestClient(make_app()).get("/fresh").json() == {"calls": 2}


def test_dependency_errors_become_problems() -> None:
    client = TestClient(make_app(), format="http")
    response = client.get("/me")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    invalid = client.get("/me?limit=x", headers={"Authorization": "Bearer a"})
    assert invalid.status_code == 422
    assert invalid.json()["errors"][0]["loc"] == ["query", "limit"]


def test_class_dependency() -> None:
    client = TestClient(make_app())
    assert client.get("/class?size=9").json() == {"size": 9}


def test_circular_dependency_is_refused() -> None:
    def a(x: Annotated[int, Depends(lambda: 1)]) -> int:
        return x

    def loop(y: Any = None) -> int:
        return 1

    def first(v: Annotated[int, Depends(loop)]) -> int:
        return v

    loop.__defaults__ = (Depends(first),)
    with pytest.raises(RouteDefinitionError, match="circular"):
        App(access_log=False).get("/x")(first)
    App(access_log=False).get("/ok")(a)


def test_a_generator_handler_is_refused_at_registration() -> None:
    # `yield` belongs in dependencies (their code after it runs once the answer is built); a
    # handler that yields would answer with a generator object.
    def handler() -> Iterator[int]:
        yield 1

    with pytest.raises(RouteDefinitionError, match="generator"):
        App(access_log=False).get("/x")(handler)


def test_unknown_cache_mode() -> None:
    with pytest.raises(ValueError, match="cache"):
        Depends(settings, cache="forever")  # type: ignore[arg-type]
