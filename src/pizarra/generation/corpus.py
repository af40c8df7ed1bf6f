"""The Spanish text the chapter-7 models learn from, its fixed split, and the held-out text.

    train, val = split_corpus()          # lists of strings: 95 % / 5 % of every document
    heldout_text()                       # ~2,000 words of validation text every model is scored on

Documents: the Quijote, the 61 CLiGS novels and story collections, and the news articles (joined
as one document). Each document is cut at a paragraph boundary: its first 95 % trains, its last
5 % validates, so every style of the corpus is in both parts and no validation text is trained on.
The held-out text takes the first ``HELDOUT_WORDS_PER_PART`` words of the validation part of five
fixed documents (Quijote, three CLiGS texts, the news). Needs ``PIZARRA_DATA``.
"""

from __future__ import annotations

from functools import lru_cache

from pizarra.errors import BadInput

SOURCES = ("quijote", "cligs", "news")
VAL_FRACTION = 0.05
HELDOUT_WORDS_PER_PART = 400
HELDOUT_DOCS = ("quijote", "cligs:10", "cligs:30", "cligs:50", "news")


def cut(text: str, fraction: float = VAL_FRACTION) -> tuple[str, str]:
    """(first part, last ``fraction``) of ``text``, cut at the paragraph (or line) break nearest before."""
    at = int(len(text) * (1 - fraction))
    brk = text.rfind("\n\n", 0, at)
    if brk < len(text) * (1 - 2 * fraction):
        brk = text.rfind("\n", 0, at)
    if brk <= 0:
        brk = at
    return text[:brk].strip(), text[brk:].strip()


@lru_cache(maxsize=2)
def documents(data=None) -> tuple[tuple[str, str], ...]:
    """((name, text), ...): quijote, cligs:0..60, news (all articles joined by blank lines)."""
    from pizarra.assets.datasets import spanish_corpus_texts

    docs, news, n_cligs = [], [], 0
    for source, _doc_id, text in spanish_corpus_texts(SOURCES, data):
        if source == "news":
            news.append(text)
        elif source == "cligs":
            docs.append((f"cligs:{n_cligs}", text))
            n_cligs += 1
        else:
            docs.append((source, text))
    docs.append(("news", "\n\n".join(news)))
    return tuple(docs)


def split_corpus(data=None) -> tuple[list[str], list[str]]:
    """(train texts, validation texts), one of each per document."""
    parts = [cut(text) for _, text in documents(data)]
    return [a for a, _ in parts], [b for _, b in parts]


def first_words(text: str, n: int) -> str:
    """The text up to the end of its n-th whitespace-separated word (original spacing kept)."""
    import re

    ends = [m.end() for m in re.finditer(r"\S+", text)]
    if not ends:
        return ""
    return text[: ends[min(n, len(ends)) - 1]]


def heldout_text(data=None, words_per_part: int = HELDOUT_WORDS_PER_PART) -> str:
    """The fixed held-out text (about 2,000 words) every model's perplexity is measured on."""
    docs = dict(documents(data))
    parts = []
    for name in HELDOUT_DOCS:
        if name not in docs:
            raise BadInput(
                f"Held-out document {name!r} is not in the corpus.", key="err.generation.held_out", value=name
            )
        parts.append(first_words(cut(docs[name])[1], words_per_part))
    return "\n\n".join(parts)


def describe(data=None) -> dict:
    """Sizes of the split, for model cards."""
    train, val = split_corpus(data)
    held = heldout_text(data)
    return {
        "corpus": "pizarra.assets.datasets.spanish_corpus_texts(('quijote', 'cligs', 'news'))",
        "documents": len(train),
        "split": f"every document cut at a paragraph break: first {1 - VAL_FRACTION:.0%} train, "
        f"last {VAL_FRACTION:.0%} validation",
        "train_words": sum(len(t.split()) for t in train),
        "val_words": sum(len(t.split()) for t in val),
        "heldout": f"first {HELDOUT_WORDS_PER_PART} words of the validation part of {', '.join(HELDOUT_DOCS)}",
        "heldout_words": len(held.split()),
        "heldout_chars": len(held),
    }
