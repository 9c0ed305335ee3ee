"""What a route is: the records a :class:`~lamroute.routing.Router` collects and their options.

:class:`Route` (an HTTP handler) and :class:`WebSocketRoute` (a WebSocket route key), the keyword
options of their decorators (:class:`RouteOptions`, :class:`WebSocketOptions`) and the value types
those options take: :class:`Timeout`, :class:`Compression`, a guard (:class:`Gate`) and
middleware. They are declared here so that routing depends on no feature: the safeguards
(:mod:`lamroute.safeguards`), the guards (:mod:`lamroute.security.guards`) and the middleware
chain (:mod:`lamroute.middleware`) implement them, and build on this module.

>>> Route("/notes/{note_id}", ("GET",), lambda note_id: note_id, {"status_code": 200}).status_code
200
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import FrozenInstanceError, dataclass, field, fields
from reprlib import recursive_repr
from typing import TYPE_CHECKING, Any, Protocol, TypedDict, TypeVar

from ..exceptions import RouteDefinitionError, plain_status

if TYPE_CHECKING:
    from typing_extensions import dataclass_transform

    from ..http.identity import Identity
    from ..http.request import Request
    from ..http.response import Response

CONNECT, DISCONNECT, DEFAULT = "$connect", "$disconnect", "$default"


class Gate(Protocol):
    """A guard: checks the caller of a request, raising 401/403 (``requires(...)`` builds one:
    :class:`lamroute.security.guards.Guard`)."""

    def check(self, request: Request) -> Identity: ...


Predicate = Callable[["Identity"], bool]
AuthOption = Gate | Predicate
"""What ``auth=`` takes: a guard, or a predicate on the caller's identity."""


Handler = Callable[["Request"], "Response"]
Middleware = Callable[["Request", Handler], Any]


def check_middleware(func: Any) -> Middleware:
    """Reject at registration what cannot be called as ``func(request, call_next)``."""
    if not callable(func):
        raise RouteDefinitionError(f"Middleware {func!r} is not callable.")
    try:
        inspect.signature(func).bind(None, None)
    except TypeError:
        raise RouteDefinitionError(
            f"Middleware {getattr(func, '__qualname__', func)!s} must accept "
            "(request, call_next)."
        ) from None
    except ValueError:  # builtins without a signature: trust them
        pass
    return func  # type: ignore[no-any-return]


class FieldValues:
    """What ``@dataclass(frozen=True)`` would write, for the records below: ``==``, ``hash()``
    and ``repr()`` from the fields, and no assignment once built (``FrozenInstanceError``).

    Their ``@frozen_fields`` decorator is ``@dataclass`` writing no method at all, so that
    ``dataclasses.fields()``, ``replace()`` and ``astuple()`` work on them: ``dataclass`` compiles
    each method it writes from source at import, ~0.15 ms of every cold start per class for
    the two that freeze alone. Each record's ``__init__`` is its own (:meth:`_assign`).

    >>> Timeout(margin_s=1.0) == Timeout(margin_s=1.0), Timeout(margin_s=1.0)
    (True, Timeout(integration_s=29.0, margin_s=1.0))
    >>> Timeout().margin_s = 2.0
    Traceback (most recent call last):
    dataclasses.FrozenInstanceError: cannot assign to field 'margin_s'
    """

    __slots__ = ()

    def _assign(self, **values: Any) -> None:
        """Set the fields of a new (frozen) instance, as the generated ``__init__`` does."""
        for name, value in values.items():
            object.__setattr__(self, name, value)

    # As the generated ones: nothing is assigned on a record itself, and no field on an
    # instance of a subclass, which may set attributes of its own.
    def __setattr__(self, name: str, value: Any) -> None:
        if type(self) in _RECORDS or name in _field_names(type(self)):
            raise FrozenInstanceError(f"cannot assign to field {name!r}")
        super().__setattr__(name, value)

    def __delattr__(self, name: str) -> None:
        if type(self) in _RECORDS or name in _field_names(type(self)):
            raise FrozenInstanceError(f"cannot delete field {name!r}")
        super().__delattr__(name)

    def _field_values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in _field_names(type(self)))

    def __eq__(self, other: object) -> bool:
        if other is self:  # (the generated method compares the same values: equal too)
            return True
        if other.__class__ is self.__class__:
            return self._field_values() == other._field_values()
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._field_values())

    @recursive_repr()
    def __repr__(self) -> str:
        values = ", ".join(f"{name}={getattr(self, name)!r}" for name in _field_names(type(self)))
        return f"{self.__class__.__qualname__}({values})"


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}
_RECORDS: set[type] = set()  # the classes @frozen_fields made


