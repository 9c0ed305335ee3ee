"""The payload-agnostic HTTP layer: what a handler receives and returns, whatever the event.

``request.py`` (:class:`Request`, read lazily from the event through its format),
``json_checks.py`` (the checks a JSON body needs only when its one-pass parse fails or meets NaN
or a surrogate escape: loaded then), ``response.py`` (:class:`Response` and the rules that turn
a handler's return value into one), ``multidict.py`` (``Headers``, ``QueryParams``),
``cookies.py`` (``Set-Cookie`` lines), ``identity.py`` (the
:class:`~lamroute.http.identity.Identity` behind ``request.auth``), ``state.py`` (the
``request.state`` namespace, loaded with its first use). Form bodies load with the
first form: ``forms.py`` (``FormData``, ``UploadFile``, the limits, URL-encoded bodies),
``multipart.py`` (``multipart/form-data``, parsed by python-multipart) and ``charsets.py`` (the
WHATWG charset labels a part may declare). Nothing here reads an event key: the payload formats
(:mod:`lamroute.formats`) do, and build these objects.
"""

from .multidict import Headers, QueryParams
from .request import Request
from .response import Response

__all__ = ["Headers", "QueryParams", "Request", "Response"]
