"""A trigram language model with interpolated Kneser-Ney smoothing, on the chapter-2 BPE tokens.

    p(w | u v) = max(c(u v w) − D3, 0) / c(u v ·)  +  D3 · N1+(u v ·) / c(u v ·) · p2(w | v)
    p2(w | v)  = max(N1+(· v w) − D2, 0) / N1+(· v ·)  +  D2 · N1+(v ·)ᶜ / N1+(· v ·) · p1(w)
    p1(w)      = (N1+(· w) + 1) / (N1+(· ·) + V)                        (add-one on continuations)

``c`` are counts, ``N1+(· v w)`` the number of different tokens seen before ``v w`` (Kneser-Ney's
"continuation" count: a token that follows many contexts is a good guess in a new one), and
``N1+(v ·)ᶜ`` the number of different tokens seen after ``v`` at the continuation level. When a
context was never seen its level falls back entirely to the lower one. Every level sums to 1, so
perplexities are honest. Chen & Goodman (1998), "An empirical study of smoothing techniques".

Counts live in sorted NumPy arrays keyed by ``(u·V + v)·V + w``; one context's followers are one
``searchsorted`` slice, so a full next-token distribution over the vocabulary costs microseconds.
Trigrams seen only ``min_count - 1`` times or fewer can be dropped to keep the model small; the
formulas use the kept counts only, so the distribution still sums to 1.
"""

from __future__ import annotations

import numpy as np


def _discount(counts: np.ndarray) -> float:
    """D = n1 / (n1 + 2 n2), from the number of items seen once (n1) and twice (n2)."""
    n1, n2 = int((counts == 1).sum()), int((counts == 2).sum())
    return float(min(0.95, max(0.05, n1 / (n1 + 2 * n2)))) if n1 + n2 else 0.75


class KneserNeyTrigram:
    """Interpolated Kneser-Ney over token ids 0..V-1. Build with :meth:`fit` or :meth:`from_arrays`."""

    def __init__(
        self,
        vocab_size: int,
        keys3: np.ndarray,
        counts3: np.ndarray,
        keys2: np.ndarray,
        counts2: np.ndarray,
        counts1: np.ndarray,
        d3: float,
        d2: float,
    ):
        V = self.V = int(vocab_size)
        self.keys3, self.counts3 = keys3.astype(np.int64), counts3.astype(np.int64)  # (u·V+v)·V+w
        self.keys2, self.counts2 = keys2.astype(np.int64), counts2.astype(np.int64)  # v·V+w (continuation counts)
        self.counts1 = counts1.astype(np.int64)  # (V,) N1+(· w)
        self.d3, self.d2 = float(d3), float(d2)
        self.p1 = (self.counts1 + 1) / (self.counts1.sum() + V)  # (V,)
        # per context: total count and number of different followers
        self.ctx3, start3 = np.unique(self.keys3 // V, return_index=True)
        self.tot3 = np.add.reduceat(self.counts3, start3) if len(start3) else np.zeros(0, np.int64)
        self.types3 = np.diff(np.append(start3, len(self.keys3)))
        self.tot2 = np.bincount(self.keys2 // V, weights=self.counts2, minlength=V)  # (V,)
        self.types2 = np.bincount(self.keys2 // V, minlength=V)  # (V,)

    # ------------------------------------------------------------------------------- training

    @classmethod
    def fit(cls, tokens: np.ndarray, vocab_size: int, min_count: int = 1) -> "KneserNeyTrigram":
        """Count trigrams of a 1-D token array (documents separated by an end-of-text token)."""
        t = np.asarray(tokens, dtype=np.int64)
        V = int(vocab_size)
        keys3, counts3 = np.unique((t[:-2] * V + t[1:-1]) * V + t[2:], return_counts=True)
        d3 = _discount(counts3)
        keys2, counts2 = np.unique(keys3 % (V * V), return_counts=True)  # N1+(· v w)
        d2 = _discount(counts2)
        counts1 = np.bincount(keys2 % V, minlength=V)  # N1+(· w)
        if min_count > 1:
            keep = counts3 >= min_count
            keys3, counts3 = keys3[keep], counts3[keep]
        return cls(V, keys3, counts3, keys2, counts2, counts1, d3, d2)

    def arrays(self) -> dict[str, np.ndarray]:
        """Everything needed to rebuild the model (for an artifact)."""
        return {
            "keys3": self.keys3,
            "counts3": self.counts3.astype(np.int32),
            "keys2": self.keys2.astype(np.int32),
            "counts2": self.counts2.astype(np.int32),
            "counts1": self.counts1.astype(np.int32),
            "meta": np.array([self.V, self.d3, self.d2], dtype=np.float64),
        }

    @classmethod
    def from_arrays(cls, a: dict) -> "KneserNeyTrigram":
        V, d3, d2 = a["meta"].tolist()
        return cls(int(V), a["keys3"], a["counts3"], a["keys2"], a["counts2"], a["counts1"], d3, d2)

    # ------------------------------------------------------------------------------ inference

    def bigram_probs(self, v: int) -> np.ndarray:
        """p2(· | v), shape (V,)."""
        V = self.V
        if self.tot2[v] == 0:
            return self.p1.copy()
        lo, hi = np.searchsorted(self.keys2, [v * V, (v + 1) * V])
        p = self.d2 * self.types2[v] / self.tot2[v] * self.p1
        p[self.keys2[lo:hi] % V] += np.maximum(self.counts2[lo:hi] - self.d2, 0) / self.tot2[v]
        return p

    def probs(self, context) -> np.ndarray:
        """p(· | last two tokens of ``context``), shape (V,), sums to 1."""
        V = self.V
        if len(context) == 0:
            return self.p1.copy()
        v = int(context[-1])
        p2 = self.bigram_probs(v)
        if len(context) < 2:
            return p2
        c = int(context[-2]) * V + v
        i = np.searchsorted(self.ctx3, c)
        if i == len(self.ctx3) or self.ctx3[i] != c:
            return p2
        lo, hi = np.searchsorted(self.keys3, [c * V, (c + 1) * V])
        tot = self.tot3[i]
        p = self.d3 * self.types3[i] / tot * p2
        p[self.keys3[lo:hi] % V] += np.maximum(self.counts3[lo:hi] - self.d3, 0) / tot
        return p

    def n_entries(self) -> int:
        return len(self.keys3) + len(self.keys2)
