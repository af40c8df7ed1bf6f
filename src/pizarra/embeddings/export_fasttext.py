"""Ship a trained gensim FastText model as the small artifact chapter 3 explores, evaluated.

    python -m pizarra.embeddings.export_fasttext ~/.cache/pizarra/w2v/ft.model --name fasttext-es

Stores, in ``weights.safetensors``, the vocabulary's vectors (gensim's ``wv.vectors``: each word's
own vector already averaged with its n-grams') and the rows of the n-gram table
(``wv.vectors_ngrams``) that training updated — the buckets of the pieces of the trained words, with
their numbers in ``ngram_ids``; the other buckets hold only their random start and are left out —
both as int8 rows with one float32 scale per row (``vectors_scale``, ``ngrams_scale``): about a
quarter of float32's size. ``vocab.txt`` and ``counts.txt`` list the
words by frequency. The card holds the corpus, the training parameters and time, and the scores of
``pizarra.embeddings.evaluate`` on the shipped (int8) vectors and on gensim's float32 ones.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np


def shippable(model, words: int | None = None) -> dict:
    """What ``export`` ships of a gensim FastText model: the first ``words`` words (all by default)
    and their int8 vectors; the n-gram rows the training updated (the buckets of the pieces of every
    trained word; the other rows hold only their random start) as int8, with their bucket numbers.
    ``emb(name)`` builds the ``Embeddings`` a reader of the artifact gets."""
    from gensim.models.fasttext import ft_ngram_hashes  # = vectors.ngram_bucket (tested), in C

    from pizarra.embeddings.vectors import Embeddings, Subwords, quantize_rows

    wv = model.wv
    n = len(wv) if words is None else min(words, len(wv))
    vocab = list(wv.index_to_key[:n])
    trained = {h for w in wv.index_to_key for h in ft_ngram_hashes(w, wv.min_n, wv.max_n, wv.bucket)}
    ids = np.array(sorted(trained), dtype=np.int64)
    q_vec, s_vec = quantize_rows(wv.vectors[:n])
    q_ng, s_ng = quantize_rows(wv.vectors_ngrams[ids])

    def emb(name: str):
        sub = Subwords(q_ng.astype(np.float32) * s_ng[:, None], wv.min_n, wv.max_n, wv.bucket, ids)
        return Embeddings(name, vocab, q_vec.astype(np.float32) * s_vec[:, None], subwords=sub)

    return {
        "vocab": vocab,
        "vectors": q_vec,
        "vectors_scale": s_vec,
        "ngrams": q_ng,
        "ngrams_scale": s_ng,
        "ngram_ids": ids,
        "emb": emb,
    }


def export(model_path: Path, name: str = "fasttext-es", words: int | None = None, root=None) -> dict:
    import torch
    from gensim.models import FastText

    from pizarra.assets.artifacts import save_artifact
    from pizarra.embeddings.evaluate import evaluate
    from pizarra.embeddings.vectors import Embeddings, Subwords

    model = FastText.load(str(model_path))
    info = json.loads(model_path.with_suffix(".json").read_text())
    p = info["params"]
    part = shippable(model, words)
    vocab, ids = part["vocab"], part["ngram_ids"]
    counts = [int(model.wv.get_vecattr(w, "count")) for w in vocab]

    t0 = time.time()
    shipped = part["emb"](name)
    scores = evaluate(shipped)
    scores.pop("vectors", None)
    eval_seconds = time.time() - t0
    sub = Subwords(model.wv.vectors_ngrams[ids], p["min_n"], p["max_n"], p["bucket"], ids)
    full = evaluate(Embeddings(name + "-float32", list(vocab), model.wv.vectors[: len(vocab)], subwords=sub))
    summary = {k: full["analogies"][k] for k in ("accuracy", "coverage", "correct", "covered", "total")}
    pieces = full["with_pieces"]
    corpus = info["corpus"]
    art = save_artifact(
        name,
        {
            "vectors": torch.from_numpy(part["vectors"]),
            "vectors_scale": torch.from_numpy(part["vectors_scale"]),
            "ngrams": torch.from_numpy(part["ngrams"]),
            "ngrams_scale": torch.from_numpy(part["ngrams_scale"]),
            "ngram_ids": torch.from_numpy(ids.astype(np.int32)),
        },
        files={
            "vocab.txt": ("\n".join(vocab) + "\n").encode("utf-8"),
            "counts.txt": ("\n".join(map(str, counts)) + "\n").encode("utf-8"),
        },
        config={
            "lang": "es",
            "algorithm": "FastText skip-gram with character n-grams",
            **p,
            "words_kept": len(vocab),
            "ngram_rows_kept": len(ids),
            "vocab_trained": info["vocab_trained"],
            "dtype": "int8 rows, one float32 scale per row",
            "tokenizer": "pizarra.text.words.letter_words (lowercase, letters only)",
            "library": "gensim 4.4.0",
        },
        data={
            "corpus": "pizarra.embeddings.train_fasttext.corpus_file(): quijote + conha19 + cligs once, then "
            f"news + STS-B-es train/dev sentences {corpus['modern_repeat']} times",
            "docs": corpus["docs"],
            "words_in_file": corpus["words"],
            "words_by_source_once": corpus["by_source"],
            "modern_repeat": corpus["modern_repeat"],
        },
        metrics={
            "train_seconds": info["train_seconds"],
            "train_machine": info.get("machine", "2 CPU cores, workers=2 (CPU not recorded)"),
            "eval": scores,
            "eval_float32": {
                "analogies": summary,
                "similarity": full["similarity"],
                "with_pieces": {
                    "analogies": {k: pieces["analogies"][k] for k in summary},
                    "similarity": pieces["similarity"],
                },
            },
            "eval_seconds": round(eval_seconds, 1),
            "neighbors": {w: [x for x, _ in shipped.neighbors(w, 10)] for w in LECTURE_WORDS},
        },
        command=f"python -m pizarra.embeddings.train_fasttext --dim {p['vector_size']} --window {p['window']} "
        f"--negative {p['negative']} --min-count {p['min_count']} --epochs {p['epochs']} --sample {p['sample']} "
        f"--min-n {p['min_n']} --max-n {p['max_n']} --bucket {p['bucket']} --workers {p['workers']} "
        f"--modern-repeat {corpus['modern_repeat']} --out {model_path.name} && "
        f"python -m pizarra.embeddings.export_fasttext {model_path.name} --name {name}",
        root=root,
    )
    return art.card


def report_only(model_path: Path, name: str, out: Path) -> dict:
    """Score a trained model as ``export`` would ship it (int8), without shipping it: a candidate's report."""
    from gensim.models import FastText

    from pizarra.embeddings.evaluate import evaluate

    model = FastText.load(str(model_path))
    info = json.loads(model_path.with_suffix(".json").read_text())
    emb = shippable(model)["emb"](name)
    scores = evaluate(emb)
    scores.pop("vectors", None)
    lecture = {w: [x for x, _ in emb.neighbors(w, 10)] for w in LECTURE_WORDS}
    result = {"name": name, "shipped": False, "model": model_path.name, **info, "eval": scores, "neighbors": lecture}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")
    return result


# words a class will try (the lecture's and the issue's): their ten nearest words go in the reports
LECTURE_WORDS = ("baloncesto", "fútbol", "ordenador", "computadora", "internet", "reina", "tarde", "madrid", "perro")


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("model", type=Path)
    p.add_argument("--name", default="fasttext-es")
    p.add_argument("--words", type=int, default=None, help="keep only the most frequent words (default: all)")
    p.add_argument("--report", type=Path, default=None, help="only score it (as shipped) into this JSON; no artifact")
    a = p.parse_args(argv)
    model = a.model if a.model.is_file() else Path.home() / ".cache/pizarra/w2v" / a.model
    if a.report:
        res = report_only(model, a.name, a.report)
        print(json.dumps({k: res["eval"][k] for k in ("analogies", "similarity")}, indent=1, ensure_ascii=False))
        return
    card = export(model, a.name, a.words)
    print(json.dumps(card["metrics"], indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
