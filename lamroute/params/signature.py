"""Reads a handler's (or dependency's) signature into :class:`ParamSpec` records, once.

Each parameter gets a ``source``: ``path``, ``query``, ``header``, ``cookie``, ``body``,
``query-model`` (a model for a group of query parameters), ``request``, ``context``,
``depends``, ``response`` (``response: Response``, merged into the answer), ``raw-body``
(``bytes`` with ``Body()``), or a form's body kind, told by :mod:`lamroute.params.form_kinds`
(loaded by the first ``Form()``, ``File()`` or ``UploadFile``): ``form`` (a form field),
``form-model`` (a model from form fields), ``file`` (an uploaded file). Constraints
(``Query(ge=1)``) are checked against the type by :mod:`lamroute.params.constraints`, loaded by
the first marker that has some. The binder (:mod:`lamroute.params`) compiles the specs into
extractors; :mod:`lamroute.openapi.document` documents them.

>>> def search(q: str, page: int = 1) -> None: ...
>>> [(p.name, p.source, p.required) for p in analyse(search, ()).params]
[('q', 'query', True), ('page', 'query', False)]
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import sys
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any

from ..exceptions import RouteDefinitionError
from ..http.request import Request
from ..http.response import Response
from .markers import (
    Body,
    Cookie,
    Depends,
    Form,
    Header,
    LambdaContext,
    Param,
    Path,
    Query,
)
from .validation import is_model, is_optional

EMPTY: Any = inspect.Parameter.empty


class _Record:
    """Value semantics (equality, hash, repr) from ``__slots__``, for the two records below.

    Plain slotted classes instead of frozen dataclasses: generating a dataclass's methods costs
    ~1 ms of cold start each, and every app with a route imports this module.
    """

    __slots__ = ()
    _fields: tuple[str, ...] = ()  # in declaration order (``__slots__`` is sorted)

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self._fields)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Record) and type(other) is type(self) and (
            self._values() == other._values()
        )

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields)
        return f"{type(self).__name__}({fields})"


class ParamSpec(_Record):
    """One parameter: where its value comes from, its wire name, type and default."""

    _fields = ("name", "source", "alias", "annotation", "required", "default", "marker",
               "metadata", "dependant")
    __slots__ = ("alias", "annotation", "default", "dependant", "marker", "metadata", "name",
                 "required", "source")

    def __init__(self, name: str, source: str, alias: str, annotation: Any = Any,
                 required: bool = True, default: Any = None, marker: Param | None = None,
                 metadata: tuple[Any, ...] = (), dependant: Dependant | None = None) -> None:
        self.name = name
        self.source = source
        self.alias = alias
        self.annotation = annotation
        self.required = required
        self.default = default
        self.marker = marker
        self.metadata = metadata
        self.dependant = dependant


class Dependant(_Record):
    """A callable (handler or dependency) and the specs of its parameters.

    ``kind`` says how it is called (:func:`call_kind`): ``"sync"``, ``"async"`` (awaited),
    ``"gen"`` or ``"agen"`` (a dependency that yields its value); ``restore`` is
    ``"rebuild"`` for a ``cache="container"`` value built again after a SnapStart restore.
    ``returns``: the resolved return annotation, read with the parameters' (:data:`EMPTY`
    when that read needed more than the function's globals, or was not of ``call`` itself).
    """

    _fields = ("call", "params", "cache", "where", "kind", "restore")
    __slots__ = ("cache", "call", "kind", "params", "restore", "returns", "where")

    def __init__(self, call: Callable[..., Any], params: tuple[ParamSpec, ...],
                 cache: str = "request", where: str = "", kind: str = "sync",
                 restore: str = "keep", *, returns: Any = EMPTY) -> None:
        self.call = call
        self.params = params
        self.cache = cache
        self.where = where
        self.kind = kind
        self.restore = restore
        self.returns = returns

    @property
    def is_async(self) -> bool:
        """Whether resolving it awaits something (an ``async`` dependency anywhere below)."""
        return self.kind in ("async", "agen") or any(
            spec.dependant.is_async for spec in self.params if spec.dependant is not None)

    @property
    def has_exits(self) -> bool:
        """Whether a dependency below yields (code runs after the response)."""
        return any(spec.dependant.kind in ("gen", "agen") or spec.dependant.has_exits
                   for spec in self.params if spec.dependant is not None)

    def flatten(self) -> list[ParamSpec]:
        """Every non-dependency spec, the dependencies' included, first occurrence kept."""
        seen: set[tuple[str, str]] = set()
        found: list[ParamSpec] = []
        for spec in self.params:
            inner = spec.dependant.flatten() if spec.dependant is not None else [spec]
            for item in inner:
                key = (item.source, item.alias if item.source != "request" else item.name)
                if key not in seen:
                    seen.add(key)
                    found.append(item)
        return found

    def calls(self) -> list[Callable[..., Any]]:
        """Every dependency callable, depth first (OpenAPI reads security hints from them)."""
        found: list[Callable[..., Any]] = []
        for spec in self.params:
            if spec.dependant is not None:
                found.extend([*spec.dependant.calls(), spec.dependant.call])
        return found


