"""``lamroute serve module:app``: the app behind a local API Gateway on 127.0.0.1.

    $ lamroute serve examples.notes.app:app --api rest --stage prod --port 3000

An app with WebSocket routes is also served as a WebSocket API (``--ws-port``, 3001 by
default, ``--management-port``, ``--route-selection``, ``--one-way``; see
:mod:`lamroute.local.websocket`).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from types import FrameType
from typing import Any

from ..cli import UsageError, load_app
from . import _runtime

HELP = "Serve an app through a local API Gateway (REST, HTTP API or Function URL) on 127.0.0.1."
KINDS = {"rest": "a REST API", "http": "an HTTP API", "url": "a Function URL"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("app", help="the app to load, as module:attribute")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on, HTTP and WebSocket (default 127.0.0.1; "
                             "0.0.0.0 exposes the server to the network)")
    parser.add_argument("--port", type=int, default=3000, help="HTTP port (default 3000)")
    parser.add_argument("--api", choices=("rest", "http", "url"), default="rest",
                        help="rest: REST API, payload 1.0; http: HTTP API; url: Function URL")
    parser.add_argument("--stage", default=None,
                        help="stage name in the URL (rest: 'prod' by default; http: '$default')")
    parser.add_argument("--payload-version", choices=("1.0", "2.0"), default="2.0",
                        help="HTTP API payload format version (default 2.0)")
    parser.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                        help="the function's timeout (Lambda's Timeout): a worker still "
                             "running then is stopped and the invocation fails (default: the "
                             "template's, else 29)")
    parser.add_argument("--integration-timeout", type=float, default=29.0, metavar="SECONDS",
                        help="the gateway's integration timeout; 504 after it (default 29)")
    parser.add_argument("--binary-media-type", action="append", dest="binary_media_types",
                        metavar="TYPE", help="REST API binary media type (default */*)")
    parser.add_argument("--authorizer", metavar="MODULE:FN", default=None,
                        help="run this Lambda authorizer before each request, as the gateway "
                             "does (401 without the identity header, 403 on deny)")
    parser.add_argument("--authorizer-type", choices=("request", "token"), default="request",
                        help="REST API authorizer type (default request)")
    parser.add_argument("--identity-header", action="append", dest="identity_headers",
                        metavar="NAME", help="identity source header (default Authorization)")
    parser.add_argument("--authorizer-ttl", type=int, default=300, metavar="SECONDS",
                        help="authorizer cache TTL, keyed on the identity sources: a cached "
                             "policy is judged against each request, as on AWS (default 300, "
                             "0 = no caching)")
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
    _runtime.add_arguments(parser)


def _server_argv(args: argparse.Namespace) -> list[str]:
    argv = ["serve", args.app, "--host", args.host, "--port", str(args.port), "--api", args.api,
            "--payload-version", args.payload_version,
            "--integration-timeout", str(args.integration_timeout),
            "--concurrency", str(args.concurrency)]
    for flag, option in (("--timeout", args.timeout), ("--memory", args.memory),
                         ("--template", args.template), ("--function", args.function)):
        if option is not None:
            argv += [flag, str(option)]
    if args.in_process:
        argv.append("--in-process")
    if args.stage:
        argv += ["--stage", args.stage]
    for kind in args.binary_media_types or ():
        argv += ["--binary-media-type", kind]
    if args.authorizer:
        argv += ["--authorizer", args.authorizer, "--authorizer-type", args.authorizer_type,
                 "--authorizer-ttl", str(args.authorizer_ttl)]
        for name in args.identity_headers or ():
            argv += ["--identity-header", name]
    for flag, value in (("--ws-port", args.ws_port), ("--management-port", args.management_port),
                        ("--route-selection", args.route_selection)):
        if value is not None:
            argv += [flag, str(value)]
    if args.one_way:
        argv.append("--one-way")
    return argv


def install_authorizer(gateway: Any, args: argparse.Namespace) -> None:
    """Put ``--authorizer`` in front of ``gateway``'s invocations (see lamroute.testing)."""
    from ..local.gateway import local_gateway_hook
    from ..testing.gateway_auth import GatewayAuthorizer

    handler = load_app(args.authorizer)
    if not callable(handler):
        raise UsageError(f"{args.authorizer} is a {type(handler).__name__}, not a handler")
    sources = tuple(args.identity_headers or ("Authorization",))
    try:
        gate = GatewayAuthorizer(handler, type=args.authorizer_type, identity_headers=sources,
                                 ttl=args.authorizer_ttl)
    except ValueError as exc:
        raise UsageError(f"--authorizer-ttl: {exc}") from None
    gateway.request_hooks.append(local_gateway_hook(gate, gateway.config.format))


