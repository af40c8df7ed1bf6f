"""How the next token is chosen from p(· | context): greedy, temperature, top-k, top-p, seed.

    p_T(w) ∝ p(w)^(1/T)          temperature: T < 1 sharpens, T > 1 flattens, T → 0 is greedy
    top-k:  keep the k most likely tokens          top-p: keep the smallest set whose mass ≥ p
    then renormalise and draw one token (with a seeded generator: same seed, same text)

The parameters and their allowed ranges are the shared runtime's ``Sampling`` (``max_tokens``,
``temperature`` 0..2, ``top_p`` (0, 1], ``top_k`` 0..1000 with 0 = off, ``repeat_penalty`` 1..2,
``seed``), so our models and llama.cpp are driven by the same knobs.
"""

from __future__ import annotations

import numpy as np

from pizarra.llm.runtime import RANGES, Sampling  # noqa: F401  (re-exported)

REPEAT_WINDOW = 64  # llama.cpp's default: the penalty looks at the last 64 tokens


def reshape(
    p: np.ndarray,
    temperature: float = 1.0,
    top_k: int = 0,
    top_p: float = 1.0,
    recent: list[int] | None = None,
    repeat_penalty: float = 1.0,
) -> np.ndarray:
    """The distribution actually sampled from, shape (V,), sums to 1."""
    p = np.asarray(p, dtype=np.float64)
    logp = np.log(np.maximum(p, 1e-300))  # (V,)
    if recent and repeat_penalty != 1.0:  # llama.cpp: a negative logit is multiplied by the penalty
        seen = np.unique(np.asarray(recent[-REPEAT_WINDOW:], dtype=np.int64))
        logp[seen] *= repeat_penalty
    if temperature <= 0:  # greedy
        out = np.zeros_like(p)
        out[int(np.argmax(logp))] = 1.0
        return out
    with np.errstate(over="ignore"):  # a tiny T sends all but the best to -inf: fine
        z = (logp - logp.max()) / temperature  # max is 0: never nan, even for a tiny T
    keep = np.ones(len(p), dtype=bool)
    if top_k and top_k < len(p):
        kth = np.partition(z, -top_k)[-top_k]
        keep &= z >= kth
    q = np.exp(z - z[keep].max()) * keep
    q /= q.sum()
    if top_p < 1.0:
        order = np.argsort(-q)
        cum = np.cumsum(q[order])
        n = int(np.searchsorted(cum, top_p) + 1)  # smallest prefix with mass ≥ top_p
        mask = np.zeros(len(p), dtype=bool)
        mask[order[:n]] = True
        q = q * mask
        q /= q.sum()
    return q


def choose(p: np.ndarray, s: Sampling, rng: np.random.Generator, recent: list[int] | None = None) -> int:
    """One token id drawn from ``reshape(p, ...)`` with ``rng``."""
    q = reshape(p, s.temperature, s.top_k, s.top_p, recent, s.repeat_penalty)
    if s.temperature <= 0:
        return int(np.argmax(q))
    return int(rng.choice(len(q), p=q))


def rng_for(seed: int | None) -> np.random.Generator:
    return np.random.default_rng(seed)


def temperature_table(p: np.ndarray, token_ids: list[int], temperatures=(0.5, 1.0, 1.5, 2.0)) -> dict[str, list[float]]:
    """For the plot: the probability of each shown token after each temperature (full renormalisation)."""
    out = {}
    for t in temperatures:
        q = reshape(p, float(t)) if t > 0 else reshape(p, 0.0)
        out[f"{float(t):g}"] = [round(float(q[i]), 6) for i in token_ids]
    return out
