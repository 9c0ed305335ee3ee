"""Other frameworks' parameter syntaxes in a path template, refused with API Gateway's spelling.

Flask's ``<int:name>``, Starlette's ``{name:int}``, Express's ``:name`` and a glob's ``*`` are
not parameters to API Gateway. :func:`lamroute.routing.table.parse_template` loads this module
only for a segment that is not literal text or that starts with ``:`` or ``*``: an app whose
templates are well formed never imports it.

>>> str(malformed("/users/:id", ":id", ["users", ":id"])).endswith(": use /users/{id}.")
True
"""

from __future__ import annotations

import re

from ..exceptions import RouteDefinitionError

# A `path` converter is greedy: Flask's <path:rest> and Starlette's {rest:path} are {rest+}.
_FOREIGN_PARAMS = (
    re.compile(r"^<(?:(?P<conv>[^<>:]*):)?(?P<name>[A-Za-z_][A-Za-z0-9_]*)>$"),
    re.compile(r"^\{(?P<name>[A-Za-z_][A-Za-z0-9_]*):(?P<conv>[^{}]*)\}$"),
    re.compile(r"^:(?P<name>[A-Za-z_][A-Za-z0-9_]*)$"),
    re.compile(r"^\*\*?$"),
)
_CONVERTER_TYPES = {"int": "int", "float": "float", "uuid": "UUID"}


def foreign(segment: str) -> tuple[str, str | None] | None:
    """The API Gateway spelling of another framework's parameter segment and its converter
    (``<int:id>`` gives ``("{id}", "int")``), or ``None`` when ``segment`` is not one.

    >>> foreign("<int:id>"), foreign(":id"), foreign("*"), foreign("things:batchGet")
    (('{id}', 'int'), ('{id}', None), ('{path+}', None), None)
    """
    for pattern in _FOREIGN_PARAMS:
        found = pattern.match(segment)
        if found:
            groups = found.groupdict()
            name, conv = groups.get("name") or "path", groups.get("conv")
            greedy = conv == "path" or "name" not in groups
            return ("{%s+}" if greedy else "{%s}") % name, None if greedy else conv
    return None


def malformed(path: str, segment: str, segments: list[str]) -> RouteDefinitionError:
    """The error for ``segment`` of template ``path`` (split into ``segments``)."""
    return RouteDefinitionError(
        f"Route path {path!r}: segment {segment!r} must be literal text or a whole "
        "'{name}' / '{name+}' parameter (API Gateway syntax)" + hint(segments)
    )


def hint(segments: list[str]) -> str:
    """``": use /items/{item_id} ..."`` when another framework's syntax translates, else ``"."``.

    >>> hint(["items", "<int:item_id>"])
    ': use /items/{item_id} and annotate the handler (item_id: int).'
    """
    spelled, types = [], []
    for segment in segments:
        found = foreign(segment)
        spelled.append(found[0] if found else segment)
        if found and found[1] in _CONVERTER_TYPES:
            types.append(f"{found[0].strip('{}')}: {_CONVERTER_TYPES[found[1]]}")
    if not any(map(foreign, segments)):
        if any("<" in segment or ">" in segment for segment in segments):
            return " ('<' and '>' are not path characters)."
        return "."
    annotate = f" and annotate the handler ({', '.join(types)})" if types else ""
    return f": use /{'/'.join(spelled)}{annotate}."
