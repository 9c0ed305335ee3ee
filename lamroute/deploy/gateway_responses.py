"""The REST API's own error answers (gateway responses) as lamroute problems.

API Gateway answers some requests itself, without invoking the function: a throttled request, an
authorizer's refusal, a timed-out or failed invocation, an unknown route. A REST API can shape
those answers (a *gateway response* per type: status, headers, body template); an HTTP API
cannot. :func:`gateway_responses` writes one for every documented type, with the body the app's
own error formatter gives a :class:`~lamroute.errors.Problem` (RFC 9457 ``problem+json`` by
default), the request id and path filled in by the gateway.

>>> responses = gateway_responses()
>>> responses["THROTTLED"]["StatusCode"]
'429'
>>> print(responses["THROTTLED"]["ResponseTemplates"]["application/json"])
{"type":"about:blank","title":"Too Many Requests","status":429,"detail":"Too many requests; \
retry later.","instance":"$context.path","request_id":"$context.requestId"}

Types and default statuses:
https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import SERVER_ERROR_DETAIL, Problem, problem_response, status_phrase
from ..http.response import PROBLEM_TYPE, Response

if TYPE_CHECKING:
    from ..security.cors import CORS

# Placeholders handed to the error formatter, replaced by the gateway's variables afterwards.
# A gateway response template is not VTL: only `$context.*` (and `$stageVariables.*`)
# substitution, and `$context.error.messageString` is the message already in double quotes.
# https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-swagger-extensions-gateway-responses.responseTemplates.html
# https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-mapping-template-reference.html#context-variable-reference
_DETAIL = "@@lamroute-gateway-message@@"
_PATH = "@@lamroute-gateway-path@@"
_REQUEST_ID = "@@lamroute-gateway-request-id@@"
_SUBSTITUTIONS = ((json.dumps(_DETAIL), "$context.error.messageString"),
                  (_DETAIL, "$context.error.message"),
                  (_PATH, "$context.path"),
                  (_REQUEST_ID, "$context.requestId"))
TIMEOUT_DETAIL = "The request took too long to process."  # as lamroute's own deadline says


@dataclass(frozen=True)
class GatewayError:
    """One gateway response type: the status it is answered with and its ``detail``.

    ``detail=None`` keeps the gateway's own message (``$context.error.message``: "User is not
    authorized to access this resource with an explicit deny", "Invalid request body"...).
    """

    type: str
    status: int
    detail: str | None = None
    headers: tuple[tuple[str, str], ...] = ()


# Every documented type is listed with an explicit status: a status on DEFAULT_4XX/DEFAULT_5XX
# also applies to every 4XX/5XX type that has none of its own.
GATEWAY_ERRORS: tuple[GatewayError, ...] = (
    GatewayError("ACCESS_DENIED", 403),
    GatewayError("API_CONFIGURATION_ERROR", 500, SERVER_ERROR_DETAIL),
    GatewayError("AUTHORIZER_CONFIGURATION_ERROR", 500, SERVER_ERROR_DETAIL),
    GatewayError("AUTHORIZER_FAILURE", 500, SERVER_ERROR_DETAIL),
    GatewayError("BAD_REQUEST_BODY", 400),
    GatewayError("BAD_REQUEST_PARAMETERS", 400),
    # Only types AWS adds later fall back on these two. A failed invocation (the function
    # raised, timed out inside Lambda, ran out of memory, or Lambda refused the call) is a
    # DEFAULT_5XX: 502 or 500 by default, always 502 here, with lamroute's 500 detail.
    # https://docs.aws.amazon.com/lambda/latest/dg/services-apigateway-errors.html
    GatewayError("DEFAULT_4XX", 400),
    GatewayError("DEFAULT_5XX", 502, SERVER_ERROR_DETAIL),
    GatewayError("EXPIRED_TOKEN", 403),
    GatewayError("INTEGRATION_FAILURE", 504, SERVER_ERROR_DETAIL),
    GatewayError("INTEGRATION_TIMEOUT", 504, TIMEOUT_DETAIL),
    GatewayError("INVALID_API_KEY", 403, "A valid API key is required."),
    GatewayError("INVALID_SIGNATURE", 403),
    # "Missing Authentication Token" is what a REST API says for a path or method it does not
    # know; without IAM authorization that is all it can mean, so it is a 404 here.
    GatewayError("MISSING_AUTHENTICATION_TOKEN", 404, "No route matches the request."),
    GatewayError("QUOTA_EXCEEDED", 429, "The usage plan's quota is used up; retry later."),
    GatewayError("REQUEST_TOO_LARGE", 413, "The request is larger than API Gateway accepts "
                                           "(10 MB)."),
    GatewayError("RESOURCE_NOT_FOUND", 404),
    GatewayError("THROTTLED", 429, "Too many requests; retry later."),
    GatewayError("UNAUTHORIZED", 401, "Authentication is required.",
                 (("WWW-Authenticate", 'Bearer realm="api"'),)),
    GatewayError("UNSUPPORTED_MEDIA_TYPE", 415),
    GatewayError("WAF_FILTERED", 403, "The request was blocked by the API's firewall rules."),
)
# With IAM authorization an unsigned request is refused with the same type: keep its 403.
_IAM_MISSING_TOKEN = GatewayError("MISSING_AUTHENTICATION_TOKEN", 403)
ERRORS_BY_TYPE = {error.type: error for error in GATEWAY_ERRORS}

Formatter = Callable[[Problem, Any], Any]


def gateway_responses(
    *, formatter: Formatter | None = None, cors: CORS | None = None, iam: bool = False,
    notes: list[str] | None = None,
) -> dict[str, dict[str, Any]]:
    """SAM ``GatewayResponses`` for every type: ``{"THROTTLED": {"StatusCode": "429", ...}}``.

    ``formatter`` is the app's ``error_formatter`` (the default writes ``problem+json``);
    ``cors`` adds the app's CORS headers; ``iam`` keeps MISSING_AUTHENTICATION_TOKEN a 403 (an
    unsigned request to an IAM-authorized route). What could not be carried over is appended
    to ``notes``.
    https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-property-api-gatewayresponse.html
    """
    cors_headers = _cors_headers(cors) if cors is not None else {}
    out: dict[str, dict[str, Any]] = {}
    for error in GATEWAY_ERRORS:
        if iam and error.type == _IAM_MISSING_TOKEN.type:
            error = _IAM_MISSING_TOKEN
        content_type, body, headers = _render(error, formatter or problem_response, notes)
        parameters = {"Content-Type": _static(content_type), **headers, **cors_headers}
        out[error.type] = {
            "StatusCode": str(error.status),
            "ResponseParameters": {"Headers": parameters},
            # The template is chosen by content type; application/json is the one used when
            # the request names none, the Content-Type header above says what it really is.
            "ResponseTemplates": {"application/json": body},
        }
    return out


def problem_for(error: GatewayError) -> Problem:
    """The problem a gateway error stands for, its variable parts still placeholders."""
    return Problem(error.status, status_phrase(error.status),
                   _DETAIL if error.detail is None else error.detail,
                   instance=_PATH, request_id=_REQUEST_ID, headers=list(error.headers))


@dataclass(frozen=True)
class RenderedProblem:
    """A problem as the app's error formatter answers it, rendered once when the template is
    written: its content type, body and other headers, where :data:`PATH` and
    :data:`REQUEST_ID` (and :data:`DETAIL`) stand for the values the gateway fills in."""

    content_type: str
    body: str
    headers: dict[str, str]


PATH, REQUEST_ID, DETAIL = _PATH, _REQUEST_ID, _DETAIL


def render_problem(problem: Problem, formatter: Formatter | None = None,
                   notes: list[str] | None = None) -> RenderedProblem:
    """``problem`` (its ``instance`` :data:`PATH`, its ``request_id`` :data:`REQUEST_ID`) as
    the app's ``formatter`` answers it without a request; a formatter that needs one gives way
    to lamroute's problem+json, said once in ``notes``. Gateway responses and the custom
    integration's integration responses put the gateway's variables in place of the tokens."""
    formatter = formatter or problem_response
    try:
        result = formatter(problem, None)
        response = result if isinstance(result, Response) else Response.json(
            result, problem.status)
    except Exception as exc:  # a formatter that needs a request: the default shape instead
        if notes is not None and formatter is not problem_response and not any(
                "error formatter" in note for note in notes):
            notes.append(f"the app's error formatter failed without a request "
                         f"({type(exc).__name__}: {exc}); gateway responses and the custom "
                         "integration's error answers use lamroute's problem+json")
        response = problem_response(problem, None)
    body = response.body.decode("utf-8", errors="replace")
    content_type = response.headers.get("content-type") or PROBLEM_TYPE
    headers = dict(problem.headers)
    for name, value in response.headers.items():
        if name.lower() not in ("content-type", "content-length") and name not in headers:
            headers[name] = value
    return RenderedProblem(content_type, body, headers)


def _render(error: GatewayError, formatter: Formatter,
            notes: list[str] | None) -> tuple[str, str, dict[str, str]]:
    rendered = render_problem(problem_for(error), formatter, notes)
    body = rendered.body
    for token, variable in _SUBSTITUTIONS:
        body = body.replace(token, variable)
    headers = {}
    for name, value in rendered.headers.items():
        if any(token in value for token in (_DETAIL, _PATH, _REQUEST_ID)):
            continue  # a header from a request value: a gateway response cannot compute it
        headers[name] = _static(value)
    return rendered.content_type, body, headers


def _static(value: str) -> str:
    """A static header value, in the single quotes a gateway response mapping expects."""
    return f"'{value}'"


def _cors_headers(cors: CORS) -> dict[str, str]:
    """The app's CORS headers as gateway response parameters (see :func:`cors_headers`).
    https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-gatewayResponse-definition.html
    """
    return {name: "method.request.header.Origin" if value is None else _static(value)
            for name, value in cors_headers(cors).items()}


def cors_headers(cors: CORS) -> dict[str, str | None]:
    """The CORS headers of the gateway's own error answers; ``None``: the request's ``Origin``.

    They cannot test the Origin against a list: a single exact origin (or ``*``) is sent as
    is, several origins or patterns echo the request's ``Origin`` (these answers carry no data
    of the app, only the problem).

    >>> from lamroute.security.cors import CORS
    >>> cors_headers(CORS(allow_origins=["https://a.example", "https://b.example"]))
    {'Access-Control-Allow-Origin': None, 'Vary': 'Origin'}
    """
    origins = cors.origins
    headers: dict[str, str | None] = {}
    if cors.any_origin and not cors.allow_credentials:
        headers["Access-Control-Allow-Origin"] = "*"
    elif len(origins) == 1 and "*" not in origins[0]:
        headers["Access-Control-Allow-Origin"] = origins[0]
    else:
        headers["Access-Control-Allow-Origin"] = None
        headers["Vary"] = "Origin"
    if cors.allow_credentials:
        headers["Access-Control-Allow-Credentials"] = "true"
    if cors.exposed_headers:
        headers["Access-Control-Expose-Headers"] = cors.exposed_headers
    return headers
