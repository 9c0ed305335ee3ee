"""What forms and uploads cost (no test framework needed).

    python tests/benchmarks/forms_cost.py

Process CPU time, best of 5 runs: parsing a 1 MB multipart upload alone, the whole invocation
that receives it (an HTTP API 2.0 event: the body arrives base64-encoded), a small upload and a
URL-encoded login form through ``Form()`` parameters (access log off).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Annotated, Any

from urllib3 import encode_multipart_formdata

from lamroute import App, Form, UploadFile
from lamroute.http.multipart import parse_multipart
from lamroute.testing import make_event


def best(call: Callable[[], Any], number: int, rounds: int = 5) -> float:
    """Seconds per call, the best of ``rounds``."""
    found = []
    for _ in range(rounds):
        started = time.process_time()
        for _ in range(number):
            call()
        found.append((time.process_time() - started) / number)
    return min(found)


def main() -> None:
    app = App(access_log=False)

    @app.post("/upload")
    def upload(title: Annotated[str, Form()], file: UploadFile) -> dict[str, int]:
        return {"size": file.size}

    @app.post("/login")
    def login(username: Annotated[str, Form()], password: Annotated[str, Form()],
              remember: Annotated[bool, Form()] = False) -> dict[str, str]:
        return {"user": username}

    content = os.urandom(1024 * 1024)
    body, kind = encode_multipart_formdata({"title": "report",
                                            "file": ("scan.pdf", content, "application/pdf")})
    big = make_event("http", "POST", "/upload", headers={"Content-Type": kind}, body=body)
    small_body, small_kind = encode_multipart_formdata(
        {"title": "t", "file": ("a.txt", b"hello world", "text/plain")})
    small = make_event("http", "POST", "/upload", headers={"Content-Type": small_kind},
                       body=small_body)
    form = make_event("http", "POST", "/login",
                      headers={"Content-Type": "application/x-www-form-urlencoded"},
                      body=b"username=ann&password=secret&remember=on")
    rows = [
        ("1 MB multipart body, parse alone", best(lambda: parse_multipart(body, kind), 50), "ms"),
        ("1 MB upload, whole invocation", best(lambda: app(big, None), 50), "ms"),
        ("small upload, whole invocation", best(lambda: app(small, None), 5000), "µs"),
        ("URL-encoded login (3 Form() fields)", best(lambda: app(form, None), 5000), "µs"),
    ]
    for label, seconds, unit in rows:
        print(f"{label:40} {seconds * (1e3 if unit == 'ms' else 1e6):8.2f} {unit}")

if __name__ == "__main__":
    main()
