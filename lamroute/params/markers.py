"""Markers that say where a handler parameter comes from, and the Lambda context protocol.

Use them inside ``Annotated`` so the function keeps its plain Python defaults::

    from typing import Annotated
    from lamroute import Depends, Header, Query

    @app.get("/notes")
    def list_notes(
        limit: Annotated[int, Query(ge=1, le=100, description="page size")] = 10,
        trace: Annotated[str | None, Header(alias="X-Trace-Id")] = None,
        db: Annotated[Database, Depends(get_database, cache="container")] = None,
    ) -> list[Note]: ...

They also work as defaults (``limit: int = Query(10, ge=1)``), FastAPI style, at the price of
the function no longer being callable without arguments. This module never imports pydantic.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, Protocol, runtime_checkable

_NO_DEFAULT: Any = ...
"""``...`` as a marker default means "required" (FastAPI's convention)."""

CONSTRAINTS = (
    "gt", "ge", "lt", "le", "multiple_of", "min_length", "max_length", "pattern",
)


class Param:
    """Where a value comes from (``IN``), its public name and its constraints.

    ``alias`` is the name on the wire (query key, header name, cookie name, body member);
    ``gt``/``ge``/``lt``/``le``/``multiple_of`` bound numbers, ``min_length``/``max_length``
    strings and lists, ``pattern`` is a regular expression a string must match.
    """

    IN = "query"
    __slots__ = (
        "alias", "default", "default_factory", "deprecated", "description", "examples",
        "extra", "include_in_schema", "title",
    )

    def __init__(
        self,
        default: Any = _NO_DEFAULT,
        *,
        default_factory: Callable[[], Any] | None = None,
        alias: str | None = None,
        title: str | None = None,
        description: str | None = None,
        examples: list[Any] | None = None,
        deprecated: bool | None = None,
        include_in_schema: bool = True,
        gt: float | None = None,
        ge: float | None = None,
        lt: float | None = None,
        le: float | None = None,
        multiple_of: float | None = None,
        min_length: int | None = None,
        max_length: int | None = None,
        pattern: str | None = None,
    ) -> None:
        self.default = default
        self.default_factory = default_factory
        self.alias = alias
        self.title = title
        self.description = description
        self.examples = examples
        self.deprecated = deprecated
        self.include_in_schema = include_in_schema
        given = {"gt": gt, "ge": ge, "lt": lt, "le": le, "multiple_of": multiple_of,
                 "min_length": min_length, "max_length": max_length, "pattern": pattern}
        self.extra: dict[str, Any] = {k: v for k, v in given.items() if v is not None}

    @property
    def constraints(self) -> dict[str, Any]:
        """The validation constraints given (``{"ge": 1}``)."""
        return self.extra

    @property
    def has_default(self) -> bool:
        return self.default is not _NO_DEFAULT or self.default_factory is not None

    def get_default(self) -> Any:
        return self.default_factory() if self.default_factory is not None else self.default

    def __repr__(self) -> str:
        return f"{type(self).__name__}(alias={self.alias!r}, {self.extra!r})"


class Query(Param):
    """A query string parameter (``list[...]`` collects repeated keys)."""

    IN = "query"
    __slots__ = ()


class Path(Param):
    """A path parameter (``{name}`` in the route template); always required."""

    IN = "path"
    __slots__ = ()


class Header(Param):
    """A request header; the name defaults to the parameter's with ``_`` → ``-``."""

    IN = "header"
    __slots__ = ("convert_underscores",)

    def __init__(self, default: Any = _NO_DEFAULT, *, convert_underscores: bool = True,
                 **options: Any) -> None:
        super().__init__(default, **options)
        self.convert_underscores = convert_underscores


class Cookie(Param):
    """A request cookie, by name."""

    IN = "cookie"
    __slots__ = ()


class Body(Param):
    """The JSON request body, or (``embed=True``, or with several body parameters) one member.

    ``bytes`` (``body: Annotated[bytes, Body()]``) is the raw body, whatever its media type;
    there ``media_type`` restricts what is accepted (``"image/png"``, ``"image/*"``; else 415).
    For a JSON body ``media_type`` is what the OpenAPI document announces (``application/json``
    by default); any JSON media type is accepted.
    """

    IN = "body"
    __slots__ = ("embed", "media_type")

    def __init__(self, default: Any = _NO_DEFAULT, *, embed: bool = False,
                 media_type: str | None = None, **options: Any) -> None:
        super().__init__(default, **options)
        self.embed = embed
        self.media_type = media_type


class Form(Param):
    """A field of a form body (``application/x-www-form-urlencoded`` or
    ``multipart/form-data``), converted and validated like a query parameter.

    ``list[...]`` collects repeated fields; ``Annotated[Model, Form()]`` binds a pydantic model
    from the fields (each by its alias). Routes with ``Form()`` or :class:`File` parameters need
    the ``lamroute[forms]`` extra (python-multipart), checked when the route is registered.

    >>> Form(max_length=100).constraints
    {'max_length': 100}
    """

    IN = "form"
    __slots__ = ()


class File(Form):
    """A file of a ``multipart/form-data`` body: annotate ``UploadFile`` (name, content type,
    headers, ``read()``) or ``bytes`` (the content); ``list[...]`` for several under one name.

    A text field where a file is expected (or the reverse) is a 422.
    """

    IN = "file"
    __slots__ = ()


DependencyCache = Literal["request", "container", "none"]
OnRestore = Literal["keep", "rebuild"]


class Depends:
    """A value computed by ``dependency`` from the same request, before the handler runs.

    ``dependency``'s own parameters are bound like a handler's (query, headers, body, other
    ``Depends``...); it may be ``async def``, and it may ``yield`` its value (sync or async):
    the code after ``yield`` runs once the response is built, errors included.
    ``cache="request"`` (the default) computes it once per request even when several
    parameters need it; ``"container"`` once per Lambda container (a client built at cold
    start), ``restore="rebuild"`` builds it again after a SnapStart restore; ``"none"`` every
    time it is asked for.

    >>> def pagination(limit: int = 10, offset: int = 0) -> tuple[int, int]:
    ...     return limit, offset
    >>> Depends(pagination).cache
    'request'
    """

    __slots__ = ("cache", "dependency", "restore")

    def __init__(self, dependency: Callable[..., Any], *, cache: DependencyCache = "request",
                 restore: OnRestore = "keep") -> None:
        if cache not in ("request", "container", "none"):
            raise ValueError(f"cache must be 'request', 'container' or 'none', not {cache!r}")
        if restore not in ("keep", "rebuild"):
            raise ValueError(f"restore must be 'keep' or 'rebuild', not {restore!r}")
        if restore == "rebuild" and cache != "container":
            raise ValueError("restore='rebuild' applies to cache='container' values only")
        self.dependency = dependency
        self.cache = cache
        self.restore = restore

    def __repr__(self) -> str:
        name = getattr(self.dependency, "__qualname__", repr(self.dependency))
        extra = ", restore='rebuild'" if self.restore == "rebuild" else ""
        return f"Depends({name}, cache={self.cache!r}{extra})"


@runtime_checkable
class LambdaContext(Protocol):
    """The Lambda context object; annotate a parameter with it to receive the context.

    See https://docs.aws.amazon.com/lambda/latest/dg/python-context.html
    """

    function_name: str
    function_version: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    aws_request_id: str
    log_group_name: str
    log_stream_name: str

    def get_remaining_time_in_millis(self) -> int: ...
