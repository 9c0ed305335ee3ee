"""Startup hooks: run once per container (per process), before the first request.

``@app.on_startup`` hooks (sync or ``async def``) run in registration order. When the Lambda
runtime imports the app (``AWS_LAMBDA_RUNTIME_API`` is set and ``_HANDLER`` names the module
being imported), they run as soon as that module has finished importing, still in the INIT
phase (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html): its
time does not count against the first invocation's timeout, and provisioned concurrency or
a SnapStart snapshot starts warm. Elsewhere (tests, ``lamroute serve``) they run on the first
request; ``app.startup()`` runs them at once. ``lamroute routes``, ``openapi`` and ``template``
import apps without running them (``LAMROUTE_SKIP_STARTUP=1``).

A failing hook (an exception) stops the others; it is logged once with its traceback, and
every request is answered with a formatted 503 from then on.

>>> events = []
>>> hooks = Lifecycle()
>>> hooks.add_startup(lambda: events.append("connected"))
>>> hooks.start(), hooks.start(), events
(None, None, ['connected'])
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Callable
from importlib.machinery import ModuleSpec
from typing import Any

from ..exceptions import RouteDefinitionError, ServiceUnavailable
from ..params.signature import call_kind

SKIP_ENV = "LAMROUTE_SKIP_STARTUP"
"""Set (to anything non-empty) to import an app without running its startup hooks at INIT."""

Hook = Callable[[], Any]
_logger = logging.getLogger("lamroute")


class Lifecycle:
    """An app's startup and SnapStart hooks, and whether the startup hooks ran.

    ``app`` is a :class:`lamroute.App` (typed loosely: the app layer is above this one); while
    its startup hooks have not run, its ``_gate`` runs them before the request, and after they
    failed it answers 503.
    """

    def __init__(self, app: Any = None) -> None:
        self.app = app
        self.startup_hooks: list[Hook] = []
        self.before_snapshot: list[Hook] = []
        self.after_restore: list[Hook] = []
        self.started = False
        self.failure: BaseException | None = None
        self._running = False
        self._lock = threading.RLock()

    def add_startup(self, func: Hook) -> None:
        """Register ``func`` to run once before the first request (at INIT in Lambda)."""
        _check_hook(func, "on_startup")
        if self.started:
            raise RouteDefinitionError(
                f"Startup hook {_name(func)} is added after the app has started (its startup "
                "hooks have run); register it where the app is built.")
        self.startup_hooks.append(func)
        if len(self.startup_hooks) == 1 and self.app is not None:
            self.app._gate = self.gate
            start_at_init(self.start)

    def start(self) -> BaseException | None:
        """Run the startup hooks, once; the first failure (``None`` when they all ran).

        Two threads asking at once: one runs them, the other waits. A hook that makes a
        request to its own app meanwhile is not blocked (the hooks are already running).
        """
        if not self.started:
            with self._lock:
                if not (self.started or self._running):
                    self._run_hooks()
        if self.app is not None and self.started:
            self.app._gate = None if self.failure is None else self.unavailable
        return self.failure

    def _run_hooks(self) -> None:
        self._running = True
        hook: Hook | None = None
        try:
            for hook in self.startup_hooks:
                run_hook(hook)
        except Exception as exc:
            self.failure = exc
            _logger.error("startup hook failed: every request is answered with a 503 until the "
                          "container is replaced", exc_info=exc, extra={"hook": _name(hook)})
        finally:
            self._running = False
            self.started = True

    def gate(self) -> None:
        """Before the first request: run the startup hooks (a 503 if they failed)."""
        if self.start() is not None:
            self.unavailable()

    def unavailable(self) -> None:
        """After a failed startup: the 503 (the failure was logged, once, when it happened)."""
        error = ServiceUnavailable("The service failed to start.")
        error.already_logged = True  # type: ignore[attr-defined]  # read by the boundary
        raise error


def run_hook(hook: Hook) -> None:
    """Call ``hook``; an ``async def`` hook runs on the container's event loop."""
    if call_kind(hook) == "async":
        from ..aio.loop import run

        run(hook())
        return
    hook()


def _check_hook(func: Any, what: str) -> None:
    if not callable(func):
        raise RouteDefinitionError(f"@app.{what} takes a function, not {func!r}.")


def _name(func: Any) -> str:
    return str(getattr(func, "__qualname__", None) or repr(func))


def start_at_init(start: Callable[[], Any]) -> bool:
    """Arrange for ``start`` to run as soon as the module the Lambda runtime is importing (the
    handler's, from ``_HANDLER``) has finished importing; ``False`` when it is not being imported
    by the Lambda runtime now (the first request runs the hooks then).

    The import system marks a module being imported (``module.__spec__._initializing``) and
    clears the mark once its code has run; the mark's clearing is the moment, on the main
    thread, still inside the runtime's import of the handler.
    """
    if os.environ.get(SKIP_ENV) or not os.environ.get("AWS_LAMBDA_RUNTIME_API"):
        return False
    # _HANDLER is "module.function" or "path/to/module.function"
    # https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime
    module_name = os.environ.get("_HANDLER", "").rpartition(".")[0].replace("/", ".")
    spec = getattr(sys.modules.get(module_name), "__spec__", None)
    if spec is None or not getattr(spec, "_initializing", False):
        return False
    if type(spec) is ModuleSpec:
        spec.__class__ = _ImportingSpec
    elif type(spec) is not _ImportingSpec:  # an import system we do not know
        return False
    spec.__dict__.setdefault("_lamroute_after_import", []).append(start)
    return True


class _ImportingSpec(ModuleSpec):
    """The spec of the handler module while it imports: calls the registered functions when
    the import system marks it imported, then becomes a plain ``ModuleSpec`` again."""

    @property
    def _initializing(self) -> bool:
        return bool(self.__dict__.get("_initializing", False))

    @_initializing.setter
    def _initializing(self, value: bool) -> None:
        self.__dict__["_initializing"] = value
        if value:
            return
        self.__class__ = ModuleSpec  # type: ignore[assignment]
        waiting = self.__dict__.pop("_lamroute_after_import", [])
        if sys.modules.get(self.name) is None:  # the import failed: no app to start
            return
        for start in waiting:
            try:
                start()
            except Exception:  # start() records and logs its failures; never fail the import
                _logger.exception("starting the app after import failed")
