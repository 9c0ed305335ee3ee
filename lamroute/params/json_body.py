"""The JSON body parameter: a model, a dataclass, ``dict``/``list`` or anything under ``Body()``.

Loaded by the first route that declares one (:mod:`lamroute.params` compiles the parameter
with :func:`body_extractor`): an app that reads no JSON body never imports it. The body is read
once per request through ``request.json()``; a ``Content-Type`` that is not JSON is a 415, and
validation failures are listed under ``("body", ...)``. Several body parameters, or one with
``Body(embed=True)``, each read their member of one JSON object.

>>> from lamroute.testing import make_event
>>> from lamroute.formats import parse_event
>>> read_json_body(parse_event(make_event("rest", "POST", "/", json={"a": 1}), None))
{'a': 1}
"""

from __future__ import annotations

from typing import Any

from ..exceptions import UnsupportedMediaType
from ..http.request import Request
from . import Extractor, _default_getter
from .converters import Converter
from .markers import Body
from .signature import ParamSpec
from .validation import INVALID, ErrorList, build_adapter, constrained, error, missing, validator

_NOT_OBJECT = "Input should be a valid dictionary or object to extract fields from"


def body_extractor(spec: ParamSpec, where: str, embed_all: bool) -> Extractor:
    """The extractor of a ``body`` parameter; ``embed_all``: the route has several, so each
    reads its member of the body (as ``Body(embed=True)`` does)."""
    embed = embed_all or (isinstance(spec.marker, Body) and spec.marker.embed)
    loc: tuple[str | int, ...] = ("body", spec.alias) if embed else ("body",)
    alias, required, default = spec.alias, spec.required, _default_getter(spec)
    convert, typed = _body_converter(spec, where)

    def extract(request: Any, errors: ErrorList, cache: dict[Any, Any] | None) -> Any:
        # A typed body's validator refuses NaN and infinities field by field (or accepts
        # them where the type allows them); an untyped one has request.json() refuse them.
        data = read_json_body(request, allow_non_finite=typed)
        if embed and data is not _ABSENT:
            if not isinstance(data, dict):
                if not any(e["loc"] == ["body"] for e in errors):
                    errors.append(error(["body"], _NOT_OBJECT, "model_attributes_type"))
                return INVALID
            data = data.get(alias, _ABSENT)
        if data is _ABSENT:
            if required:
                errors.append(missing(loc))
                return INVALID
            return default()
        return convert(data, loc, errors)

    return extract


def _body_converter(spec: ParamSpec, where: str) -> tuple[Converter, bool]:
    """``(convert, typed)``: ``typed`` when pydantic validates the body."""
    tp = spec.annotation
    plain = not spec.metadata and not (spec.marker is not None and spec.marker.constraints)
    if plain and tp in (Any, None, object):
        return (lambda value, loc, errors: value), False
    if plain and tp in (dict, list):
        kind = "dict_type" if tp is dict else "list_type"
        msg = "Input should be a valid dictionary" if tp is dict else "Input should be a valid list"

        def check(value: Any, loc: tuple[str | int, ...], errors: ErrorList) -> Any:
            if isinstance(value, tp):
                return value
            errors.append(error(loc, msg, kind))
            return INVALID

        return check, False
    return validator(build_adapter(constrained(tp, spec.marker, spec.metadata), where)), True


class _Absent:
    __slots__ = ()


_ABSENT: Any = _Absent()


def read_json_body(request: Any, *, allow_non_finite: bool = False) -> Any:
    """The parsed JSON body, or ``_ABSENT`` when there is none.

    A ``Content-Type`` that is not JSON is a 415; malformed JSON a 400 and NaN or infinite
    numbers a 422 unless ``allow_non_finite`` (from ``request.json()``). A missing
    ``Content-Type`` is read as JSON, as most HTTP clients expect.
    """
    if isinstance(request, Request):
        media = request.content_type  # finds the one header without parsing them all
    else:  # a request-like object (a WebSocket message, ...)
        value = request.headers.get("content-type")
        media = value.split(";", 1)[0].strip().lower() if value else None
    if media is not None and media != "application/json" and not media.endswith("+json"):
        raise UnsupportedMediaType(
            f"The body must be JSON (application/json), not {media or 'empty'}."
        )
    raw = getattr(request, "body", None)
    if raw is not None and len(raw) == 0:
        return _ABSENT
    if isinstance(request, Request):
        return request.json(allow_non_finite=allow_non_finite)
    return request.json()  # a request-like object's own reading
