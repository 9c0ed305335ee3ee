"""``Set-Cookie`` lines that cannot be bent (RFC 6265): what ``Response.set_cookie`` writes.

The name must be a token; the value is percent-encoded (UTF-8) wherever RFC 6265 forbids a
character (``;``, ``,``, whitespace, ``"``, ``\\``, controls, non-ASCII) and for ``%`` itself, so
``request.cookies`` decodes it back exactly. Attribute values are checked, never escaped: a value
that would add an attribute is refused with a :class:`ValueError`.

>>> set_cookie_line("lang", "x; Domain=evil.example")
'lang=x%3B%20Domain=evil.example; Path=/; Secure; SameSite=Lax'
>>> set_cookie_line("sid", "", max_age=0, expires=EPOCH, secure=False, same_site=None)
'sid=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/'
"""

from __future__ import annotations

import re
import sys
import time
from typing import Any
from urllib.parse import quote

# RFC 6265 section 4.1.1: cookie-name is an RFC 2616 token (no CTLs, spaces or separators).
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# cookie-octet minus "%" (which escapes); quote() keeps letters, digits and "_.-~" anyway.
_VALUE_SAFE = "!#$&'()*+/:<=>?@[]^`{|}"
# A domain name: dot-separated labels of letters, digits and inner hyphens (RFC 1034 3.5, as
# RFC 6265 section 4.1.2.3 asks); an IDN goes in its xn-- form. A leading dot is ignored.
_DOMAIN = re.compile(r"\.?[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
                     r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*")
# av-octet: any CHAR except CTLs and ";" (RFC 6265 section 4.1.1).
_PATH = re.compile(r"/[\x20-\x3a\x3c-\x7e]*")
_SAME_SITE = {"strict": "Strict", "lax": "Lax", "none": "None"}
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class At(float):
    """A point in time (seconds since the epoch) for ``expires``, where a plain number means
    seconds from now."""

    __slots__ = ()


EPOCH = At(0.0)  # what delete_cookie sends: long expired


def set_cookie_line(
    name: str, value: str, *, max_age: int | None = None, expires: Any = None, path: str = "/",
    domain: str | None = None, secure: bool = True, http_only: bool = False,
    same_site: str | None = "Lax",
) -> str:
    """One ``Set-Cookie`` value; :class:`ValueError` (or :class:`TypeError`) when a part would
    not be what it says. ``expires`` is a ``datetime`` (naive means UTC) or seconds from now."""
    if not isinstance(name, str) or not _TOKEN.fullmatch(name):
        raise ValueError(f"Cookie name {name!r} is not an RFC 6265 token (letters, digits and "
                         "!#$%&'*+-.^_`|~ only).")
    if not isinstance(value, str):
        raise TypeError(f"Cookie {name!r}: the value must be a str, not {type(value).__name__}.")
    parts = [f"{name}={quote(value, safe=_VALUE_SAFE)}"]
    if max_age is not None:
        if type(max_age) is not int:
            raise TypeError(f"Cookie {name!r}: max_age must be an int (seconds), not {max_age!r}.")
        parts.append(f"Max-Age={max_age}")
    if expires is not None:
        parts.append(f"Expires={http_date(expires, name)}")
    if path:
        if not isinstance(path, str) or not _PATH.fullmatch(path):
            raise ValueError(f"Cookie {name!r}: path {path!r} must start with '/' and hold "
                             "printable ASCII without ';' (percent-encode the rest).")
        parts.append(f"Path={path}")
    if domain:
        if not isinstance(domain, str) or not _DOMAIN.fullmatch(domain):
            raise ValueError(f"Cookie {name!r}: domain {domain!r} is not a domain name.")
        parts.append(f"Domain={domain}")
    _check_prefix(name, secure=secure, path=path, domain=domain)
    if secure:
        parts.append("Secure")
    if http_only:
        parts.append("HttpOnly")
    if same_site:
        canonical = _SAME_SITE.get(same_site.lower()) if isinstance(same_site, str) else None
        if canonical is None:
            raise ValueError(f"Cookie {name!r}: same_site must be 'Strict', 'Lax', 'None' or "
                             f"None, not {same_site!r}.")
        if canonical == "None" and not secure:
            raise ValueError(f"Cookie {name!r}: browsers drop SameSite=None without Secure.")
        parts.append(f"SameSite={canonical}")
    return "; ".join(parts)


def http_date(when: Any, name: str = "") -> str:
    """An IMF-fixdate (RFC 9110 section 5.6.7) for a ``datetime`` or seconds from now.

    >>> import datetime
    >>> http_date(datetime.datetime(2015, 10, 21, 7, 28, tzinfo=datetime.timezone.utc))
    'Wed, 21 Oct 2015 07:28:00 GMT'
    """
    datetime = sys.modules.get("datetime")  # a datetime value means the module is loaded
    if datetime is not None and isinstance(when, datetime.datetime):
        if when.tzinfo is not None:
            when = when.astimezone(datetime.timezone.utc)
        stamp = when.replace(tzinfo=datetime.timezone.utc).timestamp()
    elif type(when) is At:
        stamp = float(when)
    elif type(when) in (int, float):
        stamp = time.time() + when
    else:
        raise TypeError(f"Cookie {name!r}: expires must be a datetime or seconds from now, "
                        f"not {when!r}.")
    t = time.gmtime(stamp)
    return (f"{_DAYS[t.tm_wday]}, {t.tm_mday:02d} {_MONTHS[t.tm_mon - 1]} {t.tm_year:04d} "
            f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} GMT")


def _check_prefix(name: str, *, secure: bool, path: str, domain: str | None) -> None:
    """Browsers drop ``__Secure-`` cookies without ``Secure``, and ``__Host-`` ones unless
    ``Secure``, ``Path=/`` and no ``Domain`` (RFC 6265bis section 4.1.3). They match the
    prefixes case-insensitively (the storage model, section 5.7: ``__host-`` is ``__Host-``):
    https://datatracker.ietf.org/doc/html/draft-ietf-httpbis-rfc6265bis#section-5.7"""
    folded = name[:9].lower()
    if folded.startswith("__host-") and not (secure and path == "/" and not domain):
        raise ValueError(f"Cookie {name!r}: a __Host- cookie needs secure=True, path='/' and "
                         "no domain.")
    if folded.startswith("__secure-") and not secure:
        raise ValueError(f"Cookie {name!r}: a __Secure- cookie needs secure=True.")
