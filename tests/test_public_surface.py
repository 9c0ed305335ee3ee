"""The public names, the module paths the README names, and the weight of `import lamroute`."""

from __future__ import annotations

import importlib
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

import lamroute
import lamroute.testing

ROOT = Path(__file__).resolve().parent.parent
READMES = [ROOT / "README.md", *sorted((ROOT / "examples").glob("**/README.md"))]

# Measured on the code before the layout of issue 13 regrouped the package into subpackages:
# `import lamroute` loaded 27 lamroute modules (131 modules in all on CPython 3.11), and a first
# request of an app without auth, CORS or models loaded no more of its own (143 in all).
IMPORT_BEFORE = {"lamroute": 27, "total": {(3, 11): 131}}
FIRST_REQUEST_BEFORE = {"lamroute": 27, "total": {(3, 11): 143}}


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


def _loaded(code: str) -> list[str]:
    out = subprocess.check_output([sys.executable, "-c", code + (
        "\nimport sys, json; print(json.dumps(sorted(sys.modules)))")], text=True)
    return list(json.loads(out.splitlines()[-1]))


def _assert_no_heavier(loaded: list[str], before: dict[str, object]) -> None:
    own = [name for name in loaded if name == "lamroute" or name.startswith("lamroute.")]
    assert len(own) <= before["lamroute"], own
    total = before["total"].get(sys.version_info[:2])  # type: ignore[attr-defined]
    if total is not None:  # the standard library's own imports differ between versions
        assert len(loaded) <= total, sorted(loaded)


def test_import_lamroute_loads_no_more_modules_than_before_the_layout() -> None:
    _assert_no_heavier(_loaded("import lamroute"), IMPORT_BEFORE)


def test_a_first_request_loads_no_more_modules_than_before_the_layout() -> None:
    code = (
        "import lamroute\n"
        "app = lamroute.App(access_log=False)\n"
        "@app.get('/items/{item_id}')\n"
        "def item(item_id: int) -> dict:\n"
        "    return {'id': item_id}\n"
        "event = {'resource': '/items/{item_id}', 'path': '/items/1', 'httpMethod': 'GET',"
        " 'headers': None, 'requestContext': {'stage': 'prod', 'requestId': 'r'}, 'body': None,"
        " 'pathParameters': {'item_id': '1'}}\n"
        "assert app(event, None)['statusCode'] == 200"
    )
    loaded = _loaded(code)
    assert not {"lamroute.websocket", "lamroute.safeguards.compression", "pydantic"} & set(loaded)
    _assert_no_heavier(loaded, FIRST_REQUEST_BEFORE)


# Split off larger modules (issue 13): each loads with the first template, route or body that
# needs it (the code after `app = lamroute.App()` that does), never for a plain app.
ON_FIRST_USE = {
    "lamroute.routing.foreign_syntax": "try:\n    app.get('/users/:user_id')(lambda **kw: kw)\n"
                                       "except lamroute.RouteDefinitionError:\n    pass",
    "lamroute.params.json_body": "app.post('/items')(lambda item=lamroute.Body(): item)",
    "lamroute.params.constraints": "app.get('/q')(lambda q=lamroute.Query(ge=1): q)",
    "lamroute.params.form_kinds": "app.post('/f')(lambda name=lamroute.Form(): name)",
    "lamroute.http.json_checks": "from lamroute.testing import TestClient\n"
                                 "app.post('/j')(lambda body=lamroute.Body(): body)\n"
                                 "assert TestClient(app).post('/j', body=b'{', headers="
                                 "{'content-type': 'application/json'}).status_code == 400",
}


