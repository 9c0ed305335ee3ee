"""Safeguards: the app's safety net around a handler call.

This module holds the chain (:class:`Safeguards`, :class:`RouteSafeguard`): body size, deadline,
compression and the response size, resolved once per route at registration (route options
override the app's); a route with nothing to do gets no safeguard at all, so an app without these
features pays nothing. ``deadline.py`` answers 504 before Lambda or the gateway gives up, with
the thread of ``watchdog.py`` (loaded with the first deadline) interrupting a late handler,
``limits.py`` keeps requests and answers within the services' size limits (loaded with the
first answer that may not fit, or the first route with a body limit), ``compression.py``
gzips (loaded only by apps that compress), ``tasks.py`` lets the deadline cancel an async
handler's task (loaded only by async apps). Their option values (``Timeout``, ``Compression``)
are declared in :mod:`lamroute.routing.routes`.

>>> import logging
>>> from lamroute.errors import problem_response
>>> from lamroute.errors.boundary import Boundary
>>> log = logging.getLogger("doc")
>>> guards = Safeguards(timeout=None, compress=False, max_body_size=None,
...                     boundary=Boundary(logger=log, formatter=problem_response, debug=False),
...                     logger=log)
>>> guards.for_route({}) is None, guards.for_route({"max_body_size": 10}).max_body_size
(True, 10)
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from ..exceptions import RouteDefinitionError
from ..http.response import untouched_json_body
from ..routing.routes import Compression, Timeout
from .deadline import Deadline

if TYPE_CHECKING:
    from ..errors.boundary import Boundary
    from ..formats import PayloadFormat
    from ..http.forms import FormLimits
    from ..http.request import Request
    from ..http.response import Response
    from ..routing.routes import Handler
    from .limits import PayloadLimit

_UNSET: Any = object()
# A body byte takes at most 6 bytes in the payload (a control character's \u escape; base64
# takes 4/3): a lone-header answer this size is well under ALB's limit (1 MB), the smallest.
SURELY_FITS = 64 * 1024
# The route options that change a route's safeguard from the app's.
_ROUTE_SETTINGS = frozenset({"timeout", "max_body_size", "compress", "max_fields",
                             "max_part_size"})


class RouteSafeguard:
    """What one route's calls go through: a body limit, a deadline and compression.

    A slotted class, not a dataclass: generating dataclass methods costs cold start.
    """

    __slots__ = ("check_body", "compression", "deadline", "gzip", "max_body_size")

    def __init__(self, max_body_size: int | None, deadline: Deadline | None,
                 compression: Compression | None) -> None:
        self.max_body_size = max_body_size
        # the body size check, loaded (with the size limits) only for routes that set one
        self.check_body = _body_check(max_body_size) if max_body_size is not None else None
        self.deadline = deadline
        self.compression = compression
        # gzip bound to this route's settings; the module loads only for routes that compress
        self.gzip = _gzip(compression) if compression is not None else None

    @property
    def runner(self) -> Callable[[Callable[[Request], Response], Request], Response]:
        """What the app calls as ``runner(handle, request)``: :meth:`run`, or straight the
        deadline's ``run`` when the deadline is all there is to do (most routes)."""
        if (self.deadline is not None and self.max_body_size is None and self.gzip is None
                and type(self) is RouteSafeguard):
            return self.deadline.run
        return self.run

    def run(self, call: Callable[[Request], Response], request: Request) -> Response:
        """``call(request)`` inside the route's limits."""
        if self.check_body is not None:
            self.check_body(request)
        response = call(request) if self.deadline is None else self.deadline.run(call, request)
        if self.gzip is not None:
            response = self.gzip(response, request.headers.get("accept-encoding"))
        return response

    async def arun(self, call: Callable[[Request], Awaitable[Response]],
                   request: Request) -> Response:
        """:meth:`run` for an awaited call, on the event loop (under async app middleware)."""
        if self.check_body is not None:
            self.check_body(request)
        if self.deadline is None:
            response = await call(request)
        else:
            from .tasks import run_within

            response = await run_within(self.deadline, call, request)
        if self.gzip is not None:
            response = self.gzip(response, request.headers.get("accept-encoding"))
        return response


class FormSafeguard(RouteSafeguard):
    """A route safeguard that also gives the request its form limits (``max_fields``,
    ``max_part_size``), read by ``request.form()``: only routes or apps that set them get one,
    so the others pay nothing."""

    __slots__ = ("form_limits",)

    def __init__(self, max_body_size: int | None, deadline: Deadline | None,
                 compression: Compression | None, form_limits: FormLimits) -> None:
        super().__init__(max_body_size, deadline, compression)
        self.form_limits = form_limits

    def run(self, call: Callable[[Request], Response], request: Request) -> Response:
        request._form_limits = self.form_limits
        return super().run(call, request)


