"""SnapStart: lamroute's runtime hooks, registered when ``snapshot_restore_py`` is there (not
when ``AWS_LAMBDA_INITIALIZATION_TYPE`` names a type that takes no snapshot: see ``App``).

With SnapStart, Lambda runs the INIT phase once when a version is published, snapshots the
environment, and resumes every new environment from that snapshot
(https://docs.aws.amazon.com/lambda/latest/dg/snapstart.html). The Python managed runtimes
ship ``snapshot_restore_py``, whose ``register_before_snapshot(func, *args)`` and
``register_after_restore(func, *args)`` hooks run before the snapshot (in reverse order of
registration) and after each restore (in order)
(https://docs.aws.amazon.com/lambda/latest/dg/snapstart-runtime-hooks-python.html). Each app
registers two when it is built:

- before the snapshot (:func:`before_snapshot`): the app starts (its ``@app.on_startup``
  hooks; a failure fails the publication instead of snapshotting a broken app), the lazy work
  of a first request is done (every payload format, the custom integration's included, parses
  and renders a request, an error
  answer and an access line are formatted, the checks of a malformed JSON body are loaded,
  validators left for their first request are built, the event loop of an app with async code
  runs once), then the app's
  ``@app.before_snapshot`` hooks run;
- after a restore (:func:`after_restore`): the next request is logged as a cold start,
  Python's shared ``random`` generator is reseeded (it was seeded before the snapshot, so every
  restored environment would draw the same numbers; lamroute itself draws none), the
  ``cache="container"`` values marked ``restore="rebuild"`` are dropped (their clean-up after
  ``yield`` runs; the next request builds them again), then the app's ``@app.after_restore``
  hooks run.

Anything unique must be made after the restore: no ids, secrets or seeds generated at import
(https://docs.aws.amazon.com/lambda/latest/dg/snapstart-uniqueness.html).
"""

from __future__ import annotations

import importlib
import logging
import sys
from typing import Any

from ..exceptions import NotFound
from ..formats import CUSTOM_MARKER, PayloadFormat, detect, websocket_format
from ..http.response import Response
from ..params.validation import build_deferred
from .hooks import run_hook

App = Any  # a lamroute.App (the app layer is above this one)
MODULE = "snapshot_restore_py"


def register(app: App) -> bool:
    """Register ``app``'s SnapStart hooks; ``False`` when ``snapshot_restore_py`` is absent."""
    try:
        hooks: Any = importlib.import_module(MODULE)
    except ImportError:
        return False
    hooks.register_before_snapshot(before_snapshot, app)
    hooks.register_after_restore(after_restore, app)
    return True


def before_snapshot(app: App) -> None:
    """Start ``app`` and do the lazy work of a first request, then the app's own hooks."""
    failure = app.startup()
    if failure is not None:  # never snapshot an app that answers 503 to everything
        raise RuntimeError("the app's startup hooks failed; no snapshot is taken") from failure
    warm(app)
    for hook in app.lifecycle.before_snapshot:
        run_hook(hook)


def after_restore(app: App) -> None:
    """Make this environment distinct from the others restored from the same snapshot."""
    app._cold_start = True
    random = sys.modules.get("random")
    if random is not None:
        random.seed()  # from os.urandom, which is unique per restored environment
    dependencies = sys.modules.get("lamroute.params.dependencies")
    if dependencies is not None:  # loaded by the app's first container dependency
        dependencies.forget_container_values(rebuild_only=True)
    for hook in app.lifecycle.after_restore:
        run_hook(hook)


def warm(app: App) -> None:
    """What a first request would do, once, without calling any handler or middleware."""
    build_deferred()
    for compiled in app._compiled:
        adapter = getattr(compiled.serialize, "core", None)  # a response model's validator
        rebuild = getattr(adapter, "rebuild", None)  # a TypeAdapter (pydantic >= 2.10)
        if rebuild is not None:  # one left for its first use (forward references): built
            rebuild(raise_errors=False)
    # Read here, not at import: every app in Lambda imports this module, and FORMATS loads the
    # payload 2.0 and ALB modules (on first use otherwise: lamroute.formats).
    from ..formats import FORMATS

    for fmt in [*FORMATS, websocket_format()] if app.websocket_routes else FORMATS:
        event = SAMPLE_EVENTS.get(fmt.name)
        if event is not None:
            _warm_format(app, fmt, event)
    if app.routes:  # the custom integration's format, loaded by the first event it sends
        _warm_format(app, detect(SAMPLE_EVENTS["custom"]), SAMPLE_EVENTS["custom"])
    if app.websocket_routes:
        app.connections  # noqa: B018 - the @connections client's module
    if app.access_log:
        app.access_logger()  # the access line's module
    from ..safeguards.deadline import watchdog

    watchdog()  # its module (the thread starts with the first deadline, after the restore)
    from ..errors import problem  # noqa: F401 - loaded by the first error that builds a Problem
    from ..http import json_checks  # noqa: F401 - loaded by the first malformed JSON body
    if _has_async(app):
        from ..aio.loop import run

        async def nothing() -> None:
            return None

        run(nothing())


