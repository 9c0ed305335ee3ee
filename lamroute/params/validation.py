"""Validation errors, the pydantic bridge and response models.

pydantic is imported here lazily, by the functions that need it, and only when a route uses a
model or a constrained type; ``import lamroute.params.validation`` alone stays light.

>>> error = RequestValidationError([{"loc": ["query", "limit"], "msg": "Field required",
...                                  "type": "missing"}])
>>> error.status, error.extra["errors"][0]["loc"]
(422, ['query', 'limit'])
"""

from __future__ import annotations

import sys
import types
import typing
from collections.abc import Callable, Sequence
from typing import Any

from ..exceptions import ResponseError, RouteDefinitionError, UnprocessableEntity
from ..http.response import Response, _json_response
from .markers import Param

ErrorList = list[dict[str, Any]]


class RequestValidationError(UnprocessableEntity):
    """422: parameters or body failed validation; ``errors`` lists ``loc``, ``msg``, ``type``.

    The rejected values are never part of the answer (they may be secrets).
    """

    def __init__(self, errors: ErrorList, detail: str = "The request failed validation.") -> None:
        super().__init__(detail, extra={"errors": errors})
        self.errors = errors


class ResponseValidationError(ResponseError):
    """A handler's result does not match its response model: a server bug, answered with 500."""

    def __init__(self, where: str, errors: ErrorList) -> None:
        summary = "; ".join(f"{'.'.join(map(str, e['loc'])) or '<root>'}: {e['msg']}"
                            for e in errors[:5])
        super().__init__(f"{where} returned a value its response model rejects: {summary}")
        self.errors = errors


def error(loc: Sequence[str | int], msg: str, type: str) -> dict[str, Any]:
    """One entry of an ``errors`` list."""
    return {"loc": list(loc), "msg": msg, "type": type}


def missing(loc: Sequence[str | int]) -> dict[str, Any]:
    return error(loc, "Field required", "missing")


def convert_errors(exc: Any, prefix: Sequence[str | int]) -> ErrorList:
    """pydantic ``ValidationError`` → entries under ``prefix``, without inputs or context."""
    return [
        error([*prefix, *item["loc"]], item["msg"], item["type"])
        for item in exc.errors(include_url=False, include_input=False, include_context=False)
    ]


# -- recognising pydantic types without importing pydantic -----------------------------------


def is_model(tp: Any) -> bool:
    """Whether ``tp`` is a pydantic model class (false, without importing, if pydantic isn't)."""
    pydantic = sys.modules.get("pydantic")
    if pydantic is None or not isinstance(tp, type):
        return False
    return issubclass(tp, pydantic.BaseModel)


def mentions_model(tp: Any) -> bool:
    """Whether ``tp`` is, contains (``list[Note]``, ``Note | None``) or annotates a model."""
    if is_model(tp):
        return True
    args = typing.get_args(tp)
    if typing.get_origin(tp) is typing.Annotated:
        return mentions_model(args[0]) or any(_is_pydantic_object(m) for m in args[1:])
    return any(mentions_model(arg) for arg in args if arg is not Ellipsis)


def _is_pydantic_object(value: Any) -> bool:
    return type(value).__module__.startswith(("pydantic", "annotated_types"))


def is_optional(tp: Any) -> tuple[bool, Any]:
    """``(True, X)`` for ``X | None`` / ``Optional[X]``; ``(False, tp)`` otherwise."""
    origin = typing.get_origin(tp)
    if origin is typing.Union or origin is types.UnionType:
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) < len(typing.get_args(tp)):
            if len(args) == 1:
                return True, args[0]
            return True, typing.Union[tuple(args)]  # noqa: UP007 (a runtime-built union)
    return False, tp


# -- adapters ---------------------------------------------------------------------------------


def constrained(tp: Any, marker: Param | None, metadata: Sequence[Any] = ()) -> Any:
    """``tp`` with the marker's constraints and any other ``Annotated`` metadata attached."""
    extra: list[Any] = list(metadata)
    if marker is not None and marker.constraints:
        from pydantic import Field

        extra.append(Field(**marker.constraints))
    if not extra:
        return tp
    params = (tp, *extra)
    return typing.Annotated[params]


def build_adapter(tp: Any, where: str) -> Any:
    """A pydantic ``TypeAdapter`` for ``tp``, built once; RouteDefinitionError if impossible.

    A complete model gets a :class:`ModelAdapter` instead: the same objects, without loading
    pydantic's ``type_adapter`` module (~0.3 ms of a cold start) for them.
    """
    if is_model(tp) and tp.__dict__.get("__pydantic_complete__") is True and all(
            name in tp.__dict__ for name in _MODEL_CORE):  # its own, as TypeAdapter requires
        return ModelAdapter(tp)
    try:
        from pydantic import PydanticSchemaGenerationError, TypeAdapter
    except ImportError as exc:  # pragma: no cover - pydantic is a runtime dependency
        raise RouteDefinitionError(f"{where}: validating {tp!r} needs pydantic: {exc}") from exc
    try:
        return TypeAdapter(tp)
    except (PydanticSchemaGenerationError, TypeError, ValueError, NameError) as exc:
        raise RouteDefinitionError(f"{where}: cannot validate type {tp!r}: {exc}") from exc