def test_modules_split_off_load_only_with_what_needs_them() -> None:
    plain = _loaded(
        "import lamroute\n"
        "app = lamroute.App(access_log=False)\n"
        "@app.get('/items/{item_id}')\n"
        "def item(item_id: int, verbose: bool = False) -> dict:\n"
        "    return {'id': item_id}\n"
        "event = {'resource': '/items/{item_id}', 'path': '/items/1', 'httpMethod': 'GET',"
        " 'headers': None, 'requestContext': {'stage': 'prod', 'requestId': 'r'}, 'body': None,"
        " 'pathParameters': {'item_id': '1'}}\n"
        "assert app(event, None)['statusCode'] == 200"
    )
    assert not set(ON_FIRST_USE) & set(plain)
    for module, code in ON_FIRST_USE.items():
        loaded = _loaded("import lamroute\napp = lamroute.App(access_log=False)\n" + code)
        assert module in loaded, (module, code)


def test_testing_exports_exactly_its_public_names() -> None:
    testing = lamroute.testing
    public = {name for name in dir(testing) if not name.startswith("_")}
    modules = {name for name in public if type(getattr(testing, name)).__name__ == "module"}
    assert set(testing.__all__) == public - modules
    assert {"TestClient", "make_event", "make_websocket_event", "WebSocketRejected"} <= public


def _readme_module_paths() -> list[str]:
    """Every ``lamroute.x.y`` the READMEs name (the project's and the examples')."""
    text = "\n".join(path.read_text(encoding="utf-8") for path in READMES)
    return sorted(set(re.findall(r"\blamroute(?:\.[A-Za-z_][A-Za-z0-9_]*)+", text)))


@pytest.mark.parametrize("path", _readme_module_paths())
def test_every_module_path_the_readme_names_imports(path: str) -> None:
    # The longest importable prefix is the module; the rest must be attributes of it
    # (``lamroute.testing.make_event``, ``lamroute.errors.SERVER_ERROR_DETAIL``).
    parts = path.split(".")
    for end in range(len(parts), 0, -1):
        try:
            target: object = importlib.import_module(".".join(parts[:end]))
        except ModuleNotFoundError as exc:
            if exc.name is None or not ".".join(parts[:end]).startswith(exc.name):
                raise
            continue
        for attribute in parts[end:]:
            assert hasattr(target, attribute), f"{path}: {'.'.join(parts[:end])} has no {attribute}"
            target = getattr(target, attribute)
        return
    raise AssertionError(f"{path} names no module")


def test_the_readme_names_module_paths() -> None:
    assert len(_readme_module_paths()) >= 10


def test_an_http_app_loads_neither_the_websocket_format_nor_the_lazy_log_parts() -> None:
    # Issue 18: what only some apps need loads on first use (the WebSocket format with a
    # WebSocket event or route; Lambda's JSON log format and log_root; the secrets rules with
    # the first line that has fields; python-json-logger with the first line that is not an
    # access line); an access line loads lamroute.logs.access, nothing else.
    code = (
        "import sys, lamroute\n"
        "class Context:\n"
        "    aws_request_id = 'a-1'\n"
        "    def get_remaining_time_in_millis(self): return 30_000\n"
        "sys.stdout = open('/dev/null', 'w')\n"
        "app = lamroute.App()\n"
        "app.get('/items/{item_id}')(lambda item_id: {'id': item_id})\n"
        "event = {'version': '2.0', 'routeKey': '$default', 'rawPath': '/items/1',"
        " 'rawQueryString': '', 'headers': {'user-agent': 'ua/1'},"
        " 'requestContext': {'http': {'method': 'GET', 'path': '/items/1',"
        " 'sourceIp': '192.0.2.1'}, 'requestId': 'r-1', 'stage': '$default'},"
        " 'isBase64Encoded': False}\n"
        "assert app(event, Context())['statusCode'] == 200\n"
        "sys.stdout = sys.__stdout__\n"
    )
    loaded = set(_loaded(code))
    assert "lamroute.logs.access" in loaded
    assert not {"lamroute.formats.websocket", "lamroute.logs.runtime", "lamroute.logs.redaction",
                "pythonjsonlogger", "lamroute.app.adjust", "asyncio"} & loaded
