"""Measured numbers for chapter 8: does self-consistency catch the local model's wrong answers?

    eval_hallucination("halueval" | "truthfulqa", n_questions, n_samples, model) -> report

For each question the chat model answers once greedily (temperature 0): that answer is judged
right or wrong against the data set's references. Then it answers ``n_samples`` more times at
temperature 1, and the disagreement among those samples is the detector's score.

- HaluEval QA (HotpotQA questions with a knowledge passage): the model gets the passage and the
  question (reading comprehension); its answer is right when it contains the reference answer
  (case, accents and punctuation folded) or shares at least half its words (token F1 >= 0.5).
- TruthfulQA (no passage): right when MiniLM puts the answer closer to a true reference than to
  any false one (the similarity judge of the TruthfulQA paper, with MiniLM for BLEURT).

Scores, each computed for both encoders (``use``: multilingual USE; ``minilm``: English MiniLM):

    se@T      semantic entropy of the samples, greedy clusters at cosine T (the page's detector)
    spread    1 - mean cosine between pairs of samples (no threshold)
    greedy    1 - mean cosine between the greedy answer and each sample
    lexical   1 - mean token F1 between pairs of samples (no encoder at all)
    core-...  each of the above on the answers' cores: without the question's words and function
              words (``hallucination.answer_core``)

Honest numbers: the questions are split by position, every third one (0, 3, 6, ...) to ``tune``
and the rest to ``test``. The page's defaults (encoder, clustering threshold, flag_at) were chosen
on ``tune`` only; the headline AUROC is the default detector's on ``test``; ``by_config`` lists
every score on both parts, so the choice can be checked. A time budget stops early; the report
says how many questions were done, and the next run can go on after them (``previous``).
"""

from __future__ import annotations

import json
import math
import os
import re
import string
import time
import unicodedata
from itertools import combinations
from pathlib import Path
from typing import Callable

import numpy as np

from ..errors import BadInput
from .hallucination import (
    DEFAULT_MODEL,
    DEFAULTS,
    ENCODERS,
    answer_core,
    cluster_answers,
    embed,
    normalise_answer,
    semantic_entropy,
)

THRESHOLDS = (0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95)
DATASETS = ("halueval", "truthfulqa")
SYSTEM = "Answer the question in one short sentence."  # the data sets are English
SUMMARY_KEYS = (
    "dataset",
    "model",
    "encoder",
    "questions_asked",
    "questions_done",
    "n_samples",
    "max_tokens",
    "temperature",
    "flag_at",
    "cluster_threshold",
    "wrong_rate",
    "auroc",
    "flag_accuracy",
    "majority_baseline_accuracy",
    "by_threshold",
    "seconds",
    "machine",
    "command",
)


def pin_threads(model: str, n_threads: int) -> None:
    """Run ``model`` on exactly ``n_threads`` llama.cpp threads in its worker process (a background
    evaluation on a shared 2-core machine runs fairer on one thread)."""
    from pizarra.llm import runtime as rt

    rt.set_threads(model, n_threads)


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", (text or "").lower())
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = re.sub(r"(?<=\w)\.(?=\w)", "", text)  # U.S. -> us, 6.213 -> 6213 (both sides alike)
    text = text.translate(str.maketrans(string.punctuation, " " * len(string.punctuation)))
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def _stem(word: str) -> str:
    """Plural and possessive endings off: directors -> director, years -> year (crude, on purpose)."""
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def _tokens(text: str) -> list[str]:
    return [_stem(w) for w in _fold(text).split()]


def token_f1(answer: str, reference: str) -> float:
    a, r = _tokens(answer), _tokens(reference)
    common = sum(min(a.count(w), r.count(w)) for w in set(r))
    if not a or not r or common == 0:
        return 0.0
    p, rec = common / len(a), common / len(r)
    return 2 * p * rec / (p + rec)


def token_recall(answer: str, reference: str) -> float:
    """Share of the reference's words found in the answer (a whole-sentence answer is not penalised)."""
    a, r = set(_tokens(answer)), _tokens(reference)
    return sum(w in a for w in r) / len(r) if r else 0.0