def _has_async(app: App) -> bool:
    """Whether ``app`` runs anything on the event loop."""
    websockets = app._websockets
    return bool(app._app_async or any(c.is_async for c in app._compiled) or (
        websockets is not None and websockets.has_async))


def _warm_format(app: App, fmt: PayloadFormat, event: dict[str, Any]) -> None:
    request = fmt.parse(event, None)
    request.headers, request.query, request.cookies, request.source_ip  # noqa: B018
    request.json()
    for response in (Response.json({"warm": True}), Response("warm"),
                     app.boundary.handle(NotFound("warm"), request)):
        payload = fmt.render(response, request)
        app.safeguards.fit(payload, fmt, response, request, event)
    logger = app.logger
    record = logger.makeRecord(logger.name, logging.INFO, __file__, 0, "request", (), None,
                               extra={"status": 200, "route": None, "cold_start": True})
    for handler in logger.handlers:
        if handler.filter(record):
            handler.format(record)


_HEADERS = {"content-type": "application/json", "user-agent": "lamroute-warm",
            "cookie": "a=b"}
SAMPLE_EVENTS: dict[str, dict[str, Any]] = {
    "rest": {
        "resource": "/warm", "path": "/warm", "httpMethod": "POST", "headers": _HEADERS,
        "multiValueHeaders": {k: [v] for k, v in _HEADERS.items()},
        "queryStringParameters": {"q": "1"}, "multiValueQueryStringParameters": {"q": ["1"]},
        "pathParameters": None, "stageVariables": None, "body": "{}", "isBase64Encoded": False,
        "requestContext": {"stage": "warm", "requestId": "warm", "path": "/warm/warm",
                           "identity": {"sourceIp": "127.0.0.1"}},
    },
    "http": {
        "version": "2.0", "routeKey": "$default", "rawPath": "/warm", "rawQueryString": "q=1",
        "cookies": ["a=b"], "headers": {"content-type": "application/json"},
        "queryStringParameters": {"q": "1"}, "body": "{}", "isBase64Encoded": False,
        "requestContext": {"stage": "$default", "requestId": "warm",
                           "domainName": "warm.execute-api.us-east-1.amazonaws.com",
                           "http": {"method": "POST", "path": "/warm", "protocol": "HTTP/1.1",
                                    "sourceIp": "127.0.0.1", "userAgent": "lamroute-warm"}},
    },
    "alb": {
        "httpMethod": "POST", "path": "/warm", "queryStringParameters": {"q": "1"},
        "headers": _HEADERS, "body": "{}", "isBase64Encoded": False,
        "requestContext": {"elb": {"targetGroupArn": "arn:aws:elasticloadbalancing:warm"}},
    },
    "websocket": {
        "requestContext": {"routeKey": "$default", "eventType": "MESSAGE",
                           "connectionId": "warm", "requestId": "warm", "stage": "warm",
                           "domainName": "warm.execute-api.us-east-1.amazonaws.com",
                           "apiId": "warm", "identity": {"sourceIp": "127.0.0.1"}},
        "body": "{}", "isBase64Encoded": False,
    },
}
"""The smallest events each payload format parses (a Function URL parses as ``http``)."""
SAMPLE_EVENTS["custom"] = {  # what lamroute's custom integration request template writes
    "lamroute": CUSTOM_MARKER, "responseEncoding": "base64", "method": "POST",
    "path": "%2Fwarm%2Fwarm", "resource": "/warm", "pathParameters": {},
    "headers": {"content-type": "application%2Fjson", "cookie": "a%3Db"},
    "queryStringParameters": {"q": "1"}, "body": "e30=", "isBase64Encoded": True,
    "requestContext": {"stage": "warm", "requestId": "warm",
                       "identity": {"sourceIp": "127.0.0.1"}},
}
SAMPLE_EVENTS["http-v1"] = {**SAMPLE_EVENTS["rest"], "version": "1.0"}
SAMPLE_EVENTS["url"] = {**SAMPLE_EVENTS["http"], "requestContext": {
    **SAMPLE_EVENTS["http"]["requestContext"], "domainName": "warm.lambda-url.us-east-1.on.aws"}}
