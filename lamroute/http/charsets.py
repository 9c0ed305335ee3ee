"""The charsets a form part may declare: the WHATWG Encoding Standard's labels, and no others.

A ``charset`` (``Content-Type: text/plain; charset=...`` on a multipart part, or the charset of
an RFC 8187 ``filename*=charset''...`` value) says how a client encoded its text. Python's codec
registry holds much more than text encodings: ``punycode`` and ``undefined`` raise a plain
``UnicodeError``, ``rot13``, ``hex`` or ``zlib`` are not text at all, ``unicode_escape`` turns
``\\u003c`` into ``<`` and ``utf-7`` turns ``+ADw-script+AD4-`` into ``<script>``. So a label
is resolved the way browsers resolve it, by the WHATWG Encoding Standard
(https://encoding.spec.whatwg.org/#names-and-labels): ASCII whitespace trimmed, ASCII case
ignored, one of the standard's labels; any other label is refused (the parser answers 400).

Each label decodes as the standard says, with the Python codec of that encoding: ``latin1``,
``iso-8859-1`` and ``us-ascii`` mean windows-1252; ``gb2312`` and ``gbk`` decode as gb18030 (the
standard's GBK decoder); ``shift_jis`` is Windows-31J (cp932), ``euc-kr`` windows-949, ``big5``
Big5-HKSCS; ``utf-16`` is UTF-16LE. ``replacement`` and ``x-user-defined`` (no real text
encoding) are refused. A UTF-8 text drops a UTF-8 byte-order mark; in a UTF-16 text a
byte-order mark says the byte order and is dropped. Bytes that are not valid in the encoding are a
``UnicodeDecodeError`` (a 400 too): lamroute decodes strictly, it does not replace.

>>> decode(b"caf\\xe9 \\x80", "ISO-8859-1")
'café €'
>>> codec_of(" UTF8 "), codec_of("utf-7"), codec_of("punycode")
('utf-8', None, None)
"""

from __future__ import annotations

import codecs

# The WHATWG encodings (https://encoding.spec.whatwg.org/encodings.json) by the Python codec
# that decodes each, with every label the standard gives it.
_LABELS = {
    "utf-8": "unicode-1-1-utf-8 unicode11utf8 unicode20utf8 utf-8 utf8 x-unicode20utf8",
    "cp866": "866 cp866 csibm866 ibm866",
    "iso8859-2": "csisolatin2 iso-8859-2 iso-ir-101 iso8859-2 iso88592 iso_8859-2 "
                 "iso_8859-2:1987 l2 latin2",
    "iso8859-3": "csisolatin3 iso-8859-3 iso-ir-109 iso8859-3 iso88593 iso_8859-3 "
                 "iso_8859-3:1988 l3 latin3",
    "iso8859-4": "csisolatin4 iso-8859-4 iso-ir-110 iso8859-4 iso88594 iso_8859-4 "
                 "iso_8859-4:1988 l4 latin4",
    "iso8859-5": "csisolatincyrillic cyrillic iso-8859-5 iso-ir-144 iso8859-5 iso88595 "
                 "iso_8859-5 iso_8859-5:1988",
    "iso8859-6": "arabic asmo-708 csiso88596e csiso88596i csisolatinarabic ecma-114 iso-8859-6 "
                 "iso-8859-6-e iso-8859-6-i iso-ir-127 iso8859-6 iso88596 iso_8859-6 "
                 "iso_8859-6:1987",
    "iso8859-7": "csisolatingreek ecma-118 elot_928 greek greek8 iso-8859-7 iso-ir-126 "
                 "iso8859-7 iso88597 iso_8859-7 iso_8859-7:1987 sun_eu_greek",
    # ISO-8859-8 and ISO-8859-8-I differ in text direction only, not in bytes.
    "iso8859-8": "csiso88598e csisolatinhebrew hebrew iso-8859-8 iso-8859-8-e iso-ir-138 "
                 "iso8859-8 iso88598 iso_8859-8 iso_8859-8:1988 visual "
                 "csiso88598i iso-8859-8-i logical",
    "iso8859-10": "csisolatin6 iso-8859-10 iso-ir-157 iso8859-10 iso885910 l6 latin6",
    "iso8859-13": "iso-8859-13 iso8859-13 iso885913",
    "iso8859-14": "iso-8859-14 iso8859-14 iso885914",
    "iso8859-15": "csisolatin9 iso-8859-15 iso8859-15 iso885915 iso_8859-15 l9",
    "iso8859-16": "iso-8859-16",
    "koi8-r": "cskoi8r koi koi8 koi8-r koi8_r",
    "koi8-u": "koi8-ru koi8-u",
    "mac-roman": "csmacintosh mac macintosh x-mac-roman",
    "cp874": "dos-874 iso-8859-11 iso8859-11 iso885911 tis-620 windows-874",
    "cp1250": "cp1250 windows-1250 x-cp1250",
    "cp1251": "cp1251 windows-1251 x-cp1251",
    "cp1252": "ansi_x3.4-1968 ascii cp1252 cp819 csisolatin1 ibm819 iso-8859-1 iso-ir-100 "
              "iso8859-1 iso88591 iso_8859-1 iso_8859-1:1987 l1 latin1 us-ascii windows-1252 "
              "x-cp1252",
    "cp1253": "cp1253 windows-1253 x-cp1253",
    "cp1254": "cp1254 csisolatin5 iso-8859-9 iso-ir-148 iso8859-9 iso88599 iso_8859-9 "
              "iso_8859-9:1989 l5 latin5 windows-1254 x-cp1254",
    "cp1255": "cp1255 windows-1255 x-cp1255",
    "cp1256": "cp1256 windows-1256 x-cp1256",
    "cp1257": "cp1257 windows-1257 x-cp1257",
    "cp1258": "cp1258 windows-1258 x-cp1258",
    "mac-cyrillic": "x-mac-cyrillic x-mac-ukrainian",
    "gb18030": "chinese csgb2312 csiso58gb231280 gb2312 gb_2312 gb_2312-80 gbk iso-ir-58 x-gbk "
               "gb18030",
    "big5hkscs": "big5 big5-hkscs cn-big5 csbig5 x-x-big5",
    "euc-jp": "cseucpkdfmtjapanese euc-jp x-euc-jp",
    "iso2022-jp": "csiso2022jp iso-2022-jp",
    "cp932": "csshiftjis ms932 ms_kanji shift-jis shift_jis sjis windows-31j x-sjis",
    "cp949": "cseuckr csksc56011987 euc-kr iso-ir-149 korean ks_c_5601-1987 ks_c_5601-1989 "
             "ksc5601 ksc_5601 windows-949",
    "utf-16-be": "unicodefffe utf-16be",
    "utf-16-le": "csunicode iso-10646-ucs-2 ucs-2 unicode unicodefeff utf-16 utf-16le",
}
CODECS: dict[str, str] = {label: codec for codec, labels in _LABELS.items()
                          for label in labels.split()}
