"""Form bodies: what ``request.form()`` returns, and ``application/x-www-form-urlencoded``.

``request.form()`` reads a body into a :class:`FormData` multidict whose values are ``str``
(text fields) or :class:`UploadFile` (file parts). URL-encoded bodies are parsed here with the
standard library; ``multipart/form-data`` bodies by :mod:`lamroute.http.multipart`, with
``python-multipart`` (the ``lamroute[forms]`` extra). This module is imported by
``request.form()`` and by routes that declare ``Form()``/``File()`` parameters only.

>>> form = parse_urlencoded(b"tag=a&tag=b&title=caf%C3%A9")
>>> form["title"], form.getall("tag")
('café', ['a', 'b'])
"""

from __future__ import annotations

import io
import itertools
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from typing import TypeVar, overload

from ..exceptions import BadRequest, PayloadTooLarge
from .multidict import Headers

_D = TypeVar("_D")
URLENCODED = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"
FORM_TYPES = (URLENCODED, MULTIPART)
DEFAULT_MAX_FIELDS = 1000


class FormLimits:
    """What one form body may hold: ``max_fields`` fields and files together (1000 by default)
    and ``max_part_size`` bytes per multipart part (``None``: the body limit alone).

    >>> FormLimits(max_fields=10).max_part_size is None
    True
    """

    __slots__ = ("max_fields", "max_part_size")

    def __init__(self, *, max_fields: int | None = None, max_part_size: int | None = None
                 ) -> None:
        self.max_fields = DEFAULT_MAX_FIELDS if max_fields is None else max_fields
        self.max_part_size = max_part_size

    def __repr__(self) -> str:
        return f"FormLimits(max_fields={self.max_fields}, max_part_size={self.max_part_size})"


DEFAULT_LIMITS = FormLimits()


class UploadFile:
    """One uploaded file of a multipart body.

    ``filename`` (exactly as the client sent it: ``filename*`` of RFC 8187 preferred, else the
    raw UTF-8 ``filename`` browsers send; ``None`` when absent: never a path to use, see
    :attr:`safe_filename`), ``content_type``, ``headers`` (the part's own), ``size`` in bytes,
    ``read()``/``seek()``/``close()`` and ``file``, a binary file object positioned at the
    start. The content is in memory: Lambda delivers the whole body in the event anyway.

    >>> upload = UploadFile(b"hello", filename="a.txt", content_type="text/plain")
    >>> upload.read(2), upload.read(), upload.size
    (b'he', b'llo', 5)
    """

    __slots__ = ("content_type", "file", "filename", "headers", "size")

    def __init__(self, content: bytes, *, filename: str | None = None,
                 content_type: str | None = None, headers: Headers | None = None) -> None:
        self.file = io.BytesIO(content)
        self.filename = filename
        self.content_type = content_type
        self.headers = headers if headers is not None else Headers()
        self.size = len(content)

    @property
    def safe_filename(self) -> str | None:
        r"""``filename`` reduced to a name that is safe as the last part of a path.

        The client's own value may be ``../../etc/passwd``, ``C:\Users\ann\a.pdf``, or hold
        CR/LF, NUL and invisible direction marks. This keeps the part after the last ``/`` or
        ``\``, drops control and format characters (Unicode Cc, Cf, Zl, Zp), trims spaces
        and dots at both ends (no ``..``, no hidden ``.htaccess``) and shortens the stem to fit
        255 bytes of UTF-8 (the name limit of Linux file systems), keeping the extension;
        ``None`` when nothing is left. Still choose the directory yourself, and prefer a name
        of your own (an id) for storage.

        >>> UploadFile(b"", filename="../../etc/passwd").safe_filename
        'passwd'
        >>> UploadFile(b"", filename="C:\\Users\\ann\\résumé.pdf\r\n").safe_filename
        'résumé.pdf'
        >>> UploadFile(b"", filename="..").safe_filename is None
        True
        """
        return None if self.filename is None else safe_filename(self.filename)

    def read(self, size: int = -1) -> bytes:
        """Up to ``size`` bytes from the current position (all that is left by default)."""
        return self.file.read(size)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        """Move the read position (``seek(0)`` to read again)."""
        return self.file.seek(offset, whence)

    def close(self) -> None:
        """Release the content."""
        self.file.close()

    def __repr__(self) -> str:
        return (f"UploadFile(filename={self.filename!r}, content_type={self.content_type!r}, "
                f"size={self.size})")


