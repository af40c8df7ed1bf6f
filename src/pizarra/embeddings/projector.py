"""The projector: word vectors (d dimensions) drawn in 2-D or 3-D, and the quiz maps.

    project(emb, ["rey", "reina", "perro"], method="pca", dims=2) -> {"points": [{"word", "x", "y"}], ...}
    neighborhood(emb, "rey", n=50)         the word and its n nearest words (cosine)
    quiz_map(emb, round=1)                 the lecture's "¿dónde pondrías manzana?" (1) and "… vaca?" (2)
    WAITS.estimate(...)                    how long a projection or a first load will take, measured here

PCA: the directions of largest variance of the (centred) vectors, from their SVD X = U S Vᵀ:
coordinates = X V[:, :dims]. t-SNE (scikit-learn): keeps near neighbours near, distorts
distances. UMAP (``umap-learn``): a neighbour graph laid out in few dimensions, keeps local
structure and more of the global one than t-SNE; its first call in a process compiles numba code
(tens of seconds on a 2-core laptop), later calls take a fraction of a second.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path

import numpy as np

from pizarra.errors import BadInput

METHODS = ("pca", "tsne", "umap")
SLOW_METHODS = ("tsne", "umap")  # seconds, not milliseconds: one at a time, timed, shown with a spinner
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
    coords = TSNE(
        n_components=dims, perplexity=perplexity, init="pca", random_state=seed, metric="cosine", max_iter=500
    ).fit_transform(x.astype(np.float64))
    WAITS.warmed("tsne")
    return coords


def umap(x: np.ndarray, dims: int, seed: int = 0) -> np.ndarray:
    """UMAP with cosine distance; ``n_neighbors`` shrinks for small point sets."""
    import warnings

    from umap import UMAP

    with warnings.catch_warnings():  # "n_jobs overridden by random_state": expected, seeded on purpose
        warnings.simplefilter("ignore")
        coords = UMAP(
            n_components=dims,
            n_neighbors=int(max(2, min(15, len(x) - 1))),
            metric="cosine",
            random_state=seed,
            init="random" if len(x) <= dims + 1 else "spectral",
        ).fit_transform(x.astype(np.float32))
    WAITS.warmed("umap")  # numba has compiled its code in this process (also when chapter 6 called)
    return coords


def checked_words(words: list[str], method: str, dims: int, normalize=lambda w: w.strip().lower()) -> list[str]:
    """The distinct words to project, in order; BadInput for a wrong method, dims or count."""
    if method not in METHODS:
        raise BadInput(
            f"Unknown projection '{method}': choose {', '.join(METHODS)}.",
            key="err.unknown_projection",
            value=method,
            allowed=METHODS,
        )
    if dims not in (2, 3):
        raise BadInput(f"dims must be 2 or 3 (got {dims}).", key="err.embeddings.dims", value=str(dims))
    words = list(dict.fromkeys(normalize(w) for w in words if w.strip()))
    if not MIN_POINTS <= len(words) <= MAX_POINTS:
        raise BadInput(
            f"Give between {MIN_POINTS} and {MAX_POINTS} different words (got {len(words)}).",
            key="err.embeddings.word_count",
            lo=MIN_POINTS,
            hi=MAX_POINTS,
            n=len(words),
        )
    return words


def project(emb, words: list[str], method: str = "pca", dims: int = 2, seed: int = 0) -> dict:
    """Coordinates of ``words`` (a word without a vector → BadInput with suggestions; FastText
    vectors build one for a word outside the vocabulary from its pieces).

    t-SNE and UMAP go through ``WAITS.once``: one of them computes at a time, the same request
    made again while it computes waits for that computation instead of starting another, and
    recent results are kept (a page that gave up waiting gets it at once when it asks again)."""
    words = checked_words(words, method, dims, emb.normalize)
    x = emb.rows(words)  # (n, d) direction only: what cosine similarity sees

    def compute() -> dict:
        explained = None
        if method == "pca":
            coords, explained = pca(x, dims)
        elif method == "tsne":
            coords = tsne(x, dims, seed)
        else:
            coords = umap(x, dims, seed)
        axes = "xyz"[:dims]
        points = [
            {"word": w, **{a: float(c[j]) for j, a in enumerate(axes)}} for w, c in zip(words, coords, strict=True)
        ]
        return {"method": method, "dims": dims, "points": points, "explained_variance": explained}

    if method not in SLOW_METHODS:
        return compute()  # milliseconds: never queued behind a slow one
    return WAITS.once(projection_key(emb, words, method, dims, seed), method, len(words), compute)


def projection_key(emb, words: list[str], method: str, dims: int, seed: int = 0) -> tuple:
    """What makes two projections the same: the method, and the very vectors of the words (a
    fingerprint of them, so that two vector sets that share a name never share a result)."""
    rows = np.ascontiguousarray(emb.rows(words))
    return (emb.name, tuple(words), method, dims, seed, hashlib.sha1(rows.tobytes()).hexdigest())


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


# ----------------------------------------------------------------------------------------- waits
# What a page waits for on this chapter: loading a vector set the first time (1-4 s), t-SNE
# (seconds, growing with the number of words) and UMAP (its first call in a process compiles
# numba code: tens of seconds). The page shows a spinner with an estimate measured HERE (this
# machine, kept in the cache folder across restarts) and a Cancel button. Cancel stops the page
# waiting; the computation itself cannot be interrupted half-way (numba and scikit-learn code),
# so the server finishes it and keeps the result.

# Used only until this machine has measured its own, and labelled "default" so that the page says
# it is not measured here: UMAP's first call 23 s (a 2-core laptop, issue #18); the rest measured on
# the busy 2-core machine this was written on (loads; UMAP 300 words 1.1 s; t-SNE 100 words 5-9 s).
DEFAULT_SECONDS = {
    "load:es": 1.2,
    "load:glove": 3.7,
    "umap:first": 23.0,  # compilation + the projection of a few dozen words
    "umap:per_point": 0.004,
    "tsne:per_point": 0.06,
}
MIN_COMPUTE_S = 0.1
KEEP_RESULTS = 32  # recent projections, so that asking again after Cancel costs nothing


class Waits:
    """Timings of the slow steps, the estimates made from them, and the rule "one slow
    computation at a time; the same one asked twice is computed once"."""

    def __init__(self, path: Path | None = None):
        self._path = path
        self._lock = threading.Lock()  # guards everything below
        self._compute = threading.Lock()  # held while a slow projection computes
        self._inflight: dict[tuple, Future] = {}
        self._results: OrderedDict[tuple, dict] = OrderedDict()
        self._warm: set[str] = set()  # methods that already ran in this process (nothing to compile)
        self._loaded: set[str] = set()  # vector sets in memory
        self._measured: dict | None = None  # {"load:es": s, "umap": {"first": [s, n], "runs": {n: s}}}
        self.running: dict | None = None  # {"key", "method", "n", "started", "expected", "measured"}
        self.computations = 0  # slow projections started in this process (tests count them)

    # ------------------------------------------------------------------------- measurements
    def path(self) -> Path:
        if self._path is None:
            from pizarra.config import cache_dir

            self._path = cache_dir() / "embeddings-waits.json"
        return self._path

    def measured(self) -> dict:
        if self._measured is None:
            try:
                self._measured = json.loads(self.path().read_text(encoding="utf-8"))
            except (OSError, ValueError):
                self._measured = {}
        return self._measured

    def _save(self) -> None:
        try:
            tmp = self.path().with_suffix(".tmp")
            tmp.write_text(json.dumps(self._measured, indent=1), encoding="utf-8")
            os.replace(tmp, self.path())
        except OSError:  # a read-only cache: the estimates stay in memory
            pass

    def record(self, method: str, n: int, seconds: float, first: bool) -> None:
        with self._lock:
            m = self.measured().setdefault(method, {})
            if first:
                m["first"] = [round(seconds, 3), n]
            else:
                runs = m.setdefault("runs", {})
                runs[str(n)] = round(seconds, 3)
                if len(runs) > 12:  # the latest dozen sizes are enough to scale from
                    del runs[next(iter(runs))]
            self._save()

    def warmed(self, method: str) -> None:
        with self._lock:
            self._warm.add(method)

    def is_warm(self, method: str) -> bool:
        return method == "pca" or method in self._warm

    # ---------------------------------------------------------------------------- estimates
    def compute_estimate(self, method: str, n: int) -> tuple[float, bool, bool]:
        """(seconds, measured here?, includes UMAP's compilation?) for a projection of n words.

        A run's time grows about linearly with n: the measured run of the closest size, scaled.
        UMAP's first call in a process adds its compilation: the measured first call minus what
        the projection itself takes. (t-SNE has no such step: its first call only imports
        scikit-learn, a second or so, and is recorded as an ordinary run.)"""
        if method not in SLOW_METHODS:
            return MIN_COMPUTE_S, True, False
        with self._lock:  # a copy: another thread may be recording
            m = dict(self.measured().get(method, {}))
            runs = {int(k): v for k, v in (m.get("runs") or {}).items()}
        scaled = lambda s, n0: s * max(n, 10) / max(n0, 10)  # noqa: E731  (seconds at n0 → at n)
        if runs:
            near = min(runs, key=lambda k: abs(k - n))
            warm, measured = max(MIN_COMPUTE_S, scaled(runs[near], near)), True
        else:
            warm, measured = max(MIN_COMPUTE_S, DEFAULT_SECONDS[f"{method}:per_point"] * n), False
        if method != "umap" or self.is_warm(method):
            return warm, measured, False
        if m.get("first"):
            first_s, first_n = m["first"]
            return max(first_s - warm * max(first_n, 10) / max(n, 10), 0.0) + warm, True, True
        return DEFAULT_SECONDS["umap:first"] + warm, False, True

    def load_estimate(self, vectors: str) -> tuple[float, bool] | None:
        """(seconds, measured here?) to load ``vectors``, or None when they are in memory."""
        with self._lock:
            if vectors in self._loaded:
                return None
            got = self.measured().get(f"load:{vectors}")
        return (got, True) if got else (DEFAULT_SECONDS.get(f"load:{vectors}", 2.0), False)

    def estimate(self, vectors: str, method: str | None = None, n: int = 0, key: tuple | None = None) -> dict:
        """What a request will wait for, step by step, in seconds measured on this machine:
        {"seconds", "measured", "steps": [{"step": load|compile|compute|queue|joins|ready, "seconds"}]}"""
        steps: list[dict] = []
        measured = True
        if (load := self.load_estimate(vectors)) is not None:
            steps.append({"step": "load", "seconds": load[0]})
            measured &= load[1]
        if method:
            with self._lock:
                running = dict(self.running) if self.running else None
                ready = key is not None and key in self._results
            if ready:
                steps.append({"step": "ready", "seconds": 0.0})
            elif running and key is not None and running["key"] == key:  # asked again: joins it
                steps.append({"step": "joins", "seconds": self._left(running)})
                measured &= running["measured"]
            else:
                if running and method in SLOW_METHODS:  # one at a time: wait for the one computing
                    steps.append({"step": "queue", "seconds": self._left(running)})
                    measured &= running["measured"]
                seconds, here, first = self.compute_estimate(method, n)
                steps.append({"step": "compile" if first else "compute", "seconds": seconds})
                measured &= here
        return {"seconds": round(sum(s["seconds"] for s in steps), 2), "measured": measured, "steps": steps}

    @staticmethod
    def _left(running: dict) -> float:
        return max(0.0, running["expected"] - (time.monotonic() - running["started"]))

    # ------------------------------------------------------------------------------ running
    def once(self, key: tuple, method: str, n: int, compute: Callable[[], dict]) -> dict:
        """``compute()``'s result for ``key``: from the recent results, from the computation
        already running for the same key, or computed now (one slow computation at a time)."""
        with self._lock:
            if key in self._results:
                self._results.move_to_end(key)
                return self._results[key]
            future = self._inflight.get(key)
            owner = future is None
            if owner:
                future = self._inflight[key] = Future()
        if not owner:
            return future.result()  # the same projection is computing: wait for it, do not start another
        try:
            with self._compute:
                expected, here, first = self.compute_estimate(method, n)
                with self._lock:
                    self.running = {
                        "key": key,
                        "method": method,
                        "n": n,
                        "started": time.monotonic(),
                        "expected": expected,
                        "measured": here,
                    }
                    self.computations += 1
                t0 = time.perf_counter()
                result = compute()
                self.record(method, n, time.perf_counter() - t0, first)
                with self._lock:
                    self.running = None
                    self._results[key] = result
                    while len(self._results) > KEEP_RESULTS:
                        self._results.popitem(last=False)
            future.set_result(result)
            return result
        except BaseException as exc:
            future.set_exception(exc)
            raise
        finally:
            with self._lock:
                self._inflight.pop(key, None)
                if self.running and self.running["key"] == key:
                    self.running = None

    def load(self, vectors: str, loader: Callable[[], object]):
        """``loader()``, timed the first time ``vectors`` come into memory (for the next estimate)."""
        if vectors in self._loaded:
            return loader()
        t0 = time.perf_counter()
        emb = loader()
        seconds = time.perf_counter() - t0
        with self._lock:
            if vectors not in self._loaded:
                self._loaded.add(vectors)
                self.measured()[f"load:{vectors}"] = round(seconds, 3)
                self._save()
        return emb


