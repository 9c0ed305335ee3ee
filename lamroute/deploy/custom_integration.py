"""lamroute's custom (non-proxy) Lambda integration for a REST API: the mapping templates and
integration responses of every route (``lamroute template --integration custom``).

Why: with a proxy integration, a failed invocation (timeout, crash, out of memory) reaches the
client as the gateway's ``{"message": "Internal server error"}``. A custom integration maps the
function's errors itself: its integration responses catch them by ``selectionPattern`` and answer
them as the app answers its own errors (504 for a timeout, 502 otherwise): the body its
``error_formatter`` gives the problem (RFC 9457 problem+json by default) and its CORS headers,
as the gateway responses do (:class:`ErrorShape`).

- The request template (VTL) writes the event ``lamroute.formats.custom`` reads: method,
  ``$context.path``, resource and path parameters, headers, query string, the body in base64,
  request id, source IP, the caller's IAM identity and authorizer output. Client-controlled
  strings go through ``$util.urlEncode``, whose output needs no JSON escaping.
- The default integration response applies lamroute's answer: ``$context.responseOverride.status``
  and one ``$context.responseOverride.header`` per header, the body as the template's output.
  With ``binary=True`` (the default) the answer's body is always base64 and the integration
  response converts the template's output back to bytes (``contentHandling:
  CONVERT_TO_BINARY``): text and binary bodies alike reach the client unchanged. With
  ``binary=False`` the body travels as text (``CONVERT_TO_TEXT``) and lamroute refuses to send a
  body that is not UTF-8.
- The request integration has ``contentHandling: CONVERT_TO_TEXT`` and the API needs
  ``BinaryMediaTypes: ["*/*"]``: every request body with a ``Content-Type`` then reaches the
  template base64-encoded in ``$input.body``.

:class:`CustomLambdaIntegration` is the template builder's ``integration`` (see
:mod:`lamroute.deploy.builder`): routes, authorizers, gateway responses and the other options
stay what they are with the proxy; only each operation's integration changes.

References (quoted in the templates' comments below):
https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-mapping-template-reference.html
https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-override-request-response-parameters.html
https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-payload-encodings-workflow.html
https://docs.aws.amazon.com/apigateway/latest/developerguide/integration-passthrough-behaviors.html

>>> from lamroute.deploy.routes import GatewayRoute
>>> build = CustomLambdaIntegration()("rest", 29.0)
>>> operation = build(GatewayRoute("/{proxy+}", "ANY"))
>>> integration = operation["x-amazon-apigateway-integration"]
>>> integration["type"], integration["timeoutInMillis"], sorted(integration["responses"])
('aws', 29000, ['.*Runtime.*', '.*Task timed out.*', 'default'])
>>> sorted(operation["responses"])
['200', '502', '504']
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, ClassVar

from ..errors import Problem, status_phrase
from ..formats import CUSTOM_MARKER as MARKER  # the event's `lamroute` key
from .auth import TemplateError
from .definition import Integration, invoke_uri
from .gateway_responses import PATH, REQUEST_ID, Formatter, cors_headers, render_problem
from .routes import GatewayRoute

if TYPE_CHECKING:
    from ..security.cors import CORS

DEFAULT_CONTENT_TYPES: tuple[str, ...] = (
    "application/json", "application/x-www-form-urlencoded", "multipart/form-data",
    "application/octet-stream", "application/xml", "application/pdf", "text/plain",
    "text/html", "text/csv", "text/xml", "image/png", "image/jpeg", "image/gif", "image/webp",
)
"""Content types the request template is registered for. API Gateway picks a request template
by the request's ``Content-Type`` (no wildcard; a request without one counts as
``application/json``) and, with ``passthroughBehavior: NEVER``, answers 415 for any other type
rather than send the function a body it cannot read. Each type repeats the template in the
OpenAPI body (about 2 KB each, twice): pass ``content_types=`` to add the ones your API takes.
https://docs.aws.amazon.com/apigateway/latest/developerguide/integration-passthrough-behaviors.html"""

TIMEOUT_PATTERN = ".*Task timed out.*"
"""Lambda's timeout ``errorMessage`` is ``<timestamp> <request id> Task timed out after 3.00
seconds`` (or starts with ``Task timed out``); API Gateway matches ``selectionPattern`` against
the whole ``errorMessage`` of a function error, hence the leading ``.*``."""
RUNTIME_PATTERN = ".*Runtime.*"
"""Runtime failures: ``Runtime exited with error: signal: killed`` (out of memory),
``Runtime.ExitError``, ``Runtime.ImportModuleError``... Any other function error falls to the
default integration response, whose template answers it with a 502 problem too."""

