"""The OpenAPI 3.1 document of an app, built from its routes' signatures and options.

>>> from lamroute import App
>>> app = App(title="Notes", version="1.0.0")
>>> @app.get("/notes/{note_id}", tags=["notes"])
... def get_note(note_id: int) -> dict[str, str]:
...     '''Fetch one note.'''
...     return {}
>>> doc = app.openapi()
>>> doc["paths"]["/notes/{note_id}"]["get"]["summary"]
'Fetch one note.'

Security (the hook the auth layer uses): schemes come from ``app.security_schemes`` (a mapping
name → Security Scheme Object) and from an ``openapi_security_schemes`` mapping on any
dependency callable; an operation's requirements from an ``openapi_security`` list
(``[{"bearerAuth": []}]``) on its handler or any of its dependencies. A route's
``openapi_extra={...}`` option is merged into its operation last. pydantic is imported here
(the document is built on demand, never per request).
"""

from __future__ import annotations

import inspect
import json
import re
import typing
from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import problem_response
from ..http.response import Response, dump_json
from ..params import Binder, build_binder, return_annotation
from ..params.signature import ParamSpec
from ..params.validation import build_response_model, constrained, is_optional
from ..routing.routes import Route
from ..routing.table import parse_template
from ..security.guards import route_security, security_schemes

REF = "#/components/schemas/{model}"
PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "An RFC 9457 problem detail.",
    "properties": {
        "type": {"type": "string", "format": "uri-reference", "default": "about:blank"},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 100, "maximum": 599},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "request_id": {"type": "string"},
    },
    "required": ["type", "title", "status"],
}
# `errors` is optional: lamroute's own parameter and body validation always lists it, but any
# code may answer 422 without it (`raise UnprocessableEntity("...")` for a rule of the app, an
# exception handler's own problem), and the document must describe those answers too.
VALIDATION_PROBLEM_SCHEMA: dict[str, Any] = {
    "allOf": [
        {"$ref": "#/components/schemas/Problem"},
        {
            "type": "object",
            "properties": {"errors": {
                "type": "array",
                "description": "Every parameter or body failure, when lamroute's validation "
                               "rejected the request; absent on a 422 raised by the app itself.",
                "items": {
                    "type": "object",
                    "properties": {
                        "loc": {"type": "array", "items": {"type": ["string", "integer"]}},
                        "msg": {"type": "string"},
                        "type": {"type": "string"},
                    },
                    "required": ["loc", "msg", "type"],
                },
            }},
        },
    ]
}
_GREEDY = re.compile(r"\{(\w+)\+\}")


def openapi_path(path: str) -> str:
    """API Gateway template → OpenAPI path: ``/files/{path+}`` → ``/files/{path}``."""
    return _GREEDY.sub(r"{\1}", path)


class _Schemas:
    """Collects TypeAdapters and resolves them to schemas in one pass (shared components)."""

    def __init__(self) -> None:
        from pydantic import TypeAdapter

        self.adapter = TypeAdapter
        self.inputs: list[tuple[int, str, Any]] = []
        self.slots: list[tuple[dict[str, Any], str, int, Any, dict[str, Any]]] = []
        self.extra_defs: dict[str, Any] = {}

    def place(self, target: dict[str, Any], key: str, tp: Any, mode: str = "validation",
              merge: Mapping[str, Any] | None = None) -> None:
        """Set ``target[key]`` to ``tp``'s schema once :meth:`resolve` runs (``{}`` if none)."""
        try:
            adapter = tp if isinstance(tp, self.adapter) else self.adapter(tp)
        except Exception:  # a type pydantic cannot describe: document it as "anything"
            target[key] = dict(merge or {})
            return
        index = len(self.inputs)
        self.inputs.append((index, mode, adapter))
        self.slots.append((target, key, index, mode, dict(merge or {})))

    def model_properties(self, model: Any) -> dict[str, Any]:
        schema = model.model_json_schema(ref_template=REF)
        self.extra_defs.update(schema.pop("$defs", {}))
        return dict(schema)

    def resolve(self) -> dict[str, Any]:
        if not self.inputs:
            return dict(self.extra_defs)
        mapping, definitions = self.adapter.json_schemas(
            [(i, mode, adapter) for i, mode, adapter in self.inputs],  # type: ignore[misc]
            ref_template=REF,
        )
        for target, key, index, mode, merge in self.slots:
            target[key] = {**mapping[(index, mode)], **merge}
        return {**self.extra_defs, **definitions.get("$defs", {})}


