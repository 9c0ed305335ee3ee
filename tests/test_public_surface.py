"""The public names and the weight of `import lamroute`."""

from __future__ import annotations

import json
import subprocess
import sys

import lamroute


def test_all_lists_exactly_the_public_names() -> None:
    # dir(): some names (CORS, Identity, requires) are re-exported lazily by __getattr__.
    public = {name for name in dir(lamroute) if not name.startswith("_")}
    modules = {name for name in public if type(getattr(lamroute, name)).__name__ == "module"}
    assert set(lamroute.__all__) == public - modules
    core = {"App", "Router", "Request", "Response", "HTTPError", "NotFound"}
    assert core <= set(lamroute.__all__)
    assert all(getattr(lamroute, name) is not None for name in lamroute.__all__)


def test_import_lamroute_stays_light() -> None:
    code = (
        "import sys, json, lamroute;"
        "print(json.dumps(sorted(m for m in sys.modules)))"
    )
    loaded = set(json.loads(subprocess.check_output([sys.executable, "-c", code], text=True)))
    heavy = {"pydantic", "http.server", "asyncio", "boto3", "lamroute.cli", "socketserver"}
    assert not heavy & loaded, heavy & loaded


def test_import_lamroute_defers_error_only_modules() -> None:
    # `http` (the HTTPStatus enum, ~1 ms to build) is needed for an error's reason phrase only:
    # a cold start that answers 200 never pays for it.
    code = (
        "import sys, lamroute;"
        "app = lamroute.App(access_log=False);"
        "app.get('/ok')(lambda: {'ok': True});"
        "event = {'resource': '/ok', 'path': '/ok', 'httpMethod': 'GET', 'headers': None,"
        " 'requestContext': {'stage': 'prod', 'requestId': 'r'}, 'body': None};"
        "print(app(event, None)['statusCode'], 'http' in sys.modules)"
    )
    out = subprocess.check_output([sys.executable, "-c", code], text=True).split()
    assert out == ["200", "False"]