def call_kind(func: Any) -> str:
    """How ``func`` is called: ``"async"``, ``"agen"`` (async generator), ``"gen"`` or ``"sync"``.

    A callable object counts by its ``__call__``; ``functools.partial`` by what it wraps.

    >>> async def fetch() -> None: ...
    >>> def session(): yield 1
    >>> call_kind(fetch), call_kind(session), call_kind(len)
    ('async', 'gen', 'sync')
    """
    if type(func) is types.FunctionType and not func.__dict__:
        # A plain function without attributes (no coroutine mark, partialmethod or wrapper for
        # inspect to follow): its code flags are what inspect's checks read.
        flags = func.__code__.co_flags
        return ("async" if flags & inspect.CO_COROUTINE else
                "agen" if flags & inspect.CO_ASYNC_GENERATOR else
                "gen" if flags & inspect.CO_GENERATOR else "sync")
    target = func
    if callable(func) and not (inspect.isroutine(func)
                               or isinstance(func, (type, functools.partial))):
        target = type(func).__call__  # a callable object: its __call__
    if inspect.iscoroutinefunction(target):
        return "async"
    if inspect.isasyncgenfunction(target):
        return "agen"
    if inspect.isgeneratorfunction(target):
        return "gen"
    return "sync"


def describe(func: Any) -> str:
    """``handler 'module.qualname'`` for error messages."""
    module = getattr(func, "__module__", None)
    name = getattr(func, "__qualname__", None) or type(func).__qualname__
    return f"handler {module}.{name}" if module else f"handler {name}"


def analyse(
    func: Callable[..., Any],
    path_params: tuple[str, ...],
    request_types: tuple[type, ...] = (Request,),
    *,
    cache: str = "request",
    restore: str = "keep",
    overrides: Mapping[Any, Callable[..., Any]] | None = None,
    _stack: tuple[Any, ...] = (),
) -> Dependant:
    """The :class:`Dependant` for ``func``; :class:`RouteDefinitionError` names what is wrong.

    ``overrides`` maps a dependency to the callable used in its place
    (``app.dependency_overrides``), at any depth.
    """
    where = describe(func)
    if not callable(func):
        raise RouteDefinitionError(f"{where} is not callable.")
    if func in _stack:
        raise RouteDefinitionError(f"{where}: circular dependency through {where}.")
    kind = call_kind(func)
    if not _stack and kind in ("gen", "agen"):
        raise RouteDefinitionError(
            f"{where}: a handler cannot be a generator; `yield` belongs in dependencies "
            "(Depends), whose code after `yield` runs once the response is built."
        )
    signature, hints, returns = _inspect(func, where)
    specs: list[ParamSpec] = []
    for name, parameter in signature.parameters.items():
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            continue
        if parameter.kind is parameter.POSITIONAL_ONLY:
            raise RouteDefinitionError(
                f"{where}, parameter {name!r}: positional-only parameters cannot be bound; "
                "remove the '/'."
            )
        spec = _spec(name, parameter, hints.get(name, EMPTY), path_params, request_types,
                     f"{where}, parameter {name!r}", (*_stack, func), overrides)
        specs.append(spec)
    if not _stack:
        specs += _check_path_params(specs, signature, path_params, where)
    return Dependant(func, tuple(specs), cache, where, kind, restore, returns=returns)


_NO_PARAMETERS = inspect.Signature()
_TAKES_ARGUMENTS = inspect.CO_VARARGS | inspect.CO_VARKEYWORDS