class Safeguards:
    """The app-level settings, the per-route resolution and the response size check."""

    def __init__(self, *, timeout: Timeout | None, compress: bool | Compression,
                 max_body_size: int | None, boundary: Boundary,
                 logger: logging.Logger, max_fields: int | None = None,
                 max_part_size: int | None = None) -> None:
        self.timeout = _check_timeout(timeout, "App")
        self.deadline = Deadline(self.timeout, logger) if self.timeout is not None else None
        self.compression = _check_compression(compress, "App")
        self.max_body_size = _check_size(max_body_size, "App")
        self.max_fields = _check_size(max_fields, "App", "max_fields", minimum=1)
        self.max_part_size = _check_size(max_part_size, "App", "max_part_size")
        self.logger = logger
        self.boundary = boundary
        self._payload_limit: PayloadLimit | None = None
        self._shared: Any = _UNSET  # the safeguard of the routes that override nothing

    @property
    def payload_limit(self) -> PayloadLimit:
        """The response size check (:mod:`.limits`, loaded with the first answer that may not
        fit: :meth:`surely_fits` spares the usual ones)."""
        if self._payload_limit is None:
            from .limits import PayloadLimit

            self._payload_limit = PayloadLimit(boundary=self.boundary, logger=self.logger,
                                               compression=self.compression)
        return self._payload_limit

    @staticmethod
    def surely_fits(response: Response) -> bool:
        """Whether ``response``, rendered as it is, fits every format's limit without being
        measured: a JSON answer as lamroute built it (one header) with a body of at most
        :data:`SURELY_FITS` bytes."""
        body = untouched_json_body(response)
        return body is not None and len(body) <= SURELY_FITS

    def for_route(self, options: Mapping[str, Any]) -> RouteSafeguard | None:
        """The safeguard of a route with these decorator options (``None``: nothing to do).

        Routes that override none of the app's settings share one (it holds no state).
        """
        if options.keys().isdisjoint(_ROUTE_SETTINGS):
            shared = self._shared
            if shared is _UNSET:
                shared = self._shared = self._for_route(options)
            return shared  # type: ignore[no-any-return]
        return self._for_route(options)

    def _for_route(self, options: Mapping[str, Any]) -> RouteSafeguard | None:
        where = f"Route option of {options.get('name') or 'a route'}"
        timeout = _check_timeout(options.get("timeout", self.timeout), where)
        size = _check_size(options.get("max_body_size", self.max_body_size), where)
        option = options.get("compress", _UNSET)
        compression = self.compression if option is _UNSET else _check_compression(option, where)
        # The app's own deadline (already running under app middleware), or the route's, whose
        # budget replaces the app's once routed (a route's None lifts it).
        deadline = (self.deadline if timeout == self.timeout
                    else Deadline(timeout, self.logger))
        fields = _check_size(options.get("max_fields", self.max_fields), where, "max_fields",
                             minimum=1)
        part = _check_size(options.get("max_part_size", self.max_part_size), where,
                           "max_part_size")
        if fields is not None or part is not None:
            from ..http.forms import FormLimits  # apps that limit forms only

            limits = FormLimits(max_fields=fields, max_part_size=part)
            return FormSafeguard(size, deadline, compression, limits)
        if deadline is None and size is None and compression is None:
            return None
        return RouteSafeguard(size, deadline, compression)

    def cover(self, chain: Handler) -> Handler:
        """``chain`` (the app middleware around routing) under the app's deadline, so one timer
        runs from the first middleware to the handler; routes with the app's timeout find it
        running and arm nothing more."""
        deadline = self.deadline
        if deadline is None:
            return chain

        def covered(request: Request) -> Response:
            return deadline.run(chain, request)

        return covered

    def fit(self, payload: dict[str, Any], fmt: PayloadFormat | None, response: Response,
            request: Request | None, event: Any = None) -> dict[str, Any]:
        """The rendered answer, replaced when it is larger than the gateway accepts."""
        return self.payload_limit.fit(payload, fmt, response, request, event)


def _body_check(limit: int) -> Callable[[Request], None]:
    """``check(request)``: a 413 for a body over ``limit`` bytes."""
    from .limits import check_body_size

    return lambda request: check_body_size(request, limit)


def _check_timeout(value: Any, where: str) -> Timeout | None:
    if value is None or isinstance(value, Timeout):
        return value
    raise RouteDefinitionError(f"{where}: timeout must be a Timeout or None, not {value!r}.")


def _gzip(config: Compression) -> Callable[[Response, str | None], Response]:
    """``compress(response, accept_encoding)`` with ``config``."""
    from functools import partial

    from .compression import compress

    return partial(compress, config=config)


def _check_compression(value: Any, where: str) -> Compression | None:
    if value is None or value is False:  # off: the compression module is not needed
        return None
    from .compression import resolve

    try:
        return resolve(value)
    except TypeError as exc:
        raise RouteDefinitionError(f"{where}: {exc}") from None


def _check_size(value: Any, where: str, name: str = "max_body_size", *,
                minimum: int = 0) -> int | None:
    if value is None or (type(value) is int and value >= minimum):
        return value
    raise RouteDefinitionError(f"{where}: {name} must be an int >= {minimum} or None, "
                               f"not {value!r}.")
