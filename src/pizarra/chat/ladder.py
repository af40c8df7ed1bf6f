"""¿Importa el tamaño? The same short question to four local models, from 135M to 1.5B parameters.

    ask("¿Cuál es la capital de Portugal?")      one row per model: answer, right or wrong, speed
    evaluate(lang="all")                         accuracy of each model on the fixed question set
    score("Es Lisboa.", ["Lisboa"])              True: the judge, a pure function

The lecture's point "scale matters", measured: the ladder goes from SmolLM2-135M-Instruct through
Gemma 3 270M (a BASE model: it gets the question as text to continue, "Pregunta: …\\nRespuesta:",
and stops at the end of the line) to Qwen2.5-Coder 0.5B and 1.5B Instruct (ChatML). Every model
answers greedily (temperature 0) in at most ``MAX_TOKENS`` tokens, one after another.

The question set (``data/ladder_questions.json``) is Pizarra's own: short general-knowledge facts
in Spanish and English, each with its accepted answer forms. An answer is right when it contains
one of them as a whole word or phrase, case and accents ignored (``score``). A judge this simple
can be fooled by an answer that lists several candidates; with one-sentence answers it rarely is.
"""

from __future__ import annotations

import json
import re
import statistics
import threading
import time
import unicodedata
from contextlib import nullcontext
from functools import lru_cache
from importlib import resources
from typing import Callable, Iterator, Sequence

from ..errors import BadInput, Phrase
from .validate import utf8

LADDER_MODELS: tuple[str, ...] = ("smollm2", "gemma-base", "qwen-coder-0.5b", "qwen-coder-1.5b")  # by size
MODELS: dict[str, dict] = {  # params: counted from the GGUF files (Qwen's tied embeddings once)
    "smollm2": {"label": "SmolLM2-135M-Instruct", "size": "135M", "params": 134_515_008, "kind": "instruct"},
    "gemma-base": {"label": "Gemma 3 270M", "size": "270M", "params": 268_098_176, "kind": "base"},
    "qwen-coder-0.5b": {
        "label": "Qwen2.5-Coder-0.5B-Instruct",
        "size": "0.5B",
        "params": 494_032_768,
        "kind": "instruct",
    },
    "qwen-coder-1.5b": {
        "label": "Qwen2.5-Coder-1.5B-Instruct",
        "size": "1.5B",
        "params": 1_543_714_304,
        "kind": "instruct",
    },
}
LANGS = ("es", "en")
SYSTEM = {"es": "Responde en una frase, en español.", "en": "Answer in one sentence, in English."}
BASE_PROMPT = {"es": "Pregunta: {question}\nRespuesta:", "en": "Question: {question}\nAnswer:"}
MAX_TOKENS = 48
MAX_QUESTION_CHARS = 300
DEFAULT_QUESTION = {"es": "¿Cuál es la capital de Portugal?", "en": "What is the capital of Australia?"}


# ------------------------------------------------------------------------------------ the judge


def fold(text: str) -> str:
    """Lower case, no accents, punctuation as spaces (``.`` ``,`` ``/`` kept: they are parts of numbers)."""
    text = unicodedata.normalize("NFKD", text or "")
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    return " ".join(re.sub(r"[^\w.,/]|_", " ", text).split())


def score(answer: str, accepted: Sequence[str]) -> bool:
    """Does ``answer`` contain one of the ``accepted`` forms as a whole word or phrase?

    Case and accents are ignored ("paris" is "París"); "Roma" is not in "Rumanía", "56" is not in
    "156", "0,56" nor "1/56"."""
    text = fold(answer)
    for form in accepted:
        f = fold(form)
        if f and re.search(rf"(?<!\w)(?<!\d[.,/]){re.escape(f)}(?!\w)(?![.,/]\d)", text):
            return True
    return False


# ------------------------------------------------------------------------------- the question set


@lru_cache(maxsize=1)
def _all_questions() -> tuple[dict, ...]:
    text = resources.files("pizarra.chat").joinpath("data/ladder_questions.json").read_text(encoding="utf-8")
    return tuple(json.loads(text)["questions"])


