"""Parameters: turns a request into a handler's arguments, from a signature analysed once.

This module holds the binder (:func:`build_binder`, :class:`Binder`); ``signature.py`` reads a
signature into parameter specs, ``markers.py`` holds ``Query``, ``Header``, ``Body``,
``Depends``..., ``converters.py`` the conversions of path, query, header and cookie values and
``validation.py`` the pydantic bridge, validation errors and response models (pydantic is
imported only when a route uses a model or a constrained type). Loaded only by the routes that
need them: ``json_body.py`` binds a JSON body, ``constraints.py`` checks a marker's constraints
against its type, ``form_kinds.py`` tells a form field, form model and file apart at
registration, ``forms.py`` binds the bodies that are not JSON (``Form()``, ``File()``,
``UploadFile``, a raw ``Body()``) and ``responses.py`` the ``response: Response`` parameter;
``dependencies.py`` holds dependencies that await or yield, their clean-up,
``cache="container"`` values and ``dependency_overrides`` (loaded only by apps that use them).

Path parameters are bound by name, everything else by annotation and marker: ``int``/``float``/
``bool``/``str``/``UUID``/``Enum`` are converted without pydantic, other types (``date``,
constrained ``Annotated`` types, models) through a ``TypeAdapter`` built here, once. A model
parameter is the JSON body; ``Depends(fn)`` runs ``fn`` with its own bound parameters.

>>> def get_user(user_id: int, verbose: bool = False) -> None: ...
>>> binder = build_binder(get_user, ("user_id",))
>>> [(p.name, p.source) for p in binder.params]
[('user_id', 'path'), ('verbose', 'query')]
"""

from __future__ import annotations

import copy
import sys
import typing
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from ..exceptions import RouteDefinitionError
from ..http.request import Request
from ..http.response import Response
from .converters import IDENTITY, Converter, check_text, list_item, scalar_converter
from .markers import Param
from .signature import EMPTY, Dependant, ParamSpec, analyse, call_kind, describe
from .validation import (
    INVALID,
    ErrorList,
    RequestValidationError,
    ResponseModel,
    build_adapter,
    is_optional,
    missing,
    validator,
)
from .validation import build_response_model as validation_response_model

Extractor = Callable[[Any, ErrorList, "dict[Any, Any] | None"], Any]

def clear_dependency_cache() -> None:
    """Forget every ``cache="container"`` dependency value (for tests); the code after ``yield``
    of those that yielded runs first (see :mod:`lamroute.params.dependencies`)."""
    dependencies = sys.modules.get(f"{__name__}.dependencies")
    if dependencies is not None:  # loaded by the first container, async or yielding dependency
        dependencies.forget_container_values(rebuild_only=False)


class Binder:
    """Per-parameter extractors; ``bind(request)`` gives the keyword arguments.

    ``response_param`` names the handler's ``response: Response`` parameter (``None`` when it
    has none): the app merges that object's headers, cookies and status into the answer.

    Works with any request-like object that has ``path_params``, ``query``, ``headers``,
    ``json()`` (and optionally ``cookies``, ``body``, ``context``). ``is_async``: a dependency
    awaits (use :meth:`abind`); ``has_exits``: a dependency yields, and its code after ``yield``
    runs from the request's ``cache`` (see :mod:`lamroute.params.dependencies`).
    """

    __slots__ = ("awaited", "dependant", "extractors", "has_exits", "is_async", "needs_cache",
                 "params", "response_param")

    def __init__(self, dependant: Dependant, extractors: tuple[tuple[str, Extractor], ...],
                 needs_cache: bool = False, params: tuple[ParamSpec, ...] = (),
                 awaited: tuple[bool, ...] = ()) -> None:
        self.dependant = dependant
        self.extractors = extractors
        self.needs_cache = needs_cache
        self.params = params
        self.response_param = next((p.name for p in dependant.params if p.source == "response"),
                                   None)
        self.awaited = awaited or (False,) * len(extractors)  # per extractor: returns a coroutine
        self.is_async = any(self.awaited)
        self.has_exits = dependant.has_exits

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.extractors)

    def kind_of(self, handler: Callable[..., Any]) -> str:
        """:func:`~lamroute.params.signature.call_kind` of ``handler``, known already when it
        is the callable analysed (a wrapper, such as the ``response`` parameter's, is read)."""
        dependant = self.dependant
        return dependant.kind if handler is dependant.call else call_kind(handler)

    def bind(self, request: Any, cache: dict[Any, Any] | None = None) -> dict[str, Any]:
        """The handler's keyword arguments; raises :class:`RequestValidationError` (422).

        ``cache`` is the request's dependency cache (made here when ``None``); pass one to
        run the code after ``yield`` of the dependencies it records.
        """
        if not self.extractors:
            return {}
        errors: ErrorList = []
        if cache is None and self.needs_cache:
            cache = {}
        if len(self.extractors) == 1:  # one parameter: no comprehension frame
            name, extract = self.extractors[0]
            kwargs = {name: extract(request, errors, cache)}
        else:
            kwargs = {name: extract(request, errors, cache) for name, extract in self.extractors}
        if errors:
            raise RequestValidationError(errors)
        return kwargs

    async def abind(self, request: Any, cache: dict[Any, Any]) -> dict[str, Any]:
        """:meth:`bind` for a binder whose dependencies await: each is awaited in turn."""
        errors: ErrorList = []
        kwargs: dict[str, Any] = {}
        for (name, extract), awaited in zip(self.extractors, self.awaited, strict=True):
            value = extract(request, errors, cache)
            kwargs[name] = (await value) if awaited else value
        if errors:
            raise RequestValidationError(errors)
        return kwargs


