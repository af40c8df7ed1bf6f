"""Hallucinations and a detector by self-consistency: semantic entropy.

The lecture's scenario: a made-up story (Jesús and José Ignacio, footballers turned musicians),
then "¿Puedes hacer un resumen del libro?" — there is no book, yet a model happily summarises it.

The detector (Kuhn, Gal & Farquhar 2023, "Semantic uncertainty"; Farquhar et al., Nature 2024),
with sentence embeddings in place of the paper's entailment model:

    1. sample N answers a_1..a_N to the same question (temperature 1)
    2. keep each answer's core: its words minus the question's words and function words
       («La capital de Francia es París.» -> «París»). An instruct model repeats the question in
       every answer; left in, that repetition makes «…era británica» and «…era estadounidense»
       look alike, and the detector cannot tell (measured: AUROC 0.55 -> 0.8 on HaluEval QA)
    3. embed the cores with the multilingual Universal Sentence Encoder (Spanish and English
       alike): e_i = USE(core(a_i)), unit vectors
    4. cluster by meaning, greedily: a_i joins the first cluster C whose first answer c has
       cos(e_i, e_c) >= threshold, else it starts a new cluster
    5. semantic entropy  SE = - sum_C p(C) log p(C),   p(C) = |C| / N

A model that knows the answer says the same thing every time (one cluster, SE = 0); a model
that makes it up says something different each time (N clusters, SE = log N). SE >= flag_at
flags a likely hallucination. The model, the encoder and the two thresholds are the ones that
measured best on held-out questions of HaluEval QA and TruthfulQA (``evaluate.py``, README).
"""

from __future__ import annotations

import math
import re
import time
import unicodedata
from typing import Callable, Iterator, Sequence

import numpy as np

from ..errors import BadInput, Phrase
from .validate import utf8

# The slides "Alucinaciones", word for word (accents restored).
STORY = (
    "Jesús y José Ignacio eran dos grandes jugadores de fútbol. Pero el destino hizo que, tras conocer "
    "a María y a Patricia, respectivamente, dejaran su prometedora carrera deportiva para centrarse en "
    "el mundo de la música, donde pudieron desarrollar todo su potencial."
)
FOLLOW_UPS = (
    "¿Puedes hacer un resumen del libro?",
    "Cuéntame más detalles sobre la carrera musical de Jesús y José Ignacio.",
)
LANGS = ("es", "en")
# Questions for the detector, in the page's language: ones the model knows, and the lecture's
# made-up story (there is no book, no band) and other questions about nobody.
EXAMPLE_QUESTIONS = {
    "es": (
        "¿Cuál es la capital de Francia?",
        "¿Qué instrumento tocaban Jesús y José Ignacio en su grupo de música?",
        "¿Puedes hacer un resumen del libro sobre Jesús y José Ignacio, los futbolistas que se hicieron músicos?",
        "¿En qué año dejaron el fútbol Jesús y José Ignacio para dedicarse a la música?",
        "¿Cuántas patas tiene una araña?",
        "¿Quién escribió Don Quijote de la Mancha?",
        "¿Quién escribió la novela «El huerto silencioso de Valdemora»?",
        "¿En qué año ganó el Premio Nobel de Química la científica Marta Ezquerra Villalba?",
    ),
    "en": (
        "What is the capital of France?",
        "What instrument did the footballers Jesús and José Ignacio play in their band?",
        "Can you summarise the book about Jesús and José Ignacio, the footballers who became musicians?",
        "How many legs does a spider have?",
        "Who wrote Don Quixote?",
        "Who wrote the novel 'The Silent Orchard of Valdemora'?",
        "In which year did the chemist Marta Ezquerra Villalba win the Nobel Prize?",
    ),
}
# The English prompt is the one the evaluation measured with (evaluate.SYSTEM). In Spanish, the bare
# «Responde a la pregunta en una sola frase breve» made Qwen2.5-Coder-1.5B answer «Lyon» or «Madrid»
# to «¿Cuál es la capital de Francia?» 2 times in 10 (seeds 0-9, temperature 1); with a helpful-assistant prompt
# asking for correct facts, «París» every time (the chat's prompt: 10 of 10; this one: 5 of 5, seeds 0-4).
DEFAULT_SYSTEM = {
    "es": "Eres un asistente útil. Responde a la pregunta en una frase breve, en español, con datos correctos.",
    "en": "Answer the question in one short sentence.",
}
DEFAULT_MODEL = "qwen-coder-1.5b"
ENCODERS = ("use", "minilm")
# Chosen on the tune part (every third question) of HaluEval QA and TruthfulQA (README, evaluate.py):
# clusters of the answers' cores by USE at cosine 0.8 had the best mean tune AUROC of the USE settings
# (MiniLM at 0.7 was level, 0.611 vs 0.609, and reads no Spanish). Youden's J put the flag at 1.33 nats:
# with 5 answers, flagged when they fall into 4 or 5 meanings (2+1+1+1 or 1+1+1+1+1). Qwen2.5-Coder-1.5B
# beat the 0.5B on the same 60 HaluEval questions (AUROC 0.75 vs 0.65 with these settings).
DEFAULTS = {
    "n": 5,
    "temperature": 1.0,
    "max_tokens": 48,
    "threshold": 0.8,
    "flag_at": 1.3,
    "encoder": "use",
    "core": True,
}
MAX_QUESTION_CHARS = 1000