WAITS = Waits()


# ------------------------------------------------------------------------------------------ quiz
# The lecture's two quizzes (slides "Embeddings Quiz 1" and "Embeddings Quiz 2", after Cohere's
# LLM University):
#   1. "¿Dónde pondrías manzana?": a map of words in three groups (fruits, buildings, vehicles);
#      the map is the PCA plane of those words, and the asked word is drawn in THAT plane (its
#      vector projected on the same two directions, not a new PCA).
#   2. "¿Dónde pondrías vaca?": two axes with a meaning, size and age, and cachorro, perro,
#      ternero already on the map. An axis is a direction taken from the vectors themselves:
#      size = mean of big animals − mean of small ones; age = mean of adults − mean of their young
#      (caballo − potro, oveja − cordero, …). No word of the quiz takes part in an axis: the map
#      is not told the answer. A word's coordinate is the cosine of its vector with the axis.
# The Spanish vectors learnt from novels and news: sports are rare there, vehicles are not, and
# generic adjectives ("pequeño → grande", "joven → adulto") hardly order animals at all (age even
# comes out reversed); groups of animals give directions that do (Spearman ρ ≈ 0.8 over 14 animals).
QUIZ = {  # words separated by spaces; axes as (low end, high end)
    "es": {
        1: {"groups": {"fruta": "pera naranja uva", "edificio": "casa iglesia palacio", "vehículo": "coche tren barco"},
            "asked": "manzana"},
        2: {
            "x": ("hormiga mosca mosquito pulga abeja insecto gusano araña pájaro gorrión grillo mariposa piojo rata "
                  "canario rana lagartija sapo",
                  "ballena camello rinoceronte hipopótamo jirafa búfalo oso toro buey mula león tigre cocodrilo "
                  "dromedario"),
            "y": ("potro cordero pollito gatito lechón cabrito", "caballo oveja gallina gato cerdo cabra"),
            "reference": "cachorro perro ternero",
            "asked": "vaca elefante ratón",
        },
    },
    "en": {
        1: {"groups": {"fruit": "strawberry cherry banana", "building": "house building castle",
                       "sport": "soccer tennis basketball"},
            "asked": "apple"},
        2: {
            "x": ("ant fly mosquito flea bee insect worm spider bird sparrow cricket butterfly louse rat canary frog "
                  "lizard toad",
                  "whale camel rhinoceros hippopotamus giraffe buffalo bear bull ox mule lion tiger crocodile "
                  "dromedary"),
            "y": ("foal lamb chick kitten piglet kid", "horse sheep hen cat pig goat"),
            "reference": "puppy dog calf",
            "asked": "cow elephant mouse",
        },
    },
}  # fmt: skip
ROUNDS = (1, 2)
FRAME_MARGIN = 0.12  # the map shows every point with this share of empty border around them