_MODEL_CORE = ("__pydantic_core_schema__", "__pydantic_validator__", "__pydantic_serializer__")


class ModelAdapter:
    """What lamroute reads of a complete model's ``TypeAdapter``: ``core_schema``,
    ``validator`` and ``serializer``, which ``TypeAdapter(model)`` takes from the model itself
    (pydantic's ``TypeAdapter._init_core_attrs``), so validation is the same.

    >>> from pydantic import BaseModel
    >>> class Note(BaseModel):
    ...     text: str
    >>> ModelAdapter(Note).validator is Note.__pydantic_validator__
    True
    """

    __slots__ = ("core_schema", "serializer", "validator")

    def __init__(self, model: Any) -> None:
        self.core_schema = model.__pydantic_core_schema__
        self.validator = model.__pydantic_validator__
        self.serializer = model.__pydantic_serializer__


def validator(adapter: Any) -> Callable[[Any, Sequence[str | int], ErrorList], Any]:
    """``validate(value, loc, errors)``: the validated value, or ``INVALID`` with errors added.

    Request input is held to finite numbers: NaN and infinities (``nan``, ``"Infinity"``,
    ``1e999``) fail as ``finite_number`` where the type does not say ``allow_inf_nan=True`` (on
    the field, or in the config of the model holding it); pydantic's own default accepts them.
    """
    from pydantic import ValidationError

    try:
        core = finite_validator(adapter)
    except Exception:  # a deferred model (forward references): built at its first request
        core = None
    if core is not None:
        validate_python = core.validate_python

        def validate(value: Any, loc: Sequence[str | int], errors: ErrorList) -> Any:
            try:
                return validate_python(value)
            except ValidationError as exc:
                errors.extend(convert_errors(exc, loc))
                return INVALID

        return validate
    built: list[Any] = []

    def build() -> None:
        if not built:
            # The forward references may resolve now (pydantic >= 2.10 rebuilds on demand).
            rebuild = getattr(adapter, "rebuild", None)
            if rebuild is not None:
                rebuild(raise_errors=False)
            built.append(finite_validator(adapter))

    def validate_deferred(value: Any, loc: Sequence[str | int], errors: ErrorList) -> Any:
        try:
            if not built:
                build()
            return built[0].validate_python(value)
        except ValidationError as exc:
            errors.extend(convert_errors(exc, loc))
            return INVALID

    DEFERRED.append(build)
    return validate_deferred


DEFERRED: list[Callable[[], None]] = []
"""How to build each validator left for its first request (a SnapStart snapshot builds them
first: :func:`build_deferred`)."""


def build_deferred() -> None:
    """Build the validators left for their first request (those whose types could not be
    resolved at registration and can now); one that still cannot be built is left as is."""
    import contextlib

    for build in DEFERRED:
        with contextlib.suppress(Exception):  # still unresolvable: its requests will say why
            build()


_NUMBERS = ("float", "decimal")  # the core schemas that take allow_inf_nan
_CONTAINERS = ("model", "dataclass", "typed-dict")  # the ones with a config of their own


def finite_validator(adapter: Any) -> Any:
    """A pydantic-core validator for the adapter's type that refuses NaN and infinities where
    the type does not allow them explicitly (see :func:`finite_schema`); built once.

    pydantic-core reuses a complete model's own validator when it meets the model in a schema;
    the models are marked incomplete while this one is built, so it validates with the copied
    schema. The objects it returns are the models' own classes.
    """
    from pydantic_core import SchemaValidator

    classes: set[type] = set()
    schema = finite_schema(adapter.core_schema, classes=classes)
    flipped = [cls for cls in classes if cls.__dict__.get("__pydantic_complete__") is True]
    try:
        for cls in flipped:
            cls.__pydantic_complete__ = False  # type: ignore[attr-defined]
        return SchemaValidator(schema)
    finally:
        for cls in flipped:
            cls.__pydantic_complete__ = True  # type: ignore[attr-defined]


def finite_schema(schema: Any, allowed: bool = False, *, classes: set[type] | None = None) -> Any:
    """A copy of a pydantic core schema whose floats and decimals refuse NaN and infinities
    unless allowed explicitly, by the field (``Field(allow_inf_nan=True)``) or by the model,
    dataclass or typed dict holding it (``ConfigDict(allow_inf_nan=True)``). ``classes``
    collects the model classes met.

    >>> finite_schema({"type": "list", "items_schema": {"type": "float"}})
    {'type': 'list', 'items_schema': {'type': 'float', 'allow_inf_nan': False}}
    """
    if isinstance(schema, list):
        return [finite_schema(item, allowed, classes=classes) for item in schema]
    if not isinstance(schema, dict):
        return schema
    kind = schema.get("type")
    if kind in _CONTAINERS:
        config = schema.get("config")
        allowed = isinstance(config, dict) and config.get("allow_inf_nan") is True
        if classes is not None and isinstance(schema.get("cls"), type):
            classes.add(schema["cls"])
    copied = {key: finite_schema(value, allowed, classes=classes) if key != "metadata" else value
              for key, value in schema.items()}
    if kind in _NUMBERS and "allow_inf_nan" not in schema and not allowed:
        copied["allow_inf_nan"] = False
    return copied


