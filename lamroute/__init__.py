"""lamroute: a small, fast handler framework for AWS Lambda behind Amazon API Gateway.

>>> from lamroute import App
>>> app = App(title="Notes")
>>> @app.get("/health")
... def health() -> dict[str, str]:
...     return {"status": "ok"}
"""

import importlib
import typing as _typing

from .app import App
from .exceptions import (
    BadRequest,
    Conflict,
    Forbidden,
    GatewayTimeout,
    HTTPError,
    InternalServerError,
    InvalidEvent,
    LamrouteError,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    ResponseError,
    RouteDefinitionError,
    ServiceUnavailable,
    TooManyRequests,
    Unauthorized,
    UnprocessableEntity,
    UnsupportedMediaType,
)
from .http.multidict import Headers, QueryParams
from .http.request import Request
from .http.response import RedirectResponse, Response
from .params.markers import Body, Cookie, Depends, File, Form, Header, LambdaContext, Path, Query
from .params.validation import RequestValidationError
from .routing import Router
from .routing.routes import Compression, Route, Timeout

__all__ = [
    "CORS",
    "App",
    "BadRequest",
    "Body",
    "Compression",
    "Conflict",
    "Cookie",
    "Depends",
    "File",
    "Forbidden",
    "Form",
    "FormData",
    "GatewayTimeout",
    "HTTPError",
    "Header",
    "Headers",
    "Identity",
    "InternalServerError",
    "InvalidEvent",
    "LambdaContext",
    "LamrouteError",
    "MethodNotAllowed",
    "NotFound",
    "Path",
    "PayloadTooLarge",
    "Problem",
    "Query",
    "QueryParams",
    "RedirectResponse",
    "Request",
    "RequestValidationError",
    "Response",
    "ResponseError",
    "Route",
    "RouteDefinitionError",
    "Router",
    "ServiceUnavailable",
    "Timeout",
    "TooManyRequests",
    "Unauthorized",
    "UnprocessableEntity",
    "UnsupportedMediaType",
    "UploadFile",
    "requires",
]

__version__ = "0.1.0"

# Loaded on first use: an app without auth, CORS or forms never pays for these modules at cold
# start (nor for Problem, built by the first error answer).
_LAZY = {"CORS": "security.cors", "Identity": "http.identity", "requires": "security.guards",
         "FormData": "http.forms", "UploadFile": "http.forms", "Problem": "errors.problem"}

if _typing.TYPE_CHECKING:
    from .errors.problem import Problem
    from .http.forms import FormData, UploadFile
    from .http.identity import Identity
    from .security.cors import CORS
    from .security.guards import requires


def __getattr__(name: str) -> _typing.Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'lamroute' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
