"""Input normalisation: what the defenses look at is what the model reads, not what it looks like.

    normalize_text(s)   Unicode NFKC (fullwidth, 𝐛𝐨𝐥𝐝, ligatures → plain), invisible characters removed
                        (zero-width, soft hyphen, bidi marks, Unicode tags: every "format" character),
                        homoglyphs mapped to Latin (Cyrillic "раѕѕword" → "password").
    fold(s)             normalize_text + accents stripped + casefold: "Contraseña" → "contrasena".
    squeeze(s)          only letters and digits: "p.a-s s" → "pass" (catches spaced/separated text).

Every check of a defense (blocklists, leak detector, guess) compares folded text, so "MARIPOSA",
"maripósa" and "ＭＡＲＩＰＯＳＡ" are the same word.
"""

from __future__ import annotations

import re
import unicodedata

# Letters that look like Latin ones (Cyrillic, Greek, a few others). NFKC does not map them.
HOMOGLYPHS = str.maketrans(
    {
        # Cyrillic
        "а": "a",
        "в": "b",
        "е": "e",
        "ё": "e",
        "к": "k",
        "м": "m",
        "н": "h",
        "о": "o",
        "р": "p",
        "с": "c",
        "т": "t",
        "у": "y",
        "х": "x",
        "ѕ": "s",
        "і": "i",
        "ї": "i",
        "ј": "j",
        "ԁ": "d",
        "ӏ": "l",
        "һ": "h",
        "ԛ": "q",
        "ԝ": "w",
        "ɡ": "g",
        "ո": "n",
        "ս": "u",
        "А": "A",
        "В": "B",
        "Е": "E",
        "Ё": "E",
        "К": "K",
        "М": "M",
        "Н": "H",
        "О": "O",
        "Р": "P",
        "С": "C",
        "Т": "T",
        "У": "Y",
        "Х": "X",
        "Ѕ": "S",
        "І": "I",
        "Ј": "J",
        "Ԁ": "D",
        "Ӏ": "I",
        # Greek
        "α": "a",
        "β": "b",
        "ε": "e",
        "ι": "i",
        "κ": "k",
        "ν": "v",
        "ο": "o",
        "ρ": "p",
        "τ": "t",
        "υ": "u",
        "χ": "x",
        "ω": "w",
        "γ": "y",
        "Α": "A",
        "Β": "B",
        "Ε": "E",
        "Ζ": "Z",
        "Η": "H",
        "Ι": "I",
        "Κ": "K",
        "Μ": "M",
        "Ν": "N",
        "Ο": "O",
        "Ρ": "P",
        "Τ": "T",
        "Υ": "Y",
        "Χ": "X",
        # Latin look-alikes
        "ı": "i",
        "ȷ": "j",
        "ł": "l",
        "ø": "o",
        "Ø": "O",
        "đ": "d",
        "ß": "ss",
    }
)

_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")


def strip_invisible(text: str) -> str:
    """Drop every Unicode format character (category Cf: zero-width, bidi, tags) and controls
    other than newline and tab."""
    return "".join(ch for ch in text if unicodedata.category(ch) not in ("Cf", "Cc") or ch in "\n\t")


def normalize_text(text: str) -> str:
    """NFKC, invisible characters out, homoglyphs to Latin, runs of spaces to one space."""
    text = unicodedata.normalize("NFKC", text)
    text = strip_invisible(text).translate(HOMOGLYPHS)
    return _SPACES.sub(" ", text)


def strip_accents(text: str) -> str:
    """ "Contraseña" → "Contrasena" (NFKD, combining marks dropped)."""
    return "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))


def fold(text: str) -> str:
    """The comparable form: normalised, accents stripped, case folded."""
    return strip_accents(normalize_text(text)).casefold()


def squeeze(text: str) -> str:
    """Only ASCII letters and digits of already folded text: "m-a r.i" → "mari"."""
    return re.sub(r"[^a-z0-9]", "", text)


def fold_word(word: str) -> str:
    """A password or a guess as a comparable string: folded and squeezed ("Mari posa!" → "mariposa")."""
    return squeeze(fold(word))