def halueval_correct(answer: str, right: str) -> bool:
    """Right when the answer contains the reference (folded), shares at least half its words with it
    (token F1 >= 0.5) or has two thirds of its words; a yes/no reference is compared with the
    answer's first word."""
    ref, ans = _fold(right), _fold(answer)
    if not ref:
        return False
    if ref in ("yes", "no"):
        return ans.split()[:1] == [ref]
    return f" {ref} " in f" {ans} " or token_f1(answer, right) >= 0.5 or token_recall(answer, right) >= 2 / 3


def truthfulqa_correct(answer: str, correct: list[str], incorrect: list[str]) -> bool:
    vec = embed([normalise_answer(answer), *correct, *incorrect], "minilm")
    sims = vec[1:] @ vec[0]
    return float(sims[: len(correct)].max()) > float(sims[len(correct) :].max()) if incorrect else True


def auroc(labels: list[int], scores: list[float]) -> float | None:
    """Area under the ROC curve (ties count half); None when only one class is present."""
    y, s = np.asarray(labels), np.asarray(scores, float)
    pos, neg = s[y == 1], s[y == 0]
    if len(pos) == 0 or len(neg) == 0:
        return None
    greater = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return float(greater / (len(pos) * len(neg)))


# ------------------------------------------------------------------------------------ scores


def config_name(encoder: str | None, score: str) -> str:
    return score if encoder is None else f"{encoder}:{score}"


def default_config() -> str:
    return config_name(DEFAULTS["encoder"], f"{'core-' if DEFAULTS['core'] else ''}se@{DEFAULTS['threshold']}")


def row_scores(
    samples: list[str], greedy: str | None = None, question: str | None = None, encoders=ENCODERS, thresholds=THRESHOLDS
) -> dict[str, float]:
    """Every detector score of one question's samples (higher = less consistent = more suspect).

    Each score twice when the ``question`` is given: on the whole answers and on their cores
    (``core-``: the answers without the question's words, see ``hallucination.answer_core``)."""
    samples = [normalise_answer(a) for a in samples]
    greedy = normalise_answer(greedy) if greedy is not None else None
    views = {"": (samples, greedy)}
    if question:
        views["core-"] = (
            [answer_core(a, question) for a in samples],
            answer_core(greedy, question) if greedy is not None else None,
        )
    out: dict[str, float] = {}
    pairs = list(combinations(range(len(samples)), 2))
    for prefix, (texts, g) in views.items():
        for enc in encoders:
            v = embed(texts + ([g] if g is not None else []), enc)
            vs = v[: len(texts)]
            for th in thresholds:
                out[config_name(enc, f"{prefix}se@{th}")] = round(semantic_entropy(cluster_answers(vs, th)), 4)
            sims = vs @ vs.T
            spread = 1 - float(np.mean([sims[i, j] for i, j in pairs])) if pairs else 0.0
            out[config_name(enc, f"{prefix}spread")] = round(spread, 4)
            if g is not None:
                out[config_name(enc, f"{prefix}greedy")] = round(1 - float((vs @ v[-1]).mean()), 4)
        if pairs:
            out[f"{prefix}lexical"] = round(1 - float(np.mean([token_f1(texts[i], texts[j]) for i, j in pairs])), 4)
    return out


def split_of(index: int) -> str:
    """Every third question (0, 3, 6, ...) tunes the thresholds; the others test them."""
    return "tune" if index % 3 == 0 else "test"


def flag_threshold(labels: list[int], scores: list[float]) -> float | None:
    """The cut on ``scores`` that maximises balanced accuracy (Youden's J) on these questions (the
    highest such cut: fewer flags on a tie)."""
    s, y = np.asarray(scores, float), np.asarray(labels)
    if len(set(y.tolist())) < 2:
        return None
    best, cut = -1.0, None
    for c in np.unique(s)[::-1]:
        flag = s >= c
        j = flag[y == 1].mean() + (~flag[y == 0]).mean() - 1
        if j > best:
            best, cut = j, float(c)
    return cut


# ------------------------------------------------------------------------------------ running


