"""SAM templates: ``sam_template`` builds one for an app, ``to_yaml`` writes it.

The parts live beside this module (see :mod:`lamroute.deploy.builder`): the function, the REST
or HTTP API with its definition, authorizers and gateway responses, the WebSocket API.

>>> template = sam_template(handler="notes.app.app", options=TemplateOptions(api="http"))
>>> sorted(template["Resources"]["Api"]["Properties"]["DefinitionBody"]["paths"])
['/', '/{proxy+}']
>>> print(to_yaml({"Path": "/{proxy+}", "Method": "ANY"}), end="")
Path: "/{proxy+}"
Method: ANY
"""

from __future__ import annotations

import json
import re
from typing import Any

from .auth import TemplateError
from .builder import build_template
from .options import DEFAULT_RUNTIME, SAM_TRANSFORM, TemplateOptions

__all__ = ["DEFAULT_RUNTIME", "SAM_TRANSFORM", "TemplateError", "TemplateOptions",
           "handler_for", "sam_template", "to_yaml"]

_PLAIN = re.compile(r"^[A-Za-z][A-Za-z0-9_.:\-]*$")
_YAML_WORDS = frozenset({"yes", "no", "on", "off", "true", "false", "null", "y", "n"})


def handler_for(target: str) -> str:
    """``"notes.app:app"`` → ``"notes.app.app"`` (Lambda's ``module.attribute`` handler)."""
    module, _, attribute = target.partition(":")
    return f"{module}.{attribute or 'app'}"


def sam_template(*, handler: str, app: Any = None, options: TemplateOptions | None = None,
                 description: str | None = None,
                 notes: list[str] | None = None) -> dict[str, Any]:
    """The template of ``app`` (``None``: a plain proxy) as a dict; see
    :func:`lamroute.deploy.builder.build_template`."""
    return build_template(handler, app, options, description=description, notes=notes)


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    text = str(value)
    if _PLAIN.match(text) and text.lower() not in _YAML_WORDS and not text.endswith(":"):
        return text
    return json.dumps(text)  # a JSON string is a valid YAML double-quoted scalar


def to_yaml(value: Any, indent: int = 0) -> str:
    """Block-style YAML for dicts, lists and scalars (enough for CloudFormation templates)."""
    pad = "  " * indent
    lines: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, (dict, list)) and item:
                lines.append(f"{pad}{_scalar(key)}:")
                lines.append(to_yaml(item, indent + 1).rstrip("\n"))
            else:
                empty = "{}" if isinstance(item, dict) else "[]"
                text = empty if isinstance(item, (dict, list)) else _scalar(item)
                lines.append(f"{pad}{_scalar(key)}: {text}")
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, (dict, list)) and item:
                nested = to_yaml(item, indent + 1).lstrip()
                lines.append(f"{pad}- {nested.rstrip()}")
            elif isinstance(item, (dict, list)):
                lines.append(f"{pad}- {'{}' if isinstance(item, dict) else '[]'}")
            else:
                lines.append(f"{pad}- {_scalar(item)}")
    else:
        lines.append(pad + _scalar(value))
    return "\n".join(lines) + "\n"
