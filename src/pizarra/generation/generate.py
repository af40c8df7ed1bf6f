"""Everything the chapter does with a language model, written once for every model (``lm.py``).

    next_tokens(model, prefix, k)          the table: top-k of p(next | prefix), full softmax
    step(model, text, sampling, choice)    SnapGPT: one more word (or the one the student picked)
    tree(model, prefix, n, depth)          n samples laid out as a tree of shared prefixes
    stream(model, prefix, sampling)        generated text, piece by piece (llama.cpp's own loop for GGUF)
    score(model, text)                     perplexity per token and per word, bits per character

Limits are explicit (``LIMITS``) and checked here, so the CLI and the web share them.
"""

from __future__ import annotations

import math
import threading
import time
from typing import Iterator

import numpy as np

from pizarra.errors import BadInput, Phrase
from pizarra.generation.lm import LanguageModel, get_model
from pizarra.generation.sampling import Sampling, choose, rng_for, temperature_table

LECTURE_PREFIX = "¡Qué día más bonito! Me voy a la"
LECTURE_EXAMPLE = [("playa", 0.14), ("montaña", 0.13), ("calle", 0.10), ("tienda", 0.01)]  # slide 7
FABLE_START = "Había una vez un zorro muy astuto que"
LIMITS = {"prefix_chars": 2000, "k": 50, "tree_n": 16, "tree_depth": 16, "score_chars": 20000, "word_tokens": 8}
TEMPERATURES = (0.5, 1.0, 1.5, 2.0)


def _model(model: str | LanguageModel) -> LanguageModel:
    return model if isinstance(model, LanguageModel) else get_model(model)


def _check_text(text: str, limit: str = "prefix_chars", allow_empty: bool = True) -> str:
    if not isinstance(text, str):
        raise BadInput("The text must be a string.", key="err.text.not_string")
    if not allow_empty and not text.strip():
        raise BadInput("The text is empty: write at least one word.", key="err.text.empty_word")
    if len(text) > LIMITS[limit]:
        raise BadInput(
            f"The text has {len(text)} characters; the limit is {LIMITS[limit]}.",
            key="err.text_too_long",
            what=Phrase("err.what.text"),
            n=len(text),
            limit=LIMITS[limit],
        )
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise BadInput(
            "The text holds characters that are not valid Unicode (lone surrogates).",
            key="err.text_not_unicode",
            what=Phrase("err.what.text"),
        ) from None
    return text


def _context(lm: LanguageModel, prefix: str) -> list[int]:
    """start token + the prefix's tokens (an empty prefix = the start of a text)."""
    return lm.start() + (lm.encode(prefix) if prefix else [])


def _row(lm: LanguageModel, i: int, p: float) -> dict:
    return {"id": int(i), "token": lm.token_text(int(i)), "prob": round(float(p), 6)}


def top_k(lm: LanguageModel, p: np.ndarray, k: int) -> list[dict]:
    k = min(int(k), len(p))
    top = np.argpartition(-p, k - 1)[:k]
    top = top[np.argsort(-p[top], kind="stable")]
    return [_row(lm, i, p[i]) for i in top]


def next_tokens(model: str | LanguageModel, prefix: str, k: int = 10, temperatures=TEMPERATURES) -> dict:
    """The k most likely next tokens after ``prefix`` (descending), with the full-softmax
    probability of each, the entropy of the whole distribution and how temperature reshapes it."""
    _check_text(prefix)
    if not 1 <= int(k) <= LIMITS["k"]:
        raise BadInput(
            f"k must be between 1 and {LIMITS['k']} (got {k}).",
            key="err.range",
            name="k",
            lo=1,
            hi=LIMITS["k"],
            value=str(k),
        )
    lm = _model(model)
    t0 = time.perf_counter()
    ids = _context(lm, prefix)
    p = lm.probs(ids, fresh=True)  # the same number on the page and in the CLI, whatever came before
    tokens = top_k(lm, p, k)
    nz = p[p > 0]
    return {
        "model": lm.name,
        "label": lm.label,
        "prefix": prefix,
        "context_tokens": len(ids) - 1,
        "tokens": tokens,
        "shown_mass": round(float(sum(t["prob"] for t in tokens)), 6),
        "entropy_bits": round(float(-(nz * np.log2(nz)).sum()), 4),
        "temperature": temperature_table(p, [t["id"] for t in tokens], temperatures),
        "ms": round((time.perf_counter() - t0) * 1000, 1),
    }