def _field_names(cls: type) -> tuple[str, ...]:
    """The names of ``cls``'s dataclass fields, in order (read once per class)."""
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(item.name for item in fields(cls))
    return names


_Record = TypeVar("_Record", bound=FieldValues)

if TYPE_CHECKING:
    # Type checkers see frozen dataclasses (an assignment is an error there too).
    @dataclass_transform(frozen_default=True, eq_default=True, field_specifiers=(field,))
    def frozen_fields(cls: type[_Record]) -> type[_Record]: ...
else:
    def frozen_fields(cls):
        """``@dataclass`` for the field list alone: FieldValues freezes (see there)."""
        cls = dataclass(init=False, repr=False, eq=False)(cls)
        # Frozen for dataclass's own checks (a frozen dataclass may extend it, a mutable one
        # may not) and for what reads the flag (pydantic).
        cls.__dataclass_params__.frozen = True
        _RECORDS.add(cls)
        return cls


@frozen_fields
class Timeout(FieldValues):
    """The time budget of a handler.

    ``integration_s``: the gateway's integration timeout (``None`` when only Lambda's deadline
    counts, as for Function URLs and ALB); ``margin_s``: how long before the earlier deadline
    the handler is interrupted, the time left for cleanup and the 504 answer.
    """

    integration_s: float | None = 29.0
    margin_s: float = 0.5

    def __init__(self, integration_s: float | None = 29.0, margin_s: float = 0.5) -> None:
        self._assign(integration_s=integration_s, margin_s=margin_s)
        self.__post_init__()

    def __post_init__(self) -> None:
        for name in ("integration_s", "margin_s"):
            value = getattr(self, name)
            if value is None and name == "integration_s":
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
                raise ValueError(f"Timeout.{name} must be a number >= 0, not {value!r}.")

    def budget(self, remaining_ms: float) -> float:
        """Seconds the handler may run, given the Lambda time left (never below 0)."""
        # Runs on every request: comparisons rather than min()/max() calls.
        available = remaining_ms / 1000
        integration = self.integration_s
        if integration is not None and integration < available:
            available = integration
        available -= self.margin_s
        return available if available > 0 else 0.0


@frozen_fields
class Compression(FieldValues):
    """When and how to gzip: ``min_size`` in bytes (smaller bodies gain nothing), zlib ``level``.

    >>> Compression(min_size=512, level=9).level
    9
    """

    min_size: int = 1024
    level: int = 6

    def __init__(self, min_size: int = 1024, level: int = 6) -> None:
        self._assign(min_size=min_size, level=level)
        self.__post_init__()

    def __post_init__(self) -> None:
        if type(self.min_size) is not int or self.min_size < 0:
            raise ValueError(f"Compression.min_size must be an int >= 0, not {self.min_size!r}.")
        if type(self.level) is not int or not 1 <= self.level <= 9:
            raise ValueError(f"Compression.level must be an int 1-9, not {self.level!r}.")


_NEW_OPTIONS: Any = object()  # Route's options not given: a new (empty) RouteOptions


# The call form of TypedDict, with the types themselves: the class form's annotations are
# strings here (`from __future__ import annotations`), each compiled into a ForwardRef at
# import (~0.1 ms of every cold start for these two).
RouteOptions = TypedDict("RouteOptions", {  # noqa: UP013 - the call form, see above
    "status_code": int,
    "name": str,
    "summary": str,
    "description": str,
    "tags": list[str],
    "deprecated": bool,
    "include_in_schema": bool,
    "response_model": Any,
    "responses": dict[int | str, Any],
    "openapi_extra": dict[str, Any],
    "auth": AuthOption,
    "public": bool,
    "middleware": list[Middleware],
    "timeout": Timeout | None,
    "max_body_size": int | None,
    "max_fields": int | None,
    "max_part_size": int | None,
    "compress": bool | Compression,
}, total=False)
RouteOptions.__doc__ = """Keyword options every route decorator accepts."""

ROUTE_OPTIONS = frozenset(RouteOptions.__annotations__)


class UnknownRouteOption(RouteDefinitionError, TypeError):
    """A decorator got a keyword option it does not know (a typo such as ``statuscode``): a
    :class:`RouteDefinitionError`, and a ``TypeError`` as for any unexpected keyword."""