def _items(dataset: str, n: int) -> list[dict]:
    from pizarra.assets import datasets

    if dataset == "halueval":
        rows = datasets.load_halueval("qa")[:n]
        return [{"question": r["question"], "context": r["knowledge"], "right": r["right_answer"]} for r in rows]
    rows = datasets.load_truthfulqa()
    rows = rows[:: max(1, len(rows) // n)][:n]  # spread over the 38 categories
    return [
        {
            "question": r["question"],
            "correct": r["correct_answers"] + [r["best_answer"]],
            "incorrect": r["incorrect_answers"],
            "category": r["category"],
        }
        for r in rows
    ]


def judge(dataset: str, item: dict, answer: str) -> bool:
    """Is ``answer`` right for ``item``? (see the module's doc for each data set's judge)"""
    if dataset == "halueval":
        return halueval_correct(answer, item["right"])
    return truthfulqa_correct(answer, item["correct"], item["incorrect"])


def _ask(model: str, item: dict, sampling) -> str:
    from pizarra.llm import runtime as rt

    user = f"{item['context']}\n\nQuestion: {item['question']}" if item.get("context") else item["question"]
    messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]
    return rt.chat(model, messages, sampling).text.strip()


def eval_hallucination(
    dataset: str = "halueval",
    n_questions: int = 150,
    n_samples: int = DEFAULTS["n"],
    model: str = DEFAULT_MODEL,
    max_tokens: int = 32,
    temperature: float = DEFAULTS["temperature"],
    flag_at: float = DEFAULTS["flag_at"],
    max_minutes: float = 60.0,
    threads: int | None = None,
    progress: Callable[[int, int, dict], None] | None = None,
    checkpoint: Callable[[dict], None] | None = None,
    checkpoint_every: int = 10,
    previous: list[dict] | None = None,
) -> dict:
    """Run the detector on ``n_questions`` of ``dataset`` (stops early at ``max_minutes``).

    ``previous``: the ``rows`` of an earlier report with the same settings; the run goes on after
    them (a time budget split over several sittings), judged again with today's judge, and the
    report covers all rows. ``checkpoint``
    gets the report so far every ``checkpoint_every`` questions (a killed run keeps its work)."""
    from pizarra.llm import runtime as rt

    if dataset not in DATASETS:
        raise BadInput(
            f"Unknown data set '{dataset}': choose {' or '.join(DATASETS)}.",
            key="err.unknown_dataset",
            value=dataset,
            allowed=DATASETS,
        )
    if threads:
        pin_threads(model, threads)
    items = _items(dataset, n_questions)
    rows = list(previous or [])
    t0, spent = time.perf_counter(), sum(r.get("seconds", 0.0) for r in rows)

    def report() -> dict:
        return summarise(
            rows,
            dataset,
            model,
            n_samples,
            max_tokens,
            temperature,
            flag_at,
            spent + time.perf_counter() - t0,
            n_questions,
        )

    for q, item in enumerate(items):
        if q < len(rows):
            if rows[q].get("question") == item["question"] and "greedy" in rows[q]:
                rows[q]["wrong"] = int(not judge(dataset, item, rows[q]["greedy"]))
            continue
        if time.perf_counter() - t0 > max_minutes * 60:
            break
        t1 = time.perf_counter()
        greedy = _ask(model, item, rt.Sampling(max_tokens=max_tokens, temperature=0.0))
        samples = [
            _ask(model, item, rt.Sampling(max_tokens=max_tokens, temperature=temperature, seed=s))
            for s in range(n_samples)
        ]
        right = judge(dataset, item, greedy)
        row = {
            "question": item["question"],
            "greedy": greedy,
            "samples": samples,
            "wrong": int(not right),
            "scores": row_scores(samples, greedy, item["question"]),
            "seconds": round(time.perf_counter() - t1, 1),
        }
        rows.append(row)
        if progress:
            progress(q + 1, len(items), row)
        if checkpoint and len(rows) % checkpoint_every == 0:
            checkpoint(report())
    return report()


def _scores_of(row: dict) -> dict[str, float]:
    """A row's scores; rows of older reports (samples only, or fewer scores) are scored now."""
    if default_config() not in row.get("scores", {}):
        row["scores"] = row_scores(row["samples"], row.get("greedy"), row.get("question"))
    return row["scores"]


def summarise(
    rows: list[dict],
    dataset: str,
    model: str,
    n_samples: int,
    max_tokens: int,
    temperature: float,
    flag_at: float,
    seconds: float,
    asked: int,
) -> dict:
    wrong = [r["wrong"] for r in rows]
    scores = [_scores_of(r) for r in rows]
    parts = {
        "tune": [i for i in range(len(rows)) if split_of(i) == "tune"],
        "test": [i for i in range(len(rows)) if split_of(i) == "test"],
    }
    configs = sorted(set.intersection(*(set(s) for s in scores))) if scores else []
    by_config = {}
    for c in configs:
        m = {"auroc": _r(auroc(wrong, [s[c] for s in scores]))}
        for part, idx in parts.items():
            m[f"auroc_{part}"] = _r(auroc([wrong[i] for i in idx], [scores[i][c] for i in idx]))
        by_config[c] = m
    default = default_config()

    def se_config(th: float) -> str:  # the page's detector at another clustering threshold
        return default.rsplit("@", 1)[0] + f"@{th}"

    best = max(
        (c for c in configs if by_config[c]["auroc_tune"] is not None),
        key=lambda c: by_config[c]["auroc_tune"],
        default=None,
    )

    def flags_on(idx: list[int]) -> dict:
        if default not in configs or not idx:
            return {"flag_accuracy": None, "flag_rate": None, "majority_baseline_accuracy": None}
        f = [int(scores[i][default] >= flag_at) for i in idx]
        w = [wrong[i] for i in idx]
        right = sum(a == b for a, b in zip(f, w, strict=True))
        return {
            "flag_accuracy": _r(right / len(idx)),
            "flag_rate": _r(sum(f) / len(idx)),
            "majority_baseline_accuracy": _r(max(sum(w), len(w) - sum(w)) / len(w)),
        }

    test = flags_on(parts["test"])
    tuned_cut = (
        flag_threshold([wrong[i] for i in parts["tune"]], [scores[i][default] for i in parts["tune"]])
        if default in configs
        else None
    )
    return {
        "dataset": dataset,
        "model": model,
        "encoder": DEFAULTS["encoder"],
        "questions_asked": asked,
        "questions_done": len(rows),
        "n_samples": n_samples,
        "max_tokens": max_tokens,
        "temperature": temperature,
        "detector": default,
        "flag_at": flag_at,
        "cluster_threshold": DEFAULTS["threshold"],
        "wrong_rate": _r(sum(wrong) / len(rows) if rows else None),
        "auroc": by_config.get(default, {}).get("auroc_test"),
        "auroc_all": by_config.get(default, {}).get("auroc"),
        "n_test": len(parts["test"]),
        "n_tune": len(parts["tune"]),
        **test,
        "flag_at_tuned_here": _r(tuned_cut),
        "best_on_tune": {"config": best, **(by_config[best] if best else {})},
        "by_threshold": {str(th): {"auroc": by_config.get(se_config(th), {}).get("auroc_test")} for th in THRESHOLDS},
        "by_config": by_config,
        "seconds": round(seconds, 1),
        "note": "Wrong = the greedy answer, judged against the references. Scores from n_samples answers at the "
        "given temperature. auroc: the page's detector (its defaults chosen on the tune part) on the "
        "test part (every question whose index is not a multiple of 3); auroc_all: on every question. "
        "Timings on a shared 2-core machine, model on 1 thread, at nice 10.",
        "rows": rows,
    }


def _r(x: float | None) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else round(float(x), 4)


def previous_summary(old: dict | None, model: str) -> dict | None:
    """What a new report keeps of the one it replaces, for comparison: the old one's own ``previous``
    if it had one, else its summary when it measured another model or encoder."""
    if not old:
        return None
    if old.get("previous"):
        return old["previous"]
    if old.get("model") != model or old.get("encoder") != DEFAULTS["encoder"]:
        return {k: old[k] for k in SUMMARY_KEYS if k in old}
    return None


def write_report(report: dict, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(report, ensure_ascii=False, indent=1))
    os.replace(tmp, path)
    return path