_TIMEOUT_DETAIL = "The function did not answer in time; quote the request_id when reporting it."
_FAILED_DETAIL = ("The function failed before it could answer; quote the request_id when "
                  "reporting it.")

_PAIRS = ("{{#foreach($k in {source}.keySet())\"$util.urlEncode($k)\": "
          "\"$util.urlEncode({source}.get($k))\"#if($foreach.hasNext), #end#end}}")
# The caller's API key and IAM identity (an IAM-authorized route's caller is read from them).
_IDENTITY = ("apiKey", "apiKeyId", "userArn", "caller", "user", "accessKey", "accountId")
_CLAIMS = ("sub", "cognito:username", "email", "cognito:groups", "scope", "client_id",
           "token_use")


def request_template(*, binary: bool = True) -> str:
    """The request mapping template: the event ``lamroute.formats.custom`` reads.

    ``$input.params()`` holds one value per header and query key: repeated ones cannot reach
    the function. ``$context.authorizer`` is walked for a Lambda authorizer's output; a Cognito
    user pool's claims cannot be listed (``$context.authorizer.claims`` "returns null"), so the
    usual ones are named.
    """
    claims = ", ".join(
        f"\"{_url_literal(name)}\": "
        f"\"$util.urlEncode(\"$!context.authorizer.claims{_claim(name)}\")\""
        for name in _CLAIMS)
    return "\n".join([
        "#set($p = $input.params())",
        "#set($h = $p.header)",
        "#set($ct = \"$!h.get('Content-Type')$!h.get('content-type')\")",
        "#set($b = \"$!input.body\")",
        # With BinaryMediaTypes */* and CONVERT_TO_TEXT, a body with a Content-Type reaches the
        # template base64-encoded (payload encodings workflow: "Binary data ... CONVERT_TO_TEXT
        # -> Base64-encoded string"); a body without one is text: encode it here.
        "#if($ct == \"\")#set($b = $util.base64Encode($b))#elseif($b == \"{}\")#set($b = \"\")#end",
        "{",
        f"\"lamroute\": \"{MARKER}\",",
        f"\"responseEncoding\": \"{'base64' if binary else 'text'}\",",
        "\"method\": \"$context.httpMethod\",",
        "\"path\": \"$util.urlEncode($context.path)\",",
        "\"resource\": \"$context.resourcePath\",",
        "\"pathParameters\": " + _PAIRS.format(source="$p.path") + ",",
        "\"headers\": " + _PAIRS.format(source="$h") + ",",
        "\"queryStringParameters\": " + _PAIRS.format(source="$p.querystring") + ",",
        "\"body\": \"$b\",",
        "\"isBase64Encoded\": true,",
        "\"requestContext\": {",
        "\"requestId\": \"$context.requestId\",",
        "\"extendedRequestId\": \"$context.extendedRequestId\",",
        "\"stage\": \"$context.stage\",",
        "\"domainName\": \"$util.urlEncode($context.domainName)\",",
        "\"apiId\": \"$context.apiId\",",
        "\"accountId\": \"$context.accountId\",",
        "\"resourcePath\": \"$context.resourcePath\",",
        "\"httpMethod\": \"$context.httpMethod\",",
        "\"protocol\": \"$context.protocol\",",
        "\"requestTimeEpoch\": \"$context.requestTimeEpoch\",",
        "\"identity\": {\"sourceIp\": \"$context.identity.sourceIp\", "
        "\"userAgent\": \"$util.urlEncode(\"$!context.identity.userAgent\")\", "
        + ", ".join(f"\"{name}\": \"$util.urlEncode(\"$!context.identity.{name}\")\""
                    for name in _IDENTITY) + "},",
        "\"authorizer\": " + _PAIRS.format(source="$context.authorizer").replace(
            "{#foreach", "{#if($context.authorizer)#foreach").replace("#end#end}", "#end#end#end}")
        + ",",
        "\"claims\": {" + claims + "}",
        "}",
        "}",
    ])


@dataclass(frozen=True)
class ErrorShape:
    """How the integration responses answer a function error: the body, media type and headers
    the app's ``error_formatter`` gives the problem (lamroute's problem+json by default) and the
    app's CORS headers, as the gateway responses have them
    (:mod:`lamroute.deploy.gateway_responses`), rendered once, when the template is written."""

    formatter: Formatter | None = None
    cors: CORS | None = None

    @classmethod
    def of(cls, app: Any) -> ErrorShape:
        """The shape of ``app``'s own error answers (the default one without an app)."""
        return cls(getattr(getattr(app, "boundary", None), "formatter", None),
                   getattr(app, "cors", None))


