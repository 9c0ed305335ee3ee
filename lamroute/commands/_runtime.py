"""``lamroute serve``'s local runtime options: workers, concurrency, memory, the function's
settings (the command line's, else the ``--template``'s).

Not a command itself (``cli`` finds commands by name); :mod:`lamroute.commands.serve` uses it.
"""

from __future__ import annotations

import argparse
import math
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
                            "as Lambda throttles a function (REST and HTTP APIs answer 500, a "
                            "Function URL 429; the API stage's own limit is --throttle-rate) "
                            "(default 10)")
    group.add_argument("--memory", type=int, default=None, metavar="MB",
                       help="the function's memory, enforced as each worker's address-space "
                            "limit (default: the template's MemorySize, else 512 unenforced)")
    group.add_argument("--function", default=None, metavar="LOGICAL_ID",
                       help="the template's function to take settings from (default: the one "
                            "whose Handler is the app's, or the only one)")


def function_config(args: argparse.Namespace, spec: Any) -> Any:
    """The :class:`~lamroute.local.function.FunctionConfig` the options and the template's
    function (``spec``, a :class:`~lamroute.local.sam.TemplateFunction` or ``None``) give;
    the command line first. Without either, the timeout is one second below the integration
    timeout, as ``lamroute template`` deploys the function."""
    from ..local.function import DEFAULT_MEMORY, FunctionConfig, handler_name

    try:
        handler = handler_name(args.app)
    except ValueError as exc:
        raise UsageError(f"{exc}: the runtime imports module.attribute") from None
    if spec is not None:
        _say_template_function(spec)
    elif args.template is not None:
        say(f"warning: {args.template} declares no function: the function's defaults apply")
    memory = args.memory or (spec.memory if spec else None)
    deployed = max(math.ceil(args.integration_timeout) - 1, 1)
    try:
        return FunctionConfig(
            handler=handler, name=spec.name if spec else "lamroute-local",
            timeout=args.timeout or (spec.timeout if spec else None) or deployed,
            memory=memory or DEFAULT_MEMORY, memory_limit=memory is not None,
            variables=spec.variables if spec else {},
            log_format=spec.log_format if spec else None,
            log_level=spec.log_level if spec else None)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _say_template_function(spec: Any) -> None:
    for name, refers in spec.unresolved.items():
        if name in os.environ:
            say(f"{name} is {refers} in the template: using your shell's value")
        else:
            say(f"warning: {name} is {refers} in the template, which only AWS can resolve; "
                f"the function runs without it (set {name}=... in your shell)")
    running = f"python{sys.version_info.major}.{sys.version_info.minor}"
    if spec.runtime and spec.runtime != running:
        say(f"warning: the template's Runtime is {spec.runtime}; workers run {running}")


def start_runtime(args: argparse.Namespace, function: Any,
                  lines: Callable[[str], None]) -> Any:
    """The pool of workers; each line they write goes to ``lines`` (the terminal)."""
    from ..local.workers import LocalRuntime

    if args.concurrency < 1:
        raise UsageError("--concurrency must be at least 1")
    try:
        return LocalRuntime(function, concurrency=args.concurrency, lines=lines)
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
    environment (the gateway itself does not import the app in this mode, unless an
    authorizer needs its routes); its startup hooks do not run there (``SKIP_ENV``)."""
    from ..lifecycle.hooks import SKIP_ENV

    env = {**runtime.environment("127.0.0.1:9"), SKIP_ENV: "1"}
    try:
        done = subprocess.run([sys.executable, "-c", _PROBE, target], cwd=runtime.cwd,
                              env=env, capture_output=True,
                              text=True, timeout=60, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.stdout.strip() == "True"


def in_background(task: Callable[[], None]) -> None:
    threading.Thread(target=task, daemon=True, name="lamroute-serve-background").start()
