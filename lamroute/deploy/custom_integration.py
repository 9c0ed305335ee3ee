"""lamroute's custom (non-proxy) Lambda integration for a REST API: the mapping templates and
integration responses of every route (``lamroute template --integration custom``).

Why: with a proxy integration, a failed invocation (timeout, crash, out of memory) reaches the
client as the gateway's ``{"message": "Internal server error"}``. A custom integration maps the
function's errors itself: its integration responses catch them by ``selectionPattern`` and answer
RFC 9457 problems (504 for a timeout, 502 otherwise).

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

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, ClassVar

from ..formats import CUSTOM_MARKER as MARKER  # the event's `lamroute` key
from .auth import TemplateError
from .definition import Integration, invoke_uri
from .routes import GatewayRoute

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

# Velocity in API Gateway and the local engine (airspeed) disagree on backslashes inside string
# literals, so the templates contain none: the problem bodies are built with $q for a quote.
# `$context.path` is the only client text in them: escapeJavaScript makes it JSON-safe except
# for `'` (it writes `\'`, not valid JSON: mapping template reference, $util.escapeJavaScript),
# which is percent-encoded first.
_PROBLEM = (
    "#set($q = '\"')"
    "#set($instance = $util.escapeJavaScript($context.path.replace(\"'\", \"%27\")))"
    "#set($problem = \"{${q}type${q}:${q}about:blank${q},${q}title${q}:${q}{title}${q},"
    "${q}status${q}:{status},${q}detail${q}:${q}{detail}${q},${q}instance${q}:${q}$instance${q},"
    "${q}request_id${q}:${q}$context.requestId${q}}\")"
    "#set($context.responseOverride.status = {status})"
    "#set($discard = $context.responseOverride.header.put('Content-Type', "
    "'application/problem+json'))"
)
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


def response_template(*, binary: bool = True) -> str:
    """The default integration response's template: applies lamroute's answer, or answers a
    function error no ``selectionPattern`` caught with a 502 problem.

    One line: whatever the template prints is the body. Each override is set once ("Overrides
    are final... Trying to override the same parameter multiple times will result in 5XX").
    """
    problem = _problem_template(502, "Bad Gateway", _FAILED_DETAIL, binary=binary)
    return ("#set($r = $input.path('$'))"
            "#if($r.statusCode)"
            "#set($context.responseOverride.status = $r.statusCode)"
            "#foreach($k in $r.headers.keySet())"
            "#set($discard = $context.responseOverride.header.put($k, $r.headers.get($k)))#end"
            "$!r.body"
            "#{else}" + problem + "#end")


def _problem_template(status: int, title: str, detail: str, *, binary: bool) -> str:
    body = "$util.base64Encode($problem)" if binary else "$problem"
    return (_PROBLEM.replace("{title}", title).replace("{status}", str(status))
            .replace("{detail}", detail) + body)


def error_template(status: int, *, binary: bool = True) -> str:
    """The template of a function-error integration response: a ``status`` problem."""
    if status == 504:
        return _problem_template(504, "Gateway Timeout", _TIMEOUT_DETAIL, binary=binary)
    return _problem_template(status, "Bad Gateway", _FAILED_DETAIL, binary=binary)


METHOD_RESPONSES: dict[str, Any] = {
    "200": {"description": "The app's answer (its status is set by the response template)"},
    "502": {"description": "The function failed: an RFC 9457 problem"},
    "504": {"description": "The function timed out: an RFC 9457 problem"},
}
"""The method responses the integration responses name (the answer's real status comes from
``$context.responseOverride.status``)."""


def integration(uri: Any, *, binary: bool = True,
                content_types: Iterable[str] = DEFAULT_CONTENT_TYPES,
                timeout_s: float | None = None) -> dict[str, Any]:
    """The ``x-amazon-apigateway-integration`` object invoking the function at ``uri`` (its
    invocation URI, a CloudFormation intrinsic in a template); ``timeout_s`` the integration
    timeout (API Gateway's default, 29 s, when ``None``)."""
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
            "default": answer(200, response_template(binary=binary)),
            TIMEOUT_PATTERN: answer(504, error_template(504, binary=binary)),
            RUNTIME_PATTERN: answer(502, error_template(502, binary=binary)),
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
    about 2.5 KB, in every operation)."""

    binary: bool = True
    content_types: tuple[str, ...] = DEFAULT_CONTENT_TYPES
    binary_media_types: ClassVar[tuple[str, ...]] = ("*/*",)
    """What the API needs: every request body with a ``Content-Type`` reaches the request
    template base64-encoded (``CONVERT_TO_TEXT`` of a binary payload)."""

    def __call__(self, api: str, timeout_s: float) -> Integration:
        if api != "rest":
            raise TemplateError("the custom (non-proxy) integration needs --api rest (HTTP APIs "
                                "only have proxy integrations for Lambda)")
        spec = integration(invoke_uri(), binary=self.binary, content_types=self.content_types,
                           timeout_s=timeout_s)

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
