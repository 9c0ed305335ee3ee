"""``lamroute serve module:app``: the app behind a local API Gateway on 127.0.0.1.

    $ lamroute serve examples.notes.app:app --api rest --stage prod --port 3000

Each request runs in a worker process of the local runtime (:mod:`lamroute.local.workers`),
or, with ``--in-process``, in a thread of this one; ``--template`` gives the API and the
function their settings (:mod:`lamroute.local.template_settings`).

An app with WebSocket routes is also served as a WebSocket API (``--ws-port``, 3001 by
default, ``--management-port``, ``--route-selection``, ``--one-way``; see
:mod:`lamroute.local.websocket`).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from types import FrameType
from typing import Any

from ..cli import UsageError, load_app
from . import _runtime
from ._api import install_authorizer as install_authorizer  # the tests' way in
from ._api import install_authorizers
from ._api import install_gateway_errors as _install_gateway_errors
from ._api import install_integration as _install_integration
from ._api import integration as _integration
from ._api import require_template_engine as _require_template_engine
from ._api import template_settings as _template_settings

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
    parser.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                        help="the function's timeout (Lambda's Timeout): an invocation still "
                             "running then fails (a worker is stopped); with --integration "
                             "custom, the timeout integration response answers it (default: "
                             "the template's, else 1 s below the integration timeout, as "
                             "`lamroute template` deploys it)")
    parser.add_argument("--integration-timeout", type=float, default=29.0, metavar="SECONDS",
                        help="the gateway's integration timeout; 504 after it (default 29)")
    parser.add_argument("--integration", choices=("proxy", "custom", "custom-text"),
                        default=None,
                        help="REST API Lambda integration: proxy (default; with --template, the "
                             "template's); custom: lamroute's non-proxy integration, its mapping "
                             "templates rendered as `lamroute template --integration custom` "
                             "deploys them (needs 'lamroute[custom]'); custom-text: the same, "
                             "text-only answers")
    parser.add_argument("--binary-media-type", action="append", dest="binary_media_types",
                        metavar="TYPE", help="REST API binary media type (default */*, which "
                                             "the custom integration needs: another is refused)")
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
                        help="emulate what this SAM/CloudFormation template deploys (lamroute "
                             "template): the REST or HTTP API's stage, integration, gateway "
                             "responses, throttling, binary media types and declared routes, "
                             "and the function's Timeout, MemorySize, Environment.Variables "
                             "and LoggingConfig")
    parser.add_argument("--throttle-rate", type=float, default=None, metavar="PER_SECOND",
                        help="the API stage's throttling: requests per second, the gateway's "
                             "429 beyond (the function's own limit is --concurrency)")
    parser.add_argument("--throttle-burst", type=int, default=None,
                        help="stage throttling: burst (default: the rate)")
    parser.add_argument("--reload", action="store_true",
                        help="when a .py file under the current directory changes, replace "
                             "the workers (--in-process: restart the server)")
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
    _runtime.add_arguments(parser)


def _server_argv(args: argparse.Namespace) -> list[str]:
    argv = ["serve", args.app, "--host", args.host, "--port", str(args.port), "--api", args.api,
            "--payload-version", args.payload_version,
            "--integration-timeout", str(args.integration_timeout),
            "--concurrency", str(args.concurrency)]
    for flag, value in (("--timeout", args.timeout), ("--memory", args.memory),
                        ("--template", args.template), ("--function", args.function),
                        ("--throttle-rate", args.throttle_rate),
                        ("--throttle-burst", args.throttle_burst)):
        if value is not None:
            argv += [flag, str(value)]
    if args.in_process:
        argv.append("--in-process")
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


def _stop_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _install_signals() -> None:
    """SIGTERM stops like Ctrl-C; Ctrl-C works even when started in the background."""
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    signal.signal(signal.SIGINT, signal.default_int_handler)


def run(args: argparse.Namespace) -> int:
    from ..local import configure_logging
    from ..local.reload import run_with_reload
    from ..local.terminal import Terminal

    configure_logging()
    if args.reload and args.in_process:
        _install_signals()
        return run_with_reload(_server_argv(args))
    settings = _template_settings(args)
    integration = _integration(args, settings)
    if integration != "proxy":
        _require_template_engine()
    function = _runtime.function_config(args, settings.function)
    terminal = Terminal(_log_format(args))
    runtime = None
    if args.in_process:
        app, init_ms = _import_app(args, function)
        if function.memory_limit:
            _runtime.say(f"warning: --in-process cannot limit memory: the function's "
                         f"{function.memory} MB are not enforced")
    else:
        runtime = _runtime.start_runtime(args, function, terminal.app_line)
        app, init_ms = None, None
    server = None
    try:
        server = _gateway(runtime or app, args, settings, integration, init_ms=init_ms,
                          function_timeout=function.timeout if args.in_process else None)
        # The routes that require auth, the WebSocket routes, and the custom integration's
        # error answers (the app's error formatter and CORS) need the app here too.
        if app is None and (args.authorizer or args.jwt_claims is not None
                            or args.ws_port is not None or (
                                integration != "proxy" and settings.integration_spec is None)):
            app = _import_app(args, function)[0]
        _install_integration(server.gateway, settings, app)
        authorizers = install_authorizers(server, args, app)
    except BaseException:
        if server is not None:
            server.stop()
        if runtime is not None:
            runtime.close()
        raise
    terminal.install()
    _announce(server, args)
    websockets: list[Any] = []
    try:
        if app is not None:
            websockets.append(_start_websocket(app, args, authorizers))
        elif runtime is not None:  # does the app have WebSocket routes? (it runs in workers)
            _runtime.in_background(lambda: _websocket_if_any(args, runtime, websockets,
                                                             terminal))
    except UsageError:
        server.stop()
        if runtime is not None:
            runtime.close()
        raise
    if runtime is not None:
        _runtime.say(_runtime.describe(runtime))
    if args.reload and runtime is not None:
        from ..local.reload import watch

        watch(runtime.recycle)
    _install_signals()
    try:
        server.serve_forever()
    finally:
        for websocket in websockets:
            if websocket is not None:
                websocket.stop()
        if runtime is not None:
            runtime.close()
    return 0


def _import_app(args: argparse.Namespace, function: Any) -> tuple[Any, float]:
    """The app, imported in this process with the function's variables and logging settings
    (as the workers get them), and how long the import took (the in-process container's
    init)."""
    os.environ.update(function.own_variables())
    started = time.perf_counter()
    app = load_app(args.app)
    if not callable(app):
        raise UsageError(f"{args.app} is a {type(app).__name__}, not a Lambda handler")
    return app, (time.perf_counter() - started) * 1000


def _websocket_if_any(args: argparse.Namespace, runtime: Any, started: list[Any],
                      terminal: Any) -> None:
    """Serve the app's WebSocket routes (in this process) when it has any."""
    if not _runtime.has_websocket_routes(args.app, runtime):
        return
    try:
        started.append(_start_websocket(load_app(args.app), args))
    except UsageError as exc:
        _runtime.say(f"WebSocket routes not served: {exc}")
        return
    terminal.install()  # the app's own log handlers, now in this process too
    runtime.recycle()  # workers started before now lack the @connections endpoint
    if args.reload:
        _runtime.say("--reload restarts the workers; WebSocket routes keep the code they "
                     "started with (restart lamroute serve to reload them)")


def _gateway(function: Any, args: argparse.Namespace, settings: Any, integration: str, *,
             init_ms: float | None, function_timeout: float | None) -> Any:
    """The local gateway in front of ``function`` (the app, or the local runtime), with the
    template's API settings and gateway responses."""
    from ..local import LocalGateway

    binary = args.binary_media_types or settings.binary_media_types
    try:
        server = LocalGateway(
            function, api=settings.api or args.api, stage=args.stage or settings.stage,
            payload_version=args.payload_version, timeout=args.integration_timeout,
            port=args.port, host=args.host,
            binary_media_types=tuple(("*/*",) if binary is None else binary),
            integration=integration, function_timeout=function_timeout, init_ms=init_ms,
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
    return server


def _announce(server: Any, args: argparse.Namespace) -> None:
    config = server.gateway.config
    payload = "1.0" if config.format in ("rest", "http-v1") else "2.0"
    if config.integration != "proxy":
        payload = f"{config.integration} integration: mapping templates"
    print(f"lamroute: serving {args.app} as {KINDS[config.api]} (payload {payload}, stage "
          f"{config.stage_name}) on {server.url}/  (Ctrl-C to stop)", file=sys.stderr, flush=True)


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
