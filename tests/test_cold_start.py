"""Cold start (issue 18): work done once per registration, and none for what a request skips.

No timing here: each test checks that a piece of work is not done (twice, or at all), which is
what the cold-start benchmark (``tests/benchmarks/cold.py``) measures.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import json
import os
import re
import subprocess
import sys
import typing
from typing import Any

import pytest
from pydantic import BaseModel

from lamroute import App, Compression, Route, RouteDefinitionError, Timeout
from lamroute.exceptions import SERVER_ERROR_DETAIL
from lamroute.routing import table
from lamroute.testing import make_event

FORMATS = ("rest", "http", "http-v1", "url", "alb")


def _run(code: str, env: dict[str, str] | None = None) -> Any:
    """The JSON the code prints last, run in a fresh interpreter."""
    out = subprocess.check_output([sys.executable, "-c", code], text=True,
                                  env=None if env is None else {**os.environ, **env})
    return json.loads(out.splitlines()[-1])


def test_import_lamroute_formats_no_millisecond_table() -> None:
    # The access line's `.042Z` strings are made as lines need them, not 1000 at import.
    code = ("import json, lamroute, lamroute.logs as logs;"
            "print(json.dumps([len(logs._MILLISECONDS), logs.utc_timestamp(0.042),"
            " len(logs._MILLISECONDS)]))")
    assert _run(code) == [0, "1970-01-01T00:00:00.042Z", 1]


def test_a_route_template_is_parsed_once_per_registration(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []

    class Counting(table.Template):
        __slots__ = ()

        def __init__(self, path: str, *args: Any) -> None:
            seen.append(path)
            super().__init__(path, *args)

    monkeypatch.setattr(table, "Template", Counting)
    app = App(access_log=False)
    app.get("/parsed-once/{item_id}/template")(lambda item_id: {"id": item_id})
    # the router's check, then the app's compile: one parse
    assert seen.count("/parsed-once/{item_id}/template") == 1
    for fmt in FORMATS:
        event = make_event(fmt, "GET", "/parsed-once/7/template")
        assert json.loads(app(event, None)["body"]) == {"id": "7"}


def test_import_lamroute_compiles_no_regular_expression() -> None:
    # Route templates are read with string methods (two patterns compiled at import cost
    # ~0.1 ms); a module that needs a pattern compiles it when first used.
    code = """
import json, re, sys
compiled = []
real = re.compile
def counting(pattern, flags=0):
    caller = sys._getframe(1).f_globals.get("__name__", "")
    if caller.startswith("lamroute"):
        compiled.append(caller)
    return real(pattern, flags)
re.compile = counting
import lamroute
app = lamroute.App(access_log=False)
app.get("/users/{user_id}/files/{path+}")(lambda user_id, path: {})
print(json.dumps(compiled))
"""
    assert _run(code) == []


def _plain() -> None: ...
async def _coroutine() -> None: ...
def _generator() -> Any:
    yield 1
async def _async_generator() -> Any:
    yield 1


@functools.wraps(_plain)
async def _wrapped() -> None: ...


class _Callable:
    async def __call__(self) -> None: ...

    async def method(self) -> None: ...


_MARKED: list[Any] = []
if hasattr(inspect, "markcoroutinefunction"):  # Python 3.12+
    def _marked() -> Any: ...

    _MARKED.append(inspect.markcoroutinefunction(_marked))


@pytest.mark.parametrize("func", [
    _plain, _coroutine, _generator, _async_generator, _wrapped, _Callable(), _Callable().method,
    functools.partial(_coroutine), lambda: None, len, *_MARKED])
def test_call_kind_reads_code_flags_as_inspect_does(func: Any) -> None:
    from lamroute.params.signature import call_kind

    target = func if inspect.isroutine(func) or isinstance(func, functools.partial) else (
        type(func).__call__)
    expected = ("async" if inspect.iscoroutinefunction(target) else
                "agen" if inspect.isasyncgenfunction(target) else
                "gen" if inspect.isgeneratorfunction(target) else "sync")
    assert call_kind(func) == expected


def test_a_plain_function_kind_needs_no_inspect(monkeypatch: pytest.MonkeyPatch) -> None:
    from lamroute.params.signature import call_kind

    asked = _counting(monkeypatch, inspect, "iscoroutinefunction", _coroutine)
    assert (call_kind(_coroutine), call_kind(_plain), call_kind(_generator)) == (
        "async", "sync", "gen")
    assert asked == []


def test_import_lamroute_compiles_no_option_annotation() -> None:
    # The route and WebSocket options are TypedDicts of the types themselves: written as
    # classes, under `from __future__ import annotations`, each of their annotations was a
    # string compiled into a ForwardRef at import.
    code = """
