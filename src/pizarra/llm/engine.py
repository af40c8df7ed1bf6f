"""llama.cpp itself: what runs inside the model worker process (``pizarra.llm.worker``).

Everything here touches a loaded ``llama_cpp.Llama`` and must run in the process that holds it;
the rest of Pizarra calls the same functions through ``pizarra.llm.runtime``, which sends them to
the worker. Functions take a ``ModelRef`` (see ``runtime.resolve``). Generation stops at end of
text, a stop string, ``max_tokens``, when ``cancel`` is set, or when ``budget_s`` seconds have
passed since the prompt started (loading the model does not count).

A llama.cpp context is not thread-safe: every use holds the model's lock. Loading happens once per
process.
"""

from __future__ import annotations

import codecs
import os
import random
import threading
import time
from contextlib import contextmanager
from typing import Any, Iterator, Sequence

import numpy as np

from pizarra.assets import models
from pizarra.errors import BadInput
from pizarra.llm import compute, native
from pizarra.llm.types import DEFAULT_N_CTX, LLM_NAMES, ModelRef, Piece, Sampling, check_messages

_fixed_threads: dict[str, int] = {}  # set_threads(): a count chosen by the caller, not by the meter


def _load(ref: ModelRef, n_ctx: int):
    if ref.name in LLM_NAMES:
        return models.llm(ref.name, n_ctx=n_ctx)

    def make():
        from pizarra.config import threads

        try:
            return compute.pin(native.llama(ref.path, n_ctx=n_ctx, n_threads=threads(), seed=0))
        except (ValueError, RuntimeError) as e:  # not a GGUF llama.cpp can read
            raise BadInput(f"llama.cpp could not load {ref.path}: {e}") from e

    return models._once(("gguf-file", ref.name, n_ctx), make)


def _use_threads(llm, ref: ModelRef) -> None:
    """Threads for the next forward passes: the caller's fixed count, ``PIZARRA_THREADS`` when it is set
    (obeyed as it is), or as many as the CPU has free now (see ``compute.threads_now``)."""
    import llama_cpp

    from pizarra.config import threads

    explicit = os.environ.get("PIZARRA_THREADS", "").strip().isdigit()
    n = _fixed_threads.get(ref.key) or (threads() if explicit else compute.threads_now(threads()))
    if getattr(llm, "_pizarra_threads", None) != n:
        llama_cpp.llama_set_n_threads(llm._ctx.ctx, n, n)
        llm._pizarra_threads = n


@contextmanager
def session(ref: ModelRef, n_ctx: int = DEFAULT_N_CTX):
    """``with session(ref) as llm:`` — the loaded context, its lock held throughout."""
    llm = _load(ref, n_ctx)
    with models.llm_lock(ref.key):
        _use_threads(llm, ref)
        yield llm


# ----------------------------------------------------------------------------------------------
# Facts about a model and its tokenizer


def info(ref: ModelRef) -> dict[str, Any]:
    import llama_cpp

    with session(ref) as llm:
        return {
            "n_vocab": llm.n_vocab(),
            "bos": llm.token_bos(),
            "eos": llm.token_eos(),
            "n_ctx": llm.n_ctx(),
            "n_batch": llm.n_batch,
            "n_params": int(llama_cpp.llama_model_n_params(llm.model)),
            "chat_template": llm.metadata.get("tokenizer.chat_template") or None,
            "threads": getattr(llm, "_pizarra_threads", None),
            "system_info": native.system_info(),
            "no_repacking": native.guarded(),
        }


def set_threads(ref: ModelRef, n: int | None) -> None:
    """Use exactly ``n`` threads for this model from now on (None: as many as the CPU has free)."""
    if n:
        _fixed_threads[ref.key] = int(n)
    else:
        _fixed_threads.pop(ref.key, None)


def tokenize(ref: ModelRef, text: str, add_bos: bool = True, special: bool = False) -> list[int]:
    with session(ref) as llm:
        return llm.tokenize(text.encode("utf-8"), add_bos=add_bos, special=special)


def _token_text(llm, token_id: int) -> str:
    return llm.detokenize([int(token_id)], special=True).decode("utf-8", errors="replace")


def token_text(ref: ModelRef, token_id: int) -> str:
    with session(ref) as llm:
        return _token_text(llm, token_id)


def token_pieces(ref: ModelRef, text: str, special: bool = True) -> list[tuple[int, str]]:
    """(id, text) of every token of ``text`` (no BOS added); a lone byte of a character shows as U+FFFD."""
    with session(ref) as llm:
        ids = llm.tokenize(text.encode("utf-8"), add_bos=False, special=special)
        return [(int(i), _token_text(llm, i)) for i in ids]


