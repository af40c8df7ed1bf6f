"""Hallucinations and a detector by self-consistency: semantic entropy.

The lecture's scenario: a made-up story (Jesús and José Ignacio, footballers turned musicians),
then "¿Puedes hacer un resumen del libro?" — there is no book, yet a model happily summarises it.

The detector (Kuhn, Gal & Farquhar 2023, "Semantic uncertainty"; Farquhar et al., Nature 2024),
with sentence embeddings in place of the paper's entailment model:

    1. sample N answers a_1..a_N to the same question (temperature 1)
    2. embed them with all-MiniLM-L6-v2: e_i = MiniLM(a_i), unit vectors
    3. cluster by meaning, greedily: a_i joins the first cluster C whose first answer c has
       cos(e_i, e_c) >= threshold, else it starts a new cluster
    4. semantic entropy  SE = - sum_C p(C) log p(C),   p(C) = |C| / N

A model that knows the answer says the same thing every time (one cluster, SE = 0); a model
that makes it up says something different each time (N clusters, SE = log N). SE >= flag_at
flags a likely hallucination.
"""

from __future__ import annotations

import math
import time
from typing import Callable, Sequence

import numpy as np

from ..errors import BadInput
from .validate import utf8

# The slides "Alucinaciones", word for word (accents restored).
STORY = ("Jesús y José Ignacio eran dos grandes jugadores de fútbol. Pero el destino hizo que, tras conocer "
         "a María y a Patricia, respectivamente, dejaran su prometedora carrera deportiva para centrarse en "
         "el mundo de la música, donde pudieron desarrollar todo su potencial.")
FOLLOW_UPS = ("¿Puedes hacer un resumen del libro?",
              "Cuéntame más detalles sobre la carrera musical de Jesús y José Ignacio.")
# Questions for the detector (MiniLM reads English best): one it knows, ones about nobody.
EXAMPLE_QUESTIONS = (
    "What is the capital of France?",
    "What instrument did the footballers Jesús and José Ignacio play in their band?",
    "Who wrote the novel 'The Silent Orchard of Valdemora'?",
    "How many legs does a spider have?",
)
DEFAULT_SYSTEM = "Answer the question in one short sentence."
DEFAULTS = {"n": 5, "temperature": 1.0, "max_tokens": 48, "threshold": 0.85, "flag_at": 0.9}
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


def embed(texts: list[str], encoder: str = "minilm") -> np.ndarray:
    """Unit sentence vectors (n, d) from the lab's fast encoders (MiniLM on ONNX Runtime)."""
    from pizarra.similarity.encoders import get_encoder

    return get_encoder(encoder).encode(texts).vectors


def analyse(answers: list[str], threshold: float = DEFAULTS["threshold"], flag_at: float = DEFAULTS["flag_at"],
            encoder: str = "minilm") -> dict:
    """Clusters, semantic entropy and the flag for a list of sampled answers."""
    if not 0 < threshold <= 1:
        raise BadInput(f"The clustering threshold must be in (0, 1] (got {threshold}).")
    answers = [normalise_answer(a) for a in answers]
    if len(answers) < 2:
        raise BadInput("Semantic entropy needs at least 2 answers.")
    vectors = embed(answers, encoder)  # (n, d)
    labels = cluster_answers(vectors, threshold)
    se = semantic_entropy(labels)
    clusters = []
    for c in range(max(labels) + 1):
        members = [i for i, lab in enumerate(labels) if lab == c]
        clusters.append({"id": c, "size": len(members), "members": members, "representative": answers[members[0]]})
    clusters.sort(key=lambda c: -c["size"])
    sims = vectors @ vectors.T
    return {
        "answers": answers, "labels": labels, "clusters": clusters,
        "semantic_entropy": round(se, 4), "max_entropy": round(math.log(len(answers)), 4),
        "flag": bool(se >= flag_at), "threshold": threshold, "flag_at": flag_at, "encoder": encoder,
        "similarity": [[round(float(x), 3) for x in row] for row in sims],
    }


def sample_answers(question: str, model: str = "smollm2", n: int = DEFAULTS["n"],
                   temperature: float = DEFAULTS["temperature"], max_tokens: int = DEFAULTS["max_tokens"],
                   system: str | None = DEFAULT_SYSTEM, context: Sequence[dict] = (), seed: int = 0,
                   on_answer: Callable[[int, str], None] | None = None) -> list[str]:
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
        raise BadInput("Write a question to check.")
    if len(question) > MAX_QUESTION_CHARS:
        raise BadInput(f"The question has {len(question)} characters; the limit is {MAX_QUESTION_CHARS}.")
    utf8(question, "question")
    if not 2 <= n <= 20:
        raise BadInput(f"Sample between 2 and 20 answers (got {n}).")
    if not 0 < threshold <= 1:
        raise BadInput(f"The clustering threshold must be in (0, 1] (got {threshold}).")
    if not 0 <= flag_at <= 5:
        raise BadInput(f"flag_at must be between 0 and 5 nats (got {flag_at}).")
    return question.strip()


def check(question: str, model: str = "smollm2", n: int = DEFAULTS["n"], temperature: float = DEFAULTS["temperature"],
          max_tokens: int = DEFAULTS["max_tokens"], threshold: float = DEFAULTS["threshold"],
          flag_at: float = DEFAULTS["flag_at"], system: str | None = DEFAULT_SYSTEM, encoder: str = "minilm",
          seed: int = 0, on_answer: Callable[[int, str], None] | None = None) -> dict:
    """Sample ``n`` answers, cluster them by meaning and flag high semantic entropy.

    ``{"question", "model", "answers", "clusters", "semantic_entropy", "flag", ...}``"""
    question = check_limits(question, n, threshold, flag_at)
    t0 = time.perf_counter()
    answers = sample_answers(question, model, n, temperature, max_tokens, system, seed=seed, on_answer=on_answer)
    result = analyse(answers, threshold, flag_at, encoder)
    return {"question": question, "model": model, "n": n, "temperature": temperature, **result,
            "seconds": round(time.perf_counter() - t0, 2)}
