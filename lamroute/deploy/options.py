"""What ``lamroute template`` builds: the function's and the template's options, checked when
they are made (what API Gateway and Lambda would refuse at deployment is refused here).

>>> TemplateOptions(api="http", stage="$default").stage
'$default'
>>> FunctionOptions(memory=64)
Traceback (most recent call last):
...
lamroute.deploy.auth.TemplateError: --memory is 128-10240 MB
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from .auth import AuthOptions, TemplateError
from .definition import Integration
from .websocket import DEFAULT_ROUTE_SELECTION

SAM_TRANSFORM = "AWS::Serverless-2016-10-31"
DEFAULT_RUNTIME = "python3.11"
API_ID = "Api"
# Integration timeouts: REST 29 s (raisable for Regional APIs), HTTP 30 s, WebSocket 29 s.
# https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html
# https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html
MAX_INTEGRATION_S = {"rest": 300.0, "http": 30.0, "websocket": 29.0}
DEFAULT_INTEGRATION_S = {"rest": 29.0, "http": 30.0, "websocket": 29.0}
_STAGE = re.compile(r"^[A-Za-z0-9_-]{1,128}$")


@dataclass(frozen=True)
class FunctionOptions:
    """The Lambda function: ``timeout=None`` is one second below the integration timeout."""

    runtime: str = DEFAULT_RUNTIME
    code_uri: str = "."
    memory: int = 512
    timeout: int | None = None
    architecture: str = "arm64"

    def __post_init__(self) -> None:
        # https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html
        if not 128 <= self.memory <= 10240:
            raise TemplateError("--memory is 128-10240 MB")
        if self.architecture not in ("arm64", "x86_64"):
            raise TemplateError("--architecture is arm64 or x86_64")
        if self.timeout is not None and not 1 <= self.timeout <= 900:
            raise TemplateError("--timeout is 1-900 seconds")


@dataclass(frozen=True)
class TemplateOptions:
    """What to build. ``api``: ``"rest"`` or ``"http"``; ``per_route``: one API route per app
    route instead of a proxy; ``binary_media_types``: ``None`` to detect (``*/*`` when the app
    uses binary bodies); ``throttle``: ``(rate, burst)`` for the stage."""

    api: str = "rest"
    stage: str | None = None
    per_route: bool = False
    function: FunctionOptions = field(default_factory=FunctionOptions)
    auth: AuthOptions = field(default_factory=AuthOptions)
    integration_timeout: float | None = None
    binary_media_types: tuple[str, ...] | None = None
    gateway_responses: bool = True
    throttle: tuple[float, int] | None = None
    route_selection: str = DEFAULT_ROUTE_SELECTION
    two_way: bool = True
    manage_connections: bool | None = None
    integration: Callable[[str, float], Integration] | None = None
    """``(api, timeout_s) -> Integration``; the Lambda proxy when ``None``. An integration
    that needs REST binary media types of its own names them in a ``binary_media_types``
    attribute (:class:`~lamroute.deploy.custom_integration.CustomLambdaIntegration`: ``*/*``);
    one with a ``for_template(app, notes)`` method is given the app first (the custom one
    answers function errors in the app's error shape); one that cannot serve ``api`` raises
    :class:`TemplateError`."""

    def __post_init__(self) -> None:
        if self.api not in ("rest", "http"):
            raise TemplateError("api must be 'rest' or 'http'")
        if self.stage is not None and not (_STAGE.match(self.stage) or (
                self.stage == "$default" and self.api == "http")):
            raise TemplateError(f"stage {self.stage!r}: letters, digits, - and _ only"
                                + (" (or $default)" if self.api == "http" else ""))
        if self.throttle is not None and (self.throttle[0] < 0 or self.throttle[1] < 0):
            raise TemplateError("throttling rate and burst are >= 0")


def check_binary_media_types(needed: tuple[str, ...], chosen: tuple[str, ...] | None) -> None:
    """Refuse binary media types (``--binary-media-type``) other than the ones an integration
    needs (``lamroute template`` and ``lamroute serve`` say it in the same words).

    >>> check_binary_media_types(("*/*",), ("image/png",))
    Traceback (most recent call last):
    ...
    lamroute.deploy.auth.TemplateError: the integration needs the binary media types */* (its \
request template reads every body base64-encoded): drop --binary-media-type
    """
    if chosen is not None and set(chosen) != set(needed):
        raise TemplateError(
            f"the integration needs the binary media types {', '.join(needed)} (its request "
            "template reads every body base64-encoded): drop --binary-media-type")