def _starts_word(text: str) -> bool:
    """Does this token begin a new word (a space or line break first, or punctuation)?"""
    return bool(text) and (text[0].isspace() or not (text[0].isalnum() or text[0] in "'’-"))


def step(
    model: str | LanguageModel,
    text: str,
    sampling: Sampling = Sampling(),
    choice: int | None = None,
    k: int = 10,
    seed: int | None = None,
) -> dict:
    """SnapGPT: add one word to ``text``. The first token is ``choice`` (a token id the student
    picked from the shown distribution) or is sampled; then tokens that continue the same word
    (no leading space) are added, at most ``LIMITS["word_tokens"]``."""
    _check_text(text)
    s = sampling.validated()
    lm = _model(model)
    rng = rng_for(seed if seed is not None else s.seed)
    ids = _context(lm, text)
    n_start = len(ids)
    p = lm.probs(ids)
    shown = top_k(lm, p, min(k, LIMITS["k"]))
    if choice is not None:
        if not 0 <= int(choice) < lm.vocab_size:
            raise BadInput(
                f"choice must be a token id between 0 and {lm.vocab_size - 1}.",
                key="err.generation.choice",
                hi=lm.vocab_size - 1,
            )
        first = int(choice)
    else:
        first = choose(p, s, rng, ids)
    chosen = _row(lm, first, p[first])
    ids.append(first)
    end = lm.is_end(first)
    while not end and len(ids) - n_start < LIMITS["word_tokens"]:
        q = lm.probs(ids)
        nxt = choose(q, s, rng, ids)
        if lm.is_end(nxt) or _starts_word(lm.token_text(nxt)):
            break
        ids.append(nxt)
    added = lm.decode(ids[n_start:]) if not end else ""
    return {
        "model": lm.name,
        "text": text + added,
        "added": added,
        "chosen": chosen,
        "distribution": shown,
        "end": end,
        "tokens_added": len(ids) - n_start,
    }


def tree(
    model: str | LanguageModel,
    prefix: str,
    n: int = 8,
    depth: int = 8,
    sampling: Sampling = Sampling(temperature=1.0, top_k=0, top_p=1.0, repeat_penalty=1.0),
    seed: int | None = 0,
) -> dict:
    """Draw ``n`` continuations of ``depth`` tokens and merge them into a tree of shared prefixes.

    Node = one token after its parent's path; ``prob`` = p(token | path) under the model (before
    sampling reshapes it), ``count`` = how many of the n samples went through it. Distributions are
    computed once per node, so shared prefixes cost nothing extra.
    """
    _check_text(prefix)
    if not 1 <= int(n) <= LIMITS["tree_n"]:
        raise BadInput(
            f"n must be between 1 and {LIMITS['tree_n']} (got {n}).",
            key="err.range",
            name="n",
            lo=1,
            hi=LIMITS["tree_n"],
            value=str(n),
        )
    if not 1 <= int(depth) <= LIMITS["tree_depth"]:
        raise BadInput(
            f"depth must be between 1 and {LIMITS['tree_depth']} (got {depth}).",
            key="err.range",
            name="depth",
            lo=1,
            hi=LIMITS["tree_depth"],
            value=str(depth),
        )
    s = sampling.validated()
    lm = _model(model)
    rng = rng_for(seed if seed is not None else s.seed)
    base = _context(lm, prefix)
    nodes = [
        {
            "id": 0,
            "parent": None,
            "token": prefix,
            "token_id": None,
            "prob": 1.0,
            "path_prob": 1.0,
            "count": n,
            "depth": 0,
        }
    ]
    children: dict[tuple[int, int], int] = {}
    cache: dict[int, np.ndarray] = {}  # node id -> p(next | path)
    samples = []
    t0 = time.perf_counter()
    for _ in range(int(n)):
        node, ids, logp = 0, list(base), 0.0
        for _d in range(int(depth)):
            if node not in cache:
                cache[node] = lm.probs(ids)
            p = cache[node]
            tok = choose(p, s, rng, ids)
            logp += math.log(max(p[tok], 1e-300))
            key = (node, tok)
            if key not in children:
                children[key] = len(nodes)
                nodes.append(
                    {
                        "id": len(nodes),
                        "parent": node,
                        "token": lm.token_text(tok),
                        "token_id": tok,
                        "prob": round(float(p[tok]), 6),
                        "path_prob": float(math.exp(logp)),
                        "count": 0,
                        "depth": nodes[node]["depth"] + 1,
                    }
                )
            node = children[key]
            nodes[node]["count"] += 1
            ids.append(tok)
            if lm.is_end(tok):
                break
        samples.append({"text": lm.decode(ids[len(base) :]), "logprob": round(logp, 4)})
    for nd in nodes:
        nd["path_prob"] = float(f"{nd['path_prob']:.4g}")
    return {
        "model": lm.name,
        "prefix": prefix,
        "n": n,
        "depth": depth,
        "nodes": nodes,
        "samples": samples,
        "sampling": s.to_dict(),
        "seconds": round(time.perf_counter() - t0, 3),
    }


