"""Every shipped model on one review, with why; and every shipped model on a labelled file.

predict("What a waste of time.")     # {"models": {"nbsvm": {"label": 0, "p_pos": 0.03, ...}}, ...}
evaluate_file("reviews.jsonl")       # {"models": {"nbsvm": {"accuracy": 0.9, "n": 10}, ...}}
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from pizarra.errors import AssetMissing, BadInput
from pizarra.sentiment import shipped
from pizarra.sentiment.data import check_review

MAX_EVAL_LINES = 50_000


def _models(names) -> list[str]:
    names = list(names) if names else shipped.available()
    for n in names:
        if n not in shipped.SHIPPED:
            raise BadInput(
                f"Unknown model {n!r}; the shipped models are {', '.join(shipped.SHIPPED)}.",
                key="err.sentiment.unknown_shipped",
                value=n,
                allowed=list(shipped.SHIPPED),
            )
    if not names:
        raise AssetMissing(
            "imdb-*",
            "No IMDB sentiment model is in artifacts/: train them with "
            "`pizarra bench imdb --model tfidf-lr` (and nbsvm, lstm, transformer).",
            key="err.sentiment.no_models",
        )
    return names


def predict(text: str, models=None, explain: bool = True, k: int = 8) -> dict:
    """{"models": {name: {"label" (1 = positive), "p_pos", "ms", ["explain"]}}, "notices"}.
    notices: "truncated" (over data.MAX_CHARS), "not_english" (the models know English reviews)."""
    text, notices = check_review(text)
    out = {}
    for name in _models(models):
        m = shipped.load(name)
        t0 = time.perf_counter()
        p = float(m.predict_proba([text])[0])
        r = {"label": int(p >= 0.5), "p_pos": round(p, 4), "ms": round(1000 * (time.perf_counter() - t0), 1)}
        if explain:
            r["explain"] = m.explain(text, k=k)
        out[name] = r
    return {"models": out, "notices": notices, "chars": len(text)}


def read_jsonl(path: str | Path) -> tuple[list[str], np.ndarray]:
    """Lines ``{"text": ..., "label": 0|1}`` -> (texts, labels); BadInput names the bad line."""
    p = Path(path)
    if not p.is_file():
        raise BadInput(f"No file at {p}.", key="err.no_file", path=str(p))
    texts, labels = [], []
    with p.open(encoding="utf-8") as f:
        for i, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                text, label = row["text"], row["label"]
            except (ValueError, KeyError, TypeError):
                raise BadInput(f'{p}, line {i}: expected a JSON object with "text" and "label".') from None
            if not isinstance(text, str) or not text.strip() or label not in (0, 1) or isinstance(label, bool):
                raise BadInput(f'{p}, line {i}: "text" must be non-empty text and "label" 0 or 1 (1 = positive).')
            texts.append(text)
            labels.append(int(label))
            if len(texts) > MAX_EVAL_LINES:
                raise BadInput(f"{p}: more than {MAX_EVAL_LINES} reviews; split the file.")
    if not texts:
        raise BadInput(f"{p} holds no reviews.")
    return texts, np.array(labels)


def evaluate_file(path: str | Path, models=None) -> dict:
    """{"models": {name: {"accuracy", "n"}}, "n"} for every shipped model on a labelled JSONL file."""
    texts, labels = read_jsonl(path)
    texts = [check_review(t)[0] for t in texts]
    out = {}
    for name in _models(models):
        p = shipped.load(name).predict_proba(texts)
        out[name] = {"accuracy": round(float(((p >= 0.5).astype(int) == labels).mean()), 4), "n": len(texts)}
    return {"models": out, "n": len(texts), "file": str(path)}
