"""The semantic-search index that ships with Pizarra: ``artifacts/sim-index/``.

    quijote.npz  cuentos.npz    passages + int8 vectors of both models (``index_file``)
    README.md  card.json        what, how, how long it took, how close int8 is to float32

Why shipped and not built on first use: embedding the 17,771 passages took minutes per model on
this 2-core machine (the card records the seconds), far too long for a first click, and needs the
data folder that a fresh install does not have. int8 keeps the whole thing under 20 MB.

    PIZARRA_DATA=... python -m pizarra.similarity.index_card
"""

from __future__ import annotations

import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from .index_file import DIMS, quantize, save_index
from .search import COLLECTIONS, SHIPPED, encode_passages, load_collection

MODELS = ("use", "minilm")
COMMAND = "PIZARRA_DATA=/path/to/data python -m pizarra.similarity.index_card"
# Queries for the int8-vs-float32 check recorded in the card (the page's example first).
CHECK_QUERIES = [
    "gigantes que son molinos de viento",
    "una cena con pan y vino",
    "el amor de una joven por un hombre pobre",
    "una tormenta en el mar",
    "la muerte de un padre",
    "un caballero armado que sale a buscar aventuras",
]

README = """# Semantic-search index (Pizarra, chapter 6)

What: every paragraph (8+ words) of Don Quijote (Project Gutenberg #2000) and of the Spanish
short-story collections of CLiGS (textbox, CC BY 4.0), embedded once with both models of the
chapter: the multilingual Universal Sentence Encoder (512-d) and all-MiniLM-L6-v2 on its int8 ONNX
path (384-d). Each file holds the passages (UTF-8 JSON) and, per model, the L2-normalised vectors
as int8 rows with one float32 scale each (`pizarra.similarity.index_file`): cosines move by about
1e-3, the top results do not (card.json: `metrics.int8_top10_overlap`).
Why shipped: the search must work at the first click of a fresh install, which has no data folder;
building it took minutes per model on a 2-core CPU (card.json: `metrics.seconds`).
Used by: `pizarra.similarity.search` (the page, the API, `pizarra similarity search`). An index
built with `pizarra similarity index` in the cache folder takes precedence.
Rebuild: `PIZARRA_DATA=/path/to/data python -m pizarra.similarity.index_card`.
Licences: Don Quijote is in the public domain; CLiGS textbox texts are CC BY 4.0
(https://github.com/cligs/textbox), attribution: CLiGS, Universität Würzburg.
"""


def _top(vectors: np.ndarray, q: np.ndarray, k: int) -> list[int]:
    return [int(i) for i in np.argsort(-(vectors @ q), kind="stable")[:k]]


def int8_overlap(vectors: np.ndarray, queries: np.ndarray, k: int = 10) -> float:
    """Mean share of float32's top-k that the int8 index also puts in its top-k."""
    q8, s = quantize(vectors)
    approx = q8.astype(np.float32) * s[:, None]
    shares = [len(set(_top(vectors, q, k)) & set(_top(approx, q, k))) / k for q in queries]
    return round(float(np.mean(shares)), 4)


def write_index_artifact(
    collections: dict[str, list[dict]] | None = None,
    models: tuple[str, ...] = MODELS,
    root: Path | None = None,
    progress: bool = True,
):
    """Embed each collection with each model and save ``artifacts/sim-index/`` with its card.

    ``collections`` defaults to the real ones (``PIZARRA_DATA``); a test passes tiny ones and a
    ``root`` of its own."""
    from tqdm import tqdm

    from ..assets.artifacts import save_artifact
    from ..config import threads
    from .encoders import get_encoder

    names = tuple(collections) if collections is not None else COLLECTIONS
    data: dict = {"collections": {}, "sources": {}, "passage_rule": "paragraphs of 8+ words, cut at 1500 chars"}
    metrics: dict = {"seconds": {}, "passages_per_s": {}, "truncated": {}, "bytes": {}, "int8_top10_overlap": {}}
    files = {"README.md": README.encode()}
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            passages = collections[name] if collections is not None else load_collection(name)
            texts, docs = [p["text"] for p in passages], [p["doc"] for p in passages]
            vectors = {}
            for model in models:
                bar = tqdm(
                    desc=f"{name}/{model}", total=len(texts), unit="passage", disable=not progress, file=sys.stderr
                )

                def step(done, total, bar=bar):
                    bar.n = done
                    bar.refresh()

                get_encoder(model, bulk=True).inner.encode(texts[:1])  # load the model before the clock starts
                start = time.perf_counter()
                vectors[model], truncated = encode_passages(texts, model, step)
                seconds = time.perf_counter() - start
                bar.close()
                key = f"{name}/{model}"
                metrics["seconds"][key] = round(seconds, 1)
                metrics["passages_per_s"][key] = round(len(texts) / seconds, 1)
                metrics["truncated"][key] = truncated
                queries = get_encoder(model, bulk=True).inner.encode(CHECK_QUERIES).vectors
                metrics["int8_top10_overlap"][key] = int8_overlap(vectors[model], queries, min(10, len(texts)))
            path = save_index(Path(tmp) / f"{name}.npz", texts, docs, vectors)
            files[path.name] = path
            metrics["bytes"][name] = path.stat().st_size
            data["collections"][name] = {
                "passages": len(texts),
                "documents": len(set(docs)),
                "words": sum(len(t.split()) for t in texts),
            }
        data["sources"] = {
            "quijote": "pizarra.assets.datasets.load_quijote (Project Gutenberg #2000)",
            "cuentos": "pizarra.assets.datasets: CLiGS textbox, genre colección-cuentos",
        }
        metrics["threads"] = threads()
        metrics["cpu"] = platform.processor() or platform.machine()
        metrics["load_avg_after"] = [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None
        return save_artifact(
            SHIPPED,
            files=files,
            config={
                "models": {m: {"dim": DIMS[m], "path": "int8 ONNX" if m == "minilm" else "NumPy"} for m in models},
                "storage": "int8 rows + float32 scale per row (index_file.FORMAT 2)",
                "batch": 64,
            },
            data=data,
            metrics=metrics,
            command=COMMAND,
            root=root,
        )


if __name__ == "__main__":
    print(write_index_artifact().path)
