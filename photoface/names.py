"""People's names: one clean form for storing them, one safe form for printing them."""

from __future__ import annotations

import logging
import unicodedata

from photoface.errors import PhotofaceError

log = logging.getLogger(__name__)

MAX_NAME_LENGTH = 200
# Joiners are format characters that change how a name is written (emoji sequences, Persian,
# the Indic scripts); every other format character (bidi overrides, soft hyphens, BOMs) only
# changes how a name looks, so two names that print alike could otherwise differ.
_KEPT_FORMAT = frozenset("\u200c\u200d")
# Past this a name cannot come back under the limit, so the cleaning is not worth doing.
_MAX_RAW_LENGTH = 50 * MAX_NAME_LENGTH


def clean_name(raw: str) -> str:
    """`raw` as a stored name: NFC, any run of whitespace or control characters as one space,
    other format characters dropped, stripped. Raises PhotofaceError when nothing is left, when
    it is longer than MAX_NAME_LENGTH characters, or when it holds bytes that are not text."""
    if len(raw) > _MAX_RAW_LENGTH:
        raise PhotofaceError(_too_long(len(raw)))
    if any(unicodedata.category(c) == "Cs" for c in raw):
        # How a name in a terminal that is not UTF-8 arrives (surrogate escapes): not text.
        raise PhotofaceError(f"the name {printable(raw)} is not valid text (check the encoding)")
    out: list[str] = []
    for c in unicodedata.normalize("NFC", raw):
        kind = unicodedata.category(c)
        if c.isspace() or kind in ("Cc", "Zl", "Zp"):
            out.append(" ")
        elif kind == "Cf" and c not in _KEPT_FORMAT:
            continue
        else:
            out.append(c)
    name = " ".join("".join(out).split())
    if not name:
        raise PhotofaceError("a name cannot be empty or only spaces")
    if len(name) > MAX_NAME_LENGTH:
        raise PhotofaceError(_too_long(len(name)))
    return name


def _too_long(n: int) -> str:
    return f"a name can have at most {MAX_NAME_LENGTH} characters (this one has {n})"


def printable(text: str) -> str:
    """`text` for a terminal line: control, format and line-separator characters (other than
    the joiners) shown as escapes, so a stored name cannot forge output lines."""
    out: list[str] = []
    for c in text:
        kind = unicodedata.category(c)
        unsafe = kind in ("Cc", "Cs", "Zl", "Zp") or (kind == "Cf" and c not in _KEPT_FORMAT)
        out.append(_escape(c) if unsafe else c)
    return "".join(out)


def _escape(c: str) -> str:
    code = ord(c)
    if c in "\n\r\t":
        return {"\n": "\\n", "\r": "\\r", "\t": "\\t"}[c]
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"