def detokenize(ref: ModelRef, ids: Sequence[int]) -> str:
    with session(ref) as llm:
        return llm.detokenize([int(i) for i in ids]).decode("utf-8", errors="replace")


def is_eog(ref: ModelRef, token_id: int) -> bool:
    import llama_cpp

    with session(ref) as llm:
        return bool(llama_cpp.llama_vocab_is_eog(llm._model.vocab, int(token_id)))


# ----------------------------------------------------------------------------------------------
# Probabilities


def _prompt_tokens(llm, prompt: str | Sequence[int], special: bool = False) -> list[int]:
    if isinstance(prompt, str):
        return llm.tokenize(prompt.encode("utf-8"), add_bos=True, special=special)
    return [int(t) for t in prompt]


def _fit_prompt(llm, tokens: list[int], room: int) -> tuple[list[int], int]:
    """Keep the last tokens that leave ``room`` free in the context (the first token, BOS, stays)."""
    limit = llm.n_ctx() - room
    if len(tokens) <= limit:
        return tokens, 0
    if limit < 2:
        raise BadInput(
            f"max_tokens leaves no room for the prompt (context is {llm.n_ctx()} tokens).",
            key="err.llm.no_room",
            n=llm.n_ctx(),
        )
    dropped = len(tokens) - limit
    return tokens[:1] + tokens[1 + dropped :], dropped


def _last_logits(llm) -> np.ndarray:
    import llama_cpp

    ptr = llama_cpp.llama_get_logits_ith(llm.ctx, -1)
    return np.ctypeslib.as_array(ptr, shape=(llm.n_vocab(),)).astype(np.float64)


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max()
    return z - np.log(np.exp(z).sum())


def _eval_prompt(llm, prompt: str | Sequence[int]) -> list[int]:
    tokens = _prompt_tokens(llm, prompt)
    if not tokens:
        tokens = [llm.token_bos()]
    tokens, _ = _fit_prompt(llm, tokens, room=1)
    llm.reset()
    llm.eval(tokens)
    return tokens


def next_token_probs(ref: ModelRef, prompt: str | Sequence[int], k: int = 10) -> list[tuple[int, str, float]]:
    if not 1 <= int(k) <= 1000:
        raise BadInput("k must be between 1 and 1000.", key="err.range_plain", name="k", lo=1, hi=1000)
    with session(ref) as llm:
        _eval_prompt(llm, prompt)
        logp = _log_softmax(_last_logits(llm))
        top = np.argpartition(-logp, min(k, len(logp) - 1))[:k]
        top = top[np.argsort(-logp[top])]
        return [(int(i), _token_text(llm, int(i)), float(np.exp(logp[i]))) for i in top]


def next_token_logprobs(ref: ModelRef, prompt: str | Sequence[int], token_ids: Sequence[int]) -> list[float]:
    with session(ref) as llm:
        _eval_prompt(llm, prompt)
        logp = _log_softmax(_last_logits(llm))
        n = len(logp)
        out = []
        for t in token_ids:
            if not 0 <= int(t) < n:
                raise BadInput(
                    f"token id {t} is outside the vocabulary (0..{n - 1}).", key="err.llm.token_id", id=str(t), hi=n - 1
                )
            out.append(float(logp[int(t)]))
        return out


def prefix_probs(ref: ModelRef, ids: Sequence[int], fresh: bool = False) -> np.ndarray:
    """p(next | ids) over the whole vocabulary, evaluating only what differs from the context's last
    prefix (the KV cache is reused while a text grows one token at a time). ``fresh``: the whole
    prefix in one batch, whatever the cache holds. llama.cpp takes other kernels for a batch of one
    token than for a long batch (on an AVX-512 Xeon the slide's «playa» came out 37.9 % one way and
    38.3 % the other), so a number the class compares across page and CLI is computed fresh."""
    import llama_cpp

    ids = [int(i) for i in ids]
    with session(ref) as llm:
        limit = llm.n_ctx() - 1
        ids = ids if len(ids) <= limit else ids[:1] + ids[len(ids) - limit + 1 :]
        n = 0 if fresh else min(llm.n_tokens, len(ids) - 1)  # always evaluate at least the last token
        held = llm.input_ids[:n].tolist()
        same = 0
        while same < n and held[same] == ids[same]:
            same += 1
        llm.n_tokens = same
        llm.eval(ids[same:])
        ptr = llama_cpp.llama_get_logits_ith(llm.ctx, -1)
        logits = np.ctypeslib.as_array(ptr, shape=(llm.n_vocab(),)).astype(np.float64)
    z = np.exp(logits - logits.max())
    return z / z.sum()