def build_binder(
    func: Callable[..., Any],
    path_params: tuple[str, ...] = (),
    *,
    request_types: tuple[type, ...] = (Request,),
    overrides: Mapping[Any, Callable[..., Any]] | None = None,
) -> Binder:
    """Analyse ``func`` once; raise :class:`RouteDefinitionError` when it cannot be bound.

    ``request_types`` are the annotations that receive the request object itself (a WebSocket
    module may add its own request class); ``overrides`` replaces dependencies
    (``app.dependency_overrides``).
    """
    dependant = analyse(func, tuple(path_params), request_types, overrides=overrides)
    if not dependant.params:  # a handler without parameters: nothing to compile
        return Binder(dependant, ())
    flat = dependant.flatten()
    if any(p.source in _OTHER_BODIES for p in flat):  # forms, files, raw bytes
        from .forms import check_body_kinds

        check_body_kinds(flat, dependant.where)
    if any(p.source == "response" for p in _nested(dependant)):
        raise RouteDefinitionError(
            f"{dependant.where}: declare `response: Response` on the handler itself, not in a "
            "dependency (its headers, cookies and status are merged into the handler's answer).")
    bodies = [p for p in flat if p.source == "body"]
    embed_all = len({p.alias for p in bodies}) > 1
    compiler = _Compiler(embed_all)
    extractors = compiler.compile(dependant)
    return Binder(dependant, extractors, compiler.needs_cache, tuple(flat),
                  tuple(extract in compiler.awaited for _, extract in extractors))


# -- compiling specs into extractors ---------------------------------------------------------


def _default_getter(spec: ParamSpec) -> Callable[[], Any]:
    if isinstance(spec.marker, Param) and spec.marker.default_factory is not None:
        return spec.marker.default_factory
    value = spec.default
    if isinstance(value, (list, dict, set)):
        return lambda: copy.copy(value)
    return lambda: value


class _Compiler:
    def __init__(self, embed_all: bool) -> None:
        self.embed_all = embed_all
        self.needs_cache = False
        self.awaited: set[Extractor] = set()  # the extractors that return a coroutine

    def compile(self, dependant: Dependant) -> tuple[tuple[str, Extractor], ...]:
        return tuple((spec.name, self.extractor(spec, dependant.where))
                     for spec in dependant.params)

    def extractor(self, spec: ParamSpec, where: str) -> Extractor:
        where = f"{where}, parameter {spec.name!r}"
        source = spec.source
        if source == "request":
            return lambda request, errors, cache: request
        if source == "context":
            return lambda request, errors, cache: getattr(request, "context", None)
        if source == "depends":
            return self.dependency(spec)
        if source == "body":
            from .json_body import body_extractor  # routes with a JSON body only

            return body_extractor(spec, where, self.embed_all)
        if source == "query-model":
            return _query_model(spec, where)
        if source in _OTHER_BODIES:
            from .forms import form_extractor  # routes with forms, files or raw bodies only

            return form_extractor(spec, where)
        if source == "response":  # a fresh Response: its headers, cookies and status are merged
            return lambda request, errors, cache: Response()
        return _scalar(spec, where)

    def dependency(self, spec: ParamSpec) -> Extractor:
        sub = spec.dependant
        assert sub is not None
        call, mode = sub.call, sub.cache
        extractors = self.compile(sub)
        if mode == "container" or sub.kind != "sync" or sub.is_async or sub.has_exits:
            # Built once per container, awaited or yielding: apps that use them load it.
            from .dependencies import compile_dependency

            if mode != "container" or sub.kind != "sync":
                self.needs_cache = True  # the request's values, and what to finish after it
            extractor, awaited = compile_dependency(sub, extractors, self.awaited)
            if awaited:
                self.awaited.add(extractor)
            return extractor
        if mode == "request":
            self.needs_cache = True

        def extract(request: Any, errors: ErrorList, cache: dict[Any, Any] | None) -> Any:
            if mode == "request" and cache is not None and call in cache:
                return cache[call]
            before = len(errors)
            kwargs = {name: ex(request, errors, cache) for name, ex in extractors}
            if len(errors) > before:
                return INVALID
            value = call(**kwargs)
            if mode == "request" and cache is not None:
                cache[call] = value
            return value

        return extract

