"""Semantic search over a Spanish collection: top-k passages by cosine similarity.

    index:  every passage embedded once -> E (N, d)            (``index_file``: int8 rows + scales)
    search: q = e(query);  scores = E q  (N,);  the k largest

Collections: ``quijote`` (Don Quijote's paragraphs of 8+ words) and ``cuentos`` (the CLiGS
short-story collections, in paragraphs). Their indexes, for both models, ship with Pizarra
(``artifacts/sim-index/``, built by ``python -m pizarra.similarity.index_card``): a fresh install
searches at the first click, with no data folder and no command. ``pizarra similarity index``
re-embeds a collection from ``PIZARRA_DATA`` into the cache folder; that index is used first.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from pathlib import Path
from typing import Callable

import numpy as np

from ..config import cache_dir
from ..errors import AssetMissing, BadInput, ChecksumMismatch
from .core import _check_model, _check_text
from .encoders import get_encoder
from .index_file import BrokenIndex, read_index, save_index

log = logging.getLogger(__name__)

SHIPPED = "sim-index"  # artifacts/sim-index/{quijote,cuentos}.npz
COLLECTIONS = ("quijote", "cuentos")
MAX_K = 50
MIN_WORDS = 8
MAX_PASSAGE_CHARS = 1500  # long paragraphs are cut (the encoders' windows are smaller anyway)


def split_passages(text: str, min_words: int = MIN_WORDS) -> list[str]:
    """Paragraphs (blank-line separated) with at least ``min_words`` words, whitespace joined."""
    out = []
    for para in re.split(r"\n\s*\n", text):
        para = " ".join(para.split())
        if len(para.split()) >= min_words:
            out.append(para[:MAX_PASSAGE_CHARS])
    return out


def load_collection(name: str, data=None) -> list[dict]:
    """The passages of a collection: ``[{"text", "doc"}]``."""
    from ..assets import datasets

    if name == "quijote":
        return [{"text": p, "doc": "Don Quijote"} for p in split_passages(datasets.load_quijote(data))]
    if name == "cuentos":
        meta = datasets.corpus_metadata("cligs", data)
        passages = []
        for _, doc_id, text in datasets.spanish_corpus_texts(("cligs",), data):
            info = meta.get(doc_id, {})
            if info.get("genre") != "colección-cuentos":
                continue
            title = f"{info.get('author.name.full', '')} · {info.get('title.main', doc_id)}".strip(" ·")
            passages += [{"text": p, "doc": title} for p in split_passages(text)]
        return passages
    raise BadInput(
        f"Unknown collection '{name}'. Choose one of: {', '.join(COLLECTIONS)}.",
        key="err.similarity.unknown_collection",
        value=name,
        allowed=list(COLLECTIONS),
    )


def index_path(collection: str, model: str) -> Path:
    """Where ``pizarra similarity index`` writes an index of its own (Pizarra's cache folder)."""
    suffix = "-int8" if model == "minilm" else ""  # MiniLM indexes use the int8 bulk path
    return cache_dir() / "similarity" / "index" / f"{collection}-{model}{suffix}.npz"


def encode_passages(
    texts: list[str],
    model: str,
    progress: Callable[[int, int], None] | None = None,
    batch: int = 64,
) -> tuple[np.ndarray, int]:
    """Every passage embedded once: ((N, d) float32, how many were cut to the model's window)."""
    enc = get_encoder(model, bulk=True).inner  # int8 for MiniLM; no LRU cache: each passage is seen once
    chunks, truncated = [], 0
    for start in range(0, len(texts), batch):
        with enc.lock:
            e = enc.encode(texts[start : start + batch])
        chunks.append(e.vectors)
        truncated += sum(e.truncated)
        if progress:
            progress(min(start + batch, len(texts)), len(texts))
    return np.concatenate(chunks), truncated


def build_index(
    collection: str,
    model: str = "use",
    passages: list[dict] | None = None,
    progress: Callable[[int, int], None] | None = None,
    batch: int = 64,
) -> dict:
    """Embed every passage once and save the index in the cache; returns a summary.

    The page never needs this: it searches the index shipped with Pizarra. This is how a teacher
    re-embeds a collection from ``PIZARRA_DATA`` (``pizarra similarity index``); an index here is
    used before the shipped one."""
    _check_model(model)
    if collection not in COLLECTIONS and passages is None:
        raise BadInput(
            f"Unknown collection '{collection}'. Choose one of: {', '.join(COLLECTIONS)}.",
            key="err.similarity.unknown_collection",
            value=collection,
            allowed=list(COLLECTIONS),
        )
    passages = passages if passages is not None else load_collection(collection)
    if not passages:
        raise BadInput(
            f"The collection '{collection}' has no passages.", key="err.similarity.empty_collection", value=collection
        )
    texts = [p["text"] for p in passages]
    vectors, truncated = encode_passages(texts, model, progress, batch)
    path = save_index(index_path(collection, model), texts, [p["doc"] for p in passages], {model: vectors})
    with _lock:
        _indexes.pop((collection, model), None)
    return {
        "collection": collection,
        "model": model,
        "passages": len(texts),
        "truncated": truncated,
        "path": str(path),
        "bytes": path.stat().st_size,
    }


_indexes: dict[tuple[str, str], dict] = {}
_lock = threading.Lock()


def _shipped_index(collection: str, model: str) -> dict:
    """The index that comes with Pizarra (``artifacts/sim-index/<collection>.npz``, checksummed)."""
    from ..assets.artifacts import load_artifact

    try:
        return read_index(load_artifact(SHIPPED).file(f"{collection}.npz"), model)
    except (AssetMissing, ChecksumMismatch, BrokenIndex) as err:
        log.error("shipped search index unusable: %s", err)
        raise AssetMissing(
            f"index:{collection}-{model}",
            f"The search index that comes with Pizarra ({SHIPPED}/{collection}.npz, model '{model}') "
            "is missing or damaged: reinstall Pizarra.",
            key="err.similarity.shipped_index",
            collection=collection,
            model=model,
        ) from None


def load_index(collection: str, model: str) -> dict:
    """The index to search: one built here (cache) if it reads back whole, else the shipped one.

    A cached file that is truncated, of an older format or otherwise unreadable is removed (and
    logged), never trusted: the search goes on with the shipped index."""
    key = (collection, model)
    with _lock:
        if key not in _indexes:
            path = index_path(collection, model)
            index = None
            if path.is_file():
                try:
                    index = {**read_index(path, model), "source": "cache"}
                except BrokenIndex as err:
                    log.warning("removing a broken search index: %s", err)
                    path.unlink(missing_ok=True)
            _indexes[key] = index or {**_shipped_index(collection, model), "source": "shipped"}
        return _indexes[key]


def shipped_card() -> dict | None:
    """The shipped index's card (no checksums: the page only reads its numbers), or None."""
    from ..config import artifacts_dir

    try:
        return json.loads((artifacts_dir() / SHIPPED / "card.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def index_status() -> list[dict]:
    """Which index each search would use: ``source`` = "cache", "shipped" or None (none there)."""
    card = shipped_card() or {}
    shipped = (card.get("data") or {}).get("collections") or {}
    out = []
    for c in COLLECTIONS:
        for m in ("use", "minilm"):
            source = "cache" if index_path(c, m).is_file() else "shipped" if c in shipped else None
            passages = (shipped.get(c) or {}).get("passages") if source == "shipped" else None
            out.append(
                {"collection": c, "model": m, "source": source, "built": source is not None, "passages": passages}
            )
    return out


def search(query: str, collection: str = "quijote", model: str = "use", k: int = 5) -> dict:
    """The ``k`` passages closest to ``query``: ``{"results": [{"rank", "score", "text", "doc"}]}``."""
    _check_model(model)
    query = _check_text(query, "query")
    if collection not in COLLECTIONS:
        raise BadInput(
            f"Unknown collection '{collection}'. Choose one of: {', '.join(COLLECTIONS)}.",
            key="err.similarity.unknown_collection",
            value=collection,
            allowed=list(COLLECTIONS),
        )
    if not 1 <= k <= MAX_K:
        raise BadInput(f"k must be between 1 and {MAX_K}.", key="err.range_plain", name="k", lo=1, hi=MAX_K)
    index = load_index(collection, model)
    q = get_encoder(model, bulk=True).encode([query]).vectors[0]  # (d,) same path as the index
    scores = index["vectors"] @ q  # (N,)
    k = min(k, len(scores))
    top = np.argpartition(-scores, k - 1)[:k]
    top = top[np.argsort(-scores[top])]
    return {
        "collection": collection,
        "model": model,
        "query": query,
        "passages": len(scores),
        "source": index["source"],
        "results": [
            {"rank": r + 1, "score": round(float(scores[i]), 3), "text": index["texts"][i], "doc": index["docs"][i]}
            for r, i in enumerate(top)
        ],
    }
