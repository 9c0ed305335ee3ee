"""The function a local worker runs: its handler, timeout, memory and the environment Lambda sets.

The variables are those of the Lambda guide's "Defined runtime environment variables"
(https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime),
on top of the shell's own environment (your credentials, ``PATH``, ``HOME``), with the
function's ``Environment.Variables`` (``--template``) last.

>>> config = FunctionConfig(handler="notes.app.app", name="Notes", memory=256)
>>> env = config.environment("127.0.0.1:9001", base={})
>>> env["AWS_LAMBDA_FUNCTION_NAME"], env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"], env["_HANDLER"]
('Notes', '256', 'notes.app.app')
>>> config.arn
'arn:aws:lambda:us-east-1:123456789012:function:Notes'
"""

from __future__ import annotations

import os
import sys
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field

from ..lifecycle.hooks import SKIP_ENV

# Not Lambda's defaults for a function that sets nothing (3 s, 128 MB), which would surprise a
# `lamroute serve` user more than they help, but what `lamroute template` writes: a timeout one
# second below the 29 s integration timeout (`lamroute serve` derives it from
# --integration-timeout) and MemorySize 512.
DEFAULT_TIMEOUT = 28.0
DEFAULT_MEMORY = 512
DEFAULT_REGION = "us-east-1"
ACCOUNT = "123456789012"  # the documentation's example account: nothing real is called


def handler_name(target: str) -> str:
    """``"notes.app:app"`` → ``"notes.app.app"``, the ``module.attribute`` the runtime imports.

    >>> handler_name("notes.app:app"), handler_name("notes.app")
    ('notes.app.app', 'notes.app.app')
    """
    module, _, attribute = target.partition(":")
    if not module or "." in attribute:
        raise ValueError(f"{target!r} is not of the form module:attribute")
    return f"{module}.{attribute or 'app'}"


def execution_env() -> str:
    """``AWS_Lambda_python3.11`` for the running interpreter (the runtime client reads it to
    choose how it serialises answers, see README "Payload limits")."""
    return f"AWS_Lambda_python{sys.version_info.major}.{sys.version_info.minor}"


@dataclass(frozen=True)
class FunctionConfig:
    """One Lambda function as the local runtime runs it.

    ``memory`` is what ``AWS_LAMBDA_FUNCTION_MEMORY_SIZE`` says; ``memory_limit`` is whether
    a worker's address space is capped at it (``--memory`` or a template's ``MemorySize``).
    ``variables`` are the function's own (a SAM template's ``Environment.Variables``);
    ``log_format``/``log_level`` its ``LoggingConfig`` (``JSON``/``Text``, ``DEBUG``...).
    """

    handler: str
    name: str = "lamroute-local"
    timeout: float = DEFAULT_TIMEOUT
    memory: int = DEFAULT_MEMORY
    memory_limit: bool = False
    region: str = field(default_factory=lambda: os.environ.get(
        "AWS_REGION", os.environ.get("AWS_DEFAULT_REGION", DEFAULT_REGION)))
    variables: Mapping[str, str] = field(default_factory=dict)
    log_format: str | None = None
    log_level: str | None = None

    def __post_init__(self) -> None:
        if self.timeout <= 0:
            raise ValueError("the function's timeout must be positive")
        if self.memory < 128:
            raise ValueError("memory must be at least 128 MB, as on Lambda")

    @property
    def arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{ACCOUNT}:function:{self.name}"

    def environment(self, runtime_api: str, *, base: Mapping[str, str] | None = None,
                    task_root: str | None = None, runtime_dir: str = "") -> dict[str, str]:
        """The worker's environment: ``base`` (the shell's by default), what Lambda sets, then
        the function's own variables."""
        env = dict(os.environ if base is None else base)
        # lamroute's tools set it to import an app without running its startup hooks: a
        # worker is Lambda's runtime, where they run at INIT (unless the function sets it).
        env.pop(SKIP_ENV, None)
        stream = f"{time.strftime('%Y/%m/%d', time.gmtime())}/[$LATEST]{uuid.uuid4().hex}"
        env.update({
            "AWS_LAMBDA_RUNTIME_API": runtime_api,
            "AWS_LAMBDA_FUNCTION_NAME": self.name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(self.memory),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{self.name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": stream,
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_EXECUTION_ENV": execution_env(),
            "LAMBDA_TASK_ROOT": task_root or os.getcwd(),
            "LAMBDA_RUNTIME_DIR": runtime_dir,  # where the runtime client lives
            "_HANDLER": self.handler,
            "TZ": ":UTC",
            "LANG": "en_US.UTF-8",
            "PYTHONUNBUFFERED": "1",  # log lines reach the terminal as they are written
        })
        env.update(self.own_variables())
        # The worker's memory cap is on its address space (RLIMIT_AS, see .processes), which
        # Lambda does not count: glibc reserves 64 MB of it for each thread's malloc arena (the
        # deadline's watchdog, the runtime client's threads), enough to reach a 256 MB cap with
        # nothing in use. Two arenas keep the address space near the resident memory Lambda
        # measures; a value of the shell's or the function's own is kept.
        env.setdefault("MALLOC_ARENA_MAX", "2")
        return env

    def own_variables(self) -> dict[str, str]:
        """The function's own variables, with its logging configuration's (what an app
        called in-process gets too).

        >>> FunctionConfig(handler="a.app", log_level="DEBUG", variables={"A": "1"}
        ...                ).own_variables()
        {'AWS_LAMBDA_LOG_LEVEL': 'DEBUG', 'A': '1'}
        """
        found = {}
        # Lambda sets these two only when the function has a logging configuration (advanced
        # logging controls); the runtime client, and lamroute's logs, read them at start-up.
        # https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-advanced.html
        if self.log_format:
            found["AWS_LAMBDA_LOG_FORMAT"] = self.log_format
        if self.log_level:
            found["AWS_LAMBDA_LOG_LEVEL"] = self.log_level
        return {**found, **self.variables}