def build_openapi(app: Any, *, servers: Sequence[str] = ()) -> dict[str, Any]:
    """The OpenAPI 3.1 document for ``app`` (an :class:`~lamroute.App`).

    ``servers`` are the base URLs the paths hang from (``["/prod"]`` for a REST API stage,
    ``["https://api.example.com/shop"]``); none means ``/``, the document's own host.
    """
    schemas = _Schemas()
    paths: dict[str, dict[str, Any]] = {}
    used_ids: set[str] = set()
    problem_body = app.boundary.formatter is problem_response
    schemes = dict(getattr(app, "security_schemes", None) or {})
    schemes.update(security_schemes(r for r in app.routes
                                    if r.options.get("include_in_schema", True)))
    for route in app.routes:
        if not route.options.get("include_in_schema", True):
            continue
        template = parse_template(route.path)
        binder = build_binder(route.handler, template.params)
        for call in [*binder.dependant.calls(), route.handler]:
            schemes.update(getattr(call, "openapi_security_schemes", None) or {})
        for method in route.methods:
            operation = _operation(app, route, method, binder, schemas, used_ids)
            paths.setdefault(openapi_path(template.path), {})[method.lower()] = operation
    components: dict[str, Any] = {"schemas": schemas.resolve()}
    components["schemas"]["Problem"] = PROBLEM_SCHEMA
    components["schemas"]["ValidationProblem"] = VALIDATION_PROBLEM_SCHEMA
    problem_media = "application/problem+json" if problem_body else "application/json"
    components["responses"] = {
        name: {"description": text, "content": {problem_media: {
            "schema": {"$ref": f"#/components/schemas/{name}"} if problem_body else {}}}}
        for name, text in (("Problem", "An error (RFC 9457 problem details)."),
                           ("ValidationProblem", "The request failed validation (`errors` "
                                                 "lists each failure lamroute's validation "
                                                 "found)."))
    }
    if schemes:
        components["securitySchemes"] = schemes
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": app.title, "version": app.version},
    }
    if servers:
        document["servers"] = [{"url": url} for url in servers]
    document["paths"] = paths
    document["components"] = components
    return document


def _operation(app: Any, route: Route, method: str, binder: Binder, schemas: _Schemas,
               used_ids: set[str]) -> dict[str, Any]:
    options = route.options
    summary, description = _docstring(route.handler)
    operation: dict[str, Any] = {"operationId": _operation_id(route, method, used_ids)}
    if options.get("summary") or summary:
        operation["summary"] = options.get("summary") or summary
    if options.get("description") or description:
        operation["description"] = options.get("description") or description
    if options.get("tags"):
        operation["tags"] = list(options["tags"])
    if options.get("deprecated"):
        operation["deprecated"] = True
    parameters = [_parameter(spec, schemas) for spec in binder.params
                  if spec.source in ("path", "query", "header", "cookie")]
    for spec in binder.params:
        if spec.source == "query-model":
            parameters.extend(_model_parameters(spec, schemas))
    parameters = [p for p in parameters if p is not None]
    if parameters:
        operation["parameters"] = parameters
    bodies = [spec for spec in binder.params if spec.source == "body"]
    others = [spec for spec in binder.params if spec.source in _OTHER_BODIES]
    if bodies:
        operation["requestBody"] = _request_body(bodies, schemas)
    elif others:
        operation["requestBody"] = _other_body(others, schemas)
    operation["responses"] = _responses(route, binder, schemas)
    guarded = route_security(route)  # the route's guard; [] for a public route
    security: list[Any] = list(guarded or ())
    for call in [*binder.dependant.calls(), route.handler]:
        for requirement in getattr(call, "openapi_security", None) or ():
            if requirement not in security:
                security.append(requirement)
    if security or guarded == []:
        operation["security"] = security
    extra: Mapping[str, Any] = options.get("openapi_extra") or {}
    operation.update(extra)
    return operation