"""Every WHATWG label lamroute decodes → the Python codec that decodes it."""

_ASCII_WHITESPACE = "\t\n\f\r "
_UTF16_BOMS = ((codecs.BOM_UTF16_BE, "utf-16-be"), (codecs.BOM_UTF16_LE, "utf-16-le"))
_UTF16 = frozenset(codec for _, codec in _UTF16_BOMS)
# windows-1252 as the standard defines it: the five bytes Python's cp1252 leaves undefined
# (0x81, 0x8D, 0x8F, 0x90, 0x9D) are the C1 controls of the same number, as in Latin-1. So
# text labelled latin1 decodes whatever its bytes, as it always did.
_WINDOWS_1252 = {byte: bytes([byte]).decode("cp1252") for byte in range(0x80, 0xA0)
                 if byte not in (0x81, 0x8D, 0x8F, 0x90, 0x9D)}


def codec_of(label: str) -> str | None:
    """The Python codec of the encoding ``label`` names; ``None`` when the WHATWG Encoding
    Standard has no such label or it names no text encoding (``utf-7``, ``punycode``...)."""
    label = label.strip(_ASCII_WHITESPACE)
    if not label.isascii():  # ASCII case-insensitive: "\u212a" (Kelvin) must not match "k"
        return None
    return CODECS.get(label.lower())


def decode(content: bytes, label: str) -> str:
    """``content`` decoded as the charset ``label`` says.

    Raises ``LookupError`` for a label that names no text encoding, ``UnicodeDecodeError``
    for bytes that are not valid in it.
    """
    codec = codec_of(label)
    if codec is None:
        raise LookupError(f"{label!r} is not a text encoding of the WHATWG Encoding Standard")
    if codec == "cp1252":
        return content.decode("latin-1").translate(_WINDOWS_1252)
    if codec == "utf-8":
        return content.removeprefix(codecs.BOM_UTF8).decode(codec)
    if codec in _UTF16:  # a byte-order mark says the byte order (and is not text)
        for bom, encoding in _UTF16_BOMS:
            if content.startswith(bom):
                return content[len(bom):].decode(encoding)
    return content.decode(codec)
