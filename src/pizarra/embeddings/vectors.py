"""Word vectors to explore: nearest words (cosine and euclidean), analogies (3CosAdd, 3CosMul).

    emb = load_vectors("es")                      # word2vec trained here (artifact w2v-es-sg)
    emb.neighbors("rey", k=5)                     # [("reina", 0.71), ...] by cosine
    emb.neighbors("rey", k=5, metric="euclidean") # smallest distance first
    emb.analogy("hombre", "mujer", "rey")         # hombre : mujer :: rey : ?

Cosine similarity  cos(u, v) = u·v / (|u| |v|)  (1 = same direction);
euclidean distance |u − v| (0 = same point). Analogy a : b :: c : ? (Mikolov 2013; Levy & Goldberg 2014):
    3CosAdd  argmax_x  cos(x, b) − cos(x, a) + cos(x, c)
    3CosMul  argmax_x  cos'(x, b) · cos'(x, c) / (cos'(x, a) + ε),   cos' = (cos + 1) / 2
with a, b, c themselves excluded from the answers.
"""

from __future__ import annotations

import difflib
import threading
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from pizarra.errors import BadInput, Phrase

# name -> where the vectors come from; "es" is the default Spanish model. (CBOW was trained too,
# see reports/embeddings_cbow_eval.json, but not shipped: it scores lower and the size budget is small.)
VECTORS = {
    "es": "w2v-es-sg",  # skip-gram, trained here on the Spanish corpus (artifact)
    "glove": "glove50",  # GloVe 6B 50d, English (pretrained package)
}
MAX_K = 100

# The lecture's examples, preloaded on the chapter-3 page.
LECTURE_PROMPTS = {
    "analogy": ["hombre", "mujer", "rey"],
    "formula": "LERP(mañana, noche, 0.5)",
    "examples": [
        "rey - hombre + mujer",
        "AVERAGE(perro, gato, caballo)",
        "SLERP(invierno, verano, 0.5)",
        "DIST(perro, gato)",
        "LERP(niño, viejo, SLIDER(0.5))",
    ],
    "neighbors": "madrid",
    "project": "lunes martes miércoles jueves viernes sábado domingo enero febrero marzo abril mayo "
    "rojo verde azul amarillo negro blanco perro gato caballo vaca oveja",
}