def _inspect(func: Any, where: str) -> tuple[inspect.Signature, dict[str, Any], Any]:
    """The signature and resolved hints of ``func``, and its return annotation as
    :func:`lamroute.params.return_annotation` reads it (or ``EMPTY``)."""
    try:
        signature = _NO_PARAMETERS if _takes_nothing(func) else inspect.signature(func)
        target = func
        if isinstance(func, type):
            target = getattr(func, "__init__")  # noqa: B009 (mypy: unsound on instances)
        elif not inspect.isroutine(func) and callable(func):
            target = type(func).__call__
        returns = EMPTY
        try:
            hints = typing.get_type_hints(target, include_extras=True)
            if target is func:  # the same read as return_annotation(func)
                found = hints.get("return")
                returns = None if found is type(None) else found
        except NameError:
            hints = typing.get_type_hints(target, localns=_caller_locals(), include_extras=True)
        if sys.version_info < (3, 11):
            _undo_implicit_optional(hints, signature)
    except NameError as exc:
        raise RouteDefinitionError(
            f"{where}: an annotation cannot be resolved ({exc}); define the types at module "
            "level, where the handler's module can see them."
        ) from exc
    except (TypeError, ValueError) as exc:
        raise RouteDefinitionError(f"Cannot inspect {where}: {exc}") from exc
    return signature, hints, returns


def _takes_nothing(func: Any) -> bool:
    """Whether ``func`` is a plain function without parameters (``def health():``, a
    ``lambda:``), whose signature :func:`inspect.signature` would build empty: neither
    decorated (``__wrapped__``) nor given a ``__signature__``."""
    if type(func) is not types.FunctionType:
        return False
    code = func.__code__
    return not (code.co_argcount or code.co_kwonlyargcount or code.co_flags & _TAKES_ARGUMENTS
                or "__wrapped__" in func.__dict__ or "__signature__" in func.__dict__)


def _undo_implicit_optional(hints: dict[str, Any], signature: inspect.Signature) -> None:
    """Python 3.10's ``get_type_hints`` wraps the hint of a parameter whose default is ``None``
    in ``Optional[...]``, which hides an ``Annotated`` marker (``trace: Annotated[str | None,
    Header()] = None`` became a query parameter): unwrapped, as 3.11 and later give it.
    https://docs.python.org/3/library/typing.html#typing.get_type_hints ("Changed in 3.11")"""
    for name, parameter in signature.parameters.items():
        hint = hints.get(name)
        if parameter.default is not None or typing.get_origin(hint) is not typing.Union:
            continue
        args = typing.get_args(hint)
        annotated = [a for a in args if typing.get_origin(a) is typing.Annotated]
        if len(args) == 2 and type(None) in args and len(annotated) == 1:
            hints[name] = annotated[0]


def _caller_locals() -> dict[str, Any]:
    """Locals of the first frame outside lamroute: the function that registered the route.

    With ``from __future__ import annotations`` a handler defined inside a function (a test,
    an app factory) names local types its module cannot see; the registering frame can.
    """
    import sys

    frame = sys._getframe(1)
    package = __name__.partition(".")[0] + "."  # the lamroute package, every subpackage
    while frame is not None and frame.f_globals.get("__name__", "").startswith(package):
        frame = frame.f_back  # type: ignore[assignment]
    return dict(frame.f_locals) if frame is not None else {}


def _check_path_params(specs: list[ParamSpec], signature: inspect.Signature,
                       path_params: tuple[str, ...], where: str) -> list[ParamSpec]:
    """Path parameters nobody binds go to ``**kwargs`` as ``str``, else it is an error."""
    if not path_params:  # (a static route: nothing to look for)
        return []
    bound = {s.alias for s in Dependant(lambda: None, tuple(specs)).flatten()
             if s.source == "path"}
    missing = [p for p in path_params if p not in bound]
    if missing and not any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values()):
        raise RouteDefinitionError(
            f"{where} does not accept path parameter(s) {missing}; add them to its signature."
        )
    return [ParamSpec(name, "path", name, str) for name in missing]


def _split(hint: Any, where: str) -> tuple[Any, Param | Depends | None, tuple[Any, ...]]:
    """``Annotated[T, Query(), Field(...)]`` → ``(T, Query(), (Field(...),))``."""
    if typing.get_origin(hint) is not typing.Annotated:
        return hint, None, ()
    base, *metadata = typing.get_args(hint)
    markers = [m for m in metadata if isinstance(m, (Param, Depends))]
    if len(markers) > 1:
        raise RouteDefinitionError(f"{where}: more than one lamroute marker in Annotated[...].")
    others = tuple(m for m in metadata if not isinstance(m, (Param, Depends)))
    return base, (markers[0] if markers else None), others


