"""``lamroute serve``'s local runtime options: workers, timeout, memory, SAM template.

Not a command itself (``cli`` finds commands by name); :mod:`lamroute.commands.serve` uses it.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import Any

from ..cli import UsageError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "local runtime", "By default each request runs in a worker process running the AWS "
        "runtime interface client (awslambdaric), as on Lambda.")
    group.add_argument("--in-process", action="store_true",
                       help="call the app in this process instead (faster start, no "
                            "isolation: a crash or a hang takes the server with it)")
    group.add_argument("--concurrency", type=int, default=10, metavar="N",
                       help="workers started on demand; a request beyond them is throttled "
                            "as by Lambda (default 10)")
    group.add_argument("--memory", type=int, default=None, metavar="MB",
                       help="the function's memory, enforced as each worker's address-space "
                            "limit (default: the template's MemorySize, else 512 unenforced)")
    group.add_argument("--template", default=None, metavar="FILE",
                       help="SAM template: the function's Timeout, MemorySize, "
                            "Environment.Variables and LoggingConfig")
    group.add_argument("--function", default=None, metavar="LOGICAL_ID",
                       help="the template's function to take settings from (default: the one "
                            "whose Handler is the app's, or the only one)")


def function_config(args: argparse.Namespace) -> Any:
    """The :class:`~lamroute.local.function.FunctionConfig` the options and template give."""
    from ..local.function import DEFAULT_MEMORY, DEFAULT_TIMEOUT, FunctionConfig, handler_name

    try:
        handler = handler_name(args.app)
    except ValueError as exc:
        raise UsageError(f"{exc}: the runtime imports module.attribute") from None
    spec = _template_function(args, handler)
    memory = args.memory or (spec.memory if spec else None)
    try:
        return FunctionConfig(
            handler=handler, name=spec.name if spec else "lamroute-local",
            timeout=args.timeout or (spec.timeout if spec else None) or DEFAULT_TIMEOUT,
            memory=memory or DEFAULT_MEMORY, memory_limit=memory is not None,
            variables=spec.variables if spec else {},
            log_format=spec.log_format if spec else None,
            log_level=spec.log_level if spec else None)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _template_function(args: argparse.Namespace, handler: str) -> Any:
    if args.template is None:
        if args.function is not None:
            raise UsageError("--function needs --template")
        return None
    from ..local.sam import TemplateError, load_template, read_function

    try:
        region = os.environ.get("AWS_REGION", os.environ.get("AWS_DEFAULT_REGION"))
        spec = read_function(load_template(args.template), handler=handler,
                             logical_id=args.function, region=region or "us-east-1")
    except TemplateError as exc:
        raise UsageError(str(exc)) from None
    for name, refers in spec.unresolved.items():
        if name in os.environ:
            say(f"{name} is {refers} in the template: using your shell's value")
        else:
            say(f"warning: {name} is {refers} in the template, which only AWS can resolve; "
                f"the function runs without it (set {name}=... in your shell)")
    running = f"python{sys.version_info.major}.{sys.version_info.minor}"
    if spec.runtime and spec.runtime != running:
        say(f"warning: the template's Runtime is {spec.runtime}; workers run {running}")
    return spec


def start_runtime(args: argparse.Namespace, function: Any) -> Any:
    from ..local.workers import LocalRuntime

    if args.concurrency < 1:
        raise UsageError("--concurrency must be at least 1")
    try:
        return LocalRuntime(function, concurrency=args.concurrency)
    except RuntimeError as exc:
        raise UsageError(str(exc)) from None


def describe(runtime: Any) -> str:
    function = runtime.function
    memory = f"{function.memory} MB" + ("" if function.memory_limit else " (not enforced)")
    return (f"each request runs in a worker process (awslambdaric), up to "
            f"{runtime.concurrency} at a time; function {function.name}, timeout "
            f"{function.timeout:g}s, memory {memory}; --in-process calls the app in this process")


def say(message: str) -> None:
    print(f"lamroute: {message}", file=sys.stderr, flush=True)


_PROBE = """\
import importlib, sys
module, _, attribute = sys.argv[1].partition(":")
app = getattr(importlib.import_module(module), attribute or "app")
print(bool(getattr(app, "websocket_routes", None)))
"""


def has_websocket_routes(target: str, runtime: Any) -> bool:
    """Whether the app has WebSocket routes, asked of a scratch process with the function's
    environment (the gateway itself never imports the app in this mode)."""
    try:
        done = subprocess.run([sys.executable, "-c", _PROBE, target], cwd=runtime.cwd,
                              env=runtime.environment("127.0.0.1:9"), capture_output=True,
                              text=True, timeout=60, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.stdout.strip() == "True"


def in_background(task: Callable[[], None]) -> None:
    threading.Thread(target=task, daemon=True, name="lamroute-serve-background").start()
