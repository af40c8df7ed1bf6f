"""Turn a trained gensim Word2Vec model into a small shipped artifact, evaluated.

    python -m pizarra.embeddings.export ~/.cache/pizarra/w2v/sg.model --name w2v-es-sg --words 80000

Keeps the ``--words`` most frequent words (gensim sorts its vocabulary by frequency), stores their
vectors as float16 (``weights.safetensors``: ``vectors`` (V, d)) with ``vocab.txt`` (one word a
line, same order), evaluates them (analogies + similarity, ``pizarra.embeddings.evaluate``) and
writes the card: corpus size, training parameters and time, scores.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np


def export(model_path: Path, name: str, words: int, root=None) -> dict:
    import torch
    from gensim.models import Word2Vec

    from pizarra.assets.artifacts import save_artifact
    from pizarra.embeddings.evaluate import evaluate
    from pizarra.embeddings.vectors import Embeddings

    model = Word2Vec.load(str(model_path))
    info = json.loads(model_path.with_suffix(".json").read_text())
    vocab = model.wv.index_to_key[:words]
    vectors = model.wv.vectors[:words].astype(np.float16)
    counts = [int(model.wv.get_vecattr(w, "count")) for w in vocab]
    t0 = time.time()
    emb = Embeddings(name, vocab, vectors.astype(np.float32))
    scores = evaluate(emb)
    scores.pop("vectors", None)
    eval_seconds = time.time() - t0
    # gensim's own float32 vectors on the full trained vocabulary, for comparison
    full = evaluate(Embeddings(name + "-full", model.wv.index_to_key, model.wv.vectors))
    p = info["params"]
    art = save_artifact(
        name,
        {"vectors": torch.from_numpy(vectors)},
        files={
            "vocab.txt": ("\n".join(vocab) + "\n").encode("utf-8"),
            "counts.txt": ("\n".join(map(str, counts)) + "\n").encode("utf-8"),
        },
        config={
            "lang": "es",
            "algorithm": "skip-gram" if p["sg"] else "CBOW",
            "negative_sampling": p["negative"],
            **p,
            "words_kept": len(vocab),
            "vocab_trained": info["vocab_trained"],
            "dtype": "float16",
            "tokenizer": "pizarra.text.words.letter_words (lowercase, letters only)",
            "library": "gensim 4.4.0",
        },
        data={
            "corpus": "pizarra.assets.datasets.spanish_corpus_texts(): quijote + conha19 + cligs + news",
            "docs": info["corpus"]["docs"],
            "words": info["corpus"]["words"],
            "words_by_source": info["corpus"]["by_source"],
        },
        metrics={
            "train_seconds": info["train_seconds"],
            "train_machine": "2 shared CPU cores, workers=2",
            "eval": scores,
            "eval_full_vocab_float32": {
                "words": full["words"],
                "analogies": {k: full["analogies"][k] for k in ("accuracy", "coverage", "correct", "covered", "total")},
                "similarity": full["similarity"],
            },
            "eval_seconds": round(eval_seconds, 1),
        },
        command=f"python -m pizarra.embeddings.train_w2v --sg {p['sg']} --dim {p['vector_size']} "
        f"--window {p['window']} --negative {p['negative']} --min-count {p['min_count']} "
        f"--epochs {p['epochs']} --sample {p['sample']} --workers {p['workers']} && "
        f"python -m pizarra.embeddings.export {model_path.name} --name {name} --words {words}",
        root=root,
    )
    return art.card


def report_only(model_path: Path, name: str, words: int, out: Path) -> None:
    """Evaluate a trained model the way ``export`` would ship it, without shipping it."""
    from gensim.models import Word2Vec

    from pizarra.embeddings.evaluate import evaluate
    from pizarra.embeddings.vectors import Embeddings

    model = Word2Vec.load(str(model_path))
    info = json.loads(model_path.with_suffix(".json").read_text())
    vectors = model.wv.vectors[:words].astype(np.float16).astype(np.float32)
    scores = evaluate(Embeddings(name, model.wv.index_to_key[:words], vectors))
    result = {"name": name, "shipped": False, "words": words, **info, "eval": scores}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")
    print(json.dumps(result, indent=1, ensure_ascii=False))


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("model", type=Path)
    p.add_argument("--name", required=True)
    p.add_argument("--words", type=int, default=80000)
    p.add_argument(
        "--report",
        type=Path,
        default=None,
        help="Only evaluate (the first --words words, float16) and write this JSON; no artifact.",
    )
    a = p.parse_args(argv)
    model = a.model if a.model.is_file() else Path.home() / ".cache/pizarra/w2v" / a.model
    if a.report:
        return report_only(model, a.name, a.words, a.report)
    card = export(model, a.name, a.words)
    print(json.dumps(card["metrics"], indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