def axis(emb, low, high) -> np.ndarray:
    """The unit direction from the ``low`` word(s) to the ``high`` word(s) (pequeño → grande):
    mean of the high ends' unit vectors minus mean of the low ends'."""
    low, high = ([w] if isinstance(w, str) else list(w) for w in (low, high))
    d = emb.rows(high).mean(0) - emb.rows(low).mean(0)
    return d / max(float(np.linalg.norm(d)), 1e-8)


def frame(xs, ys, square: bool) -> dict:
    """The rectangle of the map: every point inside, FRAME_MARGIN of border; ``square`` keeps one
    scale for both axes (a PCA plane: distances mean the same across and up)."""
    x0, x1, y0, y1 = (float(f(v)) for f, v in ((min, xs), (max, xs), (min, ys), (max, ys)))
    wx, wy = max(x1 - x0, 1e-6), max(y1 - y0, 1e-6)
    if square:
        wx = wy = max(wx, wy)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    half_x, half_y = wx * (0.5 + FRAME_MARGIN), wy * (0.5 + FRAME_MARGIN)
    return {"x0": cx - half_x, "x1": cx + half_x, "y0": cy - half_y, "y1": cy + half_y}


def quiz_map(emb, round: int = 1, words: list[str] | None = None, x_axis=None, y_axis=None) -> dict:  # noqa: A002
    """The map of quiz ``round``: every word's (x, y) in one coordinate system, the words already
    on the map (``role: "reference"``) and the ones to place (``"asked"``), and the ``frame`` the
    page draws them in (the same for the map and for the answer).

    ``x_axis``/``y_axis`` (low end, high end; a word or several each) draw a map of quiz 2's kind
    with other directions, of quiz 2's words or of ``words``."""
    if round not in ROUNDS:
        raise BadInput(
            f"round must be 1 or 2 (got {round}).", key="err.range", name="round", lo=1, hi=2, value=str(round)
        )
    if x_axis or y_axis:
        round = 2
    spec = QUIZ["en" if emb.lang == "en" else "es"][round]
    if round == 1:
        ref = [(w, g) for g, ws in spec["groups"].items() for w in ws.split()]
        x = emb.rows([w for w, _ in ref])  # (n, d)
        mean = x.mean(0)
        _, s, vt = np.linalg.svd(x - mean, full_matrices=False)
        plane = vt[:2] * np.sign(vt[:2].sum(1, keepdims=True))  # (2, d); signs fixed: the same map every time
        to_map = lambda rows: (rows - mean) @ plane.T  # noqa: E731  (n, 2): the map's own projection
        pairs = ref + [(w, None) for w in spec["asked"].split()]
        coords = to_map(emb.rows([w for w, _ in pairs]))
        var = s**2 / max(float((s**2).sum()), 1e-12)
        x_names = y_names = None
        explained = [float(v) for v in var[:2]]
    else:
        ends = lambda e: e.split() if isinstance(e, str) else list(e)  # noqa: E731  "a b" or ("a", "b")
        (x_low, x_high), (y_low, y_high) = ((ends(a), ends(b)) for a, b in (x_axis or spec["x"], y_axis or spec["y"]))
        pairs = [(w, None) for w in (words or (spec["reference"] + " " + spec["asked"]).split())]
        dx, dy = axis(emb, x_low, x_high), axis(emb, y_low, y_high)
        rows = emb.rows([w for w, _ in pairs])
        coords = np.stack([rows @ dx, rows @ dy], 1)  # (n, 2) cosines with the two directions
        x_names, y_names = [", ".join(x_low), ", ".join(x_high)], [", ".join(y_low), ", ".join(y_high)]
        explained = None
    asked = set(spec["asked"].split())
    points = [
        {"word": w, "x": float(c[0]), "y": float(c[1]), "role": "asked" if w in asked else "reference", "group": g}
        for (w, g), c in zip(pairs, coords, strict=True)
    ]
    return {
        "round": round,
        "kind": "pca" if round == 1 else "axes",
        "question": spec["asked"].split()[0],
        "x_axis": x_names,
        "y_axis": y_names,
        "explained_variance": explained,
        "points": points,
        "frame": frame(coords[:, 0], coords[:, 1], square=round == 1),
    }


