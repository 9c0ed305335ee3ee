"""What parameter binding and validation cost per request (no test framework needed).

    python tests/benchmarks/validation_cost.py [--number 20000]

Each row gives one full ``app(event, context)`` invocation (HTTP API 2.0 event, access log
off; process CPU time, best of 5 runs), its difference from the route without parameters
(routing, query/JSON parsing and binding together), and the binding/validation step alone:
``binder.bind(request)`` (plus the response model's validate-and-dump where there is one) on
an already parsed request.
"""

from __future__ import annotations

import argparse
import sys
import time
import timeit
from collections.abc import Callable
from typing import Annotated, Any

from lamroute import App, Depends, Query
from lamroute.testing import FakeContext, make_event


def build(with_models: bool) -> tuple[App, list[tuple[str, dict[str, Any]]]]:
    app = App(access_log=False)

    @app.get("/none")
    def no_params() -> dict[str, bool]:
        return {"ok": True}

    @app.get("/str/{name}")
    def str_param(name: str) -> dict[str, bool]:
        return {"ok": True}

    @app.get("/int/{item_id}")
    def int_param(item_id: int) -> dict[str, bool]:
        return {"ok": True}

    @app.get("/query")
    def query_params(q: str | None = None, limit: int = 10, offset: int = 0,
                     tags: list[str] = []) -> dict[str, bool]:  # noqa: B006
        return {"ok": True}

    def pagination(limit: int = 10, offset: int = 0) -> tuple[int, int]:
        return limit, offset

    @app.get("/depends")
    def with_depends(page: Annotated[tuple[int, int], Depends(pagination)]) -> dict[str, bool]:
        return {"ok": True}

    cases: list[tuple[str, dict[str, Any]]] = [
        ("no parameters", make_event("http", "GET", "/none")),
        ("str path param", make_event("http", "GET", "/str/alice")),
        ("int path param", make_event("http", "GET", "/int/42")),
        ("4 query params (int, str, list)",
         make_event("http", "GET", "/query", query=[("q", "x"), ("limit", "5"),
                                                    ("offset", "10"), ("tags", "a"),
                                                    ("tags", "b")])),
        ("Depends(pagination) + 2 query", make_event("http", "GET", "/depends",
                                                     query={"limit": "5", "offset": "1"})),
    ]
    if with_models:
        from pydantic import BaseModel, Field

        class Item(BaseModel):
            sku: str
            price: float = Field(gt=0)
            quantity: int = 1

        class Order(BaseModel):
            customer: str
            items: list[Item]

        @app.post("/order")
        def body_model(order: Order) -> dict[str, bool]:
            return {"ok": True}

        @app.post("/order-echo")
        def body_and_response(order: Order) -> Order:
            return order

        @app.get("/constrained")
        def constrained(limit: Annotated[int, Query(ge=1, le=100)] = 10) -> dict[str, bool]:
            return {"ok": True}

        order = {"customer": "c-1", "items": [{"sku": f"s{i}", "price": 1.5, "quantity": 2}
                                              for i in range(3)]}
        cases += [
            ("constrained int query (pydantic)",
             make_event("http", "GET", "/constrained", query={"limit": "5"})),
            ("pydantic body (3 items)", make_event("http", "POST", "/order", json=order)),
            ("pydantic body + response model",
             make_event("http", "POST", "/order-echo", json=order)),
        ]
    return app, cases


def best_us(call: Callable[[], Any], number: int) -> float:
    # CPU time of this process: the machine may be shared, and waiting for a core is not cost.
    timer = time.process_time
    return min(timeit.repeat(call, number=number, repeat=5, timer=timer)) / number * 1e6


def bind_cost(app: App, event: dict[str, Any], number: int) -> float:
    """µs for binding/validating the arguments (and the response model) on a parsed request."""
    from lamroute.formats import parse_event

    request = parse_event(event, FakeContext())
    match = app.table.match(request.method, request.path)
    request.path_params = match.params
    compiled = match.target
    assert compiled is not None
    bind, serialize = compiled.binder.bind, compiled.serialize
    result = compiled.route.handler(**bind(request))  # warms the lazy query/body caches
    if serialize is None:
        return best_us(lambda: bind(request), number)
    return best_us(lambda: serialize(result) and bind(request), number)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--number", type=int, default=20000, help="invocations per run")
    args = parser.parse_args(argv)
    app, cases = build(with_models=False)
    pydantic_loaded = "pydantic" in sys.modules
    app, cases = build(with_models=True)
    context = FakeContext()
    print(f"pydantic imported by the app without models: {pydantic_loaded}")
    print(f"{'route':36} {'invocation µs':>13} {'vs no params':>12} {'bind+validate µs':>16}")
    baseline = 0.0
    for name, event in cases:
        raw = app(event, context)
        if raw["statusCode"] >= 400:
            raise SystemExit(f"{name}: unexpected {raw['statusCode']} {raw['body']}")
        us = best_us(lambda event=event: app(event, context), args.number)  # type: ignore[misc]
        baseline = baseline or us
        bind_us = bind_cost(app, event, args.number)
        print(f"{name:36} {us:13.2f} {us - baseline:+12.2f} {bind_us:16.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
