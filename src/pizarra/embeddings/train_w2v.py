"""Train Spanish word2vec with gensim on the whole Spanish corpus (needs ``PIZARRA_DATA``).

    python -m pizarra.embeddings.train_w2v --sg 1 --out ~/.cache/pizarra/w2v/sg.model

Step 1 writes the corpus once as a LineSentence file (lowercased letter-only words, one paragraph
per line, at most 1,000 words a line) in the cache; step 2 trains gensim's Word2Vec on it with
``corpus_file=`` (the fast path) and logs progress. ``export`` (in ``pizarra.embeddings.export``)
then keeps the most frequent words, stores float16 vectors as an artifact and evaluates them.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

from pizarra.config import cache_dir
from pizarra.text.words import letter_words

MAX_LINE = 1000


def write_paragraphs(f, text: str, max_words: int | None = None) -> tuple[int, int]:
    """Write ``text`` to ``f`` as the trainers read it: each paragraph's letter-only lowercase words,
    at most MAX_LINE a line (and at most ``max_words`` in all). Returns (lines, words) written."""
    lines = words = 0
    for para in text.split("\n"):
        toks = letter_words(para)
        if max_words is not None:
            toks = toks[: max_words - words]
        for i in range(0, len(toks), MAX_LINE):
            f.write(" ".join(toks[i : i + MAX_LINE]) + "\n")
            lines += 1
        words += len(toks)
    return lines, words


def save_trained(model, out: Path, stats: dict, params: dict, seconds: float) -> dict:
    """Save a trained gensim model at ``out`` and, beside it (``.json``), what ``export`` reads:
    the corpus counts, the parameters, the vocabulary size and the training time."""
    out.parent.mkdir(parents=True, exist_ok=True)
    model.save(str(out))
    info = {"corpus": stats, "params": params, "vocab_trained": len(model.wv), "train_seconds": round(seconds, 1)}
    out.with_suffix(".json").write_text(json.dumps(info, indent=1))
    logging.info("done: %s", info)
    return info


def corpus_file(path: Path | None = None, data=None, max_words: int | None = None) -> tuple[Path, dict]:
    """Write (once) the tokenized Spanish corpus; returns its path and {docs, lines, words}.
    ``max_words``: only the corpus's first words, in its order (a bounded slice for a quick run)."""
    from pizarra.assets.datasets import spanish_corpus_texts

    path = Path(path or cache_dir() / "w2v" / "corpus_es.txt")
    stats_path = path.with_suffix(".json")
    if path.is_file() and stats_path.is_file():
        return path, json.loads(stats_path.read_text())
    path.parent.mkdir(parents=True, exist_ok=True)
    stats = {"docs": 0, "lines": 0, "words": 0, "by_source": {}}
    tmp = path.with_suffix(".tmp")
    t0 = time.time()
    with open(tmp, "w", encoding="utf-8") as f:
        for source, _, text in spanish_corpus_texts(data=data):
            if max_words is not None and stats["words"] >= max_words:
                break
            stats["docs"] += 1
            budget = None if max_words is None else max_words - stats["words"]
            lines, n_doc = write_paragraphs(f, text, budget)
            stats["lines"] += lines
            stats["words"] += n_doc
            stats["by_source"][source] = stats["by_source"].get(source, 0) + n_doc
            if stats["docs"] % 50 == 0:
                logging.info(
                    "corpus: %d docs, %.1f M words, %.0f s", stats["docs"], stats["words"] / 1e6, time.time() - t0
                )
    tmp.replace(path)
    if max_words is not None:
        stats["max_words"] = max_words
    stats["tokenize_seconds"] = round(time.time() - t0, 1)
    stats_path.write_text(json.dumps(stats, indent=1))
    return path, stats


def train(
    out: Path,
    sg: int,
    dim: int,
    window: int,
    negative: int,
    min_count: int,
    epochs: int,
    sample: float,
    workers: int,
    corpus: Path | None = None,
    callbacks=(),
) -> dict:
    """``corpus``: a file written by ``corpus_file`` (default: the whole corpus); ``callbacks``: gensim's
    ``CallbackAny2Vec`` objects (a background job reports each epoch's losses with one)."""
    from gensim.models import Word2Vec

    path, stats = corpus_file(corpus)
    logging.info("corpus: %s", stats)
    t0 = time.time()
    model = Word2Vec(
        corpus_file=str(path),
        sg=sg,
        vector_size=dim,
        window=window,
        negative=negative,
        hs=0,
        min_count=min_count,
        epochs=epochs,
        sample=sample,
        workers=workers,
        seed=1,
        callbacks=list(callbacks),
    )
    params = {
        "sg": sg,
        "vector_size": dim,
        "window": window,
        "negative": negative,
        "min_count": min_count,
        "epochs": epochs,
        "sample": sample,
        "workers": workers,
        "hs": 0,
        "seed": 1,
    }
    return save_trained(model, out, stats, params, time.time() - t0)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sg", type=int, default=1)
    p.add_argument("--dim", type=int, default=100)
    p.add_argument("--window", type=int, default=5)
    p.add_argument("--negative", type=int, default=5)
    p.add_argument("--min-count", type=int, default=5)
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--sample", type=float, default=1e-4)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--out", type=Path, default=None)
    a = p.parse_args(argv)
    logging.basicConfig(format="%(asctime)s %(levelname)s %(message)s", level=logging.INFO)
    out = a.out or cache_dir() / "w2v" / ("sg.model" if a.sg else "cbow.model")
    train(out, a.sg, a.dim, a.window, a.negative, a.min_count, a.epochs, a.sample, a.workers)


if __name__ == "__main__":
    main()