def response_template(*, binary: bool = True, shape: ErrorShape = ErrorShape()) -> str:
    """The default integration response's template: applies lamroute's answer, or answers a
    function error no ``selectionPattern`` caught with a 502 problem.

    One line: whatever the template prints is the body. Each override is set once ("Overrides
    are final... Trying to override the same parameter multiple times will result in 5XX").
    """
    problem = error_template(502, binary=binary, shape=shape)
    return ("#set($r = $input.path('$'))"
            "#if($r.statusCode)"
            "#set($context.responseOverride.status = $r.statusCode)"
            "#foreach($k in $r.headers.keySet())"
            "#set($discard = $context.responseOverride.header.put($k, $r.headers.get($k)))#end"
            "$!r.body"
            "#{else}" + problem + "#end")


def error_template(status: int, *, binary: bool = True, shape: ErrorShape = ErrorShape(),
                   notes: list[str] | None = None) -> str:
    """The template of a function-error integration response: a ``status`` problem (504: the
    function timed out) as the app's error formatter renders it, with its headers and the
    app's CORS headers, set with ``$context.responseOverride.header`` (an integration
    response's ``responseParameters`` cannot read the request's ``Origin``, and on the default
    response they would apply to the app's own answers too).
    https://docs.aws.amazon.com/apigateway/latest/developerguide/rest-api-parameter-mapping-sources.html
    """
    detail = _TIMEOUT_DETAIL if status == 504 else _FAILED_DETAIL
    problem = Problem(status, status_phrase(status), detail, instance=PATH,
                      request_id=REQUEST_ID)
    rendered = render_problem(problem, shape.formatter, notes)
    kind = rendered.content_type.split(";", 1)[0].strip().lower()
    # `$context.path` is the only client text in the body: for JSON, escapeJavaScript makes it
    # safe except for `'` (it writes `\'`, not valid JSON: mapping template reference,
    # $util.escapeJavaScript), which is percent-encoded first.
    instance = ("$util.escapeJavaScript($context.path.replace(\"'\", \"%27\"))"
                if kind.endswith("json") else "$context.path")
    literal = _Literal()
    parts = [f"#set($instance = {instance})",
             f"#set($problem = {literal.string(rendered.body, path='${instance}')})",
             f"#set($context.responseOverride.status = {status})",
             _put(literal, "Content-Type", rendered.content_type)]
    parts += [_put(literal, name, value) for name, value in rendered.headers.items()]
    for name, value in (cors_headers(shape.cors) if shape.cors is not None else {}).items():
        if value is not None:
            parts.append(_put(literal, name, value))
        else:  # echo the request's Origin (`$input.params()` are the method request's)
            parts.append("#set($origin = \"$!input.params().header.get('Origin')"
                         "$!input.params().header.get('origin')\")"
                         "#if($origin != \"\")#set($discard = $context.responseOverride.header"
                         ".put('Access-Control-Allow-Origin', $origin))#end")
    output = "$util.base64Encode($problem)" if binary else "$problem"
    return literal.definitions() + "".join(parts) + output


def _put(literal: _Literal, name: str, value: str) -> str:
    return (f"#set($discard = $context.responseOverride.header.put({literal.string(name)}, "
            f"{literal.string(value)}))")


class _Literal:
    """Text as a VTL string literal that API Gateway's Velocity and the local engine (airspeed)
    read alike. They disagree on backslashes inside string literals, and ``$``, ``#`` and
    ``"`` mean something there: each such character (and any control character) is a variable
    holding it (``$q`` for a quote, the others ``$util.urlDecode('%XX')``), defined once. The
    problem's placeholders become ``$context.path`` (or ``path``) and ``$context.requestId``."""

    def __init__(self) -> None:
        self.used: dict[str, str] = {}

    def string(self, text: str, *, path: str = "${context.path}") -> str:
        tokens = {REQUEST_ID: "${context.requestId}", PATH: path}
        out = []
        for piece in re.split("(" + "|".join(map(re.escape, tokens)) + ")", text):
            if piece in tokens:
                out.append(tokens[piece])
                continue
            for char in piece:
                if char in "\"$#\\" or ord(char) < 0x20 or ord(char) == 0x7F:
                    name = "q" if char == '"' else f"c{ord(char):02X}"
                    self.used[name] = char
                    out.append("${" + name + "}")
                else:
                    out.append(char)
        return '"' + "".join(out) + '"'

    def definitions(self) -> str:
        return "".join("#set($q = '\"')" if name == "q"
                       else f"#set(${name} = $util.urlDecode('%{ord(char):02X}'))"
                       for name, char in sorted(self.used.items()))


