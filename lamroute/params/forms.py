"""Body parameters that are not JSON: form fields, uploaded files and the raw body.

Loaded when a route declares ``Form()``, ``File()``, an ``UploadFile`` or ``Annotated[bytes,
Body()]``: an app without them never imports it. :mod:`lamroute.params.signature` classifies
such a parameter at registration (:mod:`lamroute.params.form_kinds` tells the form kinds apart
and checks that python-multipart, the ``lamroute[forms]`` extra, is installed);
``form_extractor`` builds its extractor. Every extractor reads ``request.form()``
(parsed once per request, within the route's ``max_fields``/``max_part_size``); failures are
listed under ``("body", name)`` as for JSON bodies.

>>> media_matches("image/png", "image/*")
True
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..exceptions import RouteDefinitionError, UnsupportedMediaType
from ..http.forms import FormData, UploadFile
from .converters import scalar_converter
from .form_kinds import list_item_of
from .markers import Body
from .signature import ParamSpec
from .validation import (
    INVALID,
    ErrorList,
    build_adapter,
    error,
    is_optional,
    missing,
    validator,
)

Extractor = Callable[[Any, ErrorList, "dict[Any, Any] | None"], Any]
FORM_SOURCES = frozenset({"form", "form-model", "file"})
BODY_SOURCES = frozenset({"body", "raw-body", *FORM_SOURCES})

_EXPECTED_FILE = "Input should be a file upload, not a text field"
_EXPECTED_TEXT = "Input should be a text field, not a file upload"


def check_body_kinds(params: list[ParamSpec], where: str) -> None:
    """Refuse a signature that mixes body kinds no request can carry at once (a JSON body and
    form fields, two raw bodies...)."""
    kinds = {"json" if p.source == "body" else "raw" if p.source == "raw-body" else "form"
             for p in params if p.source in BODY_SOURCES}
    raws = [p for p in params if p.source == "raw-body"]
    if len(kinds) > 1 or len(raws) > 1:
        raise RouteDefinitionError(
            f"{where}: one request has one body: JSON (Body() or a model), form fields "
            "(Form()/File()) or the raw bytes (Annotated[bytes, Body()]), not several kinds.")


def form_extractor(spec: ParamSpec, where: str) -> Extractor:
    """The extractor of a ``form``, ``form-model``, ``file`` or ``raw-body`` parameter."""
    if spec.source == "raw-body":
        return _raw_body(spec)
    if spec.source == "file":
        return _file(spec)
    if spec.source == "form-model":
        return _form_model(spec, where)
    return _field(spec, where)


def _default(spec: ParamSpec) -> Callable[[], Any]:
    from . import _default_getter

    return _default_getter(spec)


def _form(request: Any) -> FormData:
    form = getattr(request, "form", None)
    if form is None:  # a request-like object without forms (a WebSocket message)
        raise UnsupportedMediaType("This request cannot carry a form.")
    return form()  # type: ignore[no-any-return]


def _field(spec: ParamSpec, where: str) -> Extractor:
    convert, is_list, _ = scalar_converter(spec, where)
    alias, required, default = spec.alias, spec.required, _default(spec)
    loc: tuple[str | int, ...] = ("body", alias)

    def extract(request: Any, errors: ErrorList, cache: dict[Any, Any] | None) -> Any:
        values = _form(request).getall(alias)
        if not values:
            if required:
                errors.append(missing(loc))
                return INVALID
            return default()
        if any(isinstance(v, UploadFile) for v in values):
            errors.append(error(loc, _EXPECTED_TEXT, "string_type"))
            return INVALID
        return convert(values if is_list else values[0], loc, errors)

    return extract


def _form_model(spec: ParamSpec, where: str) -> Extractor:
    model = is_optional(spec.annotation)[1]
    fields = tuple((info.alias or name, list_item_of(info.annotation) is not None)
                   for name, info in model.model_fields.items())
    convert = validator(build_adapter(model, where))

    def extract(request: Any, errors: ErrorList, cache: dict[Any, Any] | None) -> Any:
        form = _form(request)
        data: dict[str, Any] = {}
        for alias, multi in fields:
            values = form.getall(alias)
            if not values:
                continue
            if any(isinstance(v, UploadFile) for v in values):
                errors.append(error(("body", alias), _EXPECTED_TEXT, "string_type"))
                return INVALID
            data[alias] = values if multi else values[0]
        return convert(data, ("body",), errors)

    return extract


def _file(spec: ParamSpec) -> Extractor:
    inner = is_optional(spec.annotation)[1]
    item = list_item_of(inner)
    as_bytes = (item if item is not None else inner) is bytes
    alias, required, default = spec.alias, spec.required, _default(spec)
    loc: tuple[str | int, ...] = ("body", alias)

    def extract(request: Any, errors: ErrorList, cache: dict[Any, Any] | None) -> Any:
        # A browser sends an unfilled file input as a part with filename="" and no content.
        values = [v for v in _form(request).getall(alias)
                  if not (isinstance(v, UploadFile) and v.filename == "" and v.size == 0)]
        if not values:
            if required:
                errors.append(missing(loc))
                return INVALID
            return default()
        if not all(isinstance(v, UploadFile) for v in values):
            errors.append(error(loc, _EXPECTED_FILE, "file_type"))
            return INVALID
        files = [v.file.getvalue() if as_bytes else v
                 for v in values if isinstance(v, UploadFile)]
        if item is None:
            return files[0]
        return files

    return extract


def _raw_body(spec: ParamSpec) -> Extractor:
    wanted = spec.marker.media_type if isinstance(spec.marker, Body) else None
    required, default = spec.required, _default(spec)
    loc: tuple[str | int, ...] = ("body",)

    def extract(request: Any, errors: ErrorList, cache: dict[Any, Any] | None) -> Any:
        if wanted is not None:
            value = request.headers.get("content-type")
            kind = value.split(";", 1)[0].strip().lower() if value else ""
            if not media_matches(kind, wanted):
                raise UnsupportedMediaType(f"The body must be {wanted}, not {kind or 'untyped'}.")
        body: bytes = request.body
        if not body:
            if required:
                errors.append(missing(loc))
                return INVALID
            return default()
        return body

    return extract


def media_matches(kind: str, pattern: str) -> bool:
    """Whether media type ``kind`` matches ``pattern`` (``image/png``, ``image/*``, ``*/*``).

    >>> media_matches("image/png", "image/*"), media_matches("text/csv", "image/*")
    (True, False)
    """
    pattern = pattern.split(";", 1)[0].strip().lower()
    if pattern in ("*/*", kind):
        return True
    return pattern.endswith("/*") and kind.startswith(pattern[:-1])