def cluster_answers(vectors: np.ndarray, threshold: float = DEFAULTS["threshold"]) -> list[int]:
    """Greedy clustering by meaning: label of each row of ``vectors`` (n, d), unit rows.

    Row i joins the first cluster whose first member c has cos(v_i, v_c) >= threshold."""
    firsts: list[int] = []  # index of each cluster's first answer
    labels = []
    for i, v in enumerate(vectors):
        for c, j in enumerate(firsts):
            if float(v @ vectors[j]) >= threshold:
                labels.append(c)
                break
        else:
            firsts.append(i)
            labels.append(len(firsts) - 1)
    return labels


def semantic_entropy(labels: Sequence[int]) -> float:
    """SE = -sum_C p(C) log p(C) with p(C) the fraction of answers in cluster C (nats)."""
    n = len(labels)
    if n == 0:
        return 0.0
    counts = np.bincount(np.asarray(labels))
    p = counts[counts > 0] / n
    return float(-(p * np.log(p)).sum())


def normalise_answer(text: str) -> str:
    """Answers are compared by meaning, not by form: whitespace and empty answers tidied."""
    text = " ".join((text or "").split())
    return text if text else "(empty answer)"


# Words that carry no answer (Spanish and English); "sí", "yes", "no" and numbers are kept.
FUNCTION_WORDS = frozenset(
    """
a al algo como con cual cuales cuando de del donde el ella ellas ellos en entre era eran es esa ese eso esta
este esto estos fue fueron ha han hay la las le les lo los mas muy o para pero por que quien quienes se segun
ser sobre son su sus tambien tiene tienen un una unas uno unos y ya
about after also an and any are as at be been being but by can could did do does for from had has have he
her his how i if in into is it its many most much of on or our she so some than that the their them then there
these they this those to too was we were what when where which who whom whose why will with would you your
""".split()
)


def _fold_word(word: str) -> str:
    word = unicodedata.normalize("NFKD", word.casefold())
    word = "".join(c for c in word if not unicodedata.combining(c))
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def _words(text: str) -> list[str]:
    return re.findall(r"\w+(?:[-'’.]\w+)*", text or "")


def answer_core(answer: str, question: str) -> str:
    """The answer without the question's words and function words: what it adds.

    «La capital de Francia es París.» for «¿Cuál es la capital de Francia?» -> «París». An answer
    that only repeats the question keeps all its words (nothing would be left to compare)."""
    asked = {_fold_word(w) for w in _words(question)}
    core = [w for w in _words(answer) if _fold_word(w) not in asked and _fold_word(w) not in FUNCTION_WORDS]
    return " ".join(core) if core else normalise_answer(answer)


def check_encoder(encoder: str) -> str:
    if encoder not in ENCODERS:
        raise BadInput(
            f"Unknown encoder '{encoder}': choose {' or '.join(ENCODERS)}.",
            key="err.chat.unknown_encoder",
            value=encoder,
            allowed=ENCODERS,
        )
    return encoder


