"""``lamroute serve module:app``: the app behind a local API Gateway on 127.0.0.1.

    $ lamroute serve examples.notes.app:app --api rest --stage prod --port 3000

An app with WebSocket routes is also served as a WebSocket API (``--ws-port``, 3001 by
default, ``--management-port``, ``--route-selection``, ``--one-way``; see
:mod:`lamroute.local.websocket`).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import sys
from pathlib import Path
from types import FrameType
from typing import Any

from ..cli import UsageError, load_app

HELP = "Serve an app through a local API Gateway (REST, HTTP API or Function URL) on 127.0.0.1."
KINDS = {"rest": "a REST API", "http": "an HTTP API", "url": "a Function URL"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("app", help="the app to load, as module:attribute")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on, HTTP and WebSocket (default 127.0.0.1; "
                             "0.0.0.0 exposes the server to the network)")
    parser.add_argument("--port", type=int, default=3000, help="HTTP port (default 3000)")
    parser.add_argument("--api", choices=("rest", "http", "url"), default="rest",
                        help="rest: REST API, payload 1.0; http: HTTP API; url: Function URL "
                             "(with --template: the template's API)")
    parser.add_argument("--stage", default=None,
                        help="stage name in the URL (rest: 'prod' by default; http: '$default')")
    parser.add_argument("--payload-version", choices=("1.0", "2.0"), default="2.0",
                        help="HTTP API payload format version (default 2.0)")
    parser.add_argument("--timeout", type=float, default=29.0,
                        help="integration timeout in seconds; 504 after it (default 29; with "
                             "--integration custom, the function's own timeout, which the "
                             "timeout integration response answers)")
    parser.add_argument("--integration", choices=("proxy", "custom", "custom-text"),
                        default=None,
                        help="REST API Lambda integration: proxy (default; with --template, the "
                             "template's); custom: lamroute's non-proxy integration, its mapping "
                             "templates rendered as `lamroute template --integration custom` "
                             "deploys them (needs 'lamroute[custom]'); custom-text: the same, "
                             "text-only answers")
    parser.add_argument("--binary-media-type", action="append", dest="binary_media_types",
                        metavar="TYPE", help="REST API binary media type (default */*)")
    parser.add_argument("--authorizer", metavar="MODULE:FN", default=None,
                        help="a Lambda authorizer on the routes that require auth, as the "
                             "gateway runs it (401 without the identity header, 403 on deny); "
                             "WebSocket connections are authorized at $connect")
    parser.add_argument("--jwt-claims", metavar="FILE|JSON", default=None,
                        help="a JWT authorizer on the routes that require auth (HTTP API; a "
                             "Cognito authorizer for --api rest): a request without a token "
                             "gets 401, any other token stands for these claims (a JWT brings "
                             "its own), placed in the event as API Gateway does")
    parser.add_argument("--authorizer-type", choices=("request", "token"), default="request",
                        help="REST API authorizer type (default request)")
    parser.add_argument("--identity-header", action="append", dest="identity_headers",
                        metavar="NAME", help="identity source header (default Authorization)")
    parser.add_argument("--authorizer-ttl", type=int, default=300, metavar="SECONDS",
                        help="authorizer cache TTL, keyed on the identity sources: a cached "
                             "policy is judged against each request, as on AWS (default 300, "
                             "0 = no caching)")
    parser.add_argument("--template", metavar="FILE", default=None,
                        help="emulate the REST or HTTP API of this SAM/CloudFormation template "
                             "(lamroute template): its stage, gateway responses, throttling, "
                             "binary media types and declared routes")
    parser.add_argument("--throttle-rate", type=float, default=None, metavar="PER_SECOND",
                        help="stage throttling: requests per second (429 beyond)")
    parser.add_argument("--throttle-burst", type=int, default=None,
                        help="stage throttling: burst (default: the rate)")
    parser.add_argument("--reload", action="store_true",
                        help="restart when a .py file under the current directory changes")
    parser.add_argument("--ws-port", type=int, default=None,
                        help="WebSocket API port, @connections on the next one (default 3001 "
                             "when the app has WebSocket routes)")
    parser.add_argument("--management-port", type=int, default=None,
                        help="WebSocket @connections port (default: the WebSocket port + 1)")
    parser.add_argument("--route-selection", default=None, metavar="EXPRESSION",
                        help="WebSocket route selection expression "
                             "(default $request.body.action)")
    parser.add_argument("--one-way", action="store_true",
                        help="do not send WebSocket route answers back (routes without a "
                             "route response)")
    parser.add_argument("--log-format", choices=("pretty", "json"), default=None,
                        help="pretty: one human line per request and readable tracebacks on "
                             "stderr; json: the app's JSON lines as Lambda writes them, on "
                             "stdout (default: pretty when stdout is a terminal)")


def _server_argv(args: argparse.Namespace) -> list[str]:
    argv = ["serve", args.app, "--host", args.host, "--port", str(args.port), "--api", args.api,
            "--payload-version", args.payload_version, "--timeout", str(args.timeout)]
    for flag, value in (("--template", args.template),
                        ("--throttle-rate", args.throttle_rate),
                        ("--throttle-burst", args.throttle_burst)):
        if value is not None:
            argv += [flag, str(value)]
    if args.stage:
        argv += ["--stage", args.stage]
    if args.integration is not None:
        argv += ["--integration", args.integration]
    for kind in args.binary_media_types or ():
        argv += ["--binary-media-type", kind]
    if args.authorizer:
        argv += ["--authorizer", args.authorizer, "--authorizer-type", args.authorizer_type,
                 "--authorizer-ttl", str(args.authorizer_ttl)]
        for name in args.identity_headers or ():
            argv += ["--identity-header", name]
    if args.jwt_claims is not None:
        argv += ["--jwt-claims", args.jwt_claims]
    for flag, value in (("--ws-port", args.ws_port), ("--management-port", args.management_port),
                        ("--route-selection", args.route_selection)):
        if value is not None:
            argv += [flag, str(value)]
    if args.one_way:
        argv.append("--one-way")
    argv += ["--log-format", _log_format(args)]
    return argv


def _log_format(args: argparse.Namespace) -> str:
    from ..local.terminal import default_mode

    return str(args.log_format or default_mode())


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


def _require_template_engine() -> None:
    try:
        import airspeed  # noqa: F401
    except ImportError:
        raise UsageError("--integration custom renders Velocity templates with airspeed: "
                         "pip install 'lamroute[custom]'") from None


def _template_settings(args: argparse.Namespace) -> Any:
    """What ``--template`` says about the API (empty settings without it)."""
    from ..local.template_settings import TemplateSettings, TemplateSettingsError, load_template

    if args.template is None:
        return TemplateSettings()
    if args.api == "url":
        raise UsageError("--template describes an API Gateway API, not a Function URL")
    try:
        try:
            settings = load_template(args.template)
        except TemplateSettingsError as exc:
            if "pass --api" not in str(exc):
                raise
            settings = load_template(args.template, api=args.api)  # it has both kinds
    except TemplateSettingsError as exc:
        raise UsageError(f"--template: {exc}") from None
    if settings.api is not None and settings.api != args.api:
        if args.api != "rest":  # not the default: the command line and the template disagree
            raise UsageError(f"--api {args.api}, but {args.template} deploys a "
                             f"{settings.api.upper()} API")
        print(f"lamroute: serving the {settings.api.upper()} API of {args.template}",
              file=sys.stderr, flush=True)
    return settings


def _integration(args: argparse.Namespace, settings: Any) -> str:
    """``--integration``, else the template's, else the proxy; a template deploying another
    one than the command line asks for is a usage error."""
    chosen, deployed = args.integration, settings.integration
    if chosen is not None and deployed is not None and chosen != deployed:
        raise UsageError(f"--integration {chosen}, but {args.template} deploys the {deployed} "
                         "integration")
    if chosen is None and deployed not in (None, "proxy"):
        print(f"lamroute: serving the {deployed} integration of {args.template}",
              file=sys.stderr, flush=True)
    return str(chosen or deployed or "proxy")


def _install_gateway_errors(gateway: Any, settings: Any, args: argparse.Namespace) -> None:
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


def _stop_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _install_signals() -> None:
    """SIGTERM stops like Ctrl-C; Ctrl-C works even when started in the background."""
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    signal.signal(signal.SIGINT, signal.default_int_handler)


def run(args: argparse.Namespace) -> int:
    from ..local import LocalGateway, configure_logging
    from ..local.reload import run_with_reload

    configure_logging()
    if args.reload:
        _install_signals()
        return run_with_reload(_server_argv(args))
    app = load_app(args.app)
    if not callable(app):
        raise UsageError(f"{args.app} is a {type(app).__name__}, not a Lambda handler")
    settings = _template_settings(args)
    api = settings.api or args.api
    integration = _integration(args, settings)
    if integration != "proxy":
        _require_template_engine()
    binary = args.binary_media_types or settings.binary_media_types
    try:
        server = LocalGateway(
            app, api=api, stage=args.stage or settings.stage,
            payload_version=args.payload_version, timeout=args.timeout, port=args.port,
            host=args.host, binary_media_types=tuple(("*/*",) if binary is None else binary),
            integration=integration,
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise UsageError(f"cannot listen on {args.host}:{args.port}: {reason}") from None
    try:
        _install_gateway_errors(server.gateway, settings, args)
    except ValueError as exc:
        server.stop()
        raise UsageError(str(exc)) from None
    authorizers = None
    if args.authorizer or args.jwt_claims is not None:
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
    from ..local.terminal import Terminal

    Terminal(_log_format(args)).install()
    config = server.gateway.config
    payload = "1.0" if config.format in ("rest", "http-v1") else "2.0"
    if config.integration != "proxy":
        payload = f"{config.integration} integration: mapping templates"
    print(f"lamroute: serving {args.app} as {KINDS[config.api]} (payload {payload}, stage "
          f"{config.stage_name}) on {server.url}/  (Ctrl-C to stop)", file=sys.stderr, flush=True)
    try:
        websocket = _start_websocket(app, args, authorizers)
    except UsageError:
        server.stop()
        raise
    _install_signals()
    try:
        server.serve_forever()
    finally:
        if websocket is not None:
            websocket.stop()
    return 0


def _start_websocket(app: Any, args: argparse.Namespace, authorizers: Any = None) -> Any:
    """Serve the app's WebSocket routes beside the HTTP ones (or on an explicit --ws-port)."""
    port = args.ws_port
    if port is None:
        if not getattr(app, "websocket_routes", None):
            return None
        port = 3001 if args.port else 0
    try:
        from ..local.websocket import start
        from ..websocket.connections import ENDPOINT_ENV
    except ImportError as exc:
        raise UsageError(
            f"WebSocket routes need {exc.name}: pip install 'lamroute[websocket]'") from None
    options: dict[str, Any] = {"host": args.host, "port": port,
                               "management_port": args.management_port,
                               "two_way": not args.one_way, "authorizers": authorizers}
    if args.route_selection is not None:
        options["route_selection"] = args.route_selection
    try:
        websocket = start(app, **options)
    except (OSError, RuntimeError) as exc:
        raise UsageError(f"cannot serve WebSockets on {args.host}:{port}: {exc}") from None
    # HTTP routes that push to clients (app.connections.send) reach the local @connections too.
    os.environ.setdefault(ENDPOINT_ENV, websocket.management_url)
    print(f"lamroute: WebSocket API on {websocket.url}/  (@connections on "
          f"{websocket.management_url}/@connections)", file=sys.stderr, flush=True)
    return websocket