_OTHER_BODIES = frozenset({"form", "form-model", "file", "raw-body"})


def _nested(dependant: Dependant) -> list[ParamSpec]:
    """The specs of every dependency of ``dependant`` (not its own), at any depth."""
    found: list[ParamSpec] = []
    for spec in dependant.params:
        if spec.dependant is not None:
            found.extend(spec.dependant.params)
            found.extend(_nested(spec.dependant))
    return found


def _scalar(spec: ParamSpec, where: str) -> Extractor:
    convert, is_list, keeps_text = scalar_converter(spec, where)
    loc: tuple[str | int, ...] = (spec.source, spec.alias)
    alias, required, default = spec.alias, spec.required, _default_getter(spec)
    plain = convert is IDENTITY
    if spec.source == "path":
        return _path(alias, convert, loc, keeps_text)
    fetch = _fetcher(spec.source, alias, is_list)

    def extract(request: Any, errors: ErrorList, cache: dict[Any, Any] | None) -> Any:
        found = fetch(request)
        if found is None:
            if required:
                errors.append(missing(loc))
                return INVALID
            return default()
        if plain:  # a str (or list of str) handed over as is: valid Unicode only
            return found if type(found) is str and found.isascii() else check_text(found, loc)
        return convert(check_text(found, loc) if keeps_text else found, loc, errors)

    return extract


def _path(alias: str, convert: Converter, loc: tuple[str | int, ...],
          keeps_text: bool) -> Extractor:
    if convert is IDENTITY:
        def text(request: Any, errors: ErrorList, cache: dict[Any, Any] | None) -> Any:
            value = request.path_params[alias]
            return value if value.isascii() else check_text(value, loc)

        return text
    if keeps_text:
        return lambda request, errors, cache: convert(
            check_text(request.path_params[alias], loc), loc, errors)
    return lambda request, errors, cache: convert(request.path_params[alias], loc, errors)


def _fetcher(source: str, alias: str, is_list: bool) -> Callable[[Any], Any]:
    """``request → raw value(s)`` for one query key, header or cookie (``None`` if absent)."""
    if source == "query":
        if is_list:
            return lambda request: request.query.getall(alias) or None
        return lambda request: request.query.get(alias)
    if source == "header":
        if is_list:
            # HTTP API 2.0 joins repeated headers with commas; RFC 9110 §5.3 makes the joined
            # and the repeated forms equivalent, so split both the same way.
            # https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html
            return lambda request: [part.strip() for value in request.headers.getall(alias)
                                    for part in value.split(",") if part.strip()] or None
        return lambda request: request.headers.get(alias)
    if is_list:
        return lambda request: ([v] if (v := getattr(request, "cookies", {}).get(alias))
                                is not None else None)
    return lambda request: getattr(request, "cookies", {}).get(alias)


def _query_model(spec: ParamSpec, where: str) -> Extractor:
    model = is_optional(spec.annotation)[1]
    fields = tuple(
        (info.alias or name, list_item(info.annotation) is not None)
        for name, info in model.model_fields.items()
    )
    convert = validator(build_adapter(model, where))

    def extract(request: Any, errors: ErrorList, cache: dict[Any, Any] | None) -> Any:
        query = request.query
        data = {alias: (query.getall(alias) if multi else query[alias])
                for alias, multi in fields if alias in query}
        return convert(data, ("query",), errors)

    return extract


if TYPE_CHECKING:  # read by the type checker only (a Protocol class costs ~30 µs to create)
    class RouteLike(Protocol):
        """What :func:`build_response_model` reads of a route (a :class:`lamroute.Route`)."""

        @property
        def handler(self) -> Callable[..., Any]: ...
        @property
        def options(self) -> Mapping[str, Any]: ...
        @property
        def status_code(self) -> int: ...


def build_response_model(route: RouteLike, *, returns: Any = EMPTY) -> ResponseModel | None:
    """The serialiser for ``route``'s result: ``response_model=`` or the return annotation.

    Only types that mention a pydantic model are validated (or any explicit ``response_model``);
    ``-> dict``, ``-> str``, ``-> Response`` and ``-> None`` cost nothing per request.
    ``returns``: the return annotation when the handler's analysis resolved it already
    (its :class:`Dependant`'s), read here otherwise.
    """
    options = route.options
    if "response_model" in options:
        annotation = options["response_model"]
        explicit = True
    else:
        annotation = return_annotation(route.handler) if returns is EMPTY else returns
        explicit = False
        if annotation is None:  # no return annotation (or `-> None`): nothing to build
            return None
    return validation_response_model(annotation, explicit=explicit, status=route.status_code,
                                     where=describe(route.handler))


def return_annotation(func: Callable[..., Any]) -> Any:
    """The return annotation of ``func`` resolved (``None`` when there is none)."""
    try:
        hints = typing.get_type_hints(func, include_extras=True)
    except Exception:  # unresolvable or not a function: no response model
        return None
    value = hints.get("return")
    return None if value is type(None) else value