def embed(texts: list[str], encoder: str = DEFAULTS["encoder"]) -> np.ndarray:
    """Unit sentence vectors (n, d): the multilingual USE (default) or MiniLM (English only)."""
    from pizarra.similarity.encoders import get_encoder

    return get_encoder(check_encoder(encoder)).encode(texts).vectors


def mean_similarity(vectors: np.ndarray) -> float:
    """Mean cosine over the n(n-1)/2 pairs of distinct answers (1 = all say the same)."""
    n = len(vectors)
    if n < 2:
        return 1.0
    sims = vectors @ vectors.T
    return float((sims.sum() - np.trace(sims)) / (n * (n - 1)))


def analyse(
    answers: list[str],
    threshold: float = DEFAULTS["threshold"],
    flag_at: float = DEFAULTS["flag_at"],
    encoder: str = DEFAULTS["encoder"],
    question: str | None = None,
) -> dict:
    """Clusters, semantic entropy and the flag for a list of sampled answers (compared by their
    cores when the ``question`` is given: see ``answer_core``)."""
    if not 0 < threshold <= 1:
        raise BadInput(f"The clustering threshold must be in (0, 1] (got {threshold}).")
    answers = [normalise_answer(a) for a in answers]
    if len(answers) < 2:
        raise BadInput("Semantic entropy needs at least 2 answers.")
    cores = [answer_core(a, question) for a in answers] if question else list(answers)
    vectors = embed(cores, encoder)  # (n, d)
    labels = cluster_answers(vectors, threshold)
    se = semantic_entropy(labels)
    clusters = []
    for c in range(max(labels) + 1):
        members = [i for i, lab in enumerate(labels) if lab == c]
        clusters.append(
            {
                "id": c,
                "size": len(members),
                "members": members,
                "representative": answers[members[0]],
                "core": cores[members[0]],
            }
        )
    clusters.sort(key=lambda c: -c["size"])
    sims = vectors @ vectors.T
    return {
        "answers": answers,
        "cores": cores,
        "labels": labels,
        "clusters": clusters,
        "semantic_entropy": round(se, 4),
        "max_entropy": round(math.log(len(answers)), 4),
        "flag": bool(se >= flag_at),
        "threshold": threshold,
        "flag_at": flag_at,
        "encoder": encoder,
        "mean_similarity": round(mean_similarity(vectors), 4),
        "similarity": [[round(float(x), 3) for x in row] for row in sims],
    }


def system_prompt(lang: str = "es") -> str:
    if lang not in LANGS:
        raise BadInput(
            f"Unknown language '{lang}': choose {' or '.join(LANGS)}.",
            key="err.unknown_language",
            value=lang,
            allowed=LANGS,
        )
    return DEFAULT_SYSTEM[lang]


def sample_answers(
    question: str,
    model: str = DEFAULT_MODEL,
    n: int = DEFAULTS["n"],
    temperature: float = DEFAULTS["temperature"],
    max_tokens: int = DEFAULTS["max_tokens"],
    system: str | None = DEFAULT_SYSTEM["es"],
    context: Sequence[dict] = (),
    seed: int = 0,
    on_answer: Callable[[int, str], None] | None = None,
) -> list[str]:
    """``n`` answers of the chat model to ``question`` (seeds seed..seed+n-1), after ``context``."""
    from pizarra.llm import runtime as rt

    messages = ([{"role": "system", "content": system}] if system else []) + list(context)
    messages.append({"role": "user", "content": question})
    answers = []
    for i in range(n):
        s = rt.Sampling(max_tokens=max_tokens, temperature=temperature, seed=seed + i).validated()
        text = rt.chat(model, messages, s).text.strip()
        answers.append(text)
        if on_answer:
            on_answer(i, text)
    return answers