@dataclass
class Embeddings:
    """``words[i]`` has the vector ``vectors[i]`` (float32, raw) and ``unit[i]`` (length 1)."""

    name: str
    words: list[str]
    vectors: np.ndarray  # (V, d) float32
    index: dict[str, int] = field(default_factory=dict)
    lang: str = "es"

    def __post_init__(self):
        self.vectors = np.ascontiguousarray(self.vectors, dtype=np.float32)
        if not self.index:
            self.index = {w: i for i, w in enumerate(self.words)}
        norms = np.linalg.norm(self.vectors, axis=1, keepdims=True)
        self.unit = self.vectors / np.maximum(norms, 1e-8)  # (V, d)
        self.sq_norms = (self.vectors**2).sum(1)  # (V,) for euclidean distances
        self._by_initial: dict[str, list[str]] | None = None
        self._lock = threading.Lock()

    @property
    def dim(self) -> int:
        return self.vectors.shape[1]

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: str) -> bool:
        return word in self.index

    # ------------------------------------------------------------------------------ lookups
    def normalize(self, word: str) -> str:
        """How a word is looked up: stripped; lowercased (both vocabularies are lowercase)."""
        return word.strip().lower()

    def suggestions(self, word: str, n: int = 3) -> list[str]:
        """Known words spelled closest to ``word`` (same initial letter, similar length)."""
        with self._lock:
            if self._by_initial is None:
                groups: dict[str, list[str]] = {}
                for w in self.words:
                    groups.setdefault(w[:1], []).append(w)
                self._by_initial = groups
        word = self.normalize(word)
        pool = [w for w in self._by_initial.get(word[:1], []) if abs(len(w) - len(word)) <= 2][:50000]
        out = difflib.get_close_matches(word, pool, n=n, cutoff=0.6)
        if len(out) < n:  # an accent forgotten on the first letter, etc.
            for alt in _accent_variants(word[:1]):
                pool = [w for w in self._by_initial.get(alt, []) if abs(len(w) - len(word)) <= 2][:20000]
                out += [w for w in difflib.get_close_matches(word, pool, n=n, cutoff=0.7) if w not in out]
        return out[:n]

    def ids(self, words: list[str]) -> list[int]:
        """Row of each word; BadInput naming every unknown word and its closest spellings."""
        if not words:
            raise BadInput("Give at least one word.", key="err.embeddings.no_words")
        missing = [w for w in words if self.normalize(w) not in self.index]
        if missing:
            parts, phrases, unique = [], [], list(dict.fromkeys(missing))
            for w in unique[:10]:  # suggestions for the first 10: enough to fix a typo, stays fast
                close = self.suggestions(w)
                parts.append(f"'{w}'" + (f" (did you mean: {', '.join(close)}?)" if close else ""))
                phrases.append(
                    Phrase("err.embeddings.unknown_word_close", {"word": w, "close": close})
                    if close
                    else Phrase("err.embeddings.unknown_word", {"word": w})
                )
            more = f"; and {len(unique) - 10} more" if len(unique) > 10 else ""
            if len(unique) > 10:
                phrases.append(Phrase("err.embeddings.unknown_more", {"n": len(unique) - 10}))
            raise BadInput(
                f"Not in the vocabulary of '{self.name}' ({len(self):,} words): " + "; ".join(parts) + more + ".",
                key="err.embeddings.not_in_vocabulary",
                name=self.name,
                size=len(self),
                words=phrases,
            )
        return [self.index[self.normalize(w)] for w in words]

    def vector(self, word: str) -> np.ndarray:
        return self.vectors[self.ids([word])[0]]

    # ---------------------------------------------------------------------------- neighbors
    def scores(self, query: np.ndarray, metric: str = "cosine") -> np.ndarray:
        """(V,) cosine similarity of every word with ``query``, or its euclidean distance."""
        query = np.asarray(query, dtype=np.float32)
        if metric == "cosine":
            return self.unit @ (query / max(float(np.linalg.norm(query)), 1e-8))
        if metric == "euclidean":  # |x - q|^2 = |x|^2 - 2 x·q + |q|^2
            d2 = self.sq_norms - 2 * (self.vectors @ query) + float(query @ query)
            return np.sqrt(np.maximum(d2, 0))
        raise BadInput(
            f"Unknown metric '{metric}': choose cosine or euclidean.",
            key="err.embeddings.unknown_metric",
            value=metric,
            allowed=("cosine", "euclidean"),
        )

    def nearest(
        self, query: np.ndarray, k: int = 10, metric: str = "cosine", exclude: set[str] = frozenset()
    ) -> list[tuple[str, float]]:
        """The ``k`` words nearest to a vector (highest cosine / smallest distance)."""
        check_k(k)
        s = self.scores(query, metric)
        order_s = -s if metric == "cosine" else s  # ascending = best first
        n = min(len(s), k + len(exclude))
        top = np.argpartition(order_s, n - 1)[:n] if n < len(s) else np.arange(len(s))
        top = top[np.argsort(order_s[top], kind="stable")]
        out = [(self.words[i], float(s[i])) for i in top if self.words[i] not in exclude]
        return out[:k]

    def neighbors(self, word: str, k: int = 10, metric: str = "cosine") -> list[tuple[str, float]]:
        """The ``k`` nearest words to ``word`` (itself excluded)."""
        i = self.ids([word])[0]
        return self.nearest(self.vectors[i], k, metric, exclude={self.words[i]})

    def neighbors_both(self, word: str, k: int = 10) -> list[dict]:
        """The projector's table: the k nearest by cosine, each with its cosine AND euclidean distance,
        plus its rank by euclidean distance."""
        i = self.ids([word])[0]
        self.scores(self.vectors[i], "cosine")
        dist = self.scores(self.vectors[i], "euclidean")
        rank_e = np.argsort(np.argsort(dist, kind="stable"), kind="stable")  # 0 = the word itself
        rows = []
        for w, c in self.neighbors(word, k, "cosine"):
            j = self.index[w]
            rows.append({"word": w, "cosine": c, "euclidean": float(dist[j]), "euclidean_rank": int(rank_e[j])})
        return rows

    # ----------------------------------------------------------------------------- analogies
    def analogy(self, a: str, b: str, c: str, k: int = 5, method: str = "3cosadd") -> list[tuple[str, float]]:
        """a is to b as c is to ? (``hombre``, ``mujer``, ``rey`` → ``reina``)."""
        check_k(k)
        ia, ib, ic = self.ids([a, b, c])
        s = analogy_scores(self.unit, ia, ib, ic, method)
        s[[ia, ib, ic]] = -np.inf
        top = np.argpartition(-s, k)[:k] if k < len(s) else np.arange(len(s))
        top = top[np.argsort(-s[top], kind="stable")]
        return [(self.words[i], float(s[i])) for i in top if np.isfinite(s[i])]