def check_options(what: str, options: Mapping[str, Any], valid: frozenset[str], *,
                  arguments: frozenset[str] = frozenset()) -> None:
    """Raise :class:`UnknownRouteOption` naming the closest valid option for each unknown one;
    ``arguments`` (the decorator's own parameters, ``methods``) may be the closest too.

    >>> try:
    ...     check_options("Route '/x'", {"method": "GET"}, ROUTE_OPTIONS,
    ...                   arguments=frozenset({"methods"}))
    ... except TypeError as exc:
    ...     print(exc)
    Route '/x': unknown option 'method' (did you mean 'methods'?).
    """
    unknown = [name for name in options if name not in valid]
    if not unknown:
        return
    import difflib  # the error path only

    parts = []
    for name in unknown:
        close = difflib.get_close_matches(str(name), valid | arguments, n=1, cutoff=0.6)
        parts.append(f"{name!r} (did you mean {close[0]!r}?)" if close else
                     f"{name!r} (options: {', '.join(sorted(valid))})")
    plural = "s" if len(parts) > 1 else ""
    raise UnknownRouteOption(f"{what}: unknown option{plural} {', '.join(parts)}.")


@frozen_fields
class Route(FieldValues):
    """One registered handler: methods, template, function and its options."""

    path: str
    methods: tuple[str, ...]
    handler: Callable[..., Any]
    options: RouteOptions = field(default_factory=lambda: RouteOptions())

    def __init__(self, path: str, methods: tuple[str, ...], handler: Callable[..., Any],
                 options: RouteOptions = _NEW_OPTIONS) -> None:
        self._assign(path=path, methods=methods, handler=handler,
                     options=RouteOptions() if options is _NEW_OPTIONS else options)

    @property
    def status_code(self) -> int:
        return plain_status(self.options.get("status_code", 200))  # type: ignore[no-any-return]

    @property
    def name(self) -> str:
        return self.options.get("name") or str(getattr(self.handler, "__name__", "handler"))


WebSocketOptions = TypedDict("WebSocketOptions", {  # noqa: UP013 - as RouteOptions
    "name": str,
    "status_code": int,
    "summary": str,
    "description": str,
    "auth": Any,  # a lamroute.security.guards Guard (``requires(...)``) or an Identity predicate
    "public": bool,
}, total=False)
WebSocketOptions.__doc__ = """Keyword options of ``@app.websocket(route_key, ...)``."""

WEBSOCKET_OPTIONS = frozenset(WebSocketOptions.__annotations__)


class WebSocketRoute:
    """A handler for one route key (``$connect``, ``$disconnect``, ``$default`` or custom)."""

    __slots__ = ("handler", "options", "route_key")

    def __init__(self, route_key: str, handler: Callable[..., Any],
                 options: WebSocketOptions | None = None) -> None:
        self.route_key = route_key
        self.handler = handler
        self.options: WebSocketOptions = options if options is not None else WebSocketOptions()

    @property
    def name(self) -> str:
        return self.options.get("name") or str(getattr(self.handler, "__name__", "handler"))

    def __repr__(self) -> str:
        return f"<WebSocketRoute {self.route_key} -> {self.name}>"


def check_route(route_key: str, options: Mapping[str, Any]) -> None:
    """Raise :class:`RouteDefinitionError` for a route key API Gateway would refuse."""
    if not isinstance(route_key, str) or not route_key or len(route_key) > 128:
        raise RouteDefinitionError(f"WebSocket route key {route_key!r} must be 1-128 chars.")
    if route_key.startswith("$") and route_key not in (CONNECT, DISCONNECT, DEFAULT):
        # https://docs.aws.amazon.com/apigateway/latest/developerguide/websocket-api-develop-routes.html
        raise RouteDefinitionError(
            f"WebSocket route key {route_key!r}: only $connect, $disconnect and $default may "
            "start with '$'."
        )
    if route_key == DISCONNECT and options.get("auth") is not None:
        # https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api-route-keys-connect-disconnect.html
        raise RouteDefinitionError(
            "WebSocket route '$disconnect' cannot be guarded: the gateway runs it once the "
            "connection is gone (best effort), so refusing it only skips the clean-up."
        )
    status = plain_status(options.get("status_code", 200))
    if type(status) is not int or not 100 <= status <= 599:
        raise RouteDefinitionError(f"Route {route_key!r}: status_code {status!r} is not 100-599.")


def with_default_guard(route: WebSocketRoute, auth: Any) -> WebSocketRoute:
    """``route`` carrying a router's default guard ``auth``, unless it has its own, is public
    or is ``$disconnect`` (never refused): how ``include_router`` keeps a router's guard."""
    options = route.options
    if (auth is None or route.route_key == DISCONNECT or options.get("auth") is not None
            or options.get("public")):
        return route
    return WebSocketRoute(route.route_key, route.handler, {**options, "auth": auth})