METHOD_RESPONSES: dict[str, Any] = {
    "200": {"description": "The app's answer (its status is set by the response template)"},
    "502": {"description": "The function failed: a problem, in the app's error shape"},
    "504": {"description": "The function timed out: a problem, in the app's error shape"},
}
"""The method responses the integration responses name (the answer's real status comes from
``$context.responseOverride.status``)."""


def integration(uri: Any, *, binary: bool = True,
                content_types: Iterable[str] = DEFAULT_CONTENT_TYPES,
                timeout_s: float | None = None,
                shape: ErrorShape = ErrorShape()) -> dict[str, Any]:
    """The ``x-amazon-apigateway-integration`` object invoking the function at ``uri`` (its
    invocation URI, a CloudFormation intrinsic in a template); ``timeout_s`` the integration
    timeout (API Gateway's default, 29 s, when ``None``); ``shape`` the app's error answers."""
    handling = "CONVERT_TO_BINARY" if binary else "CONVERT_TO_TEXT"
    template = request_template(binary=binary)

    def answer(status: int, body: str) -> dict[str, Any]:
        return {"statusCode": str(status), "contentHandling": handling,
                "responseTemplates": {"application/json": body}}

    spec: dict[str, Any] = {
        "type": "aws",
        "httpMethod": "POST",  # Lambda's Invoke API, whatever the client's method
        "uri": uri,
        "passthroughBehavior": "never",
        "contentHandling": "CONVERT_TO_TEXT",
        "requestTemplates": {kind: template for kind in content_types},
        "responses": {
            "default": answer(200, response_template(binary=binary, shape=shape)),
            TIMEOUT_PATTERN: answer(504, error_template(504, binary=binary, shape=shape)),
            RUNTIME_PATTERN: answer(502, error_template(502, binary=binary, shape=shape)),
        },
    }
    if timeout_s is not None:
        spec["timeoutInMillis"] = int(timeout_s * 1000)
    return spec


@dataclass(frozen=True)
class CustomLambdaIntegration:
    """The template builder's ``integration`` for lamroute's custom integration
    (``TemplateOptions(integration=CustomLambdaIntegration())``): every operation of the REST
    API invokes the function through the mapping templates, with the method responses its
    integration responses name. ``binary=False``: text-only answers (``custom-text``);
    ``content_types``: the request bodies the API takes (each repeats the request template,
    about 2.5 KB, in every operation); ``shape``: how its own error answers look (the builder
    gives it the app's, see :meth:`for_template`)."""

    binary: bool = True
    content_types: tuple[str, ...] = DEFAULT_CONTENT_TYPES
    shape: ErrorShape = ErrorShape()
    binary_media_types: ClassVar[tuple[str, ...]] = ("*/*",)
    """What the API needs: every request body with a ``Content-Type`` reaches the request
    template base64-encoded (``CONVERT_TO_TEXT`` of a binary payload)."""

    def for_template(self, app: Any, notes: list[str]) -> CustomLambdaIntegration:
        """This integration for ``app``'s template: its error answers in the app's shape, and
        ``application/json`` among the content types (a request without ``Content-Type``,
        every ``GET``, counts as ``application/json``: without its template API Gateway
        answers 415 to it). What was added or could not be carried over is said in
        ``notes``."""
        content_types = self.content_types
        if "application/json" not in (kind.lower() for kind in content_types):
            content_types = ("application/json", *content_types)
            notes.append("--content-type: application/json added (API Gateway picks the "
                         "request template of a request without Content-Type, every GET, "
                         "as application/json: without it they would all be refused 415)")
        shape = ErrorShape.of(app) if app is not None else self.shape
        error_template(502, shape=shape, notes=notes)  # a formatter that fails is said
        return replace(self, content_types=content_types, shape=shape)

    def __call__(self, api: str, timeout_s: float) -> Integration:
        if api != "rest":
            raise TemplateError("the custom (non-proxy) integration needs --api rest (HTTP APIs "
                                "only have proxy integrations for Lambda)")
        spec = integration(invoke_uri(), binary=self.binary, content_types=self.content_types,
                           timeout_s=timeout_s, shape=self.shape)

        def build(route: GatewayRoute) -> dict[str, Any]:
            return {"responses": dict(METHOD_RESPONSES),
                    "x-amazon-apigateway-integration": dict(spec)}

        return build


def _claim(name: str) -> str:
    # `$context.authorizer.claims.property`; a name with a colon needs Velocity's index syntax.
    return f"['{name}']" if ":" in name else f".{name}"


def _url_literal(name: str) -> str:
    # A claim name as `$util.urlEncode` would write it (it is the key of the JSON object).
    return name.replace(":", "%3A")
