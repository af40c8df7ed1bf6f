"""The four shipped models (artifacts ``imdb-*``): save, load once per process, predict, explain.

m = load("nbsvm");  m.predict_proba(["What a waste of time."])  # -> array([0.03])
m.explain("What a waste of time.")                              # n-grams and their weights
"""

from __future__ import annotations

import threading

from pizarra.errors import BadInput

SHIPPED = ("tfidf-lr", "nbsvm", "lstm", "transformer")
_loaded: dict = {}
_lock = threading.Lock()


def artifact_name(name: str) -> str:
    return f"imdb-{name}"


def save_linear(name: str, model, rec: dict, row: dict):
    from pizarra.assets.artifacts import save_artifact

    return save_artifact(
        artifact_name(name),
        model.tensors(),
        files={"vocab.txt.xz": model.vocab_bytes()},
        config={
            "kind": model.kind,
            "ngram_max": model.ngram_max,
            "min_df": rec["min_df"],
            "n_features": len(model.vocab),
            "chosen": rec["chosen"],
            "tokenizer": "pizarra.sentiment.data.tokenize",
        },
        data={
            "train": "IMDB official train split, 25,000 reviews (choices on a 2,500-review validation "
            "split carved from it, then refit on all 25,000)",
            "test": "IMDB official test split, 25,000",
        },
        metrics={
            "test_acc": row["test_acc"],
            "val_acc": row["val_acc"],
            "train_s": row["train_s"],
            "confusion": row["confusion"],
            "hardware": row["hardware"],
        },
        command=f"pizarra bench imdb --model {name}",
    )


def load(name: str):
    """The shipped model ``name`` (loaded once per process)."""
    if name not in SHIPPED:
        raise BadInput(
            f"Unknown model {name!r}; the shipped models are {', '.join(SHIPPED)}.",
            key="err.sentiment.unknown_shipped",
            value=name,
            allowed=list(SHIPPED),
        )
    with _lock:
        if name not in _loaded:
            _loaded[name] = _load(name)
        return _loaded[name]


def _load(name: str):
    from pizarra.assets.artifacts import load_artifact

    art = load_artifact(artifact_name(name))
    if name in ("tfidf-lr", "nbsvm"):
        from pizarra.sentiment.linear import LinearModel

        return LinearModel.from_files(
            art.config["kind"], art.config["ngram_max"], art.state_dict(), art.file("vocab.txt.xz").read_bytes()
        )
    from pizarra.sentiment.neural import NeuralSentiment

    return NeuralSentiment.from_artifact(art)


def available() -> list[str]:
    """The shipped models whose artifact is present (without loading them)."""
    from pizarra.config import artifacts_dir

    return [n for n in SHIPPED if (artifacts_dir() / artifact_name(n) / "card.json").is_file()]