def stream(
    model: str | LanguageModel,
    prefix: str,
    sampling: Sampling = Sampling(),
    cancel: threading.Event | None = None,
    stats: dict | None = None,
) -> Iterator[dict]:
    """Generated text after ``prefix``, one ``{"text", "token_id"}`` per token. GGUF models use
    llama.cpp's own sampling loop (``runtime.stream``), ours the loop below; both stop at
    end-of-text, ``max_tokens`` or when ``cancel`` is set. ``stats`` receives n_tokens, seconds,
    tokens_per_s and finish_reason."""
    _check_text(prefix)
    s = sampling.validated()
    lm = _model(model)
    stats = {} if stats is None else stats
    if lm.kind == "gguf":
        from pizarra.llm import runtime as rt

        prompt = prefix if prefix else [lm.bos]
        for piece in rt.stream(lm.ref, prompt, s, cancel=cancel, stats=stats):
            yield {"text": piece.text, "token_id": piece.token_id}
        return
    rng = rng_for(s.seed)
    ids = _context(lm, prefix)
    start, shown = len(ids), ""
    t0 = time.perf_counter()
    stats.update(finish_reason="length", n_tokens=0)
    for i in range(s.max_tokens):
        if cancel is not None and cancel.is_set():
            stats["finish_reason"] = "cancelled"
            break
        tok = choose(lm.probs(ids), s, rng, ids)
        if lm.is_end(tok):
            stats["finish_reason"] = "stop"
            break
        ids.append(tok)
        text = lm.decode(ids[start:])
        if text.endswith("\ufffd"):  # half a UTF-8 character: wait for the rest
            continue
        piece, shown = text[len(shown) :], text
        stats["n_tokens"] = i + 1
        yield {"text": piece, "token_id": tok}
    stats["n_tokens"] = len(ids) - start
    secs = time.perf_counter() - t0
    stats.update(seconds=secs, tokens_per_s=(len(ids) - start) / secs if secs > 0 else 0.0, text=lm.decode(ids[start:]))


def generate(model: str | LanguageModel, prefix: str, sampling: Sampling = Sampling()) -> dict:
    """The whole generation at once (what ``pizarra generate --json`` prints)."""
    stats: dict = {}
    text = "".join(p["text"] for p in stream(model, prefix, sampling, stats=stats))
    return {
        "model": _model(model).name,
        "prefix": prefix,
        "text": text,
        "n_tokens": stats.get("n_tokens", 0),
        "seconds": round(stats.get("seconds", 0.0), 3),
        "tokens_per_s": round(stats.get("tokens_per_s", 0.0), 2),
        "finish_reason": stats.get("finish_reason"),
        "sampling": sampling.to_dict(),
    }


def score(model: str | LanguageModel, text: str) -> dict:
    """How surprised the model is by ``text``: −log p(text) = −Σ_t log p(x_t | x_<t).

    Reported per token (depends on the tokenizer), and — comparable across models with different
    tokenizers — per word (perplexity = exp(NLL / words), words = whitespace-separated pieces of
    the same text) and in bits per character (NLL / ln 2 / characters).
    """
    _check_text(text, "score_chars", allow_empty=False)
    lm = _model(model)
    t0 = time.perf_counter()
    ids = _context(lm, text)
    lps = lm.logprobs(ids)
    nll = -float(sum(lps))
    n_tok, n_words, n_chars = len(lps), len(text.split()), len(text)
    return {
        "model": lm.name,
        "label": lm.label,
        "tokens": n_tok,
        "words": n_words,
        "chars": n_chars,
        "nll_nats": round(nll, 4),
        "ppl_token": round(math.exp(nll / n_tok), 3),
        "ppl_word": round(math.exp(nll / n_words), 3),
        "bits_per_char": round(nll / math.log(2) / n_chars, 4),
        "tokens_per_word": round(n_tok / n_words, 3),
        "seconds": round(time.perf_counter() - t0, 3),
    }