import json, typing
made = []
real = typing.ForwardRef.__init__
def counting(self, arg, *args, **kwargs):
    real(self, arg, *args, **kwargs)
    if (self.__forward_module__ or "").startswith("lamroute"):
        made.append(arg)
typing.ForwardRef.__init__ = counting
import lamroute
from lamroute.routing.routes import ROUTE_OPTIONS, WEBSOCKET_OPTIONS, RouteOptions
print(json.dumps([made, len(ROUTE_OPTIONS), len(WEBSOCKET_OPTIONS), RouteOptions.__doc__]))
"""
    assert _run(code) == [[], 18, 6, "Keyword options every route decorator accepts."]


# What the two patterns said of a segment: a parameter (name, greedy) and literal text.
_PARAM = re.compile(r"^\{([A-Za-z_][A-Za-z0-9_]*)(\+?)\}$")
_LITERAL = re.compile(r"^[^{}<>]+$")


@pytest.mark.parametrize("segment", [
    "{a}", "{a+}", "{user_id}", "{_}", "{A9}", "{a}\n", "{a+}\n", "{}", "{+}", "{a++}", "{1a}",
    "{é}", "{a}\n\n", "{a\n}", "\n", "{a-b}", "{a b}", "{{a}}", "{a}}", "a{b}", "{a}b",
    "users", "café", "<id>", ":id", "*", "a>b", "x\n", " ", "{a:int}"])
def test_template_segments_read_as_the_former_patterns(segment: str) -> None:
    found = _PARAM.match(segment)
    assert table._param(segment) == ((found[1], found[2] == "+") if found else None)
    assert table._static(segment) is bool(_LITERAL.match(segment))


@pytest.mark.parametrize("asynchronous", [False, True])
def test_a_handler_kind_is_read_once_per_registration(
        monkeypatch: pytest.MonkeyPatch, asynchronous: bool) -> None:
    if asynchronous:
        async def handler(item_id: int) -> dict[str, int]:
            return {"id": item_id}
    else:
        def handler(item_id: int) -> dict[str, int]:  # type: ignore[misc]
            return {"id": item_id}

    import lamroute.app.compiled as compiled
    import lamroute.params as params
    import lamroute.params.signature as signature

    asked = _counting(monkeypatch, signature, "call_kind", handler)
    for module in (params, compiled):
        monkeypatch.setattr(module, "call_kind", signature.call_kind)
    app = App(access_log=False)
    app.get("/kind-once/{item_id}")(handler)
    monkeypatch.undo()
    assert len(asked) == 1  # the signature's analysis; the chain's wiring reuses it
    assert app.table.match("GET", "/kind-once/3").target.is_async is asynchronous
    for fmt in FORMATS:
        answer = app(make_event(fmt, "GET", "/kind-once/3"), None)
        assert json.loads(answer["body"]) == {"id": 3}


class Note(BaseModel):
    text: str
    stars: float = 0.0


def test_a_model_body_and_response_load_no_type_adapter() -> None:
    # A complete model validates with its own validator and serializer (what TypeAdapter(model)
    # would use): pydantic's type_adapter module never loads for it; validation is unchanged.
    code = """