def check_limits(question: str, n: int, threshold: float, flag_at: float) -> str:
    if not isinstance(question, str) or not question.strip():
        raise BadInput("Write a question to check.", key="err.chat.no_question_check")
    if len(question) > MAX_QUESTION_CHARS:
        raise BadInput(
            f"The question has {len(question)} characters; the limit is {MAX_QUESTION_CHARS}.",
            key="err.text_too_long",
            what=Phrase("err.what.question"),
            n=len(question),
            limit=MAX_QUESTION_CHARS,
        )
    utf8(question, "question")
    if not 2 <= n <= 20:
        raise BadInput(f"Sample between 2 and 20 answers (got {n}).", key="err.chat.samples", value=str(n))
    if not 0 < threshold <= 1:
        raise BadInput(
            f"The clustering threshold must be in (0, 1] (got {threshold}).",
            key="err.chat.threshold",
            value=str(threshold),
        )
    if not 0 <= flag_at <= 5:
        raise BadInput(
            f"flag_at must be between 0 and 5 nats (got {flag_at}).", key="err.chat.flag_at", value=str(flag_at)
        )
    return question.strip()


def check_events(
    question: str,
    model: str = DEFAULT_MODEL,
    n: int = DEFAULTS["n"],
    temperature: float = DEFAULTS["temperature"],
    max_tokens: int = DEFAULTS["max_tokens"],
    threshold: float = DEFAULTS["threshold"],
    flag_at: float = DEFAULTS["flag_at"],
    system: str | None = None,
    encoder: str = DEFAULTS["encoder"],
    seed: int = 0,
    lang: str = "es",
    cancel=None,
) -> Iterator[dict]:
    """:func:`check` as it happens (the page shows each answer as it comes): one ``answer`` event per
    sample (``index``, ``text``), then ``result``. A set ``cancel`` event stops between answers.
    The arguments are checked before the first answer is sampled (bad input: BadInput, no event)."""
    question, system = _checked(question, n, threshold, flag_at, encoder, system, lang)
    return _check_events(question, model, n, temperature, max_tokens, threshold, flag_at, system, encoder, seed, cancel)


def _check_events(question, model, n, temperature, max_tokens, threshold, flag_at, system, encoder, seed, cancel):
    t0 = time.perf_counter()
    answers: list[str] = []
    for i in range(n):
        if cancel is not None and cancel.is_set():
            return
        answers.append(sample_answers(question, model, 1, temperature, max_tokens, system, seed=seed + i)[0])
        yield {"type": "answer", "index": i, "text": answers[-1]}
    yield {"type": "result", **_verdict(question, model, temperature, system, answers, threshold, flag_at, encoder, t0)}


def _verdict(question, model, temperature, system, answers, threshold, flag_at, encoder, t0) -> dict:
    """What :func:`check` returns (and the stream's ``result``): the sampling, then :func:`analyse`'s verdict."""
    result = analyse(answers, threshold, flag_at, encoder, question if DEFAULTS["core"] else None)
    return {
        "question": question,
        "model": model,
        "n": len(answers),
        "temperature": temperature,
        "system": system,
        **result,
        "seconds": round(time.perf_counter() - t0, 2),
    }


def check(
    question: str,
    model: str = DEFAULT_MODEL,
    n: int = DEFAULTS["n"],
    temperature: float = DEFAULTS["temperature"],
    max_tokens: int = DEFAULTS["max_tokens"],
    threshold: float = DEFAULTS["threshold"],
    flag_at: float = DEFAULTS["flag_at"],
    system: str | None = None,
    encoder: str = DEFAULTS["encoder"],
    seed: int = 0,
    lang: str = "es",
    on_answer: Callable[[int, str], None] | None = None,
) -> dict:
    """Sample ``n`` answers, cluster them by meaning and flag high semantic entropy.

    ``system`` None: the detector's short-answer prompt in ``lang``.
    ``{"question", "model", "answers", "clusters", "semantic_entropy", "flag", ...}``"""
    question, system = _checked(question, n, threshold, flag_at, encoder, system, lang)
    t0 = time.perf_counter()
    answers = sample_answers(question, model, n, temperature, max_tokens, system, seed=seed, on_answer=on_answer)
    return _verdict(question, model, temperature, system, answers, threshold, flag_at, encoder, t0)


def _checked(question, n, threshold, flag_at, encoder, system, lang) -> tuple[str, str]:
    """The question and the system prompt, once every argument is checked (bad input: BadInput)."""
    question = check_limits(question, n, threshold, flag_at)
    check_encoder(encoder)
    return question, system_prompt(lang) if system is None else system