def questions(lang: str = "all") -> list[dict]:
    """The fixed set: ``{"id", "lang", "topic", "question", "accepted"}`` in ``lang`` (es, en or all)."""
    if lang not in (*LANGS, "all"):
        raise BadInput(
            f"Unknown language '{lang}': choose es, en or all.",
            key="err.unknown_language",
            value=lang,
            allowed=("es", "en", "all"),
        )
    return [dict(q) for q in _all_questions() if lang == "all" or q["lang"] == lang]


def find(question: str) -> dict | None:
    """The set's entry for ``question`` (compared folded: case, accents and punctuation ignored)."""
    key = fold(question)
    return next((dict(q) for q in _all_questions() if fold(q["question"]) == key), None)


# ------------------------------------------------------------------------------------- asking


def check_question(question: str) -> str:
    if not isinstance(question, str) or not question.strip():
        raise BadInput("Write a question for the models.", key="err.chat.no_question")
    question = question.strip()
    if len(question) > MAX_QUESTION_CHARS:
        raise BadInput(
            f"The question has {len(question)} characters; the limit is {MAX_QUESTION_CHARS}.",
            key="err.text_too_long",
            what=Phrase("err.what.question"),
            n=len(question),
            limit=MAX_QUESTION_CHARS,
        )
    utf8(question, "question")
    return question


def check_models(models: Sequence[str]) -> list[str]:
    """The models asked, known, without repeats, in the ladder's order (smallest first)."""
    unknown = [m for m in models if m not in MODELS]
    if unknown or not models:
        raise BadInput(
            f"Choose models among {', '.join(LADDER_MODELS)} (got {', '.join(unknown) or 'none'}).",
            key="err.chat.ladder_models",
            allowed=LADDER_MODELS,
            value=", ".join(unknown) or "–",
        )
    return [m for m in LADDER_MODELS if m in models]


def answer(
    model: str, question: str, lang: str = "es", max_tokens: int = MAX_TOKENS, cancel: threading.Event | None = None
) -> dict:
    """One model's greedy answer: ``{"answer", "seconds", "tokens_per_s", "n_tokens", "finish_reason"}``.

    Instruct models get a system prompt and the question as a chat turn; the base model gets the
    question as text to continue and stops at the end of the line."""
    from pizarra.llm import runtime as rt

    sampling = rt.Sampling(max_tokens=max_tokens, temperature=0.0).validated()
    stats: dict = {}
    if MODELS[model]["kind"] == "base":
        pieces = rt.stream(
            model, BASE_PROMPT[lang].format(question=question), sampling, stop=["\n"], cancel=cancel, stats=stats
        )
    else:
        messages = [{"role": "system", "content": SYSTEM[lang]}, {"role": "user", "content": question}]
        pieces = rt.stream_chat(model, messages, sampling, cancel=cancel, stats=stats)
    text = "".join(p.text for p in pieces)
    return {
        "answer": " ".join(text.split()),
        "seconds": round(stats.get("seconds", 0.0), 2),
        "tokens_per_s": round(stats.get("tokens_per_s", 0.0), 1),
        "n_tokens": stats.get("n_tokens", 0),
        "finish_reason": stats.get("finish_reason"),
    }


def ask_iter(
    question: str,
    models: Sequence[str] = LADDER_MODELS,
    lang: str | None = None,
    expected: Sequence[str] | None = None,
    max_tokens: int = MAX_TOKENS,
    cancel: threading.Event | None = None,
    budget_s: float | None = None,
) -> Iterator[dict]:
    """``ask``, one row at a time as each model finishes (the web page streams them).

    ``budget_s``: seconds of model time EACH model may use (a scope of its own per model, so the
    biggest model, last, is not starved by the ones before it); ``cancel`` stops everything."""
    from pizarra.llm import runtime as rt

    question = check_question(question)
    models = check_models(models)
    known = find(question)
    lang = lang or (known["lang"] if known else "es")
    if lang not in LANGS:
        raise BadInput(
            f"Unknown language '{lang}': choose es or en.", key="err.unknown_language", value=lang, allowed=("es", "en")
        )
    accepted = list(expected) if expected else (known["accepted"] if known else None)
    for model in models:
        if cancel is not None and cancel.is_set():
            return
        scope = rt.request_scope(cancel, budget_s) if budget_s is not None else nullcontext()
        with scope:
            out = answer(model, question, lang, max_tokens, cancel)
        if out["finish_reason"] == "cancelled":
            return
        yield {"model": model, **MODELS[model], **out, "correct": score(out["answer"], accepted) if accepted else None}


