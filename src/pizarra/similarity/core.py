"""Sentence similarity and the semantic map (the lecture's "Entender texto").

    compare(source, candidates)   cos(e(source), e(c_i)) for each candidate, rounded to 3 decimals,
                                  plus the ranking, as the Hugging Face widget shows them
    semantic_map(sentences)       embeddings projected to 2D (PCA or t-SNE) and clustered (k-means
                                  on the unit sphere), like Cohere's map of "I love my dog"

Embeddings are L2-normalised, so cos(a, b) = a . b.
"""

from __future__ import annotations

import time

import numpy as np

from ..errors import BadInput, Phrase
from .encoders import MODELS, get_encoder

MAX_CANDIDATES = 100
MAX_CHARS = 2000  # per text; longer texts are refused (the model window is smaller anyway)
MAX_MAP_SENTENCES = 200

LECTURE_SOURCE = "Me encanta el baloncesto"
LECTURE_CANDIDATES = ["Me encanta el fútbol", "Nada me gusta más que el baloncesto"]
LECTURE_SCORES = {"minilm": [0.655, 0.838]}  # the Hugging Face widget in the slides

# The semantic map's preloaded sentences: Cohere's example and a few groups around it.
MAP_EXAMPLES = [
    "I love my dog",
    "I adore my dog",
    "My dog is my best friend",
    "Hi, how's it going?",
    "Hello, how are you?",
    "Good morning!",
    "The stock market fell today",
    "Shares dropped sharply",
    "Me encanta el baloncesto",
    "Me encanta el fútbol",
    "Nada me gusta más que el baloncesto",
    "¿Qué tal estás?",
    "Adoro a mi perro",
    "La bolsa cayó hoy",
]


def _what(what: str) -> Phrase:
    """ "source sentence", "query", "sentence 3" as a catalogue phrase."""
    if what.startswith("sentence "):
        return Phrase("err.what.sentence_n", {"n": int(what.split()[1])})
    return Phrase("err.what." + what.replace(" ", "_"))


def _check_text(text: str, what: str) -> str:
    if not isinstance(text, str) or not text.strip():
        raise BadInput(f"The {what} is empty: write a sentence.", key="err.text_empty", what=_what(what))
    if len(text) > MAX_CHARS:
        raise BadInput(
            f"The {what} has {len(text)} characters; the limit is {MAX_CHARS}.",
            key="err.text_too_long",
            what=_what(what),
            n=len(text),
            limit=MAX_CHARS,
        )
    return text.strip()


def _check_model(model: str) -> str:
    if model not in MODELS:
        raise BadInput(
            f"Unknown model '{model}'. Choose one of: {', '.join(MODELS)}.",
            key="err.unknown_model",
            value=model,
            allowed=list(MODELS),
        )
    return model


def truncation_notice(texts: list[str], truncated: list[bool], max_tokens: int | None) -> list[str]:
    return [
        f"Text {i} ('{texts[i][:40]}…') is longer than the model's window of {max_tokens} tokens: "
        f"only its first {max_tokens} tokens count."
        for i, cut in enumerate(truncated)
        if cut
    ]


def compare(source: str, candidates: list[str], model: str = "minilm") -> dict:
    """Score each candidate against ``source``: ``{"model", "scores", "ranking", ...}``.

    ``scores`` keep the candidates' order; ``ranking`` lists them best first.
    """
    _check_model(model)
    source = _check_text(source, "source sentence")
    if not candidates:
        raise BadInput("Give at least one sentence to compare with the source.", key="err.similarity.no_candidates")
    if len(candidates) > MAX_CANDIDATES:
        raise BadInput(
            f"{len(candidates)} sentences to compare; the limit is {MAX_CANDIDATES}.",
            key="err.similarity.too_many",
            n=len(candidates),
            limit=MAX_CANDIDATES,
        )
    candidates = [_check_text(c, f"sentence {i + 1}") for i, c in enumerate(candidates)]
    enc = get_encoder(model)
    t0 = time.perf_counter()
    e = enc.encode([source] + candidates)  # (1 + n, d)
    ms = (time.perf_counter() - t0) * 1000
    cos = e.vectors[1:] @ e.vectors[0]  # (n,)
    scores = [round(float(c), 3) for c in cos]
    order = sorted(range(len(candidates)), key=lambda i: -cos[i])
    texts = [source] + candidates
    return {
        "model": model,
        "source": source,
        "candidates": candidates,
        "scores": scores,
        "ranking": [
            {"rank": r + 1, "index": i, "text": candidates[i], "score": scores[i]} for r, i in enumerate(order)
        ],
        "tokens": e.tokens,
        "truncated": [i for i, cut in enumerate(e.truncated) if cut],  # 0 = source, i = sentence i
        "notices": truncation_notice(texts, e.truncated, enc.max_tokens),
        "ms": round(ms, 2),
    }


