"""Word vectors to explore: nearest words (cosine and euclidean), analogies (3CosAdd, 3CosMul).

    emb = load_vectors("es")                      # FastText trained here (artifact fasttext-es)
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
from pizarra.text.words import letter_words

# name -> where the vectors come from; "es" is the default Spanish model. (Until session 8 it was a
# word2vec skip-gram, reports/embeddings_eval_w2v_sg.json; CBOW was trained too, reports/embeddings_cbow_eval.json.)
VECTORS = {
    "es": "fasttext-es",  # FastText skip-gram with n-grams, trained here on the Spanish corpus (artifact)
    "glove": "glove50",  # GloVe 6B 50d, English (pretrained package)
}
MAX_K = 100
TYPO_CUTOFF = 0.8  # a word built from pieces is shown as a possible typo of a known word this close in spelling

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


def ngrams(word: str, min_n: int = 3, max_n: int = 6) -> list[str]:
    """FastText's pieces of a word: every run of ``min_n`` to ``max_n`` characters of ``<word>``
    (``<`` and ``>`` mark its start and end, so «<ba» is a beginning and «to>» an ending).

    ngrams("gato") -> ['<ga', '<gat', '<gato', '<gato>', 'gat', 'gato', 'gato>', 'ato', 'ato>', 'to>']
    """
    s = f"<{word}>"
    return [s[i : i + n] for i in range(len(s)) for n in range(min_n, max_n + 1) if i + n <= len(s)]


def ngram_bucket(piece: str, buckets: int) -> int:
    """The row of a piece: fastText's FNV-1a hash of its UTF-8 bytes (each byte read as a signed
    char, as fastText and gensim do), modulo the number of rows."""
    h = 2166136261
    for b in piece.encode("utf-8"):
        h = ((h ^ (b | 0xFFFFFF00 if b >= 128 else b)) * 16777619) & 0xFFFFFFFF
    return h % buckets


@dataclass
class Subwords:
    """The n-gram vectors of a FastText model, pieces of ``min_n``..``max_n`` characters hashed into
    ``buckets`` rows. ``ids``: when only some buckets are kept (the ones the training updated: the
    pieces of the vocabulary's words; the others hold only their random start), the bucket of each
    row of ``vectors``, sorted; a piece whose bucket was not kept is left out of the mean."""

    vectors: np.ndarray  # (kept buckets, d)
    min_n: int = 3
    max_n: int = 6
    buckets: int = 0  # 0: every bucket is a row (len(vectors))
    ids: np.ndarray | None = None  # (kept buckets,) sorted bucket numbers, or None

    def __post_init__(self):
        self.vectors = np.ascontiguousarray(self.vectors, dtype=np.float32)
        self.buckets = self.buckets or len(self.vectors)
        if self.ids is not None:
            self.ids = np.asarray(self.ids, dtype=np.int64)
            if len(self.ids) != len(self.vectors) or np.any(np.diff(self.ids) <= 0):
                raise ValueError("Subwords.ids must be sorted, unique and one per row of vectors")

    def rows(self, word: str) -> list[int]:
        """The rows of the word's pieces that hold a trained vector (repeats kept, as in fastText)."""
        buckets = [ngram_bucket(p, self.buckets) for p in ngrams(word, self.min_n, self.max_n)]
        if self.ids is None:
            return buckets
        at = np.searchsorted(self.ids, buckets)
        return [int(i) for i, b in zip(at, buckets, strict=True) if i < len(self.ids) and self.ids[i] == b]

    def vector(self, word: str) -> np.ndarray | None:
        """Mean of the vectors of the word's pieces; None when none of them was trained."""
        rows = self.rows(word)
        return self.vectors[rows].mean(0) if rows else None


@dataclass
class Embeddings:
    """``words[i]`` has the vector ``vectors[i]`` (float32, raw) and ``unit[i]`` (length 1)."""

    name: str
    words: list[str]
    vectors: np.ndarray  # (V, d) float32
    index: dict[str, int] = field(default_factory=dict)
    lang: str = "es"
    subwords: Subwords | None = None  # FastText: vectors for words not in the vocabulary

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

    def suggestions(self, word: str, n: int = 3, cutoff: float = 0.6) -> list[str]:
        """Known words spelled closest to ``word`` (same initial letter, similar length; difflib ratio
        at least ``cutoff``)."""
        with self._lock:
            if self._by_initial is None:
                groups: dict[str, list[str]] = {}
                for w in self.words:
                    groups.setdefault(w[:1], []).append(w)
                self._by_initial = groups
        word = self.normalize(word)
        pool = [w for w in self._by_initial.get(word[:1], []) if abs(len(w) - len(word)) <= 2][:50000]
        out = difflib.get_close_matches(word, pool, n=n, cutoff=cutoff)
        if len(out) < n:  # an accent forgotten on the first letter, etc.
            for alt in _accent_variants(word[:1]):
                pool = [w for w in self._by_initial.get(alt, []) if abs(len(w) - len(word)) <= 2][:20000]
                out += [w for w in difflib.get_close_matches(word, pool, n=n, cutoff=max(cutoff, 0.7)) if w not in out]
        return out[:n]

    def pieces(self, words: list[str]) -> dict:
        """What the lab says under an answer: ``oov``, the words whose vector was built from their
        pieces; ``close``, for each, the known words spelled almost like it (difflib ≥ TYPO_CUTOFF:
        «reyy» → rey; a real new word such as «baloncestistas» gets none)."""
        oov = self.oov(words)
        return {"oov": oov, "close": {w: self.suggestions(w, cutoff=TYPO_CUTOFF) for w in oov[:10]}}

    def known(self, word: str) -> bool:
        """Is ``word`` in the vocabulary (a vector of its own)?"""
        return self.normalize(word) in self.index

    def from_pieces(self, word: str) -> bool:
        """Not in the vocabulary, but a vector can be built from its character n-grams (FastText):
        a word of letters only, the kind of word the vectors were trained on."""
        word = self.normalize(word)
        if self.subwords is None or word in self.index or letter_words(word) != [word]:
            return False
        return bool(self.subwords.rows(word))

    def oov(self, words: list[str]) -> list[str]:
        """The words among ``words`` (normalized, once each) whose vector comes from their pieces."""
        return list(dict.fromkeys(self.normalize(w) for w in words if self.from_pieces(w)))

    def check(self, words: list[str]) -> None:
        """BadInput naming every word without a vector (not in the vocabulary and not buildable from
        pieces), with its closest spellings."""
        if not words:
            raise BadInput("Give at least one word.", key="err.embeddings.no_words")
        missing = [w for w in words if self.normalize(w) not in self.index and not self.from_pieces(w)]
        if missing:
            raise self._unknown(missing)

    def _unknown(self, missing: list[str]) -> BadInput:
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
        return BadInput(
            f"Not in the vocabulary of '{self.name}' ({len(self):,} words): " + "; ".join(parts) + more + ".",
            key="err.embeddings.not_in_vocabulary",
            name=self.name,
            size=len(self),
            words=phrases,
        )

    def ids(self, words: list[str]) -> list[int]:
        """Row of each word in the vocabulary; BadInput naming every unknown word and its closest
        spellings (words built from pieces have no row: use ``rows`` or ``vector``)."""
        if not words:
            raise BadInput("Give at least one word.", key="err.embeddings.no_words")
        missing = [w for w in words if self.normalize(w) not in self.index]
        if missing:
            raise self._unknown(missing)
        return [self.index[self.normalize(w)] for w in words]

    def vector(self, word: str) -> np.ndarray:
        """The word's vector: its own, or (FastText, a word not in the vocabulary) the mean of its
        character n-grams' vectors."""
        w = self.normalize(word)
        if w in self.index:
            return self.vectors[self.index[w]]
        v = self.subwords.vector(w) if self.from_pieces(w) and self.subwords is not None else None
        if v is None:
            raise self._unknown([word])
        return v

    def rows(self, words: list[str]) -> np.ndarray:
        """(n, d) unit vectors of ``words`` (what cosine similarity sees), pieces included."""
        self.check(words)
        out = np.empty((len(words), self.dim), dtype=np.float32)
        for r, w in enumerate(words):
            i = self.index.get(self.normalize(w))
            if i is not None:
                out[r] = self.unit[i]
            else:
                v = self.vector(w)
                out[r] = v / max(float(np.linalg.norm(v)), 1e-8)
        return out

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
        """The ``k`` nearest words to ``word`` (itself excluded); a word not in the vocabulary is
        looked up by its pieces when the vectors have them (FastText)."""
        return self.nearest(self.vector(word), k, metric, exclude={self.normalize(word)})

    def neighbors_both(self, word: str, k: int = 10) -> list[dict]:
        """The projector's table: the k nearest by cosine, each with its cosine AND euclidean distance,
        plus its rank by euclidean distance (the word itself counts as rank 0)."""
        v = self.vector(word)
        dist = self.scores(v, "euclidean")
        rank_e = np.argsort(np.argsort(dist, kind="stable"), kind="stable")  # 0 = the word itself
        shift = 0 if self.known(word) else 1  # a word built from pieces is not among the rows
        rows = []
        for w, c in self.neighbors(word, k, "cosine"):
            j = self.index[w]
            rows.append({"word": w, "cosine": c, "euclidean": float(dist[j]), "euclidean_rank": int(rank_e[j]) + shift})
        return rows

    # ----------------------------------------------------------------------------- analogies
    def analogy(self, a: str, b: str, c: str, k: int = 5, method: str = "3cosadd") -> list[tuple[str, float]]:
        """a is to b as c is to ? (``hombre``, ``mujer``, ``rey`` → ``reina``)."""
        check_k(k)
        ra, rb, rc = self.rows([a, b, c])
        s = analogy_from_rows(self.unit, ra, rb, rc, method)
        s[[self.index[self.normalize(w)] for w in (a, b, c) if self.known(w)]] = -np.inf
        top = np.argpartition(-s, k)[:k] if k < len(s) else np.arange(len(s))
        top = top[np.argsort(-s[top], kind="stable")]
        return [(self.words[i], float(s[i])) for i in top if np.isfinite(s[i])]


def analogy_scores(unit: np.ndarray, ia, ib, ic, method: str = "3cosadd") -> np.ndarray:
    """(V,) score of every word as the answer of a : b :: c : ? (rows of unit vectors).
    ``ia, ib, ic`` may also be arrays of B questions: the result is then (B, V)."""
    return analogy_from_rows(unit, unit[ia], unit[ib], unit[ic], method)


def analogy_from_rows(unit: np.ndarray, ra, rb, rc, method: str = "3cosadd") -> np.ndarray:
    """``analogy_scores`` for the unit vectors of a, b and c themselves ((d,) or (B, d) each)."""
    ca, cb, cc = ra @ unit.T, rb @ unit.T, rc @ unit.T  # cosines with every word
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
    """Vectors saved by ``pizarra.embeddings.export`` (float16 ``vectors`` + ``vocab.txt``) or by
    ``export_fasttext`` (int8 ``vectors`` and n-gram ``ngrams``, each row with its float scale)."""
    from safetensors.numpy import load_file

    from pizarra.assets.artifacts import load_artifact

    art = load_artifact(artifact, root=root)
    tensors = load_file(art.file("weights.safetensors"))
    vectors = _dequantized(tensors, "vectors")
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
    subwords = None
    if "ngrams" in tensors:
        cfg = art.config
        ids = tensors.get("ngram_ids")
        subwords = Subwords(
            _dequantized(tensors, "ngrams"), int(cfg["min_n"]), int(cfg["max_n"]), int(cfg["bucket"]), ids
        )
    return Embeddings(name or artifact, words, vectors, lang=art.config.get("lang", "es"), subwords=subwords)


def quantize_rows(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """int8 rows and one float32 scale per row (row ≈ int8 × scale): a quarter of float32's bytes,
    cosines within about 0.5 %."""
    x = np.asarray(x, dtype=np.float32)
    scale = np.maximum(np.abs(x).max(1), 1e-12) / 127.0
    return np.round(x / scale[:, None]).astype(np.int8), scale.astype(np.float32)


def _dequantized(tensors: dict, name: str) -> np.ndarray:
    x = tensors[name]
    if x.dtype == np.int8:
        return x.astype(np.float32) * tensors[f"{name}_scale"].astype(np.float32)[:, None]
    return x


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
    sg = cards.get(VECTORS["es"]) or {}
    ev = (sg.get("metrics") or {}).get("eval") or {}
    return [
        {
            "name": "es",
            "lang": "es",
            "source": f"FastText skip-gram with character n-grams, trained here (artifact {VECTORS['es']})",
            "available": bool(sg),
            "analogy_accuracy": (ev.get("analogies") or {}).get("accuracy"),
            "analogy_coverage": (ev.get("analogies") or {}).get("coverage"),
        },
        {"name": "glove", "lang": "en", "source": "GloVe 6B 50d (Stanford), 400k English words", "available": True},
    ]