def _spec(
    name: str, parameter: inspect.Parameter, hint: Any, path_params: tuple[str, ...],
    request_types: tuple[type, ...], where: str, stack: tuple[Any, ...],
    overrides: Mapping[Any, Callable[..., Any]] | None = None,
) -> ParamSpec:
    annotation, marker, metadata = _split(hint, where)
    default = parameter.default
    if isinstance(default, (Param, Depends)):
        if marker is not None:
            raise RouteDefinitionError(f"{where}: a marker both in Annotated and as default.")
        marker, default = default, EMPTY
    if isinstance(marker, Depends):
        dependency = marker.dependency
        if overrides:
            dependency = overrides.get(dependency, dependency)
        sub = analyse(dependency, path_params, request_types, cache=marker.cache,
                      restore=marker.restore, overrides=overrides, _stack=stack)
        return ParamSpec(name, "depends", name, annotation, dependant=sub, marker=None)
    if isinstance(marker, Param) and marker.has_default:
        if default is not EMPTY:
            raise RouteDefinitionError(
                f"{where}: the default is given both in the marker and in the signature."
            )
        default = marker.default
    required = default is EMPTY and not (isinstance(marker, Param) and marker.has_default)
    default = None if default is EMPTY else default
    plain = annotation is EMPTY
    annotation = Any if plain else annotation
    source, alias = _source(name, annotation, plain, marker, path_params, request_types, where)
    if source in ("request", "context", "response"):
        return ParamSpec(name, source, name, annotation, required=False)
    if source == "path":
        required = True
    if isinstance(marker, Param) and marker.constraints:
        from .constraints import check_constraints  # markers with constraints only

        check_constraints(annotation, marker.constraints, where)
    return ParamSpec(name, source, alias, annotation, required, default, marker, metadata)


def _source(
    name: str, annotation: Any, plain: bool, marker: Param | None, path_params: tuple[str, ...],
    request_types: tuple[type, ...], where: str,
) -> tuple[str, str]:
    alias = (marker.alias if marker is not None else None) or name
    if marker is None:
        bare = is_optional(annotation)[1]
        if isinstance(bare, type) and issubclass(bare, request_types):
            return "request", name
        if annotation is LambdaContext or (name == "context" and annotation in (Any, object)):
            return "context", name
        if name == "request" and plain:
            return "request", name
        if isinstance(bare, type) and issubclass(bare, Response):
            return "response", name  # FastAPI's shape: headers, cookies, status merged in
    _, inner = is_optional(annotation)
    # No annotation can name UploadFile before lamroute.http.forms is imported: until then, an
    # unmarked parameter loads no form module.
    if isinstance(marker, Form) or (marker is None and "lamroute.http.forms" in sys.modules):
        from .form_kinds import form_source, is_upload

        if isinstance(marker, Form) or is_upload(inner):
            return form_source(annotation, marker, where), alias
    if isinstance(marker, Body) and inner is bytes:
        return "raw-body", alias
    body_like = _is_body_type(inner)
    if isinstance(marker, Path) or (marker is None and name in path_params):
        if alias not in path_params:
            raise RouteDefinitionError(f"{where}: {{{alias}}} is not in the route's path.")
        if body_like or typing.get_origin(inner) in (list, set, tuple, dict):
            raise RouteDefinitionError(f"{where}: a path parameter must be a single value.")
        return "path", alias
    if isinstance(marker, Query) and is_model(inner):
        return "query-model", alias
    if isinstance(marker, Body) or (marker is None and body_like):
        return "body", alias
    if body_like:
        raise RouteDefinitionError(
            f"{where}: a model cannot be a {getattr(marker, 'IN', 'query')} parameter; use "
            "Annotated[Model, Query()] for a group of query parameters or Body()."
        )
    if isinstance(marker, Header):
        if marker.alias is None and marker.convert_underscores:
            alias = name.replace("_", "-")
        return "header", alias
    if isinstance(marker, Cookie):
        return "cookie", alias
    return "query", alias


def _is_body_type(tp: Any) -> bool:
    """A model, a dataclass, ``list[Model]`` or any ``dict[...]``: read from the JSON body."""
    if is_model(tp) or (isinstance(tp, type) and dataclasses.is_dataclass(tp)):
        return True
    origin = typing.get_origin(tp)
    if origin is dict or tp is dict:
        return True
    if origin in (list, set, tuple, frozenset):
        return any(_is_body_type(arg) for arg in typing.get_args(tp))
    return False
