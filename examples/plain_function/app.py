"""A price quote API whose routes are unit-tested as plain functions (see test_app.py)."""

from __future__ import annotations

from lamroute import App, BadRequest, Request

app = App(title="Quotes", version="1.0.0")
VAT = {"fr": 20, "de": 19, "lu": 17}


@app.get("/quote/{country}/{amount_cents}")
def quote(country: str, amount_cents: str) -> dict[str, object]:
    """Gross price for a net amount in cents."""
    if country not in VAT:
        raise BadRequest(f"no VAT rate for {country!r}")
    if not amount_cents.isdigit():
        raise BadRequest("amount_cents must be a whole number of cents")
    net = int(amount_cents)
    vat = net * VAT[country] // 100
    return {"country": country, "net": net, "vat": vat, "gross": net + vat}


@app.get("/rates")
def rates(request: Request) -> dict[str, int]:
    wanted = request.query.getall("country") or sorted(VAT)
    return {c: VAT[c] for c in wanted if c in VAT}
