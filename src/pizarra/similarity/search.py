"""Semantic search over a Spanish collection: top-k passages by cosine similarity.

    index:  every passage embedded once -> E (N, d), saved in cache_dir()/similarity/index/
    search: q = e(query);  scores = E q  (N,);  the k largest

Collections: ``quijote`` (Don Quijote's paragraphs of 8+ words) and ``cuentos`` (the CLiGS
short-story collections, in paragraphs). Building needs ``PIZARRA_DATA`` (``pizarra similarity
index``); searching needs only the cached index.
"""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path
from typing import Callable

import numpy as np

from ..config import cache_dir
from ..errors import AssetMissing, BadInput
from .core import _check_model, _check_text
from .encoders import get_encoder

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
    suffix = "-int8" if model == "minilm" else ""  # MiniLM indexes use the int8 bulk path
    return cache_dir() / "similarity" / "index" / f"{collection}-{model}{suffix}.npz"


def build_index(
    collection: str,
    model: str = "use",
    passages: list[dict] | None = None,
    progress: Callable[[int, int], None] | None = None,
    batch: int = 64,
) -> dict:
    """Embed every passage once and save ``{vectors, texts, docs}``; returns a summary."""
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
    enc = get_encoder(model, bulk=True).inner  # int8 for MiniLM; no LRU cache: each passage is seen once
    texts = [p["text"] for p in passages]
    chunks, truncated = [], 0
    for start in range(0, len(texts), batch):
        with enc.lock:
            e = enc.encode(texts[start : start + batch])
        chunks.append(e.vectors)
        truncated += sum(e.truncated)
        if progress:
            progress(min(start + batch, len(texts)), len(texts))
    vectors = np.concatenate(chunks).astype(np.float16)  # (N, d): half the disk, same ranking
    path = index_path(collection, model)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
    np.savez(
        tmp,
        vectors=vectors,
        texts=np.array(texts, dtype=object),
        docs=np.array([p["doc"] for p in passages], dtype=object),
    )
    os.replace(tmp, path)
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


def load_index(collection: str, model: str) -> dict:
    key = (collection, model)
    with _lock:
        if key not in _indexes:
            path = index_path(collection, model)
            if not path.is_file():
                raise AssetMissing(
                    f"index:{collection}-{model}",
                    f"The search index of '{collection}' for model '{model}' is not built yet. "
                    f"Build it once (needs PIZARRA_DATA): `pizarra similarity index {collection} "
                    f"--model {model}`.",
                    key="err.similarity.no_index",
                    collection=collection,
                    model=model,
                )
            z = np.load(path, allow_pickle=True)
            _indexes[key] = {
                "vectors": z["vectors"].astype(np.float32),
                "texts": list(z["texts"]),
                "docs": list(z["docs"]),
            }
        return _indexes[key]


def index_status() -> list[dict]:
    return [
        {"collection": c, "model": m, "built": index_path(c, m).is_file()}
        for c in COLLECTIONS
        for m in ("use", "minilm")
    ]


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
        "results": [
            {"rank": r + 1, "score": round(float(scores[i]), 3), "text": index["texts"][i], "doc": index["docs"][i]}
            for r, i in enumerate(top)
        ],
    }