import json, sys
from pydantic import BaseModel
from lamroute import App, Compression, Route, RouteDefinitionError, Timeout
from lamroute.testing import make_event

class Note(BaseModel):
    text: str
    stars: float = 0.0

app = App(access_log=False)

@app.post("/notes", status_code=201)
def create(note: Note) -> Note:
    return note

answers = []
for fmt in ("rest", "http", "http-v1", "url", "alb"):
    for body in ({"text": "hi", "stars": 2}, {"stars": "NaN"}):
        answer = app(make_event(fmt, "POST", "/notes", json=body), None)
        answers.append([answer["statusCode"], json.loads(answer["body"])])
print(json.dumps([answers, "pydantic.type_adapter" in sys.modules]))
"""
    answers, loaded = _run(code)
    assert not loaded
    for (created, body), (refused, problem) in zip(answers[::2], answers[1::2], strict=True):
        assert (created, body) == (201, {"text": "hi", "stars": 2.0})
        assert refused == 422
        assert {(tuple(e["loc"]), e["type"]) for e in problem["errors"]} == {
            (("body", "text"), "missing"), (("body", "stars"), "finite_number")}


def test_a_model_response_still_documents_its_schema() -> None:
    app = App(access_log=False)

    @app.get("/notes/{note_id}")
    def read(note_id: int) -> Note:
        return Note(text=str(note_id))

    ok = app.openapi()["paths"]["/notes/{note_id}"]["get"]["responses"]["200"]
    assert ok["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Note"}
    for fmt in FORMATS:
        answer = app(make_event(fmt, "GET", "/notes/5"), None)
        assert json.loads(answer["body"]) == {"text": "5", "stars": 0.0}


def _counting(monkeypatch: pytest.MonkeyPatch, module: Any, name: str, target: Any) -> list[Any]:
    """Calls of ``module.name`` whose first argument is ``target``."""
    calls: list[Any] = []
    real = getattr(module, name)

    def counting(func: Any, *args: Any, **kwargs: Any) -> Any:
        if func is target:
            calls.append(func)
        return real(func, *args, **kwargs)

    monkeypatch.setattr(module, name, counting)
    return calls


def test_a_handler_return_annotation_is_resolved_once_per_registration(
        monkeypatch: pytest.MonkeyPatch) -> None:
    def read(note_id: int) -> Note:
        return Note(text=str(note_id))

    calls = _counting(monkeypatch, typing, "get_type_hints", read)
    app = App(access_log=False)
    app.get("/hints-once/{note_id}")(read)
    monkeypatch.undo()
    assert len(calls) == 1  # the parameters' read gives the response model its annotation
    for fmt in FORMATS:
        answer = app(make_event(fmt, "GET", "/hints-once/4"), None)
        assert json.loads(answer["body"]) == {"text": "4", "stars": 0.0}


def test_a_handler_without_parameters_builds_no_signature(monkeypatch: pytest.MonkeyPatch) -> None:
    def health() -> dict[str, str]:
        return {"status": "ok"}

    calls = _counting(monkeypatch, inspect, "signature", health)
    app = App(access_log=False)
    app.get("/no-signature")(health)
    app.get("/no-signature/lambda")(lambda: {"status": "lambda"})
    monkeypatch.undo()
    assert calls == []
    for fmt in FORMATS:
        assert json.loads(app(make_event(fmt, "GET", "/no-signature"), None)["body"]) == {
            "status": "ok"}
        assert json.loads(app(make_event(fmt, "GET", "/no-signature/lambda"), None)["body"]) == {
            "status": "lambda"}


def test_handlers_without_parameters_are_still_checked_as_before() -> None:
    app = App(access_log=False)
    with pytest.raises(RouteDefinitionError, match="does not accept path parameter"):
        app.get("/users/{user_id}")(lambda: {})

    def unresolvable() -> Missing:  # type: ignore[name-defined]  # noqa: F821
        return None

    with pytest.raises(RouteDefinitionError, match="annotation cannot be resolved"):
        app.get("/unresolvable")(unresolvable)

    def target(user_id: int) -> dict[str, int]:
        return {"id": user_id}

    @functools.wraps(target)
    def wrapper() -> Any:  # a decorator's wrapper: the signature is the wrapped one's
        raise AssertionError("called without the wrapped function's arguments")

    app.get("/wrapped/{user_id}")(wrapper)
    assert [p.name for p in app.table.match("GET", "/wrapped/1").target.binder.params] == [
        "user_id"]


def test_the_option_groups_and_route_have_dataclass_generate_no_method() -> None:
    # dataclass compiles every method it writes from source (~75 µs each at import): their
    # __init__ is their own, and ==, hash(), repr() and the freezing come from FieldValues, the
    # same as the generated ones (below). dataclass only lists their fields.
    # (The methods dataclass compiles come from source text: their code's file is "<string>";
    # read that way, not through dataclasses' private helpers, which Python 3.13 replaced.)
    compiled = {cls.__name__: sorted(name for name, value in vars(cls).items()
                                     if getattr(getattr(value, "__code__", None), "co_filename",
                                                "") == "<string>")
                for cls in (Timeout, Compression, Route)}
    assert compiled == {name: [] for name in ("Timeout", "Compression", "Route")}
    for record in (Timeout(), Compression(), Route("/a", ("GET",), len)):
        name = dataclasses.fields(record)[0].name
        with pytest.raises(dataclasses.FrozenInstanceError, match=name):
            setattr(record, name, None)
        with pytest.raises(dataclasses.FrozenInstanceError, match=name):
            delattr(record, name)
        with pytest.raises(dataclasses.FrozenInstanceError):
            record.extra = 1  # type: ignore[union-attr]  # no new attribute either
        assert dataclasses.replace(record) == record


@pytest.mark.parametrize("cls", [Timeout, Compression, Route])
def test_the_written_inits_take_the_fields_in_order_with_their_defaults(cls: type) -> None:
    parameters = list(inspect.signature(cls).parameters.values())
    fields = dataclasses.fields(cls)
    assert [p.name for p in parameters] == [f.name for f in fields]
    for parameter, item in zip(parameters, fields, strict=True):
        if item.default is not dataclasses.MISSING:
            assert parameter.default == item.default
        else:  # required, or a default_factory's (a sentinel)
            assert (parameter.default is inspect.Parameter.empty) is (
                item.default_factory is dataclasses.MISSING)
    first, second = Route("/a", ("GET",), len), Route("/a", ("GET",), len)
    assert first.options == {} and first.options is not second.options
    assert Route("/a", ("GET",), len, None).options is None  # as the generated one kept it
    assert Timeout().margin_s == 0.5 and Compression().level == 6
    with pytest.raises(ValueError, match="margin_s"):
        Timeout(margin_s=-1)  # __post_init__ still checks
    with pytest.raises(ValueError, match="level"):
        Compression(level=10)


@dataclasses.dataclass(frozen=True)
class GeneratedTimeout:
    integration_s: float | None = 29.0
    margin_s: float = 0.5


@pytest.mark.parametrize(("one", "other"), [
    ((29.0, 0.5), (29.0, 0.5)), ((None, 0.5), (None, 0.5)), ((29.0, 0.5), (29.0, 1.0)),
    ((1, 0.5), (1.0, 0.5))])
def test_option_groups_compare_hash_and_print_as_generated_dataclasses(
        one: tuple[Any, float], other: tuple[Any, float]) -> None:
    ours, theirs = (Timeout(*one), Timeout(*other)), (GeneratedTimeout(*one),
                                                      GeneratedTimeout(*other))
    assert (ours[0] == ours[1]) is (theirs[0] == theirs[1])
    assert (ours[0] != ours[1]) is (theirs[0] != theirs[1])
    assert (hash(ours[0]) == hash(ours[1])) is (hash(theirs[0]) == hash(theirs[1]))
    assert repr(ours[0]) == repr(theirs[0]).replace("GeneratedTimeout", "Timeout")
    assert ours[0] != theirs[0] and ours[0] != one  # another class is never equal
    assert dataclasses.replace(ours[0], margin_s=2.0) == Timeout(one[0], 2.0)
    assert dataclasses.astuple(ours[0]) == dataclasses.astuple(theirs[0])
    with pytest.raises(dataclasses.FrozenInstanceError):
        ours[0].margin_s = 3.0  # type: ignore[misc]
    route = Route("/a", ("GET",), len, {"status_code": 201})
    assert route == Route("/a", ("GET",), len, {"status_code": 201}) != Route("/a", ("GET",), len)
    assert repr(route) == ("Route(path='/a', methods=('GET',), handler=<built-in function len>, "
                           "options={'status_code': 201})")
    with pytest.raises(TypeError, match="unhashable"):
        hash(route)  # its options are a dict, as with the generated __hash__
    assert repr(Compression(level=9)) == "Compression(min_size=1024, level=9)"


def test_option_groups_are_subclassed_as_frozen_dataclasses() -> None:
    # Timeout, Compression and Route are public: a subclass of theirs behaves as one of a
    # frozen dataclass (GeneratedTimeout) does. A plain subclass may set attributes of its
    # own but no field; dataclass itself sees them frozen (a frozen dataclass may extend them,
    # a mutable one may not), as do the libraries that read __dataclass_params__ (pydantic).
    for base in (Timeout, GeneratedTimeout):
        class Named(base):  # type: ignore[valid-type,misc]
            def __init__(self, label: str) -> None:
                super().__init__(margin_s=1.0)
                self.label = label

        named = Named("fast")
        assert (named.label, named.margin_s) == ("fast", 1.0)
        with pytest.raises(dataclasses.FrozenInstanceError, match="margin_s"):
            named.margin_s = 2.0
        with pytest.raises(dataclasses.FrozenInstanceError, match="margin_s"):
            del named.margin_s
        del named.label
        assert base.__dataclass_params__.frozen  # type: ignore[attr-defined]

        @dataclasses.dataclass(frozen=True)
        class Longer(base):  # type: ignore[valid-type,misc]
            label: str = "slow"

        assert Longer(29.0, 2.0).margin_s == 2.0
        with pytest.raises(dataclasses.FrozenInstanceError):
            Longer().label = "fast"  # type: ignore[misc]
        with pytest.raises(TypeError, match="non-frozen"):
            dataclasses.dataclass(type("Mutable", (base,), {}))
        if base is Timeout:
            with pytest.raises(ValueError, match="margin_s"):
                Longer(29.0, -1.0)  # still checked by Timeout's __post_init__
    for record in (Timeout(), Compression(), Route("/a", ("GET",), len)):
        with pytest.raises(dataclasses.FrozenInstanceError):
            record.extra = 1  # type: ignore[union-attr]  # the class itself: nothing new either


LAMBDA = {"AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001"}


@pytest.mark.parametrize(("environ", "snapstart"), [
    ({}, False), (LAMBDA, True), ({**LAMBDA, "AWS_LAMBDA_INITIALIZATION_TYPE": "snap-start"}, True),
    ({**LAMBDA, "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand"}, False),
    ({**LAMBDA, "AWS_LAMBDA_INITIALIZATION_TYPE": "provisioned-concurrency"}, False)])
def test_each_payload_format_loads_with_its_first_event(environ: dict[str, str],
                                                        snapstart: bool) -> None:
    # A REST API's cold start never imports the payload 2.0 (HTTP API, Function URL) and ALB
    # modules; each loads with its first event, and FORMATS still lists every built-in one.
    # In Lambda (AWS_LAMBDA_RUNTIME_API set) an app loads the SnapStart module too, unless
    # Lambda names an initialization type that takes no snapshot (there it would cost ~0.4 ms
    # of each cold start).
    code = """
