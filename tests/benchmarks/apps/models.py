"""The request model every app validates ``POST /items`` with."""

from __future__ import annotations

from pydantic import BaseModel


class Item(BaseModel):
    name: str
    price: float
    tags: list[str] = []
