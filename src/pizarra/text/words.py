"""Spanish-aware word tokenization: accents and ñ stay inside words, ¿ ¡ « » and the other
punctuation marks are tokens of their own, numbers ("1.500", "3,14", "1830") stay whole.

    words("¿Qué hora es? Son las 10:30, ¡ya!")
    -> ['¿', 'Qué', 'hora', 'es', '?', 'Son', 'las', '10:30', ',', '¡', 'ya', '!']
"""

from __future__ import annotations

import re

# a number (1.500 / 3,14 / 10:30), a word (letters incl. accents, with inner ' or - : "d'Artagnan",
# "franco-belga"), or any single non-space symbol (¿ ¡ . , ; « » — …)
WORD_RE = re.compile(r"\d+(?:[.,:]\d+)*|[^\W\d_]+(?:['’-][^\W\d_]+)*|[^\w\s]|_", re.UNICODE)
# only words made of letters: what word2vec is trained on (lowercased)
LETTERS_RE = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*", re.UNICODE)


def words(text: str, lower: bool = False) -> list[str]:
    """Words, numbers and punctuation marks of ``text``, in order."""
    if lower:
        text = text.lower()
    return WORD_RE.findall(text)


def word_spans(text: str) -> list[tuple[str, int, int]]:
    """Like ``words`` but with each token's (start, end) character offsets."""
    return [(m.group(), m.start(), m.end()) for m in WORD_RE.finditer(text)]


def letter_words(text: str) -> list[str]:
    """Lowercased words made of letters only (no numbers, no punctuation): the word2vec view."""
    return LETTERS_RE.findall(text.lower())
