"""Skip-gram with negative sampling (Mikolov et al. 2013), written from its objective in PyTorch.

Each word w has two vectors: ``v_w`` when it is the centre word (``W_in``) and ``u_w`` when it is a
context word (``W_out``). For a centre word c, a real context word o and K "negative" words
n_1..n_K drawn from the unigram distribution raised to 3/4, the loss is

    L = − log σ(u_oᵀ v_c) − Σ_k log σ(−u_{n_k}ᵀ v_c)

so the model learns to tell real (centre, context) pairs from random ones. Its gradients are

    ∂L/∂v_c = (σ(u_oᵀv_c) − 1) u_o + Σ_k σ(u_{n_k}ᵀv_c) u_{n_k}
    ∂L/∂u_o = (σ(u_oᵀv_c) − 1) v_c          ∂L/∂u_{n_k} = σ(u_{n_k}ᵀv_c) v_c

(tests/test_embeddings_sgns.py checks autograd against exactly these). The word vectors are
``W_in``: what gensim calls ``wv.vectors`` (and ``W_out`` is its ``syn1neg``).

Interface of the shared loop: ``model(idx, targets) -> (logits, loss)`` with ``idx`` (B,) centre
ids and ``targets`` (B, 1 + K) = [context id, K negative ids]; logits (B, 1 + K) = u·v_c.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class SGNSConfig:
    vocab_size: int
    dim: int = 100
    window: int = 5
    negative: int = 5


class SkipGramNS(nn.Module):
    def __init__(self, cfg: SGNSConfig):
        super().__init__()
        self.cfg = cfg
        self.W_in = nn.Embedding(cfg.vocab_size, cfg.dim)  # v: centre vectors (the word vectors)
        self.W_out = nn.Embedding(cfg.vocab_size, cfg.dim)  # u: context vectors
        # word2vec's initialisation: small random centre vectors, zero context vectors
        nn.init.uniform_(self.W_in.weight, -0.5 / cfg.dim, 0.5 / cfg.dim)
        nn.init.zeros_(self.W_out.weight)

    def forward(self, idx: torch.Tensor, targets: torch.Tensor):
        v = self.W_in(idx)  # (B, d)      centre vectors v_c
        u = self.W_out(targets)  # (B, 1+K, d) u_o, u_n1..u_nK
        logits = torch.einsum("bkd,bd->bk", u, v)  # (B, 1+K)    uᵀ v_c
        sign = torch.ones_like(logits)
        sign[:, 1:] = -1  # + for the real context, − for the negatives
        loss = -F.logsigmoid(sign * logits).sum(1).mean()
        return logits, loss


def noise_distribution(counts: np.ndarray, power: float = 0.75) -> np.ndarray:
    """P_n(w) ∝ count(w)^(3/4): frequent words are drawn as negatives less than their share."""
    p = np.asarray(counts, dtype=np.float64) ** power
    return p / p.sum()


def make_pairs(ids: np.ndarray, window: int, negative: int, noise: np.ndarray, seed: int = 0):
    """(centre (N,), targets (N, 1+K)) from a token-id array: every (centre, context) pair within
    a random window ≤ ``window`` (as word2vec shrinks it), with K negatives from ``noise``."""
    rng = np.random.default_rng(seed)
    centres, contexts = [], []
    spans = rng.integers(1, window + 1, size=len(ids))
    for off in range(1, window + 1):
        keep = spans[:-off] >= off  # centre i sees i+off, and i+off sees i, when the window reaches
        left, right = ids[:-off][keep], ids[off:][keep]
        centres += [left, right]
        contexts += [right, left]
    c, o = np.concatenate(centres), np.concatenate(contexts)
    neg = rng.choice(len(noise), size=(len(c), negative), p=noise)
    return torch.from_numpy(c.astype(np.int64)), torch.from_numpy(np.column_stack([o, neg]).astype(np.int64))