import json, sys
from lamroute import App
from lamroute.testing import make_event
app = App(access_log=False)
app.get("/items/{item_id}")(lambda item_id: {"id": item_id})
def loaded():
    return sorted(m for m in ("lamroute.formats.http", "lamroute.formats.alb") if m in sys.modules)
seen = [loaded()]
for fmt in ("rest", "http-v1", "http", "url", "alb", "alb-multi"):
    answer = app(make_event(fmt, "GET", "/items/7"), None)
    seen.append([fmt, answer.get("statusCode"), json.loads(answer["body"]), loaded()])
from lamroute.formats import BY_NAME, FORMATS
seen.append([f.name for f in FORMATS] == ["http", "url", "alb", "http-v1", "rest"])
seen.append(sorted(BY_NAME) == ["alb", "http", "http-v1", "rest", "url"])
seen.append("lamroute.lifecycle.snapstart" in sys.modules)
print(json.dumps(seen))
"""
    seen = _run(code, environ)
    both = ["lamroute.formats.alb", "lamroute.formats.http"]
    assert seen[0] == [] and seen[-3:] == [True, True, snapstart]
    assert seen[1:-3] == [
        ["rest", 200, {"id": "7"}, []], ["http-v1", 200, {"id": "7"}, []],
        ["http", 200, {"id": "7"}, ["lamroute.formats.http"]],
        ["url", 200, {"id": "7"}, ["lamroute.formats.http"]],
        ["alb", 200, {"id": "7"}, both], ["alb-multi", 200, {"id": "7"}, both]]



def test_answers_without_a_problem_never_create_its_dataclass() -> None:
    # Problem (a dataclass: its methods compiled at creation, ~0.35 ms) loads with the first
    # error that builds one: a 200, or a 404 with the default formatter, builds none.
    code = """
