"""The kind of a form parameter, told at registration: a field, a model or a file.

:mod:`lamroute.params.signature` loads this module for a ``Form()`` or ``File()`` parameter, or
an unmarked one once :mod:`lamroute.http.forms` is imported (only then can an annotation name
``UploadFile``): an app without forms never imports it. :func:`form_source` gives the parameter's
source (``form``, ``form-model`` or ``file``; :mod:`lamroute.params.forms` binds them) and refuses
a type a form cannot carry, or a form when python-multipart (``lamroute[forms]``) is missing.

>>> list_item_of(list[int]), list_item_of(list), list_item_of(int)
(<class 'int'>, <class 'str'>, None)
"""

from __future__ import annotations

import sys
import typing
from typing import Any

from ..exceptions import RouteDefinitionError
from .markers import File
from .validation import is_model, is_optional


def is_upload(tp: Any) -> bool:
    """``UploadFile`` or ``list[UploadFile]`` (false, without importing, when nobody imported
    :mod:`lamroute.http.forms`: then no annotation can name it)."""
    forms = sys.modules.get("lamroute.http.forms")
    if forms is None:
        return False
    item = list_item_of(tp) or tp
    return isinstance(item, type) and issubclass(item, forms.UploadFile)


def list_item_of(tp: Any) -> Any | None:
    """``X`` for ``list[X]``, ``str`` for a bare ``list``, else ``None``."""
    if tp is list:
        return str
    if typing.get_origin(tp) is list:
        args = typing.get_args(tp)
        return args[0] if args else str
    return None


def form_source(annotation: Any, marker: Any, where: str) -> str:
    """``form``, ``form-model`` or ``file`` for a ``Form()``/``File()``/``UploadFile``
    parameter (:mod:`lamroute.params.forms` binds them); :class:`RouteDefinitionError` for a
    type a form cannot carry, or when python-multipart is not installed."""
    require_multipart(where)
    inner = is_optional(annotation)[1]
    target = list_item_of(inner) or inner
    if isinstance(marker, File) or is_upload(target):
        if target is not bytes and not is_upload(target):
            raise RouteDefinitionError(
                f"{where}: a File() parameter is UploadFile, bytes, or a list of them, not "
                f"{annotation!r}.")
        if marker is not None and marker.constraints:
            raise RouteDefinitionError(f"{where}: File() takes no constraints; check the "
                                       "file in the handler (upload.size, upload.content_type).")
        return "file"
    if is_model(inner):
        return "form-model"
    if is_model(target) or typing.get_origin(target) is dict or target in (dict, bytes):
        raise RouteDefinitionError(
            f"{where}: a form field is text (str, int, list[str]...), not {annotation!r}; use "
            "Annotated[Model, Form()] for a model, File() for a file.")
    return "form"


def require_multipart(where: str) -> None:
    """The clear error at registration when python-multipart (``lamroute[forms]``) is missing.

    Found, not imported: the parser (~4 ms) loads with the first multipart body, not at cold
    start.
    """
    from importlib.util import find_spec

    try:
        found = find_spec("python_multipart") is not None
    except (ImportError, ValueError):  # a module set to None in sys.modules, a broken spec
        found = False
    if not found:
        raise RouteDefinitionError(
            f"{where}: Form() and File() parameters need python-multipart; install the forms "
            "extra: pip install 'lamroute[forms]'."
        )


