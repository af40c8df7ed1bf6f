"""Spearman correlation between cosine similarity and human scores on STS benchmarks.

    rho = Spearman( [cos(e(a_i), e(b_i))]_i , [gold_i]_i )

Sets: STS-B test (English; the all-MiniLM-L6-v2 model card reports 0.8203), its Spanish
translation (stsb_es test) and SemEval-2017 track 3 (es-es). Needs ``PIZARRA_DATA``.
"""

from __future__ import annotations

import time
from typing import Callable

import numpy as np

from .encoders import MODELS, get_encoder

SETS = {  # name -> (loader name, split)
    "stsb_en_test": ("stsb_en", "test"),
    "stsb_es_test": ("stsb_es", "test"),
    "sts2017_es_es": ("sts2017", "es-es"),
}
REFERENCE = {("minilm", "stsb_en_test"): 0.8203}  # sentence-transformers' published number


def spearman(a, b) -> float | None:
    """Spearman's rho, or None where it is undefined (fewer than 3 pairs, constant scores)."""
    from scipy.stats import spearmanr

    if len(a) < 3:
        return None
    rho = float(spearmanr(a, b).statistic)
    return None if np.isnan(rho) else rho


def pair_scores(encode: Callable[[list[str]], np.ndarray], pairs: list[tuple]) -> tuple[list[float], list[float]]:
    """Cosines of each (a, b, gold) pair, every distinct sentence encoded once."""
    sentences = sorted({s for a, b, _ in pairs for s in (a, b)})
    vectors = encode(sentences)  # (n, d), unit rows
    row = {s: i for i, s in enumerate(sentences)}
    cos = [float(vectors[row[a]] @ vectors[row[b]]) for a, b, _ in pairs]
    return cos, [float(g) for *_, g in pairs]


def evaluate(models=MODELS, sets=tuple(SETS), data=None, progress: Callable[[str], None] | None = None) -> dict:
    """``{"results": [{"model", "set", "pairs", "spearman", "reference", "seconds"}]}``."""
    from ..assets.datasets import load_sts

    results = []
    for set_name in sets:
        pairs = load_sts(*SETS[set_name], data=data)
        for model in models:
            enc = get_encoder(model).inner  # the fast path the page uses, without the LRU cache
            t0 = time.perf_counter()
            cos, gold = pair_scores(lambda s, enc=enc: enc.encode(s).vectors, pairs)
            results.append(
                {
                    "model": model,
                    "set": set_name,
                    "pairs": len(pairs),
                    "spearman": None if (rho := spearman(cos, gold)) is None else round(rho, 4),
                    "reference": REFERENCE.get((model, set_name)),
                    "seconds": round(time.perf_counter() - t0, 1),
                }
            )
            if progress:
                progress(f"{model} {set_name}: {results[-1]['spearman']}")
    return {
        "results": results,
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "method": "cosine of L2-normalised embeddings (minilm: ONNX fast path), Spearman vs gold",
    }