def _operation_id(route: Route, method: str, used: set[str]) -> str:
    base = route.name if len(route.methods) == 1 else f"{route.name}_{method.lower()}"
    candidate, n = base, 2
    while candidate in used:
        candidate, n = f"{base}_{n}", n + 1
    used.add(candidate)
    return candidate


def _docstring(func: Any) -> tuple[str | None, str | None]:
    doc = inspect.getdoc(func)
    if not doc:
        return None, None
    first, _, rest = doc.partition("\n\n")
    return " ".join(first.split()), rest.strip() or None


def _json_default(value: Any) -> tuple[bool, Any]:
    try:
        return True, json.loads(dump_json(value))
    except Exception:
        return False, None


def _parameter(spec: ParamSpec, schemas: _Schemas) -> dict[str, Any] | None:
    marker = spec.marker
    if marker is not None and not marker.include_in_schema:
        return None
    parameter: dict[str, Any] = {"name": spec.alias, "in": spec.source,
                                 "required": spec.required}
    merge: dict[str, Any] = {}
    if not spec.required and spec.default is not None:
        ok, value = _json_default(spec.default)
        if ok:
            merge["default"] = value
    schemas.place(parameter, "schema", constrained(spec.annotation, marker, spec.metadata),
                  merge=merge)
    if marker is not None:
        if marker.description:
            parameter["description"] = marker.description
        if marker.deprecated:
            parameter["deprecated"] = True
        if marker.examples:
            parameter["examples"] = {f"example{i}": {"value": v}
                                     for i, v in enumerate(marker.examples, 1)}
    return parameter


def _model_parameters(spec: ParamSpec, schemas: _Schemas) -> list[dict[str, Any]]:
    schema = schemas.model_properties(is_optional(spec.annotation)[1])
    required = set(schema.get("required", ()))
    return [{"name": name, "in": "query", "required": name in required, "schema": prop}
            for name, prop in schema.get("properties", {}).items()]


_OTHER_BODIES = frozenset({"form", "form-model", "file", "raw-body"})
BINARY: dict[str, Any] = {"type": "string", "format": "binary"}


def _other_body(specs: list[ParamSpec], schemas: _Schemas) -> dict[str, Any]:
    """The request body of a raw-bytes parameter, or of form fields and files: an object per
    media type (``multipart/form-data`` with files; also URL-encoded without), files as
    ``format: binary``."""
    raw = next((s for s in specs if s.source == "raw-body"), None)
    if raw is not None:
        media = getattr(raw.marker, "media_type", None) or "*/*"
        body: dict[str, Any] = {"required": raw.required,
                                "content": {media: {"schema": dict(BINARY)}}}
        if raw.marker is not None and raw.marker.description:
            body["description"] = raw.marker.description
        return body
    kinds = ["multipart/form-data"]
    if not any(s.source == "file" for s in specs):
        kinds.insert(0, "application/x-www-form-urlencoded")
    content = {kind: {"schema": _form_schema(specs, schemas)} for kind in kinds}
    if "multipart/form-data" in content:  # how each file part is sent
        files = [s.alias for s in specs if s.source == "file"]
        if files:
            content["multipart/form-data"]["encoding"] = {
                name: {"contentType": "application/octet-stream"} for name in files}
    return {"required": any(s.required for s in specs), "content": content}