class _Invalid:
    __slots__ = ()

    def __repr__(self) -> str:
        return "<invalid>"


INVALID: Any = _Invalid()
"""What a converter returns after adding its errors to the list."""


# -- response models --------------------------------------------------------------------------

NO_VALIDATION = frozenset({type(None), dict, list, str, bytes, Any, Response})


class ResponseModel:
    """Validates a handler's result against a type and serialises it as JSON (aliases used).

    ``None`` passes through. A :class:`Response` with a 2xx status and a JSON body is filtered
    through the model too (its status, headers and cookies kept), so fields the model does not
    declare never leave, however the answer was built; a JSON body the model rejects (or
    cannot read) is a 500 logged with the reason. Other responses (redirects, problems, non-JSON
    bodies, an empty body) pass through untouched.
    """

    __slots__ = ("_adapter", "annotation", "core", "error", "status", "where")

    def __init__(self, annotation: Any, *, status: int, where: str) -> None:
        from pydantic import ValidationError

        self.annotation = annotation
        self.core = build_adapter(annotation, where)  # validates and serialises
        self._adapter = None if isinstance(self.core, ModelAdapter) else self.core
        self.error = ValidationError
        self.status = status
        self.where = where

    @property
    def adapter(self) -> Any:
        """The ``TypeAdapter`` of the annotation (the OpenAPI document reads its schema)."""
        if self._adapter is None:
            from pydantic import TypeAdapter

            self._adapter = TypeAdapter(self.annotation)
        return self._adapter

    def __call__(self, result: Any) -> Any:
        if result is None:
            return result
        if isinstance(result, Response):
            return self.filter(result)
        adapter = self.core
        try:
            # The core validator: ``adapter.validate_python(result, from_attributes=True)``
            # without its Python frame.
            value = adapter.validator.validate_python(result, from_attributes=True)
        except self.error as exc:
            raise ResponseValidationError(self.where, convert_errors(exc, ())) from None
        try:
            # Written by pydantic's JSON writer, as the model says (its serialisers, aliases,
            # and NaN or infinities it allows as its ser_json_inf_nan says: null by default).
            body = adapter.serializer.to_json(value, by_alias=True)
        except Exception as exc:
            raise ResponseError(f"{self.where} returned a value that cannot be serialised "
                                f"as JSON: {exc}") from exc
        return _json_response(body, self.status)

    def filter(self, response: Response) -> Response:
        """``response`` with its JSON body passed through the model (a copy; see the class)."""
        if not 200 <= response.status < 300 or not response.body:
            return response
        value = response.headers.get("content-type")
        kind = value.split(";", 1)[0].strip().lower() if value else ""
        if not (kind == "application/json" or kind.endswith("+json")):
            return response
        if "content-encoding" in response.headers:
            raise ResponseError(f"{self.where} returned an encoded JSON Response that its "
                                "response model cannot check; return the data instead.")
        import json

        try:
            data = json.loads(response.body)
        except ValueError as exc:
            raise ResponseError(f"{self.where} returned a Response whose JSON body cannot be "
                                f"read for its response model: {exc}") from None
        if data is None:  # `null` carries nothing to filter
            return response
        checked = self(data)  # validated and written as the model says
        return response.copy(checked.body)


def build_response_model(
    annotation: Any, *, explicit: bool, status: int, where: str
) -> ResponseModel | None:
    """The response model for a route, or ``None`` when the result needs no validation.

    An explicit ``response_model=`` always validates (``None`` turns it off); a return
    annotation only when it mentions a pydantic model, so ``-> dict`` costs nothing.
    """
    annotation = _without_response(annotation)
    if _no_validation(annotation):
        return None
    if not explicit and not mentions_model(annotation):
        return None
    return ResponseModel(annotation, status=status, where=where)


def _without_response(annotation: Any) -> Any:
    """``Note | Response`` → ``Note``: a Response is passed through, never validated."""
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        args = [a for a in typing.get_args(annotation)
                if not (isinstance(a, type) and issubclass(a, Response))]
        if not args:
            return Response
        return args[0] if len(args) == 1 else typing.Union[tuple(args)]  # noqa: UP007
    return annotation


def _no_validation(annotation: Any) -> bool:
    if annotation is None or (isinstance(annotation, type) and issubclass(annotation, Response)):
        return True
    try:
        return annotation in NO_VALIDATION
    except TypeError:  # unhashable metadata inside Annotated
        return False