def sequence_logprobs(ref: ModelRef, ids: Sequence[int], window: int = 1024) -> list[float]:
    """log p(ids[j] | ids[:j]) for j >= 1, in chunks of ``window / 2`` new tokens, each after up to
    ``window / 2`` tokens of context; one llama.cpp batch returns the logits of a whole chunk."""
    import llama_cpp

    ids = [int(i) for i in ids]
    out: list[float] = []
    with session(ref) as llm:
        half = min(window, llm.n_batch) // 2  # one chunk must fit llama.cpp's batch
        V = llm.n_vocab()
        done = 1
        while done < len(ids):
            lo = 0 if done == 1 else max(0, done - half)
            hi = min(len(ids), done + half)
            chunk = ids[lo:hi]
            llm.reset()
            llm._ctx.kv_cache_seq_rm(-1, 0, -1)  # nothing of an earlier chunk may be attended
            llm._batch.set_batch(batch=chunk, n_past=0, logits_all=False)
            for j in range(done, hi):  # logits only where a new token is predicted (the head is costly)
                llm._batch.batch.logits[j - lo - 1] = True
            llm._ctx.decode(llm._batch)
            for j in range(done, hi):
                row = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(llm.ctx, j - lo - 1), shape=(V,))
                row = row.astype(np.float64)
                m = row.max()
                out.append(float(row[ids[j]] - m - np.log(np.exp(row - m).sum())))
            done = hi
        llm.reset()  # the context's cache no longer matches input_ids: start clean next time
    return out


# ----------------------------------------------------------------------------------------------
# Generation


def _generate(
    llm,
    tokens: list[int],
    sampling: Sampling,
    stop: Sequence[str],
    cancel: threading.Event | None,
    stats: dict[str, Any],
    budget_s: float | None = None,
) -> Iterator[Piece]:
    import llama_cpp

    s = sampling.validated()
    stop = [x for x in stop if x]
    tokens, dropped = _fit_prompt(llm, tokens, room=s.max_tokens)
    seed = s.seed if s.seed is not None else random.randrange(2**31)
    llm.set_seed(seed)
    t0 = time.perf_counter()
    # the budget counts from here: loading the model (the first request after a start) is not the request's
    deadline = time.monotonic() + budget_s if budget_s is not None else None
    stats.update(
        n_prompt_tokens=len(tokens),
        prompt_truncated=dropped,
        n_tokens=0,
        seed=seed,
        finish_reason="length",
        first_token_s=None,
        threads=getattr(llm, "_pizarra_threads", None),
    )
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    held = ""  # text held back because it might be the start of a stop string
    text_all = ""
    hold = max((len(x) for x in stop), default=1) - 1
    n = 0
    # Evaluate the whole prompt every time: reusing the KV cache of a shared prefix splits the
    # evaluation into other batches, which changes the logits in the last bits, and a seeded
    # sample would then differ between the first call and the next ones.
    llm.reset()
    gen = llm.generate(
        tokens,
        top_k=s.top_k,
        top_p=s.top_p,
        min_p=0.0,
        typical_p=1.0,
        temp=s.temperature,
        repeat_penalty=s.repeat_penalty,
        reset=True,
    )
    try:
        for token in gen:
            if n == 0:
                stats["first_token_s"] = time.perf_counter() - t0
            if llama_cpp.llama_vocab_is_eog(llm._model.vocab, token):
                stats["finish_reason"] = "stop"
                break
            n += 1
            held += decoder.decode(llm.detokenize([token], special=False))
            cut = min((held.find(x) for x in stop if x in held), default=-1)
            if cut >= 0:
                out, held = held[:cut], ""
                text_all += out
                if out:
                    yield Piece(out, int(token))
                stats["finish_reason"] = "stop"
                break
            emit_upto = max(0, len(held) - hold) if stop else len(held)
            out, held = held[:emit_upto], held[emit_upto:]
            text_all += out
            yield Piece(out, int(token))
            if cancel is not None and cancel.is_set():
                stats["finish_reason"] = "cancelled"
                break
            if n >= s.max_tokens:
                break
            if deadline is not None and time.monotonic() >= deadline:
                stats["finish_reason"] = "time"
                break
        if held and stats["finish_reason"] != "stop":
            text_all += held
            yield Piece(held, -1)
    finally:
        gen.close()
        t1 = time.perf_counter()
        first = stats.get("first_token_s") or (t1 - t0)
        stats.update(
            n_tokens=n,
            seconds=t1 - t0,
            text=text_all,
            tokens_per_s=(n - 1) / (t1 - t0 - first) if n > 1 and t1 - t0 > first else 0.0,
        )


def stream(
    ref: ModelRef,
    prompt: str | Sequence[int],
    sampling: Sampling = Sampling(),
    stop: Sequence[str] = (),
    cancel: threading.Event | None = None,
    stats: dict[str, Any] | None = None,
    budget_s: float | None = None,
) -> Iterator[Piece]:
    sampling = sampling.validated()
    stats = {} if stats is None else stats
    with session(ref) as llm:
        yield from compute.iterate(_generate(llm, _prompt_tokens(llm, prompt), sampling, stop, cancel, stats, budget_s))


