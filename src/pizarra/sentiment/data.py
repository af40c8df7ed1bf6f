"""IMDB for every model of the chapter: one split, one cleaning, one tokenizer, one vocabulary.

    splits = load_splits()              # train 22,500 / val 2,500 (carved from train) / test 25,000
    tokenize("I didn't LOVE it!<br />")  # ['i', 'did', "n't", 'love', 'it', '!']
    vocab = Vocab.build(train_token_lists, max_size=30000)
    ids = head_tail(vocab.encode(tokens), 400)   # long reviews keep their start and their end

The validation split is the only thing any choice (C, n-grams, epochs, early stopping) looks at;
the test split is scored once per final model.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

import numpy as np

from pizarra.errors import BadInput

VAL_SIZE = 2500
SPLIT_SEED = 0
MAX_CHARS = 20_000  # longer reviews are cut (with a notice) before any model sees them

_BR = re.compile(r"<br\s*/?>", re.I)
# words (with "n't" split off as GloVe does: don't -> do n't), clitics ('s, 're), numbers, ! and ?
_TOKEN = re.compile(r"[a-z0-9]+(?=n't)|n't|[a-z0-9]+|'[a-z]+|[!?]")
_LETTER = re.compile(r"[a-zA-Z]")


def clean(text: str) -> str:
    """IMDB reviews carry HTML line breaks (``<br />``): turn them into spaces."""
    return _BR.sub(" ", text)


def tokenize(text: str) -> list[str]:
    """Lowercased English tokens of a review (the tokenizer of every model trained here)."""
    return _TOKEN.findall(clean(text).lower().replace("’", "'"))


def check_review(text: str) -> tuple[str, list[str]]:
    """A review ready for the models, and notices for the user. Empty -> BadInput;
    over ``MAX_CHARS`` -> cut; few English-looking words -> a warning (the models know English only)."""
    if not isinstance(text, str) or not text.strip():
        raise BadInput("The review is empty: write a few words (English, as in IMDB).", key="err.sentiment.empty")
    notices = []
    if len(text) > MAX_CHARS:
        text = text[:MAX_CHARS]
        notices.append("truncated")
    if not looks_english(text):
        notices.append("not_english")
    return text, notices


_COMMON_EN = frozenset(
    "the a an and or but is are was were be been it this that of to in on for with as "
    "at by not no i you he she they we my his her their its movie film very so too "
    "just than then there what who all one good bad great".split()
)
# frequent words of other languages a reviewer might write in (Spanish, French, Portuguese, Italian, German)
_COMMON_OTHER = frozenset(
    "el la los las de del que y en un una es muy pero por con para lo se su al como más "
    "le les des et est une pas pour qui dans sur avec très mais "
    "o os da do em não uma com mas muito "
    "il di che non è della per sono "
    "der die das und ist nicht ein eine mit sehr aber auch".split()
)
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)


def looks_english(text: str) -> bool:
    """A rough check: mostly Latin letters, and no more frequent words of Spanish, French,
    Portuguese, Italian or German than of English."""
    letters = [c for c in text if c.isalpha()]
    if letters and sum(bool(_LETTER.match(c)) for c in letters) / len(letters) < 0.8:
        return False
    words = _WORD.findall(text.lower())
    if len(words) < 4:
        return True  # too short to tell
    en = sum(w in _COMMON_EN for w in words)
    other = sum(w in _COMMON_OTHER for w in words)
    return other == 0 or en > other  # a warning only: when in doubt, English


@dataclass
class Split:
    texts: list[str]
    labels: np.ndarray  # (n,) int64, 1 = positive
    ids: list[str]

    def __len__(self) -> int:
        return len(self.texts)

    def subset(self, n: int | None, seed: int = 0) -> "Split":
        """The first ``n`` rows of a seeded, class-balanced shuffle (all rows when n is None)."""
        if n is None or n >= len(self):
            return self
        rng = np.random.default_rng(seed)
        pos, neg = np.flatnonzero(self.labels == 1), np.flatnonzero(self.labels == 0)
        rng.shuffle(pos), rng.shuffle(neg)
        idx = np.sort(np.concatenate([pos[: (n + 1) // 2], neg[: n // 2]]))
        return Split([self.texts[i] for i in idx], self.labels[idx], [self.ids[i] for i in idx])


def _split(rows: list[dict]) -> Split:
    return Split(
        [r["text"] for r in rows], np.array([int(r["label"]) for r in rows], dtype=np.int64), [r["id"] for r in rows]
    )


def load_splits(
    data=None, val_size: int = VAL_SIZE, seed: int = SPLIT_SEED, limit: int | None = None, with_test: bool = True
) -> dict[str, Split]:
    """{"train", "val", "test"}: the official test split, and the official train split cut into
    train and a class-balanced validation set of ``val_size`` (seeded). ``limit``: a balanced
    subset of each (for smoke tests). ``with_test=False``: no test split at all (recipe sweeps)."""
    from pizarra.assets.datasets import load_imdb

    full = _split(load_imdb("train", data))
    test = _split(load_imdb("test", data)) if with_test else Split([], np.zeros(0, dtype=np.int64), [])
    rng = np.random.default_rng(seed)
    val_idx = set()
    for c in (0, 1):
        rows = np.flatnonzero(full.labels == c)
        val_idx.update(rng.choice(rows, size=val_size // 2, replace=False).tolist())
    keep = [i for i in range(len(full)) if i not in val_idx]
    val = sorted(val_idx)
    pick = lambda idx: Split([full.texts[i] for i in idx], full.labels[idx], [full.ids[i] for i in idx])  # noqa: E731
    out = {"train": pick(np.array(keep)), "val": pick(np.array(val)), "test": test, "train_full": full}
    if limit:
        out = {k: v.subset(limit if k != "val" else max(2, limit // 4)) for k, v in out.items()}
    return out


class Vocab:
    """Token <-> id. Id 0 is padding, 1 is unknown; the rest by training-set frequency."""

    PAD, UNK = 0, 1

    def __init__(self, itos: list[str]):
        self.itos = itos
        self.stoi = {w: i for i, w in enumerate(itos)}

    @classmethod
    def build(cls, token_lists, max_size: int = 30000, min_count: int = 2) -> "Vocab":
        counts = Counter(t for toks in token_lists for t in toks)
        words = [w for w, c in counts.most_common(max_size - 2) if c >= min_count]
        return cls(["<pad>", "<unk>", *words])

    def __len__(self) -> int:
        return len(self.itos)

    def encode(self, tokens: list[str]) -> list[int]:
        return [self.stoi.get(t, self.UNK) for t in tokens]


def head_tail(ids: list, max_len: int, head: int | None = None) -> list:
    """Keep the first ``head`` and the last ``max_len - head`` items of a long sequence
    (reviews tend to state their verdict at the end). Default head: a quarter."""
    if len(ids) <= max_len:
        return list(ids)
    head = max_len // 4 if head is None else head
    return list(ids[:head]) + list(ids[len(ids) - (max_len - head) :])
