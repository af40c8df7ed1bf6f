"""Input checks shared by the chapter's entry points."""

from __future__ import annotations

from ..errors import BadInput, Phrase


def utf8(text: str, what: str) -> str:
    """``text`` unchanged, or BadInput if it cannot be encoded as UTF-8 (a lone surrogate from JSON)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise BadInput(
            f"The {what} contains characters that are not valid Unicode text.",
            key="err.text_not_unicode",
            what=Phrase(f"err.what.{what}"),
        ) from None
    return text
