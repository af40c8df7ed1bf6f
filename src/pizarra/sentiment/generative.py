"""Chapter 1's other half: a generative LLM classifies a review by what it would write next.

A discriminative model learns p(y | x) directly. A language model learns p(x) — the probability
of text, one token at a time — and we *ask* it for the label: after a prompt ending in
"Sentiment:", compare the probabilities of the next tokens " positive" and " negative".

    p(pos | review) = p(" positive" | prompt) / (p(" positive" | prompt) + p(" negative" | prompt))

Tiny LLMs lean towards one word whatever the review says, so the probabilities are also
*calibrated* (Zhao et al. 2021, "contextual calibration"): divided by those the model gives after
the same prompt with a content-free review ("N/A"), then renormalised. The label uses them.

Zero-shot: the prompt holds only the review. Few-shot: two short labelled examples come first
(taken from the training split, never the test split). Gemma 3 270M is a base model and gets a
plain-text prompt; SmolLM2-135M-Instruct gets its chat template. Each label word counts with its
spellings (" positive", "Positive", ...): their first tokens' probabilities are added up.
"""

from __future__ import annotations

import math
import time

import numpy as np

from pizarra.errors import BadInput
from pizarra.sentiment.data import clean, head_tail

LLMS = ("gemma-base", "smollm2")
PRETTY = {"gemma-base": "Gemma 3 270M (base)", "smollm2": "SmolLM2-135M-Instruct"}
MODES = ("zero", "few")
MAX_REVIEW_WORDS = 300  # longer reviews keep their start and end (LLM context and speed)

# two short reviews of the training split (train/pos/... and train/neg/...), for few-shot prompts
FEW_SHOT = [
    (
        "This is one of the best films I have seen in years. Great acting, a clever story and a "
        "wonderful ending. Highly recommended.",
        "positive",
    ),
    (
        "A complete waste of time. The plot makes no sense, the acting is wooden and the jokes fall flat. Avoid it.",
        "negative",
    ),
]
INSTRUCTION = "Is the sentiment of this movie review positive or negative? Answer with one word."


def shorten(text: str, words: int = MAX_REVIEW_WORDS) -> str:
    return " ".join(head_tail(clean(text).split(), words))


def prompt_text(review: str, mode: str = "zero") -> str:
    """The plain-text prompt for a base model; the next word it writes is the label."""
    shots = "".join(f"Review: {r}\nSentiment: {lab}\n\n" for r, lab in FEW_SHOT) if mode == "few" else ""
    return f"{INSTRUCTION}\n\n{shots}Review: {shorten(review)}\nSentiment:"


def chat_messages(review: str, mode: str = "zero") -> list[dict]:
    msgs = []
    if mode == "few":
        for r, lab in FEW_SHOT:
            msgs += [
                {"role": "user", "content": f"{INSTRUCTION}\n\nReview: {r}"},
                {"role": "assistant", "content": lab.capitalize()},
            ]
    return msgs + [{"role": "user", "content": f"{INSTRUCTION}\n\nReview: {shorten(review)}"}]


_label_ids: dict = {}


def label_token_ids(model: str) -> dict[str, list[int]]:
    """The first token of each spelling of each label word, per label (deduplicated)."""
    from pizarra.llm import runtime as rt

    if model not in _label_ids:
        out = {}
        for label in ("positive", "negative"):
            ids = set()
            for s in (f" {label}", label, f" {label.capitalize()}", label.capitalize()):
                toks = rt.tokenize(model, s, add_bos=False)
                if toks:
                    ids.add(toks[0])
            out[label] = sorted(ids)
        if set(out["positive"]) & set(out["negative"]):
            raise BadInput(
                f"{model}: the label words share a first token; cannot tell them apart.",
                key="err.sentiment.labels_share_token",
                model=model,
            )
        _label_ids[model] = out
    return _label_ids[model]


_content_free: dict = {}


def label_probs(review: str, model: str, mode: str) -> tuple[float, float, str]:
    """(p(positive words), p(negative words), prompt): next-token probabilities after the prompt."""
    from pizarra.llm import runtime as rt

    ids = label_token_ids(model)
    if model == "smollm2":
        prompt = rt.render_chat(model, chat_messages(review, mode))
        tokens = rt.tokenize(model, prompt, add_bos=False, special=True)
    else:
        prompt = prompt_text(review, mode)
        tokens = rt.tokenize(model, prompt, add_bos=True)
    flat = ids["positive"] + ids["negative"]
    logp = rt.next_token_logprobs(model, tokens, flat)
    probs = [math.exp(v) for v in logp]
    return sum(probs[: len(ids["positive"])]), sum(probs[len(ids["positive"]) :]), prompt


def classify(review: str, model: str = "gemma-base", mode: str = "zero") -> dict:
    """One review -> {"p_pos" (calibrated), "p_pos_raw", "label", "p_tokens": {"positive",
    "negative"} (next-token probabilities, not renormalised), "prior" (the content-free ones),
    "prompt", "seconds"}."""
    if model not in LLMS:
        raise BadInput(
            f"Unknown LLM {model!r}; choose {', '.join(LLMS)}.",
            key="err.unknown_model",
            value=model,
            allowed=list(LLMS),
        )
    if mode not in MODES:
        raise BadInput(
            f"mode must be 'zero' or 'few', got {mode!r}.",
            key="err.sentiment.mode",
            value=mode,
            allowed=("zero", "few"),
        )
    t0 = time.perf_counter()
    if (model, mode) not in _content_free:
        _content_free[(model, mode)] = label_probs("N/A", model, mode)[:2]
    c_pos, c_neg = _content_free[(model, mode)]
    p_pos, p_neg, prompt = label_probs(review, model, mode)
    raw = p_pos / (p_pos + p_neg) if p_pos + p_neg > 0 else 0.5
    a, b = p_pos / max(c_pos, 1e-12), p_neg / max(c_neg, 1e-12)
    p = a / (a + b) if a + b > 0 else 0.5
    return {
        "model": model,
        "mode": mode,
        "p_pos": round(p, 4),
        "p_pos_raw": round(raw, 4),
        "label": int(p >= 0.5),
        "p_tokens": {"positive": round(p_pos, 5), "negative": round(p_neg, 5)},
        "prior": {"positive": round(c_pos, 5), "negative": round(c_neg, 5)},
        "prompt": prompt,
        "seconds": round(time.perf_counter() - t0, 3),
    }


def predict_proba(texts, model: str = "gemma-base", mode: str = "zero") -> np.ndarray:
    return np.array([classify(t, model, mode)["p_pos"] for t in texts])


def bench(splits, write=True, log=print, finish=None, n: int = 40, models=LLMS, modes=MODES, **_):
    """Every LLM × mode on the same balanced ``n`` test reviews (the LLM rows are slow on a CPU)."""
    test = splits["test"].subset(n, seed=0)
    rows = {}
    for model in models:
        for mode in modes:
            t0 = time.perf_counter()
            sub = {"test": test}
            name = f"llm-{model}-{mode}"
            row = {
                "label": f"{PRETTY[model]}, {mode}-shot (generativo)",
                "train_s": 0.0,
                "params": None,
                "seed": 0,
                "threads": 2,
                "model": model,
                "mode": mode,
                "note": f"no training: next-token probabilities of the label words; {len(test)} of the 25,000 "
                "test reviews (balanced, seed 0)",
            }
            rows[name] = finish(
                name, lambda xs, model=model, mode=mode: predict_proba(xs, model, mode), sub, row, write, log
            )
            log(f"{name}: {time.perf_counter() - t0:.0f} s")
    return rows
