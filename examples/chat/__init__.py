"""The chat example: a WebSocket API app (see app.py)."""