# ----------------------------------------------------------------------------------------------
# Chat


def chat_template(ref: ModelRef) -> str | None:
    with session(ref) as llm:
        return llm.metadata.get("tokenizer.chat_template") or None


def _render(llm, ref: ModelRef, messages: list[dict[str, str]]) -> str:
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    template = llm.metadata.get("tokenizer.chat_template")
    if not template:
        raise BadInput(
            f"{ref.label} has no chat template (it is a base model): send it plain text instead.",
            key="err.llm.no_template",
            model=ref.label,
        )
    formatter = Jinja2ChatFormatter(
        template=template, eos_token=_token_text(llm, llm.token_eos()), bos_token=_token_text(llm, llm.token_bos())
    )
    return formatter(messages=messages).prompt  # type: ignore[arg-type]  # role/content dicts, as it expects


def render_chat(ref: ModelRef, messages: Sequence[dict]) -> str:
    msgs = check_messages(messages)
    with session(ref) as llm:
        return _render(llm, ref, msgs)


def _chat_tokens(llm, text: str) -> list[int]:
    bos = _token_text(llm, llm.token_bos())
    return llm.tokenize(text.encode("utf-8"), add_bos=not (bos and text.startswith(bos)), special=True)


def _fit(llm, ref: ModelRef, msgs: list[dict[str, str]], reserve: int) -> tuple[list[dict[str, str]], int]:
    limit = llm.n_ctx() - reserve
    kept, dropped = list(msgs), 0
    while len(_chat_tokens(llm, _render(llm, ref, kept))) > limit:
        idx = next((i for i, m in enumerate(kept) if m["role"] != "system"), None)
        if idx is None or idx == len(kept) - 1:  # only the newest message is left: it alone is too long
            n = len(_chat_tokens(llm, _render(llm, ref, kept)))
            raise BadInput(
                f"The last message is too long: {n} tokens, and the context holds {limit} "
                f"besides the {reserve} reserved for the reply.",
                key="err.llm.last_too_long",
                n=n,
                limit=limit,
                reserve=reserve,
            )
        kept.pop(idx)
        dropped += 1
    return kept, dropped


def fit_chat(
    ref: ModelRef, messages: Sequence[dict], n_ctx: int = DEFAULT_N_CTX, reserve: int = 256
) -> tuple[list[dict[str, str]], int]:
    msgs = check_messages(messages)
    with session(ref, n_ctx=n_ctx) as llm:
        return _fit(llm, ref, msgs, reserve)


def stream_chat(
    ref: ModelRef,
    messages: Sequence[dict],
    sampling: Sampling = Sampling(),
    cancel: threading.Event | None = None,
    stats: dict[str, Any] | None = None,
    prefill: str = "",
    budget_s: float | None = None,
) -> Iterator[Piece]:
    sampling = sampling.validated()
    msgs = check_messages(messages)
    stats = {} if stats is None else stats
    with session(ref) as llm:
        kept, dropped = _fit(llm, ref, msgs, reserve=sampling.max_tokens)
        text = _render(llm, ref, kept) + prefill
        stats.update(dropped_turns=dropped, prompt=text)
        yield from compute.iterate(_generate(llm, _chat_tokens(llm, text), sampling, (), cancel, stats, budget_s))


def smoke(ref: ModelRef, prompt: str = "El cielo es", max_tokens: int = 8) -> dict[str, Any]:
    """Load the model, generate a few greedy tokens; what ``pizarra doctor`` and ``models check`` run."""
    t0 = time.perf_counter()
    _load(ref, DEFAULT_N_CTX)
    t1 = time.perf_counter()
    stats: dict[str, Any] = {}
    for _ in stream(ref, prompt, Sampling(max_tokens=max_tokens, temperature=0.0, seed=0), stats=stats):
        pass
    return {
        "load_s": t1 - t0,
        "run_s": time.perf_counter() - t1,
        "result": prompt + stats.get("text", ""),
        "n_tokens": stats.get("n_tokens", 0),
    }


# ----------------------------------------------------------------------------------------------
# What the worker process may be asked to run (by name), and which of them are token streams.

CALLS = {
    f.__name__: f
    for f in (
        info,
        set_threads,
        tokenize,
        token_text,
        token_pieces,
        detokenize,
        is_eog,
        next_token_probs,
        next_token_logprobs,
        prefix_probs,
        sequence_logprobs,
        chat_template,
        render_chat,
        fit_chat,
        smoke,
    )
}
STREAMS = {f.__name__: f for f in (stream, stream_chat)}
