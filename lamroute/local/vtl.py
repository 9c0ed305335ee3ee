"""API Gateway's mapping template variables for the local gateway, rendered by ``airspeed``.

Only what lamroute's custom integration templates use (``lamroute.deploy.custom_integration``),
each as the mapping template reference documents it:
https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-mapping-template-reference.html

- ``$input.body``, ``$input.params()`` / ``$input.params(x)``, ``$input.json(x)``,
  ``$input.path(x)`` (JSONPath: ``$``, ``.name``, ``['name']``, ``[index]``);
- ``$util.escapeJavaScript``, ``parseJson``, ``urlEncode``, ``urlDecode``, ``base64Encode``,
  ``base64Decode``;
- ``$context`` as a dict of the documented names, with ``responseOverride.status`` and
  ``responseOverride.header`` read back after rendering.

``airspeed`` is an optional dependency (``pip install 'lamroute[custom]'``), imported when a
template is first rendered.

>>> render("$util.urlEncode($input.params('q'))", params={"querystring": {"q": "a b"}}).output
'a+b'
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass, field
from typing import Any

from ..testing.events import form_encode

_STEP = re.compile(r"\.([A-Za-z_$][\w$-]*)|\[(\d+)\]|\['([^']*)'\]|\[\"([^\"]*)\"\]")


class TemplateError(ValueError):
    """A template that cannot be rendered (the gateway answers 500 for it)."""


def jsonpath(document: Any, expression: str) -> Any:
    """The value at a simple JSONPath (``$``, ``$.a.b``, ``$.a[0]``, ``$['a']``); ``None`` when
    a step is missing.

    >>> jsonpath({"pets": [{"id": 1}]}, "$.pets[0].id")
    1
    """
    expression = (expression or "$").strip()
    if not expression.startswith("$"):
        raise TemplateError(f"not a JSONPath expression: {expression!r}")
    value, position = document, 1
    while position < len(expression):
        step = _STEP.match(expression, position)
        if step is None:
            raise TemplateError(f"unsupported JSONPath expression: {expression!r}")
        position = step.end()
        name, index = step.group(1) or step.group(3) or step.group(4), step.group(2)
        if index is not None:
            value = value[int(index)] if isinstance(value, list) and int(index) < len(value) \
                else None
        elif isinstance(value, dict):
            value = value.get(name)
        else:
            value = None
    return value


class VtlMap(dict[str, Any]):
    """A JSON object or parameter map with the ``java.util.Map`` methods templates call."""

    def size(self) -> int:
        return len(self)

    def isEmpty(self) -> bool:
        return not self

    def keySet(self) -> list[str]:
        return list(self)

    def containsKey(self, key: str) -> bool:
        return key in self

    def put(self, key: str, value: Any) -> Any:
        previous = self.get(key)
        self[key] = value
        return previous

    def toString(self) -> str:
        return str(self)

    def __str__(self) -> str:  # Java's AbstractMap.toString: {a=1, b=2}
        return "{" + ", ".join(f"{k}={_text(v)}" for k, v in self.items()) + "}"


class VtlList(list[Any]):
    """A JSON array with the ``java.util.List`` methods templates call."""

    def size(self) -> int:
        return len(self)

    def isEmpty(self) -> bool:
        return not self

    def toString(self) -> str:
        return "[" + ", ".join(_text(v) for v in self) + "]"


def vtl_value(value: Any) -> Any:
    """JSON values as template objects (maps and lists with Java's methods)."""
    if isinstance(value, dict):
        return VtlMap((k, vtl_value(v)) for k, v in value.items())
    if isinstance(value, list):
        return VtlList(vtl_value(v) for v in value)
    return value


class VtlInput:
    """``$input``: the payload the template transforms and the method request parameters."""

    def __init__(self, body: str, params: dict[str, dict[str, str]] | None = None) -> None:
        self._body = body
        self._params = vtl_value({"path": {}, "querystring": {}, "header": {},
                                  **(params or {})})

    @property
    def body(self) -> str:
        """"Returns the raw request payload as a string"."""
        return self._body

    def params(self, name: str | None = None) -> Any:
        """``params()``: "a map of all the request parameters" (``path``, ``querystring``,
        ``header``); ``params(x)``: the value of ``x`` "from the path, query string, or header
        value (searched in that order)", an empty string when there is none."""
        if name is None:
            return self._params
        for where in ("path", "querystring", "header"):
            if name in self._params[where]:
                return self._params[where][name]
        return ""

    def _document(self) -> Any:
        if not self._body.strip():
            return {}
        try:
            return json.loads(self._body)
        except ValueError:
            raise TemplateError("the payload is not JSON: $input.path and $input.json "
                                "cannot read it") from None

    def path(self, expression: str) -> Any:
        """"a JSON object representation of the result" (maps and lists VTL can walk)."""
        return vtl_value(jsonpath(self._document(), expression))

    def json(self, expression: str) -> str:
        """"the results as a JSON string"."""
        return json.dumps(jsonpath(self._document(), expression), separators=(",", ":"),
                          ensure_ascii=False)


class VtlUtil:
    """``$util``: "Unless otherwise specified, the default character set is UTF-8"."""

    @staticmethod
    def escapeJavaScript(value: Any) -> str:
        r"""Escapes "using JavaScript string rules", single quotes included (``'`` → ``\'``,
        which is not valid JSON: the reference says to undo it for JSON). The rules of Apache
        Commons Lang's ``escapeJavaScript``: ``"``, ``\``, ``/`` and controls escaped, other
        characters above U+007F as ``\uXXXX``.

        >>> print(VtlUtil.escapeJavaScript("it's \"é\"/\n"))
        it\'s \"\u00E9\"\/\n
        """
        out = []
        for char in _text(value):
            code = ord(char)
            if char in _JS_ESCAPES:
                out.append(_JS_ESCAPES[char])
            elif code < 0x20 or code > 0x7F:
                encoded = char.encode("utf-16-be", errors="surrogatepass")
                out.extend(f"\\u{encoded[i:i + 2].hex().upper()}"
                           for i in range(0, len(encoded), 2))
            else:
                out.append(char)
        return "".join(out)

    @staticmethod
    def parseJson(value: Any) -> Any:
        """"Takes 'stringified' JSON and returns an object representation of the result"."""
        try:
            return vtl_value(json.loads(_text(value)))
        except ValueError:
            raise TemplateError("$util.parseJson: the string is not JSON") from None

    @staticmethod
    def urlEncode(value: Any) -> str:
        """"Converts a string into 'application/x-www-form-urlencoded' format"."""
        return form_encode(_text(value))

    @staticmethod
    def urlDecode(value: Any) -> str:
        """"Decodes an 'application/x-www-form-urlencoded' string"."""
        from urllib.parse import unquote_plus

        return unquote_plus(_text(value))

    @staticmethod
    def base64Encode(value: Any) -> str:
        """"Encodes the data into a base64-encoded string" (of its UTF-8 bytes)."""
        return base64.b64encode(_text(value).encode("utf-8")).decode("ascii")

    @staticmethod
    def base64Decode(value: Any) -> str:
        """"Decodes the data from a base64-encoded string" (a string: bytes that are not
        UTF-8 do not survive, which is why binary bodies use ``contentHandling`` instead)."""
        try:
            return base64.b64decode(_text(value)).decode("utf-8", errors="replace")
        except (binascii.Error, ValueError):
            raise TemplateError("$util.base64Decode: not base64") from None


_JS_ESCAPES = {"'": "\\'", '"': '\\"', "\\": "\\\\", "/": "\\/", "\b": "\\b", "\f": "\\f",
               "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _text(value: Any) -> str:
    """A template value as Java's ``toString`` would print it for strings, numbers, booleans."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else str(value)


@dataclass
class Rendered:
    """A template's output and the overrides it set (``status`` 0 when not overridden)."""

    output: str
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)


def render(template: str, *, body: str = "", params: dict[str, dict[str, str]] | None = None,
           context: dict[str, Any] | None = None,
           stage_variables: dict[str, str] | None = None) -> Rendered:
    """Render ``template`` with ``$input``, ``$util``, ``$context`` and ``$stageVariables``."""
    ctx = vtl_value(dict(context or {}))
    override = VtlMap(status=None, header=VtlMap())
    ctx["responseOverride"] = override
    namespace = {"input": VtlInput(body, params), "util": VtlUtil(), "context": ctx,
                 "stageVariables": VtlMap(stage_variables or {})}
    try:
        output = _compiled(template).merge(namespace)
    except TemplateError:
        raise
    except Exception as exc:  # airspeed's own errors: the template cannot be applied
        raise TemplateError(f"{type(exc).__name__}: {exc}") from exc
    status = override.get("status")
    # "AWS ignores the status if the override isn't an integer between 100 and 599" is what
    # LocalStack observed; lamroute only sets statuses it already checked.
    code = status if isinstance(status, int) and 100 <= status <= 599 else 0
    headers = {str(k): _text(v) for k, v in (override.get("header") or {}).items()}
    return Rendered(output, code, headers)


_CACHE: dict[str, Any] = {}


def _compiled(template: str) -> Any:
    import airspeed  # the optional dependency, for apps served with --integration custom

    found = _CACHE.get(template)
    if found is None:
        found = _CACHE[template] = airspeed.Template(template)
    return found
