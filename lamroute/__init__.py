"""lamroute: a small, fast handler framework for AWS Lambda behind Amazon API Gateway.

>>> from lamroute import App
>>> app = App(title="Notes")
>>> @app.get("/health")
... def health() -> dict[str, str]:
...     return {"status": "ok"}
"""

from .app import App
from .auth import Identity
from .compression import Compression
from .cors import CORS
from .deadline import Timeout
from .errors import (
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
from .guards import requires
from .markers import Body, Cookie, Depends, Header, LambdaContext, Path, Query
from .multidict import Headers, QueryParams
from .problems import Problem
from .request import Request
from .response import Response
from .router import Route, Router
from .validation import RequestValidationError

__all__ = [
    "CORS",
    "App",
    "BadRequest",
    "Body",
    "Compression",
    "Conflict",
    "Cookie",
    "Depends",
    "Forbidden",
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
    "requires",
]

__version__ = "0.1.0"