def ask(
    question: str,
    models: Sequence[str] = LADDER_MODELS,
    lang: str | None = None,
    expected: Sequence[str] | None = None,
    max_tokens: int = MAX_TOKENS,
) -> list[dict]:
    """The question to each model, smallest first: ``[{"model", "label", "size", "params", "kind",
    "answer", "correct", "seconds", "tokens_per_s", "n_tokens", "finish_reason"}]``.

    ``correct`` is None unless the question is in the set or ``expected`` forms are given; ``lang``
    (the prompt's language) defaults to the set's, else Spanish."""
    return list(ask_iter(question, models, lang, expected, max_tokens))


# ---------------------------------------------------------------------------------- evaluation


def cpu_name() -> str | None:
    try:
        with open("/proc/cpuinfo") as f:
            return next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), None)
    except OSError:
        return None


def evaluate(
    models: Sequence[str] = LADDER_MODELS,
    lang: str = "all",
    limit: int | None = None,
    log: Callable[[str], None] | None = print,
    max_tokens: int = MAX_TOKENS,
) -> dict:
    """Every model on the fixed set (the first ``limit`` questions of each language): accuracy per
    language per model, median tokens/s, and every answer. The report of `pizarra chat ladder-eval`."""
    models = check_models(models)
    langs = LANGS if lang == "all" else (lang,)
    if lang != "all" and lang not in LANGS:
        raise BadInput(
            f"Unknown language '{lang}': choose es, en or all.",
            key="err.unknown_language",
            value=lang,
            allowed=("es", "en", "all"),
        )
    if limit is not None and limit < 1:
        raise BadInput("--limit must be at least 1.", key="err.cli.limit")
    items = [q for lg in langs for q in questions(lg)[:limit]]
    t0 = time.perf_counter()
    rows = []
    for i, item in enumerate(items, 1):
        answers = {
            r["model"]: {k: r[k] for k in ("answer", "correct", "seconds", "tokens_per_s", "n_tokens")}
            for r in ask_iter(item["question"], models, item["lang"], item["accepted"], max_tokens)
        }
        rows.append({**item, "answers": answers})
        if log:
            marks = "  ".join(f"{MODELS[m]['size']} {'✔' if a['correct'] else '✘'}" for m, a in answers.items())
            log(f"{i}/{len(items)} {item['id']}  {marks}")
    return {
        "what": "model-size ladder: accuracy on short general-knowledge questions (chapter 8)",
        "cpu": cpu_name(),
        "langs": list(langs),
        "limit": limit,
        "n_questions": {lg: sum(r["lang"] == lg for r in rows) for lg in langs},
        "sampling": {"temperature": 0.0, "max_tokens": max_tokens},
        "system_prompts": SYSTEM,
        "base_prompts": BASE_PROMPT,
        "judge": "an accepted form as a whole word or phrase, case and accents ignored",
        "models": [summarise(m, rows, langs) for m in models],
        "seconds": round(time.perf_counter() - t0, 1),
        "questions": rows,
    }


def summarise(model: str, rows: list[dict], langs: Sequence[str]) -> dict:
    """One model's line of the table: accuracy per language (and all together), median tokens/s."""
    mine = [(r["lang"], r["answers"][model]) for r in rows if model in r["answers"]]
    correct = {lg: sum(bool(a["correct"]) for l2, a in mine if l2 == lg) for lg in langs}
    n = {lg: sum(l2 == lg for l2, _ in mine) for lg in langs}
    accuracy = {lg: round(correct[lg] / n[lg], 4) if n[lg] else None for lg in langs}
    if len(langs) > 1:
        accuracy["all"] = round(sum(correct.values()) / len(mine), 4) if mine else None
    speeds = [a["tokens_per_s"] for _, a in mine if a["n_tokens"] >= 2]
    return {
        "model": model,
        **MODELS[model],
        "accuracy": accuracy,
        "correct": correct,
        "n": n,
        "tokens_per_s": round(statistics.median(speeds), 1) if speeds else None,
        "seconds": round(sum(a["seconds"] for _, a in mine), 1),
    }