def _form_schema(specs: list[ParamSpec], schemas: _Schemas) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    required: list[str] = []
    for spec in specs:
        if spec.marker is not None and not spec.marker.include_in_schema:
            continue
        if spec.source == "form-model":
            model = schemas.model_properties(is_optional(spec.annotation)[1])
            properties.update(model.get("properties", {}))
            required.extend(model.get("required", ()))
            continue
        if spec.source == "file":
            inner = is_optional(spec.annotation)[1]
            many = inner is list or typing.get_origin(inner) is list
            file_schema = {"type": "array", "items": dict(BINARY)} if many else dict(BINARY)
            if spec.marker is not None and spec.marker.description:
                file_schema["description"] = spec.marker.description
            properties[spec.alias] = file_schema
        else:
            merge: dict[str, Any] = {}
            if spec.marker is not None and spec.marker.description:
                merge["description"] = spec.marker.description
            if not spec.required and spec.default is not None:
                ok, value = _json_default(spec.default)
                if ok:
                    merge["default"] = value
            schemas.place(properties, spec.alias,
                          constrained(spec.annotation, spec.marker, spec.metadata), merge=merge)
        if spec.required:
            required.append(spec.alias)
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    return schema


def _request_body(bodies: list[ParamSpec], schemas: _Schemas) -> dict[str, Any]:
    first = bodies[0]
    media = getattr(first.marker, "media_type", None) or "application/json"
    holder: dict[str, Any] = {}
    embedded = len(bodies) > 1 or bool(getattr(first.marker, "embed", False))
    if not embedded:
        schemas.place(holder, "schema", constrained(first.annotation, first.marker,
                                                    first.metadata))
    else:
        properties: dict[str, Any] = {}
        for spec in bodies:
            schemas.place(properties, spec.alias,
                          constrained(spec.annotation, spec.marker, spec.metadata))
        holder["schema"] = {"type": "object", "properties": properties,
                            "required": [s.alias for s in bodies if s.required]}
    body: dict[str, Any] = {"required": any(s.required for s in bodies),
                            "content": {media: holder}}
    description = getattr(first.marker, "description", None)
    if description and not embedded:
        body["description"] = description
    return body


def _responses(route: Route, binder: Binder, schemas: _Schemas) -> dict[str, Any]:
    status = route.status_code
    model = build_response_model(
        route.options.get("response_model", return_annotation(route.handler)),
        explicit="response_model" in route.options, status=status, where=route.name,
    )
    annotation = return_annotation(route.handler)
    ok: dict[str, Any] = {"description": "Successful response"}
    if model is not None:
        media: dict[str, Any] = {}
        ok["content"] = {"application/json": media}
        schemas.place(media, "schema", model.adapter, "serialization")
    elif "return" in getattr(route.handler, "__annotations__", {}) and annotation is None:
        status = 204 if status == 200 else status
        ok["description"] = "No content"
    elif annotation is str:
        ok["content"] = {"text/plain": {"schema": {"type": "string"}}}
    elif annotation is bytes:
        ok["content"] = {"application/octet-stream": {"schema": {}}}
    elif annotation is not None and not (isinstance(annotation, type)
                                         and issubclass(annotation, Response)):
        media = {}
        ok["content"] = {"application/json": media}
        schemas.place(media, "schema", annotation, "serialization")
    responses: dict[str, Any] = {str(status): ok}
    if any(_can_fail(s) for s in binder.params):
        responses["422"] = {"$ref": "#/components/responses/ValidationProblem"}
    responses["4XX"] = {"$ref": "#/components/responses/Problem"}
    responses["5XX"] = {"$ref": "#/components/responses/Problem"}
    for code, value in (route.options.get("responses") or {}).items():
        responses[str(code)] = value
    return responses



def _can_fail(spec: ParamSpec) -> bool:
    """Whether binding ``spec`` can answer 422 (a plain ``str`` path parameter cannot)."""
    if spec.source in ("request", "context", "response"):
        return False
    plain = not spec.metadata and not (spec.marker is not None and spec.marker.constraints)
    return not (spec.source == "path" and plain and spec.annotation in (str, Any))
