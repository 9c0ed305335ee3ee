"""How the gateway answers a failed invocation, and how the runtime describes the failure.

API Gateway treats every invocation and function error as an internal error
(https://docs.aws.amazon.com/lambda/latest/dg/services-apigateway-errors.html): for a **REST
API**, an invocation the Lambda service rejects (throttled) is a ``500``, a function that fails
(unhandled error, crash, timeout, failed start) or answers in the wrong format is a ``502``,
both ``{"message": "Internal server error"}``. An **HTTP API** answers every integration error
with ``500 {"message":"Internal Server Error"}``
(https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-troubleshooting-lambda.html).
A **Function URL** answers a function error with ``502`` (observed, see
https://github.com/awsdocs/aws-lambda-developer-guide/issues/430) and passes Lambda's own
``429`` through for a throttled invocation (Lambda's ``TooManyRequestsException``).

The one place that decides how the local gateway answers is
:meth:`lamroute.local.gateway_errors.GatewayErrors.invocation_failed`: these statuses, with
API Gateway's default bodies, or the body of the REST API's ``DEFAULT_5XX`` gateway response
when the gateway is served from a template that has one (``lamroute serve --template``).

>>> failure_status("rest", "throttled"), failure_status("rest", "crash")
((500, 'Internal server error'), (502, 'Internal server error'))
>>> failure_status("http", "timeout")
(500, 'Internal Server Error')
>>> describe_exit(-11)
'signal: segmentation fault'
"""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Mapping
from typing import Any

from ..lifecycle.hooks import SKIP_ENV

FAILURES = ("throttled", "function", "timeout", "crash", "memory", "init", "malformed")
"""How an invocation can fail: Lambda rejected it (``throttled``), the ``function`` raised,
ran past its ``timeout``, its process ended (``crash``, out of ``memory``) or could not start
(``init``), or its answer was ``malformed`` for the gateway."""
_ANSWERS: dict[str, dict[str, tuple[int, str]]] = {
    "rest": {"throttled": (500, "Internal server error"),
             "function": (502, "Internal server error"),
             "malformed": (502, "Internal server error")},
    "http": {"throttled": (500, "Internal Server Error"),
             "function": (500, "Internal Server Error"),
             "malformed": (500, "Internal Server Error")},
    "url": {"throttled": (429, "Rate Exceeded."),
            "function": (502, "Internal Server Error"),
            "malformed": (502, "Internal Server Error")},
}
# What the runtime and the Lambda service call each failure (the errorType in the logs).
ERROR_TYPES = {"timeout": "Sandbox.Timedout", "crash": "Runtime.ExitError",
               "memory": "Runtime.OutOfMemory", "throttled": "TooManyRequestsException"}


def failure_status(api: str, failure: str) -> tuple[int, str]:
    """The status and default message of ``api``'s answer when the invocation failed as
    ``failure`` (one of :data:`FAILURES`)."""
    if failure not in FAILURES:
        raise ValueError(f"unknown failure {failure!r}")
    kind = failure if failure in ("throttled", "malformed") else "function"
    return _ANSWERS[api][kind]


def describe_exit(code: int) -> str:
    """Lambda's words for how a runtime process ended: ``signal: killed``, ``exit status 3``."""
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            return f"signal: {-code}"
        words = {"SIGSEGV": "segmentation fault", "SIGKILL": "killed", "SIGABRT": "aborted",
                 "SIGBUS": "bus error", "SIGTERM": "terminated", "SIGFPE": "floating point "
                 "exception", "SIGILL": "illegal instruction"}
        return "signal: " + words.get(name, name.lower())
    return f"exit status {code}"


def format_error(error: Mapping[str, Any]) -> str:
    """The runtime's error document as a traceback-like text for the terminal."""
    kind = error.get("errorType") or "Error"
    lines = [f"{kind}: {error.get('errorMessage', '')}"]
    trace = error.get("stackTrace") or []
    if isinstance(trace, list) and trace:
        lines.insert(0, "Traceback (most recent call last):")
        lines[1:1] = [str(frame).rstrip("\n") for frame in trace]
    return "\n".join(lines)


_DIAGNOSE = """\
import importlib, sys, traceback
try:
    importlib.import_module(sys.argv[1])
except BaseException as exc:
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if not f.filename.startswith(("<frozen", "<string>"))
              and "importlib" not in f.filename]
    print("Traceback (most recent call last):", file=sys.stderr)
    print("".join(traceback.format_list(frames)), end="", file=sys.stderr)
    print("".join(traceback.format_exception_only(exc)), end="", file=sys.stderr)
"""


def import_traceback(module: str, *, env: Mapping[str, str], cwd: str | None,
                     python: str = sys.executable) -> str:
    """The user's traceback for a module that fails to import.

    The runtime client reports an ``ImportError`` as ``Runtime.ImportModuleError`` with no
    stack trace (the real one on AWS too); importing the module again in a scratch process,
    with the worker's environment, shows which line of which file failed. Only run after an
    init error (the module's top level runs once more, up to the failing line).
    """
    try:
        # Should the import succeed this time, no startup hook runs (SKIP_ENV).
        done = subprocess.run([python, "-c", _DIAGNOSE, module],
                              env={**env, SKIP_ENV: "1"}, cwd=cwd,
                              capture_output=True, text=True, timeout=30,
                              stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"(the traceback could not be recovered: {exc})"
    return done.stderr.strip()
