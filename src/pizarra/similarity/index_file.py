"""A semantic-search index on disk: one ``.npz`` per collection, no pickle, checked when read.

    format            int64 ()         FORMAT: an older or unknown file is refused, never guessed
    passages          uint8 (bytes,)   UTF-8 JSON {"texts": [N strings], "docs": [N strings]}
    vectors_<model>   int8 (N, d)      each row e_i quantised:  q_i = round(e_i / s_i)
    scales_<model>    float32 (N,)     s_i = max|e_i| / 127,  so  e_i ≈ s_i q_i

One model (an index built with ``pizarra similarity index`` into the cache) or both (the index
shipped in ``artifacts/sim-index/``). Rows are L2-normalised embeddings, so int8 keeps cosines to
about 1e-3: a quarter of float32 on disk, the same top results. ``read_index`` raises
``BrokenIndex`` for anything it cannot trust (truncated, old format, wrong shapes, NaN), so the
caller can replace the file instead of crashing on it.
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import numpy as np

FORMAT = 2  # 1 was the pickled {vectors, texts, docs} of the first version
DIMS = {"use": 512, "minilm": 384}


class BrokenIndex(Exception):
    """An index file that cannot be used; the message says why (for the log)."""


def quantize(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N, d) float -> int8 (N, d) and float32 scales (N,):  q = round(e / s),  s = max|e| / 127."""
    v = np.asarray(vectors, np.float32)
    scales = np.maximum(np.abs(v).max(axis=1), 1e-12) / 127.0  # (N,)
    q = np.clip(np.rint(v / scales[:, None]), -127, 127).astype(np.int8)  # (N, d)
    return q, scales.astype(np.float32)


def save_index(path: Path, texts: list[str], docs: list[str], vectors: dict[str, np.ndarray]) -> Path:
    """Write the index atomically (a temporary file, then a rename): a reader never sees half a file."""
    if not texts or len(texts) != len(docs):
        raise ValueError(f"{len(texts)} texts and {len(docs)} docs: need as many, at least one")
    arrays: dict[str, np.ndarray] = {
        "format": np.array(FORMAT, np.int64),
        "passages": np.frombuffer(json.dumps({"texts": texts, "docs": docs}, ensure_ascii=False).encode(), np.uint8),
    }
    for model, v in vectors.items():
        if v.shape != (len(texts), DIMS[model]):
            raise ValueError(f"{model}: vectors {v.shape}, expected {(len(texts), DIMS[model])}")
        arrays[f"vectors_{model}"], arrays[f"scales_{model}"] = quantize(v)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            np.savez_compressed(f, **arrays)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def read_index(path: Path, model: str) -> dict:
    """``{"vectors": float32 (N, d), "texts", "docs"}`` of ``model``, or ``BrokenIndex``."""
    try:
        with np.load(path, allow_pickle=False) as z:
            if "format" not in z.files or int(z["format"]) != FORMAT:
                raise BrokenIndex(f"{path}: not format {FORMAT} (an older or foreign file)")
            if f"vectors_{model}" not in z.files:
                raise BrokenIndex(f"{path}: no vectors for model '{model}'")
            passages = json.loads(z["passages"].tobytes().decode("utf-8"))
            q, scales = z[f"vectors_{model}"], z[f"scales_{model}"]
    except BrokenIndex:
        raise
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, UnicodeDecodeError) as err:
        raise BrokenIndex(f"{path}: unreadable ({type(err).__name__}: {err})") from None
    texts, docs = passages.get("texts"), passages.get("docs")
    n = len(texts) if isinstance(texts, list) else -1
    if n < 1 or not isinstance(docs, list) or len(docs) != n:
        raise BrokenIndex(f"{path}: passages and documents do not match")
    if q.dtype != np.int8 or q.shape != (n, DIMS[model]) or scales.shape != (n,):
        raise BrokenIndex(f"{path}: vectors {q.shape} for {n} passages of a {DIMS[model]}-d model")
    if not (np.isfinite(scales).all() and (scales > 0).all()):
        raise BrokenIndex(f"{path}: scales that are not positive numbers")
    vectors = q.astype(np.float32) * scales[:, None]  # (N, d), rows of norm ~1
    return {"vectors": vectors, "texts": [str(t) for t in texts], "docs": [str(d) for d in docs]}