def project_request(emb, words: list[str] | None, word: str | None, n: int, method: str, dims: int) -> dict:
    """A projection as the page asks for it: of ``words`` (3 to 300), or of ``word`` and its ``n``
    nearest neighbours. t-SNE and UMAP compute one at a time (see ``project``)."""
    if word:
        words = neighborhood(emb, word, n)
    elif not words:
        raise BadInput(
            "Give `words` (3 to 300) or a `word` whose neighbourhood to project.", key="err.embeddings.project_what"
        )
    return project(emb, words, method, dims)


def estimate_request(
    load, vectors: str, words: list[str] | None, word: str | None, n: int, method: str | None, dims: int
) -> dict:
    """How long :func:`project_request` (or only loading ``vectors``) would wait, from timings measured
    on this machine; ``load(vectors)`` is called only when the vectors are already loaded (instant)."""
    key = None
    size = n + 1 if word else len(words or [])
    if method and WAITS.load_estimate(vectors) is None:  # loaded: a computation may be running or kept
        try:
            emb = load(vectors)
            words = neighborhood(emb, word, n) if word else words
            if words:
                words = checked_words(words, method, dims)
                key, size = projection_key(emb, words, method, dims), len(words)
        except BadInput:
            key = None  # the request itself will say what is wrong
    return WAITS.estimate(vectors, method, size, key)