import json, sys
from lamroute import App, NotFound
from lamroute.testing import make_event
app = App(access_log=False)
app.get("/ok")(lambda: {"ok": True})
@app.get("/boom")
def boom():
    raise RuntimeError("boom")
@app.get("/gone")
def gone():
    raise NotFound("gone", headers={"x-why": "moved"})
seen = []
for fmt in ("rest", "http-v1", "http", "url", "alb"):
    for path in ("/ok", "/nowhere"):
        answer = app(make_event(fmt, "GET", path), None)
        seen.append([answer["statusCode"], "lamroute.errors.problem" in sys.modules])
for fmt in ("rest", "http-v1", "http", "url", "alb"):
    for path in ("/boom", "/gone"):
        answer = app(make_event(fmt, "GET", path), None)
        body = json.loads(answer["body"])
        seen.append([answer["statusCode"], body["title"], body.get("detail")])
import lamroute, lamroute.errors
module = sys.modules["lamroute.errors.problem"]
seen.append(lamroute.Problem is lamroute.errors.Problem is module.Problem)
print(json.dumps(seen))
"""
    seen = _run(code)
    assert seen[:10] == [[200, False], [404, False]] * 5
    assert seen[10:20] == [[500, "Internal Server Error", SERVER_ERROR_DETAIL],
                           [404, "Not Found", "gone"]] * 5
    assert seen[20] is True


def test_a_static_route_without_return_annotation_does_no_model_or_path_work(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # No path parameter to look for, no response model to build: neither is set up (the handler
    # is described once, for its own analysis).
    import lamroute.params as params
    import lamroute.params.signature as signature

    def health():  # type: ignore[no-untyped-def]
        return {"status": "ok"}

    described = _counting(monkeypatch, signature, "describe", health)
    monkeypatch.setattr(params, "describe", signature.describe)
    app = App(access_log=False)
    app.get("/static-health")(health)
    monkeypatch.undo()
    assert len(described) == 1
    assert app.table.match("GET", "/static-health").target.serialize is None
    for fmt in FORMATS:
        answer = app(make_event(fmt, "GET", "/static-health"), None)
        assert json.loads(answer["body"]) == {"status": "ok"}


def test_import_lamroute_creates_only_the_protocols_code_reads() -> None:
    # A Protocol class costs ~30 µs to create: those only the type checker reads (the
    # signatures of build_response_model and render_safely) are declared for it alone.
    code = """