def safe_filename(name: str) -> str | None:
    """See :attr:`UploadFile.safe_filename`."""
    name = name.replace("\\", "/").rpartition("/")[2]
    name = "".join(char for char in name
                   if unicodedata.category(char) not in _UNSAFE_CATEGORIES)
    while name != (trimmed := name.strip().strip(".")):
        name = trimmed
    if len(name.encode("utf-8")) > MAX_FILENAME_BYTES:
        stem, dot, extension = name.rpartition(".")
        if not dot or len(extension) > 16:  # no extension worth keeping
            stem, extension = name, ""
        else:
            extension = "." + extension
        room = MAX_FILENAME_BYTES - len(extension.encode("utf-8"))
        name = stem.encode("utf-8")[:room].decode("utf-8", errors="ignore").rstrip() + extension
    return name or None


# Control (CR, LF, NUL...), format (bidi overrides such as U+202E, zero-width characters) and
# line/paragraph separators: never wanted in a file name, a log line or a header.
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})
MAX_FILENAME_BYTES = 255

FormValue = str | UploadFile


class FormData(Mapping[str, FormValue]):
    """A parsed form: an ordered multidict of text fields (``str``) and files (``UploadFile``).

    ``form[name]`` and ``form.get(name)`` give the first value, ``form.getall(name)`` every one,
    ``form.multi_items()`` every pair in arrival order.

    >>> form = FormData([("tag", "a"), ("tag", "b")])
    >>> form["tag"], form.getall("tag"), len(form)
    ('a', ['a', 'b'], 1)
    """

    __slots__ = ("_index", "_items")

    def __init__(self, items: Iterable[tuple[str, FormValue]] = ()) -> None:
        self._items: list[tuple[str, FormValue]] = list(items)
        index: dict[str, list[FormValue]] = {}
        for key, value in self._items:
            index.setdefault(key, []).append(value)
        self._index = index

    def __getitem__(self, key: str) -> FormValue:
        return self._index[key][0]

    def __contains__(self, key: object) -> bool:
        return key in self._index

    def __iter__(self) -> Iterator[str]:
        return iter(self._index)

    def __len__(self) -> int:
        return len(self._index)

    @overload
    def get(self, key: str) -> FormValue | None: ...
    @overload
    def get(self, key: str, default: FormValue | _D) -> FormValue | _D: ...
    def get(self, key: str, default: object = None) -> object:
        values = self._index.get(key)
        return values[0] if values else default

    def getall(self, key: str) -> list[FormValue]:
        """Every value of ``key`` in arrival order (``[]`` when absent)."""
        return list(self._index.get(key, ()))

    def multi_items(self) -> list[tuple[str, FormValue]]:
        """Every (name, value) pair in arrival order, repeated names included."""
        return list(self._items)

    def close(self) -> None:
        """Close every uploaded file."""
        for _, value in self._items:
            if isinstance(value, UploadFile):
                value.close()

    def __repr__(self) -> str:
        return f"FormData({self._items!r})"


def media_type(content_type: str | None) -> str:
    """``"Multipart/Form-Data; boundary=x"`` → ``"multipart/form-data"``."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def parse_urlencoded(body: bytes, limits: FormLimits = DEFAULT_LIMITS) -> FormData:
    """``a=1&b=2`` → ``FormData``; ``+`` is a space, blank values are kept."""
    from urllib.parse import parse_qsl

    try:
        text = body.decode("ascii")  # browsers percent-encode everything else
    except UnicodeDecodeError:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise BadRequest("The form body is not valid UTF-8.") from None
    if _more_fields_than(text, limits.max_fields):
        raise too_many_fields(limits.max_fields)
    try:
        pairs = parse_qsl(text, keep_blank_values=True, encoding="utf-8", errors="strict")
    except UnicodeDecodeError:
        raise BadRequest("A form field is not valid UTF-8 once percent-decoded.") from None
    return FormData(pairs)


def _more_fields_than(text: str, limit: int) -> bool:
    """Whether ``a=1&b=2`` holds more than ``limit`` fields: the parts between ``&`` that are
    not empty (``a=1&&b=2&`` is two fields, as ``parse_qsl`` reads it), counted up to
    ``limit + 1`` only.

    >>> _more_fields_than("a=1&b=2&c=3&", 3), _more_fields_than("a&b&c&d", 3)
    (False, True)
    """
    if text.count("&") < limit:  # the common case: at most count + 1 fields
        return False
    fields = re.finditer(r"[^&]+", text)
    return next(itertools.islice(fields, limit, None), None) is not None


def too_many_fields(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"The form has more than {limit} fields.")


def part_too_large(name: str, limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"The form part {name!r} is larger than {limit} bytes.")
