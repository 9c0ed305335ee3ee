"""``lamroute template module:app``: a SAM ``template.yaml`` that deploys what the app describes.

    $ lamroute template notes.app:app --api rest --stage prod > template.yaml
    $ lamroute template auth.app:app --api http --lambda-authorizer partner=auth.authorizer:handler
    $ lamroute template notes.app:app --integration custom --per-route -o template.yaml
    $ sam build && sam deploy --guided

Notes about what the template could not infer are printed on standard error.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Any

from ..cli import UsageError, load_app

HELP = ("Write a SAM template for the app: its REST or HTTP API (proxy or --per-route, Lambda "
        "proxy or custom integration), WebSocket API, authorizers and gateway responses.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("app", help="the app to load, as module:attribute")
    parser.add_argument("--api", choices=("rest", "http"), default="rest",
                        help="REST API with a stage (default) or HTTP API")
    parser.add_argument("--stage", default=None,
                        help="stage name (rest: prod by default; http: $default; WebSocket: prod)")
    parser.add_argument("--per-route", action="store_true",
                        help="one API route per app route instead of ANY /{proxy+}: the gateway "
                             "answers unknown paths without invoking the function")
    function = parser.add_argument_group("function")
    function.add_argument("--runtime", default="python3.11", help="Lambda runtime")
    function.add_argument("--code-uri", default=".",
                          help="folder holding the app's package (default .)")
    function.add_argument("--memory", type=int, default=512, help="memory in MB (default 512)")
    function.add_argument("--architecture", choices=("arm64", "x86_64"), default="arm64",
                          help="instruction set (default arm64)")
    function.add_argument("--timeout", type=int, default=None,
                          help="function timeout in seconds (default: one below the integration "
                               "timeout, which it must stay under)")
    function.add_argument("--integration-timeout", type=float, default=None, metavar="SECONDS",
                          help="the gateway's integration timeout (REST 29, HTTP 30)")
    auth = parser.add_argument_group("authorizers (from the app's guards)")
    auth.add_argument("--authorizer-kind", action="append", default=[], metavar="[SCHEME=]KIND",
                      help="authorizer kind (jwt, cognito, lambda, iam) for the guards of "
                           "SCHEME, or for every scheme whose guards do not pin one")
    auth.add_argument("--lambda-authorizer", action="append", default=[],
                      metavar="[SCHEME=]MODULE:FN",
                      help="deploy this Lambda authorizer with the app (else its ARN is a "
                           "template parameter)")
    auth.add_argument("--identity-header", action="append", dest="identity_headers",
                      metavar="NAME", help="Lambda authorizer identity header "
                                           "(default Authorization)")
    auth.add_argument("--authorizer-ttl", type=int, default=300, metavar="SECONDS",
                      help="Lambda authorizer cache TTL (default 300, 0 = off)")
    gateway = parser.add_argument_group("gateway")
    gateway.add_argument("--integration", choices=("proxy", "custom", "custom-text"),
                         default="proxy",
                         help="REST API: Lambda proxy integration (default), or lamroute's "
                              "custom (non-proxy) integration, whose integration responses "
                              "answer function timeouts and crashes with problems (custom-text: "
                              "text-only answers)")
    gateway.add_argument("--content-type", action="append", dest="content_types",
                         metavar="TYPE", help="with --integration custom: a request Content-Type "
                                              "the API takes (repeatable; default: 14 common "
                                              "ones, each repeating the request template)")
    gateway.add_argument("--binary-media-type", action="append", dest="binary_media_types",
                         metavar="TYPE", help="REST API binary media type (default: */* when "
                                              "the app uses binary bodies; 'none' for none)")
    gateway.add_argument("--no-gateway-responses", action="store_true",
                         help="keep API Gateway's own error answers (REST)")
    gateway.add_argument("--throttle-rate", type=float, default=None, metavar="PER_SECOND",
                         help="stage throttling: steady requests per second")
    gateway.add_argument("--throttle-burst", type=int, default=None,
                         help="stage throttling: burst (default: the rate)")
    websocket = parser.add_argument_group("WebSocket API")
    websocket.add_argument("--route-selection", default="$request.body.action",
                           metavar="EXPRESSION", help="route selection expression")
    websocket.add_argument("--one-way", action="store_true",
                           help="no route responses: route answers do not reach the client")
    websocket.add_argument("--manage-connections", "--connections",
                           action=argparse.BooleanOptionalAction, default=None,
                           help="give the function execute-api:ManageConnections on the "
                                "WebSocket API's @connections (default: yes; "
                                "--no-manage-connections or --no-connections for none)")
    parser.add_argument("-o", "--output", metavar="FILE",
                        help="write to FILE instead of standard output")


def run(args: argparse.Namespace) -> int:
    from ..deploy.sam import TemplateError, handler_for, sam_template, to_yaml

    app = load_app(args.app, startup=False)
    notes: list[str] = []
    try:
        options = build_options(args)
        template = sam_template(handler=handler_for(args.app), app=app, options=options,
                                notes=notes)
    except TemplateError as exc:
        raise UsageError(str(exc)) from None
    text = "# Generated by `lamroute template`.\n" + to_yaml(template)
    _check_size(len(text.encode()), notes, custom=args.integration != "proxy")
    for note in notes:
        print(f"lamroute template: note: {note}", file=sys.stderr)
    if args.output:
        try:
            Path(args.output).write_text(text)
        except OSError as exc:
            raise UsageError(f"cannot write {args.output}: {exc.strerror}") from None
    else:
        sys.stdout.write(text)
    return 0


def build_options(args: argparse.Namespace) -> Any:
    """The command line as :class:`lamroute.deploy.options.TemplateOptions`."""
    from ..deploy.auth import AuthOptions
    from ..deploy.options import FunctionOptions, TemplateOptions

    auth = AuthOptions(
        kinds=dict(_scoped(args.authorizer_kind, "--authorizer-kind")),
        lambda_functions={scheme: _lambda_authorizer(target)
                          for scheme, target in _scoped(args.lambda_authorizer,
                                                        "--lambda-authorizer")},
        identity_headers=tuple(args.identity_headers or ("Authorization",)),
        ttl=args.authorizer_ttl)
    function = FunctionOptions(runtime=args.runtime, code_uri=args.code_uri, memory=args.memory,
                               timeout=args.timeout, architecture=args.architecture)
    binary = None
    if args.binary_media_types:
        binary = tuple(t for t in args.binary_media_types if t.lower() != "none")
    integration = None
    if args.integration != "proxy":
        from ..deploy.custom_integration import DEFAULT_CONTENT_TYPES, CustomLambdaIntegration

        integration = CustomLambdaIntegration(
            binary=args.integration == "custom",
            content_types=tuple(args.content_types or DEFAULT_CONTENT_TYPES))
    elif args.content_types:
        raise UsageError("--content-type chooses the custom integration's request templates: "
                         "it needs --integration custom or custom-text")
    return TemplateOptions(
        api=args.api, stage=args.stage, per_route=args.per_route, function=function, auth=auth,
        integration_timeout=args.integration_timeout, binary_media_types=binary,
        gateway_responses=not args.no_gateway_responses, throttle=_throttle(args),
        route_selection=args.route_selection, two_way=not args.one_way,
        manage_connections=args.manage_connections, integration=integration)


# CloudFormation takes a template body up to 51,200 bytes inline, 1 MB from S3.
# https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html
INLINE_LIMIT = 51_200
S3_LIMIT = 1_000_000


def _check_size(size: int, notes: list[str], *, custom: bool) -> None:
    """A template CloudFormation cannot take is refused; one it takes from S3 only is said."""
    if size > S3_LIMIT:
        hint = (": each operation of a custom integration repeats its mapping templates (drop "
                "--per-route, or use the proxy integration)") if custom else ""
        raise UsageError(f"the template is {size:,} bytes, over CloudFormation's 1 MB{hint}")
    if size > INLINE_LIMIT:
        notes.append(f"the template is {size:,} bytes: `sam deploy` needs an S3 bucket for it "
                     "(--resolve-s3, or the one `sam deploy --guided` sets up)")


def _scoped(values: list[str], option: str) -> list[tuple[str | None, str]]:
    """``["partner=lambda", "jwt"]`` → ``[("partner", "lambda"), (None, "jwt")]``."""
    found: list[tuple[str | None, str]] = []
    for value in values:
        scheme, sep, rest = value.partition("=")
        if sep and not scheme:
            raise UsageError(f"{option} {value!r}: the scheme before '=' is empty")
        found.append((scheme, rest) if sep else (None, value))
    return found


def _lambda_authorizer(target: str) -> Any:
    """The authorizer at ``target``, with the kind of answers it gives when lamroute made it."""
    from ..authorizers import AuthorizerHandler
    from ..deploy.auth import LambdaAuthorizer

    if ":" not in target:
        raise UsageError(f"--lambda-authorizer {target!r} is not of the form module:function")
    handler = load_app(target, startup=False)
    if not callable(handler):
        raise UsageError(f"--lambda-authorizer {target} is a {type(handler).__name__}, not a "
                         "Lambda handler")
    flavour = None
    if isinstance(handler, AuthorizerHandler):
        flavour = ("http-simple" if handler.simple else "http") if handler.http else "rest"
    return LambdaAuthorizer(target, flavour)


def _throttle(args: argparse.Namespace) -> tuple[float, int] | None:
    if args.throttle_rate is None:
        if args.throttle_burst is not None:
            raise UsageError("--throttle-burst needs --throttle-rate")
        return None
    burst = args.throttle_burst
    return args.throttle_rate, burst if burst is not None else max(1, math.ceil(
        args.throttle_rate))