import json, typing
made = []
real = typing.Protocol.__init_subclass__.__func__
def counting(cls, *args, **kwargs):
    if cls.__module__.startswith("lamroute"):
        made.append(cls.__qualname__)
    return real(cls, *args, **kwargs)
typing.Protocol.__init_subclass__ = classmethod(counting)
import lamroute
print(json.dumps(sorted(made)))
"""
    assert _run(code) == ["EventReader", "Gate", "LambdaContext", "PayloadFormat"]


def test_routes_that_override_no_setting_share_one_safeguard() -> None:
    app = App(access_log=False, max_body_size=64)
    app.post("/a")(lambda: {"route": "a"})
    app.post("/b")(lambda: {"route": "b"})
    app.post("/small", max_body_size=8)(lambda: {"route": "small"})
    app.post("/open", timeout=None)(lambda: {"route": "open"})
    guard = {path: app.table.match("POST", path).target.safeguard
             for path in ("/a", "/b", "/small", "/open")}
    assert guard["/a"] is guard["/b"]  # (the app's settings: the same object)
    assert guard["/small"] is not guard["/a"] and guard["/open"] is not guard["/a"]
    assert guard["/open"].deadline is not guard["/a"].deadline  # (its None lifts the app's)
    for fmt in FORMATS:
        for path, body, status in (("/a", "x" * 20, 200), ("/a", "x" * 100, 413),
                                   ("/small", "x" * 20, 413), ("/open", "x" * 20, 200)):
            answer = app(make_event(fmt, "POST", path, body=body), None)
            assert answer["statusCode"] == status, (fmt, path, len(body))


def test_a_handler_without_parameters_compiles_no_extractor(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import lamroute.params as params

    made: list[Any] = []
    real = params._Compiler

    class Counting(real):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any) -> None:
            made.append(self)
            super().__init__(*args)

    monkeypatch.setattr(params, "_Compiler", Counting)
    app = App(access_log=False)
    app.get("/nothing")(lambda: {"ok": True})
    app.get("/something")(lambda q="x": {"q": q})
    monkeypatch.undo()
    assert len(made) == 1  # the route with a parameter only
    for fmt in FORMATS:
        assert json.loads(app(make_event(fmt, "GET", "/nothing"), None)["body"]) == {"ok": True}
        answer = app(make_event(fmt, "GET", "/something", query={"q": "y"}), None)
        assert json.loads(answer["body"]) == {"q": "y"}


def test_answers_that_surely_fit_never_load_the_size_limits() -> None:
    # lamroute.safeguards.limits (the 6 MB check, ~0.2 ms of import) loads with the first
    # answer that may not fit; a small dict answer, a 404 and a route without a body limit
    # need none of it. A large answer, an error rendered by the boundary or a body limit do.
    code = """
import json, sys
from lamroute import App
from lamroute.testing import make_event
app = App(access_log=False)
app.get("/ok")(lambda: {"ok": True})
app.get("/big")(lambda: {"data": "x" * 100_000})
seen = []
for fmt in ("rest", "http", "alb"):
    for path in ("/ok", "/nowhere"):
        answer = app(make_event(fmt, "GET", path), None)
        seen.append([answer["statusCode"], "lamroute.safeguards.limits" in sys.modules])
answer = app(make_event("rest", "GET", "/big"), None)
seen.append([answer["statusCode"], "lamroute.safeguards.limits" in sys.modules])
limited = App(access_log=False)
limited.post("/small", max_body_size=4)(lambda: {"ok": True})
answer = limited(make_event("rest", "POST", "/small", body="too long"), None)
seen.append(answer["statusCode"])
print(json.dumps(seen))
"""
    seen = _run(code)
    assert seen[:6] == [[200, False], [404, False]] * 3
    assert seen[6] == [200, True]
    assert seen[7] == 413