def analogy_scores(unit: np.ndarray, ia, ib, ic, method: str = "3cosadd") -> np.ndarray:
    """(V,) score of every word as the answer of a : b :: c : ? (rows of unit vectors).
    ``ia, ib, ic`` may also be arrays of B questions: the result is then (B, V)."""
    ca, cb, cc = unit[ia] @ unit.T, unit[ib] @ unit.T, unit[ic] @ unit.T  # cosines with every word
    if method == "3cosadd":
        return cb - ca + cc
    if method == "3cosmul":
        eps = 1e-3
        return ((cb + 1) / 2) * ((cc + 1) / 2) / ((ca + 1) / 2 + eps)
    raise BadInput(
        f"Unknown analogy method '{method}': choose 3cosadd or 3cosmul.",
        key="err.embeddings.unknown_analogy_method",
        value=method,
        allowed=("3cosadd", "3cosmul"),
    )


def check_k(k: int) -> None:
    if not isinstance(k, int) or not 1 <= k <= MAX_K:
        raise BadInput(
            f"k must be an integer between 1 and {MAX_K} (got {k!r}).",
            key="err.range",
            name="k",
            lo=1,
            hi=MAX_K,
            value=str(k),
        )


def _accent_variants(ch: str) -> list[str]:
    table = {
        "a": "á",
        "e": "é",
        "i": "í",
        "o": "ó",
        "u": "úü",
        "n": "ñ",
        "á": "a",
        "é": "e",
        "í": "i",
        "ó": "o",
        "ú": "u",
        "ü": "u",
        "ñ": "n",
    }
    return list(table.get(ch, ""))


# ------------------------------------------------------------------------------------- loading
_lock = threading.Lock()


@lru_cache(maxsize=None)
def _load(name: str) -> Embeddings:
    if name == "glove":
        from pizarra.assets.models import word_vectors

        wv = word_vectors("glove50")
        return Embeddings("glove", wv.words, wv.vectors, dict(wv.index), lang="en")
    return from_artifact(VECTORS[name], name)


def from_artifact(artifact: str, name: str | None = None, root=None) -> Embeddings:
    """Vectors saved by ``pizarra.embeddings.export`` (float16 ``vectors`` + ``vocab.txt``)."""
    from safetensors.numpy import load_file

    from pizarra.assets.artifacts import load_artifact

    art = load_artifact(artifact, root=root)
    vectors = load_file(art.file("weights.safetensors"))["vectors"]
    words = art.file("vocab.txt").read_text(encoding="utf-8").split("\n")
    words = [w for w in words if w]
    if len(words) != len(vectors):
        raise BadInput(
            f"Artifact {artifact}: {len(words)} words but {len(vectors)} vectors.",
            key="err.embeddings.artifact_mismatch",
            artifact=artifact,
            words=len(words),
            vectors=len(vectors),
        )
    return Embeddings(name or artifact, words, vectors, lang=art.config.get("lang", "es"))


def load_vectors(name: str = "es") -> Embeddings:
    """The word vectors ``name`` (es, glove), loaded once per process."""
    if name not in VECTORS:
        raise BadInput(
            f"Unknown vectors '{name}': choose {', '.join(VECTORS)}.",
            key="err.embeddings.unknown_vectors",
            value=name,
            allowed=list(VECTORS),
        )
    with _lock:
        return _load(name)


def vectors_info() -> list[dict]:
    """The vector sets chapter 3 explores, with the shipped card's analogy scores."""
    from pizarra.assets.artifacts import list_artifacts

    cards = {a["name"]: a for a in list_artifacts()}
    sg = cards.get("w2v-es-sg") or {}
    ev = (sg.get("metrics") or {}).get("eval") or {}
    return [
        {
            "name": "es",
            "lang": "es",
            "source": "word2vec skip-gram, trained here (artifact w2v-es-sg)",
            "available": bool(sg),
            "analogy_accuracy": (ev.get("analogies") or {}).get("accuracy"),
            "analogy_coverage": (ev.get("analogies") or {}).get("coverage"),
        },
        {"name": "glove", "lang": "en", "source": "GloVe 6B 50d (Stanford), 400k English words", "available": True},
    ]