# --------------------------------------------------------------------------------------------- map


def pca_2d(x: np.ndarray) -> np.ndarray:
    """The first two principal components of the rows of ``x`` (n, d) -> (n, 2)."""
    x = x - x.mean(0, keepdims=True)
    if len(x) < 2:
        return np.zeros((len(x), 2), np.float32)
    u, s, vt = np.linalg.svd(x, full_matrices=False)
    pts = x @ vt[:2].T  # (n, <=2)
    pts = np.pad(pts, ((0, 0), (0, 2 - pts.shape[1])))
    signs = np.sign(pts[np.abs(pts).argmax(0), range(2)])  # deterministic orientation
    return (pts * np.where(signs == 0, 1, signs)).astype(np.float32)


def kmeans_cosine(x: np.ndarray, k: int, iters: int = 50, seed: int = 0) -> np.ndarray:
    """Spherical k-means on unit rows (k-means++ start, fixed seed): labels (n,)."""
    n = len(x)
    k = max(1, min(k, n))
    rng = np.random.default_rng(seed)
    centers = [x[rng.integers(n)]]
    for _ in range(1, k):
        d = 1 - np.max(x @ np.stack(centers).T, axis=1)  # distance to the nearest centre
        p = np.clip(d, 0, None)
        centers.append(x[rng.choice(n, p=p / p.sum())] if p.sum() > 0 else x[rng.integers(n)])
    c = np.stack(centers)
    labels = np.zeros(n, int)
    for _ in range(iters):
        new = np.argmax(x @ c.T, axis=1)
        if _ > 0 and np.array_equal(new, labels):
            break
        labels = new
        for j in range(k):
            if np.any(labels == j):
                m = x[labels == j].sum(0)
                c[j] = m / max(np.linalg.norm(m), 1e-12)
    return labels


def semantic_map(sentences: list[str], model: str = "minilm", method: str = "pca", k: int = 4) -> dict:
    """2D points for ``sentences`` (PCA, t-SNE or UMAP of their embeddings) and a cluster for each."""
    _check_model(model)
    if method not in ("pca", "tsne", "umap"):
        raise BadInput(
            f"Unknown projection '{method}'. Choose pca, tsne or umap.",
            key="err.unknown_projection",
            value=method,
            allowed=("pca", "tsne", "umap"),
        )
    sentences = [s.strip() for s in sentences if isinstance(s, str) and s.strip()]
    sentences = list(dict.fromkeys(sentences))  # each sentence once
    if len(sentences) < 2:
        raise BadInput("The map needs at least two different, non-empty sentences.", key="err.similarity.map_few")
    if len(sentences) > MAX_MAP_SENTENCES:
        raise BadInput(
            f"{len(sentences)} sentences; the map takes at most {MAX_MAP_SENTENCES}.",
            key="err.similarity.map_many",
            n=len(sentences),
            limit=MAX_MAP_SENTENCES,
        )
    sentences = [_check_text(s, f"sentence {i + 1}") for i, s in enumerate(sentences)]
    if not 1 <= k <= 12:
        raise BadInput(
            "The number of clusters k must be between 1 and 12.", key="err.range_plain", name="k", lo=1, hi=12
        )
    enc = get_encoder(model)
    e = enc.encode(sentences)
    if method in ("tsne", "umap") and len(sentences) >= 4:
        from pizarra.embeddings import projector  # one t-SNE / UMAP for words and sentences

        pts = (projector.tsne if method == "tsne" else projector.umap)(e.vectors, 2)
    else:
        pts = pca_2d(e.vectors)
    labels = kmeans_cosine(e.vectors, k)
    sim = e.vectors @ e.vectors.T  # (n, n)
    np.fill_diagonal(sim, -np.inf)
    nearest = sim.argmax(1)
    return {
        "model": model,
        "method": method if method == "pca" or len(sentences) >= 4 else "pca",
        "points": [
            {
                "text": s,
                "x": round(float(pts[i, 0]), 4),
                "y": round(float(pts[i, 1]), 4),
                "cluster": int(labels[i]),
                "nearest": sentences[nearest[i]],
                "nearest_score": round(float(sim[i, nearest[i]]), 3),
            }
            for i, s in enumerate(sentences)
        ],
        "notices": truncation_notice(sentences, e.truncated, enc.max_tokens),
    }
