"""The projector: word vectors (d dimensions) drawn in 2-D or 3-D, and the quiz map.

    project(emb, ["rey", "reina", "perro"], method="pca", dims=2) -> {"points": [{"word", "x", "y"}], ...}
    neighborhood(emb, "rey", n=50)         the word and its n nearest words (cosine)

PCA: the directions of largest variance of the (centred) vectors, from their SVD X = U S Vᵀ:
coordinates = X V[:, :dims]. t-SNE (scikit-learn): keeps near neighbours near, distorts
distances. UMAP (``umap-learn``): a neighbour graph laid out in few dimensions, keeps local
structure and more of the global one than t-SNE; its first call in a process compiles numba code
(~15 s on a 2-core laptop), later calls take a fraction of a second.

The quiz ("¿dónde pondrías manzana?"): words placed on two meaningful axes taken from the
vectors themselves, e.g. size = direction (grande − pequeño) and age = (adulto − joven);
a word's coordinate on an axis is the cosine of its vector with that direction.
"""

from __future__ import annotations

import numpy as np

from pizarra.errors import BadInput

METHODS = ("pca", "tsne", "umap")
MAX_POINTS = 300
MIN_POINTS = 3
MAX_NEIGHBORHOOD = 100  # a word and up to 100 neighbours (the neighbour query's own limit)


def pca(x: np.ndarray, dims: int) -> tuple[np.ndarray, list[float]]:
    """(n, dims) PCA coordinates and the share of variance each axis explains."""
    x = x - x.mean(0)  # (n, d) centred
    u, s, vt = np.linalg.svd(x, full_matrices=False)
    coords = x @ vt[:dims].T  # (n, dims)
    var = s**2
    return coords, [float(v) for v in var[:dims] / max(var.sum(), 1e-12)]


def tsne(x: np.ndarray, dims: int, seed: int = 0) -> np.ndarray:
    from sklearn.manifold import TSNE

    perplexity = float(max(2.0, min(30.0, (len(x) - 1) / 3)))
    return TSNE(
        n_components=dims, perplexity=perplexity, init="pca", random_state=seed, metric="cosine", max_iter=500
    ).fit_transform(x.astype(np.float64))


def umap(x: np.ndarray, dims: int, seed: int = 0) -> np.ndarray:
    """UMAP with cosine distance; ``n_neighbors`` shrinks for small point sets."""
    import warnings

    from umap import UMAP

    with warnings.catch_warnings():  # "n_jobs overridden by random_state": expected, seeded on purpose
        warnings.simplefilter("ignore")
        return UMAP(
            n_components=dims,
            n_neighbors=int(max(2, min(15, len(x) - 1))),
            metric="cosine",
            random_state=seed,
            init="random" if len(x) <= dims + 1 else "spectral",
        ).fit_transform(x.astype(np.float32))


def project(emb, words: list[str], method: str = "pca", dims: int = 2, seed: int = 0) -> dict:
    """Coordinates of ``words`` (unknown words → BadInput with suggestions)."""
    if method not in METHODS:
        raise BadInput(
            f"Unknown projection '{method}': choose {', '.join(METHODS)}.",
            key="err.unknown_projection",
            value=method,
            allowed=METHODS,
        )
    if dims not in (2, 3):
        raise BadInput(f"dims must be 2 or 3 (got {dims}).", key="err.embeddings.dims", value=str(dims))
    words = list(dict.fromkeys(emb.normalize(w) for w in words if w.strip()))
    if not MIN_POINTS <= len(words) <= MAX_POINTS:
        raise BadInput(
            f"Give between {MIN_POINTS} and {MAX_POINTS} different words (got {len(words)}).",
            key="err.embeddings.word_count",
            lo=MIN_POINTS,
            hi=MAX_POINTS,
            n=len(words),
        )
    ids = emb.ids(words)
    x = emb.unit[ids]  # (n, d) direction only: what cosine similarity sees
    explained = None
    if method == "pca":
        coords, explained = pca(x, dims)
    elif method == "tsne":
        coords = tsne(x, dims, seed)
    else:
        coords = umap(x, dims, seed)
    axes = "xyz"[:dims]
    points = [{"word": w, **{a: float(c[j]) for j, a in enumerate(axes)}} for w, c in zip(words, coords, strict=False)]
    return {"method": method, "dims": dims, "points": points, "explained_variance": explained}


def neighborhood(emb, word: str, n: int = 40) -> list[str]:
    """``word`` followed by its ``n`` nearest words (cosine)."""
    if not 2 <= n <= MAX_NEIGHBORHOOD:
        raise BadInput(
            f"n must be between 2 and {MAX_NEIGHBORHOOD} (got {n}).",
            key="err.range",
            name="n",
            lo=2,
            hi=MAX_NEIGHBORHOOD,
            value=str(n),
        )
    return [emb.normalize(word)] + [w for w, _ in emb.neighbors(word, n)]


# ------------------------------------------------------------------------------------------ quiz
QUIZ = {
    # each axis: (words at the low end, words at the high end); averaging several words per end
    # gives a steadier direction than one pair
    "es": {
        "x": (("pequeño", "pequeña", "diminuto", "chico"), ("grande", "enorme", "gigantesco", "inmenso")),
        "y": (("joven",), ("adulto",)),
        "words": [
            "perro",
            "cachorro",
            "vaca",
            "ternero",
            "gato",
            "gatito",
            "caballo",
            "potro",
            "oveja",
            "cordero",
            "ratón",
            "elefante",
            "gallina",
            "pollito",
        ],
    },
    "en": {
        "x": (("small", "tiny", "little"), ("big", "huge", "large")),
        "y": (("young",), ("adult",)),
        "words": [
            "dog",
            "puppy",
            "cow",
            "calf",
            "cat",
            "kitten",
            "horse",
            "foal",
            "sheep",
            "lamb",
            "mouse",
            "elephant",
            "hen",
            "chick",
        ],
    },
}


def axis(emb, low, high) -> np.ndarray:
    """The unit direction from the ``low`` word(s) to the ``high`` word(s) (pequeño → grande):
    mean of the high ends' unit vectors minus mean of the low ends'."""
    low, high = ([w] if isinstance(w, str) else list(w) for w in (low, high))
    d = emb.unit[emb.ids(high)].mean(0) - emb.unit[emb.ids(low)].mean(0)
    return d / max(float(np.linalg.norm(d)), 1e-8)


def quiz_map(emb, words: list[str] | None = None, x_axis=None, y_axis=None) -> dict:
    """Each word's (x, y) = (cos with the x direction, cos with the y direction)."""
    spec = QUIZ["en" if emb.lang == "en" else "es"]
    x_axis, y_axis = tuple(x_axis or spec["x"]), tuple(y_axis or spec["y"])
    words = [w for w in (words or spec["words"]) if w.strip()]
    if not 1 <= len(words) <= 50:
        raise BadInput(
            f"Give between 1 and 50 words (got {len(words)}).",
            key="err.embeddings.word_count",
            lo=1,
            hi=50,
            n=len(words),
        )
    ids = emb.ids(words)
    dx, dy = axis(emb, *x_axis), axis(emb, *y_axis)
    pts = [{"word": emb.words[i], "x": float(emb.unit[i] @ dx), "y": float(emb.unit[i] @ dy)} for i in ids]
    name = lambda ends: [" + ".join([e] if isinstance(e, str) else e) for e in ends]  # noqa: E731
    return {"x_axis": name(x_axis), "y_axis": name(y_axis), "points": pts}
