"""The problem document: what went wrong, independent of how it is shown (RFC 9457).

Loaded with the first error answer that builds a :class:`Problem` (``lamroute.errors`` and
``lamroute`` re-export it): a cold start that answers 200, or 404 with the default formatter,
never creates the dataclass.

>>> Problem(404, "Not Found", "no such note").to_dict()
{'type': 'about:blank', 'title': 'Not Found', 'status': 404, 'detail': 'no such note'}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..exceptions import HTTPError, plain_status
from . import echo

if TYPE_CHECKING:
    from ..http.request import Request

__all__ = ["Problem"]


@dataclass
class Problem:
    """What went wrong, independent of how it is shown.

    ``headers`` are sent with the answer whatever the formatter returns (``Allow`` on a 405,
    ``WWW-Authenticate`` on a 401); ``extra`` holds additional members such as ``errors``.
    """

    status: int
    title: str
    detail: str | None = None
    type: str = "about:blank"
    instance: str | None = None
    request_id: str | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.status = plain_status(self.status)  # HTTPStatus.NOT_FOUND is sent as 404

    @classmethod
    def from_http_error(cls, error: HTTPError, request: Request | None) -> Problem:
        return cls(
            status=error.status,
            title=error.title,
            detail=error.detail,
            type=error.type,
            instance=echo(request.url_path) if request is not None else None,
            request_id=echo(request.request_id) if request is not None else None,
            headers=list(error.headers),
            extra=dict(error.extra),
        )

    def to_dict(self) -> dict[str, Any]:
        """The RFC 9457 members (``None`` values left out), then ``extra``.

        Extension members never replace the standard ones (``status`` stays the real status).
        """
        body: dict[str, Any] = {"type": self.type, "title": self.title, "status": self.status}
        if self.detail is not None:
            body["detail"] = self.detail
        if self.instance is not None:
            body["instance"] = self.instance
        if self.request_id is not None:
            body["request_id"] = self.request_id
        if self.extra:
            for key, value in self.extra.items():
                body.setdefault(key, value)
        return body
