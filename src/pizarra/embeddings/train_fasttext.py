"""Train the shipped Spanish word vectors: gensim's FastText (skip-gram with subwords) on the Spanish
corpus with its modern Spanish weighed up (needs ``PIZARRA_DATA``).

    python -m pizarra.embeddings.train_fasttext --out ~/.cache/pizarra/w2v/ft.model

Why FastText: a word is the sum of its vector and the vectors of its character n-grams (3 to 6
letters, Bojanowski et al. 2017), so a word never seen in training («baloncestista», «smartphones»)
still gets a vector from its pieces, and rare words borrow from their frequent relatives.

The corpus (``corpus_file``): the 19th-century literature once (Quijote, CoNhA19, CLiGS: 20.7 M
words), then the only modern Spanish the data folder has, ``--modern-repeat`` times: the news set
(0.67 M words) and the sentences of the STS-B Spanish translation's train and dev splits (0.18 M
words). (Adding its test split and SemEval-2017's Spanish track, 0.23 M words in all, was tried:
the same scores within noise, and LERP(mañana, noche) put «madrugada» 0.001 ahead of «tarde».)
Repeating the modern part gives its contexts («el baloncesto», «el ordenador portátil») more
weight among 160 years of novels; it adds no new text (and too much of it hurts: see the card).
``pizarra.embeddings.export_fasttext`` then ships the result.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

from pizarra.config import cache_dir
from pizarra.embeddings.train_w2v import save_trained, write_paragraphs

LITERATURE = ("quijote", "conha19", "cligs")
STS_USED = (("stsb_es", "train"), ("stsb_es", "dev"))


def modern_texts(data=None):
    """``(source, text)`` of the modern Spanish: the news articles, then the Spanish STS sentences (deduplicated)."""
    from pizarra.assets.datasets import load_sts, spanish_corpus_texts

    for _, _, text in spanish_corpus_texts(("news",), data=data):
        yield "news", text
    sentences: dict[str, None] = {}
    for name, split in STS_USED:
        for s1, s2, _ in load_sts(name, split, data=data):
            sentences.setdefault(s1.strip(), None)
            sentences.setdefault(s2.strip(), None)
    for s in sentences:
        yield "stsb_es", s


def corpus_file(path: Path | None = None, data=None, modern_repeat: int = 3) -> tuple[Path, dict]:
    """Write (once) the tokenized corpus, one paragraph a line; returns its path and its counts."""
    from pizarra.assets.datasets import spanish_corpus_texts

    path = Path(path or cache_dir() / "w2v" / f"corpus_es_modern{modern_repeat}.txt")
    stats_path = path.with_suffix(".json")
    if path.is_file() and stats_path.is_file():
        return path, json.loads(stats_path.read_text())
    path.parent.mkdir(parents=True, exist_ok=True)
    stats: dict = {"docs": 0, "lines": 0, "words": 0, "by_source": {}, "modern_repeat": modern_repeat}
    tmp = path.with_suffix(".tmp")
    t0 = time.time()

    def write(f, source: str, text: str, count: bool) -> None:
        lines, n = write_paragraphs(f, text)
        stats["lines"] += lines
        stats["words"] += n
        if count:  # words of each source, counted once (not per repeat)
            stats["docs"] += 1
            stats["by_source"][source] = stats["by_source"].get(source, 0) + n

    with open(tmp, "w", encoding="utf-8") as f:
        for source, _, text in spanish_corpus_texts(LITERATURE, data=data):
            write(f, source, text, True)
        for r in range(modern_repeat):
            for source, text in modern_texts(data):
                write(f, source, text, r == 0)
    tmp.replace(path)
    stats["tokenize_seconds"] = round(time.time() - t0, 1)
    stats_path.write_text(json.dumps(stats, indent=1))
    logging.info("corpus: %s", stats)
    return path, stats


def train(
    out: Path,
    dim: int = 100,
    window: int = 5,
    negative: int = 5,
    min_count: int = 5,
    epochs: int = 5,
    sample: float = 1e-4,
    min_n: int = 3,
    max_n: int = 6,
    bucket: int = 200_000,
    workers: int = 2,
    modern_repeat: int = 3,
    corpus: Path | None = None,
) -> dict:
    from gensim.models import FastText

    path, stats = corpus_file(corpus, modern_repeat=modern_repeat)
    params = {
        "sg": 1,
        "vector_size": dim,
        "window": window,
        "negative": negative,
        "hs": 0,
        "min_count": min_count,
        "epochs": epochs,
        "sample": sample,
        "min_n": min_n,
        "max_n": max_n,
        "bucket": bucket,
        "workers": workers,
        "seed": 1,
    }
    t0 = time.time()
    model = FastText(corpus_file=str(path), **params)
    return save_trained(model, out, stats, params, time.time() - t0)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dim", type=int, default=100)
    p.add_argument("--window", type=int, default=5)
    p.add_argument("--negative", type=int, default=5)
    p.add_argument("--min-count", type=int, default=5)
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--sample", type=float, default=1e-4)
    p.add_argument("--min-n", type=int, default=3)
    p.add_argument("--max-n", type=int, default=6)
    p.add_argument("--bucket", type=int, default=200_000)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--modern-repeat", type=int, default=3)
    p.add_argument("--out", type=Path, default=None)
    a = p.parse_args(argv)
    logging.basicConfig(format="%(asctime)s %(levelname)s %(message)s", level=logging.INFO)
    out = a.out or cache_dir() / "w2v" / "ft.model"
    train(
        out,
        a.dim,
        a.window,
        a.negative,
        a.min_count,
        a.epochs,
        a.sample,
        a.min_n,
        a.max_n,
        a.bucket,
        a.workers,
        a.modern_repeat,
    )


if __name__ == "__main__":
    main()
