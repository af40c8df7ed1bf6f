"""Benchmarks of chapter 3, each with a baseline measured in the same run (machines are noisy).

1. Neighbour query over the full vocabulary of the shipped Spanish vectors: our NumPy
   ``Embeddings.neighbors`` vs gensim ``KeyedVectors.most_similar`` on the same vectors (p50, ms).
2. Training speed of the from-scratch SGNS (PyTorch) vs gensim's skip-gram (C) on the same slice of
   the corpus, same dim/window/negatives, one thread each: words per second and their ratio.

    PIZARRA_DATA=../shared/data python bench/embeddings_bench.py [--words 200000]
Writes reports/embeddings_bench.json.

The training bench needs ``PIZARRA_DATA`` (the evaluation sets live there) and reads the first ``--words``
words of the tokenised Spanish corpus: from the file ``python -m pizarra.embeddings.train_w2v`` leaves
in the cache (``<cache>/w2v/corpus_es.txt``) when it is there, else it tokenises just those words from
``PIZARRA_DATA`` itself (same tokenizer, same order: the same words). Without ``PIZARRA_DATA`` it stops
at once, before any measurement, and says what to set (``--skip-training`` runs the neighbour bench alone).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

REPORT = Path(__file__).resolve().parents[1] / "reports" / "embeddings_bench.json"
NO_DATA = (
    "Falta PIZARRA_DATA: el banco de entrenamiento toma de ahí las primeras {n:,} palabras del corpus español "
    "(o las lee de {path}, que escribe `python -m pizarra.embeddings.train_w2v`) y los conjuntos de evaluación. "
    "Define PIZARRA_DATA (por ejemplo PIZARRA_DATA=../shared/data); --skip-training mide solo los vecinos.\n"
    "PIZARRA_DATA is missing: the training bench takes the first {n:,} words of the Spanish corpus from it (or "
    "reads them from {path}, written by `python -m pizarra.embeddings.train_w2v`) and the evaluation sets. "
    "Set PIZARRA_DATA (for example PIZARRA_DATA=../shared/data); --skip-training measures the neighbours alone."
)


class MissingData(Exception):
    pass


def training_sentences(n_words: int, cache: Path | None = None) -> tuple[list[list[str]], str]:
    """(sentences of at least ``n_words`` words in all, where they came from).

    The cached corpus of ``train_w2v`` when it exists; else the same lines made here from ``PIZARRA_DATA``:
    each paragraph of each document in ``spanish_corpus_texts()`` order, lowercase letter-only words,
    at most ``MAX_LINE`` words a line (what ``train_w2v.corpus_file`` writes), only as many as needed."""
    from pizarra.config import cache_dir

    corpus = Path(cache) if cache is not None else cache_dir() / "w2v" / "corpus_es.txt"
    if not os.environ.get("PIZARRA_DATA", "").strip():  # the evaluation sets need it in any case
        raise MissingData(NO_DATA.format(n=n_words, path=corpus))
    sentences, total = [], 0
    if corpus.is_file():
        with open(corpus, encoding="utf-8") as f:
            for line in f:
                toks = line.split()
                sentences.append(toks)
                total += len(toks)
                if total >= n_words:
                    break
        return sentences, str(corpus)
    from pizarra.assets.datasets import spanish_corpus_texts
    from pizarra.embeddings.train_w2v import MAX_LINE
    from pizarra.text.words import letter_words

    for _, _, text in spanish_corpus_texts():
        for para in text.split("\n"):
            toks = letter_words(para)
            for i in range(0, len(toks), MAX_LINE):
                sentences.append(toks[i : i + MAX_LINE])
                total += len(sentences[-1])
                if total >= n_words:
                    return sentences, "PIZARRA_DATA (spanish_corpus_texts, tokenised by letter_words)"
    return sentences, "PIZARRA_DATA (spanish_corpus_texts, tokenised by letter_words; all of it)"


def bench_neighbors(n_queries: int = 200) -> dict:
    from gensim.models import KeyedVectors

    from pizarra.embeddings.vectors import load_vectors

    emb = load_vectors("es")
    rng = np.random.default_rng(0)
    queries = [emb.words[i] for i in rng.integers(0, len(emb), n_queries)]
    kv = KeyedVectors(emb.dim)
    kv.add_vectors(emb.words, emb.vectors)
    kv.fill_norms()
    kv.most_similar(queries[0], topn=10)
    ours, theirs, agree = [], [], 0
    for w in queries:
        t = time.perf_counter()
        a = emb.neighbors(w, 10)
        ours.append(time.perf_counter() - t)
        t = time.perf_counter()
        b = kv.most_similar(w, topn=10)
        theirs.append(time.perf_counter() - t)
        agree += [x for x, _ in a] == [x for x, _ in b]
    p50o, p50g = float(np.median(ours) * 1e3), float(np.median(theirs) * 1e3)
    return {
        "vocab": len(emb),
        "dim": emb.dim,
        "queries": n_queries,
        "k": 10,
        "ours_p50_ms": round(p50o, 3),
        "gensim_p50_ms": round(p50g, 3),
        "ratio_ours_over_gensim": round(p50o / p50g, 3),
        "same_top10": agree / n_queries,
    }


def bench_training(sentences: list[list[str]], dim: int = 100, window: int = 5, negative: int = 5) -> dict:
    import torch
    from gensim.models import Word2Vec

    from pizarra.embeddings.sgns import SGNSConfig, SkipGramNS, make_pairs, noise_distribution

    torch.set_num_threads(1)
    t = time.perf_counter()
    g = Word2Vec(
        sentences,
        sg=1,
        vector_size=dim,
        window=window,
        negative=negative,
        min_count=5,
        sample=0,
        epochs=1,
        workers=1,
        seed=1,
    )
    gensim_s = time.perf_counter() - t
    vocab = {w: i for i, w in enumerate(g.wv.index_to_key)}
    ids = np.array([vocab[w] for s in sentences for w in s if w in vocab])
    counts = np.array([g.wv.get_vecattr(w, "count") for w in g.wv.index_to_key])
    t = time.perf_counter()
    X, Y = make_pairs(ids, window, negative, noise_distribution(counts))
    torch.manual_seed(1)
    m = SkipGramNS(SGNSConfig(len(vocab), dim, window, negative))
    # word2vec's schedule: per-pair step 0.025 decaying linearly; our loss is a batch MEAN, so ×bs
    bs, lr0 = 1024, 0.025
    opt = torch.optim.SGD(m.parameters(), lr=lr0 * bs)
    perm = torch.randperm(len(X))
    steps = (len(X) + bs - 1) // bs
    for step, s in enumerate(range(0, len(X), bs)):
        for group in opt.param_groups:
            group["lr"] = bs * max(lr0 * (1 - step / steps), lr0 * 1e-4)
        b = perm[s : s + bs]
        _, loss = m(X[b], Y[b])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    ours_s = time.perf_counter() - t
    quality = compare_quality(g, m, vocab)
    return {
        "corpus_words": int(len(ids)),
        "vocab": len(vocab),
        "dim": dim,
        "window": window,
        "negative": negative,
        "epochs": 1,
        "threads": 1,
        "sample": 0,
        "min_count": 5,
        "gensim_seconds": round(gensim_s, 2),
        "ours_seconds": round(ours_s, 2),
        "gensim_words_per_s": round(len(ids) / gensim_s),
        "ours_words_per_s": round(len(ids) / ours_s),
        "ratio_ours_over_gensim": round(gensim_s / ours_s, 4),
        "ours_final_batch_loss": round(float(loss.detach()), 4),
        "quality": quality,
    }


def compare_quality(g, m, vocab) -> dict:
    """Same evaluation (Spanish similarity sets + analogies, covered items only) for both models."""
    from pizarra.embeddings.evaluate import evaluate
    from pizarra.embeddings.vectors import Embeddings

    words = list(vocab)
    ours = evaluate(Embeddings("sgns-torch", words, m.W_in.weight.detach().numpy()))
    theirs = evaluate(Embeddings("gensim", words, g.wv.vectors))

    def pick(r):
        return {
            "analogy_accuracy": r["analogies"]["accuracy"],
            "analogy_coverage": r["analogies"]["coverage"],  # noqa: E731
            **{f"spearman_{k}": v["spearman"] for k, v in r["similarity"].items()},
        }

    return {"ours": pick(ours), "gensim": pick(theirs)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--words", type=int, default=200_000, help="words of the corpus to train on (default 200,000)")
    p.add_argument("--skip-training", action="store_true", help="only the neighbour query bench (no corpus needed)")
    a = p.parse_args()
    if not a.skip_training:  # find the corpus first: fail in a second, not after the neighbour bench
        try:
            sentences, source = training_sentences(a.words)
        except MissingData as e:
            print(e, file=sys.stderr)
            sys.exit(2)
    report = {
        "machine": {
            "python": platform.python_version(),
            "cpu": platform.processor() or platform.machine(),
            "note": "2 shared CPU cores; other jobs were running",
        },
        "neighbors": bench_neighbors(),
    }
    print(json.dumps(report["neighbors"], indent=1))
    if not a.skip_training:
        report["training"] = {"corpus": source, **bench_training(sentences)}
        print(json.dumps(report["training"], indent=1))
    REPORT.parent.mkdir(exist_ok=True)
    REPORT.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