def _stop_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _install_signals() -> None:
    """SIGTERM stops like Ctrl-C; Ctrl-C works even when started in the background."""
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    signal.signal(signal.SIGINT, signal.default_int_handler)


def run(args: argparse.Namespace) -> int:
    from ..local import configure_logging
    from ..local.reload import run_with_reload

    configure_logging()
    if args.reload and args.in_process:
        _install_signals()
        return run_with_reload(_server_argv(args))
    if not args.in_process:
        return _run_workers(args)
    function = _runtime.function_config(args)
    os.environ.update(function.variables)  # the template's variables, as the workers get them
    app = load_app(args.app)
    if not callable(app):
        raise UsageError(f"{args.app} is a {type(app).__name__}, not a Lambda handler")
    server = _gateway(app, args, function_timeout=function.timeout)
    _announce(server, args)
    if function.memory_limit:
        _runtime.say("warning: --in-process cannot limit memory; --memory is not enforced")
    try:
        websocket = _start_websocket(app, args)
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


def _run_workers(args: argparse.Namespace) -> int:
    """The default: each invocation in a worker process running the runtime client."""
    from ..local.reload import watch

    runtime = _runtime.start_runtime(args, _runtime.function_config(args))
    try:
        server = _gateway(runtime, args)
    except UsageError:
        runtime.close()
        raise
    _announce(server, args)
    websockets: list[Any] = []
    try:
        if args.ws_port is not None:  # explicit: served by this process, as --in-process
            websockets.append(_start_websocket(load_app(args.app), args))
        else:
            _runtime.in_background(lambda: _websocket_if_any(args, runtime, websockets))
    except UsageError:
        server.stop()
        runtime.close()
        raise
    _runtime.say(_runtime.describe(runtime))
    if args.reload:
        watch(runtime.recycle)
    _install_signals()
    try:
        server.serve_forever()
    finally:
        for websocket in websockets:
            if websocket is not None:
                websocket.stop()
        runtime.close()
    return 0


def _websocket_if_any(args: argparse.Namespace, runtime: Any, started: list[Any]) -> None:
    """Serve the app's WebSocket routes (in this process) when it has any."""
    if not _runtime.has_websocket_routes(args.app, runtime):
        return
    try:
        started.append(_start_websocket(load_app(args.app), args))
    except UsageError as exc:
        _runtime.say(f"WebSocket routes not served: {exc}")
        return
    runtime.recycle()  # workers started before now lack the @connections endpoint
    if args.reload:
        _runtime.say("--reload restarts the workers; WebSocket routes keep the code they "
                     "started with (restart lamroute serve to reload them)")


def _gateway(app: Any, args: argparse.Namespace, *, function_timeout: float | None = None,
             ) -> Any:
    from ..local import LocalGateway

    try:
        server = LocalGateway(
            app, api=args.api, stage=args.stage, payload_version=args.payload_version,
            timeout=args.integration_timeout, port=args.port, host=args.host,
            binary_media_types=tuple(args.binary_media_types or ("*/*",)),
            function_timeout=function_timeout,
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise UsageError(f"cannot listen on {args.host}:{args.port}: {reason}") from None
    if args.authorizer:
        try:
            install_authorizer(server.gateway, args)
        except UsageError:
            server.stop()
            raise
        ttl = args.authorizer_ttl
        print(f"lamroute: authorizer {args.authorizer} runs first; "
              + (f"its answers are cached {ttl}s per identity (--authorizer-ttl)" if ttl
                 else "no caching"), file=sys.stderr, flush=True)
    return server


def _announce(server: Any, args: argparse.Namespace) -> None:
    config = server.gateway.config
    payload = "1.0" if config.format in ("rest", "http-v1") else "2.0"
    print(f"lamroute: serving {args.app} as {KINDS[config.api]} (payload {payload}, stage "
          f"{config.stage_name}) on {server.url}/  (Ctrl-C to stop)", file=sys.stderr, flush=True)


def _start_websocket(app: Any, args: argparse.Namespace) -> Any:
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
                               "two_way": not args.one_way}
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
