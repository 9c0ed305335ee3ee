"""A notes API: CRUD over SQLite with pydantic models, pagination and custom error answers."""
