"""``lamroute serve``'s API options: what the local gateway emulates of the API in front of the
function (the template's API settings, the integration, the gateway's own refusals and error
bodies, the authorizers on the routes that require auth).

Not a command itself (``cli`` finds commands by name); :mod:`lamroute.commands.serve` uses it.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path
from typing import Any

from ..cli import UsageError, load_app


def install_authorizer(gateway: Any, args: argparse.Namespace, app: Any = None) -> Any:
    """Put ``--authorizer`` and ``--jwt-claims`` in front of ``gateway``'s invocations, on the
    routes of ``app`` that require auth (see :mod:`lamroute.testing.route_auth`); returns the
    :class:`~lamroute.testing.route_auth.RouteAuthorizers` (the WebSocket server uses them)."""
    from ..local.gateway import local_gateway_hook
    from ..testing.gateway_auth import GatewayAuthorizer
    from ..testing.jwt_authorizer import JwtAuthorizer
    from ..testing.route_auth import RouteAuthorizers

    gate = None
    if args.authorizer:
        handler = load_app(args.authorizer)
        if not callable(handler):
            raise UsageError(f"{args.authorizer} is a {type(handler).__name__}, not a handler")
        sources = tuple(args.identity_headers or ("Authorization",))
        try:
            gate = GatewayAuthorizer(handler, type=args.authorizer_type,
                                     identity_headers=sources, ttl=args.authorizer_ttl)
        except ValueError as exc:
            raise UsageError(f"--authorizer-ttl: {exc}") from None
    jwt = None
    if getattr(args, "jwt_claims", None) is not None:
        if gateway.config.api == "url":
            raise UsageError("--jwt-claims: Function URLs have no JWT authorizer (use --api "
                             "http or rest)")
        jwt = JwtAuthorizer(read_claims(args.jwt_claims))
    # A template that declares its routes (--per-route) attaches authorizers route by route.
    authorizers = RouteAuthorizers(app if app is not None else gateway.app, gate, jwt,
                                   per_route=gateway.errors.routes is not None)
    gateway.request_hooks.append(local_gateway_hook(authorizers, gateway.config.format,
                                                    gateway.errors))
    for name in authorizers.unused():
        print(f"lamroute: warning: {name} applies to no route: no route of the app requires "
              "auth (auth=..., App(auth=...)), as a route-level authorizer would be attached",
              file=sys.stderr, flush=True)
    return authorizers


def read_claims(value: str) -> dict[str, Any]:
    """``--jwt-claims``: a JSON object, inline or in a file."""
    text = value
    if not value.lstrip().startswith("{"):
        try:
            text = Path(value).read_text()
        except OSError as exc:
            raise UsageError(f"--jwt-claims: cannot read {value}: {exc.strerror}") from None
    try:
        claims = json.loads(text)
    except ValueError as exc:
        raise UsageError(f"--jwt-claims: not JSON ({exc})") from None
    if not isinstance(claims, dict):
        raise UsageError("--jwt-claims: the claims must be a JSON object")
    return claims


def require_template_engine() -> None:
    try:
        import airspeed  # noqa: F401
    except ImportError:
        raise UsageError("--integration custom renders Velocity templates with airspeed: "
                         "pip install 'lamroute[custom]'") from None


def template_settings(args: argparse.Namespace) -> Any:
    """What ``--template`` says about the API and the function (empty settings without it)."""
    from ..local.function import handler_name
    from ..local.template_settings import TemplateSettings, TemplateSettingsError, load_template

    if args.template is None:
        if args.function is not None:
            raise UsageError("--function needs --template")
        return TemplateSettings()
    try:
        handler = handler_name(args.app)
    except ValueError as exc:
        raise UsageError(f"{exc}: the runtime imports module.attribute") from None
    region = os.environ.get("AWS_REGION", os.environ.get("AWS_DEFAULT_REGION")) or "us-east-1"
    options = {"handler": handler, "function": args.function, "region": region}
    try:
        try:
            settings = load_template(args.template, **options)
        except TemplateSettingsError as exc:
            if "pass --api" not in str(exc):
                raise
            settings = load_template(args.template, api=args.api, **options)  # it has both
    except TemplateSettingsError as exc:
        raise UsageError(f"--template: {exc}") from None
    if settings.api is not None and args.api == "url":
        raise UsageError(f"--template: {args.template} describes an API Gateway API, not a "
                         "Function URL")
    if settings.api is not None and settings.api != args.api:
        if args.api != "rest":  # not the default: the command line and the template disagree
            raise UsageError(f"--api {args.api}, but {args.template} deploys a "
                             f"{settings.api.upper()} API")
        print(f"lamroute: serving the {settings.api.upper()} API of {args.template}",
              file=sys.stderr, flush=True)
    return settings


def integration(args: argparse.Namespace, settings: Any) -> str:
    """``--integration``, else the template's, else the proxy; a template deploying another
    one than the command line asks for is a usage error, and so are binary media types the
    custom integration cannot work with."""
    chosen, deployed = args.integration, settings.integration
    if chosen is not None and deployed is not None and chosen != deployed:
        raise UsageError(f"--integration {chosen}, but {args.template} deploys the {deployed} "
                         "integration")
    if chosen is None and deployed not in (None, "proxy"):
        print(f"lamroute: serving the {deployed} integration of {args.template}",
              file=sys.stderr, flush=True)
    found = str(chosen or deployed or "proxy")
    if found != "proxy" and args.binary_media_types:
        from ..deploy.custom_integration import CustomLambdaIntegration
        from ..deploy.options import check_binary_media_types

        try:  # as `lamroute template` refuses it: text bodies would reach the app as garbage
            check_binary_media_types(CustomLambdaIntegration.binary_media_types,
                                     tuple(args.binary_media_types))
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    return found


def install_integration(gateway: Any, settings: Any, app: Any) -> None:
    """The custom integration the gateway runs: the template's own (its request templates,
    content types, selection patterns and response templates), else the one `lamroute template`
    writes for ``app`` (its error answers in the app's error formatter's shape, with its CORS
    headers); nothing for the proxy."""
    if gateway.config.integration == "proxy":
        return
    if settings.integration_spec is not None:
        gateway.integration_spec = dict(settings.integration_spec)
        return
    from ..deploy.custom_integration import ErrorShape, error_template, integration

    shape = ErrorShape.of(app)
    notes: list[str] = []
    error_template(502, shape=shape, notes=notes)  # an error formatter that fails is said
    for note in notes:
        print(f"lamroute: note: {note}", file=sys.stderr, flush=True)
    gateway.integration_spec = integration(
        "local", binary=gateway.config.integration == "custom", shape=shape)


def install_gateway_errors(gateway: Any, settings: Any, args: argparse.Namespace) -> None:
    """The template's gateway responses, declared routes and throttling (the command line's
    throttling first), said in one line."""
    from ..local.template_settings import gateway_errors

    throttle = None
    if args.throttle_rate is not None:
        burst = args.throttle_burst
        throttle = (args.throttle_rate, burst if burst is not None else max(1, math.ceil(
            args.throttle_rate)))  # as `lamroute template --throttle-rate` writes it
    elif args.throttle_burst is not None:
        raise ValueError("--throttle-burst needs --throttle-rate")
    errors = gateway.errors = gateway_errors(settings, api=gateway.config.api, throttle=throttle)
    said = []
    if errors.responses is not None:
        said.append(f"{len(errors.responses.responses)} gateway responses")
    if settings.routes:
        said.append(f"{len(settings.routes)} declared routes (others refused by the gateway)")
    if errors.throttle is not None:
        said.append(f"throttling {errors.throttle.rate:g}/s, burst {errors.throttle.burst}")
    if args.template is not None or said:
        source = f"from {args.template}: " if args.template else ""
        print(f"lamroute: {source}{', '.join(said) or 'nothing the local gateway emulates'}",
              file=sys.stderr, flush=True)


def install_authorizers(server: Any, args: argparse.Namespace, app: Any) -> Any:
    """``--authorizer`` and ``--jwt-claims`` on the routes of ``app`` that require auth, said
    in a line each; the :class:`~lamroute.testing.route_auth.RouteAuthorizers` or ``None``."""
    if not (args.authorizer or args.jwt_claims is not None):
        return None
    try:
        authorizers = install_authorizer(server.gateway, args, app)
    except UsageError:
        server.stop()
        raise
    if args.authorizer:
        ttl = args.authorizer_ttl
        print(f"lamroute: authorizer {args.authorizer} runs first on the routes that require "
              "auth; " + (f"its answers are cached {ttl}s per identity (--authorizer-ttl)"
                          if ttl else "no caching"), file=sys.stderr, flush=True)
    if args.jwt_claims is not None:
        print("lamroute: a JWT authorizer runs first on the routes that require auth: send "
              "'Authorization: Bearer <any token>' (a JWT brings its own claims)",
              file=sys.stderr, flush=True)
    return authorizers
