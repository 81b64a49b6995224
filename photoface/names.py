"""People's names as stored: one line of visible text, of a sensible length."""

from __future__ import annotations

import unicodedata

from photoface.errors import PhotofaceError

MAX_NAME_LENGTH = 200


def clean_name(raw: str) -> str:
    """A name with whitespace (newlines and tabs included) folded to single spaces and other
    control characters dropped; an empty or overlong name is refused."""
    text = unicodedata.normalize("NFC", raw)
    text = "".join(" " if ch.isspace() else ch for ch in text)
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cc")
    text = " ".join(text.split())
    if not text:
        raise PhotofaceError("a name needs at least one visible character")
    if len(text) > MAX_NAME_LENGTH:
        raise PhotofaceError(f"a name can be at most {MAX_NAME_LENGTH} characters long")
    return text
