"""One place where Pizarra talks to llama.cpp: next-token probabilities, sampling, streaming, chat.

Chapters 1, 5, 7, 8 and 9 all use the two shipped GGUF models (Gemma 3 270M base and
SmolLM2-135M-Instruct) or any other ``.gguf`` file the user points at. Everything here:

    resolve(model)                 "gemma-base" | "smollm2" | "/path/to/file.gguf" -> ModelRef
    next_token_probs(model, text)  top-k of the full softmax over the vocabulary
    stream(model, prompt, s)       sampled pieces of text, one token at a time (cancellable)
    render_chat / stream_chat      the exact text an instruct model receives, and its reply
    request_scope(cancel, budget)  what the web layer wraps a request in (see below)

llama.cpp itself never runs in this process: each model lives in a worker process of its own
(``pizarra.llm.worker``, running ``pizarra.llm.engine``), which takes one request at a time. A crash
in native code costs the requests in flight a ``ModelRestarted`` (503), and the next request starts
a new worker. Inside ``request_scope(cancel, budget_s)`` every model call stops when ``cancel`` is set
(the client went away) and all of them together hold the model at most ``budget_s`` seconds.
"""

from __future__ import annotations

import atexit
import contextvars
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Sequence

from pizarra.assets import models
from pizarra.errors import BadInput
from pizarra.llm import fair
from pizarra.llm.types import (  # noqa: F401  (re-exported: the runtime is where callers find them)
    DEFAULT_N_CTX,
    LLM_NAMES,
    RANGES,
    ROLES,
    Completion,
    ModelRef,
    Piece,
    Sampling,
    check_messages,
    completion,
    with_overrides,
)
from pizarra.llm.worker import ModelRestarted, RequestCancelled, Worker  # noqa: F401

# ----------------------------------------------------------------------------------------------
# Models and their workers


def resolve(model: str | ModelRef) -> ModelRef:
    """A shipped model name or a path to a ``.gguf`` file; BadInput for anything else."""
    if isinstance(model, ModelRef):
        return model
    if not isinstance(model, str) or not model.strip():
        raise BadInput(f"Choose a model: {', '.join(LLM_NAMES)} or a path to a .gguf file.")
    model = model.strip()
    if model in LLM_NAMES:
        return ModelRef(model, models.gguf_path(model), model)
    path = Path(model).expanduser()
    if fair.enabled() and fair.who.get() not in (None, fair.TEACHER):
        raise BadInput(f"Unknown model '{model}': choose {', '.join(LLM_NAMES)}.")  # no files for students
    if path.suffix.lower() == ".gguf":
        if not path.is_file():
            raise BadInput(f"No GGUF file at {path}.")
        path = path.resolve()
        return ModelRef(str(path), path, path.stem)
    raise BadInput(f"Unknown model '{model}': choose {', '.join(LLM_NAMES)} or a path to a .gguf file.")


_workers: dict[str, Worker] = {}
_workers_lock = threading.Lock()


def worker(model: str | ModelRef) -> Worker:
    """The worker process of ``model`` (one per model; started on its first request)."""
    ref = resolve(model)
    with _workers_lock:
        nice = fair.WORKER_NICE if fair.enabled() else 0  # a class: models yield the CPU to pages and cheap work
        w = _workers.get(ref.key)
        if w is None:
            w = _workers[ref.key] = Worker(ref.key, nice=nice)
        elif w.nice != nice:
            w.renice(nice)
        return w


def workers() -> dict[str, Worker]:
    with _workers_lock:
        return dict(_workers)


@atexit.register
def shutdown() -> None:
    """Stop every worker process (at exit; tests call it too)."""
    for w in workers().values():
        w.close()


# ----------------------------------------------------------------------------------------------
# Request scope: cancellation and a time budget shared by every model call of one request


@dataclass
class Scope:
    cancel: threading.Event
    budget_s: float | None = None  # seconds of model time this request may use, all calls together
    used_s: float = 0.0
    turns: set[str] = field(default_factory=set)  # models this request already had a turn at (classroom)

    def remaining(self) -> float | None:
        return None if self.budget_s is None else max(0.0, self.budget_s - self.used_s)


_scope: contextvars.ContextVar[Scope | None] = contextvars.ContextVar("pizarra_llm_scope", default=None)


@contextmanager
def request_scope(cancel: threading.Event | None = None, budget_s: float | None = None):
    """Every model call inside stops when ``cancel`` is set and gets what is left of ``budget_s``."""
    token = _scope.set(Scope(cancel or threading.Event(), budget_s))
    try:
        yield _scope.get()
    finally:
        _scope.reset(token)


def _cancels(extra: threading.Event | None = None) -> list[threading.Event]:
    scope = _scope.get()
    events = [e for e in (extra, scope.cancel if scope else None) if e is not None]
    if any(e.is_set() for e in events):
        raise RequestCancelled()
    return events


@contextmanager
def _turn(key: str, events: list[threading.Event]):
    """The request's turn at model ``key``; a later call of the same request goes before new requests."""
    scope = _scope.get()
    with fair.turn(key, events, resumed=scope is not None and key in scope.turns):
        if scope is not None:
            scope.turns.add(key)
        yield


def _call(model: str | ModelRef, name: str, *args, **kwargs) -> Any:
    ref = resolve(model)
    events = _cancels()
    with _turn(ref.key, events):  # classroom mode: the student's turn (see pizarra.llm.fair)
        try:
            result, busy = worker(ref).call(name, (ref, *args), kwargs, cancel=events)
        except ModelRestarted as e:
            if not e.bystander:  # a crash: 503, the client may try again
                raise
            # Pizarra killed the worker under ANOTHER request, whose client had gone and which did not let
            # go of the model (worker.CANCEL_GRACE_S); this one never got its answer: asked once more.
            result, busy = worker(ref).call(name, (ref, *args), kwargs, cancel=events)
    scope = _scope.get()
    if scope is not None:
        scope.used_s += busy
    return result


def _stream(
    model: str | ModelRef,
    name: str,
    args: tuple,
    kwargs: dict,
    cancel: threading.Event | None,
    stats: dict[str, Any] | None,
) -> Iterator[Piece]:
    ref = resolve(model)
    scope = _scope.get()
    events = _cancels(cancel)
    with _turn(ref.key, events):
        for attempt in (1, 2):
            it = worker(ref).stream(
                name, (ref, *args), kwargs, cancel=events, budget_s=scope.remaining() if scope else None
            )
            started = False
            try:
                while True:
                    try:
                        item = next(it)
                    except StopIteration as stop:
                        end = stop.value
                        break
                    started = True
                    yield item
                break
            except ModelRestarted as e:
                # as in _call: a bystander of another request's kill is asked once more, unless it already
                # showed something
                if started or attempt == 2 or not e.bystander:
                    raise
            finally:
                it.close()
    result, busy = end
    if scope is not None:
        scope.used_s += busy
    if stats is not None:
        stats.update(result)


# ----------------------------------------------------------------------------------------------
# What a model knows, and next-token probabilities


def info(model: str | ModelRef) -> dict[str, Any]:
    """n_vocab, bos, eos, n_ctx, n_batch, n_params, chat_template, threads, llama.cpp's system info."""
    return _call(model, "info")


def set_threads(model: str | ModelRef, n: int | None) -> None:
    """Use exactly ``n`` llama.cpp threads for ``model`` (None: as many as the CPU has free now)."""
    _call(model, "set_threads", n)


def tokenize(model: str | ModelRef, text: str, add_bos: bool = True, special: bool = False) -> list[int]:
    return _call(model, "tokenize", text, add_bos=add_bos, special=special)


def token_text(model: str | ModelRef, token_id: int) -> str:
    """The text of one token (a lone byte of a multi-byte character shows as U+FFFD)."""
    return _call(model, "token_text", int(token_id))


def token_pieces(model: str | ModelRef, text: str, special: bool = True) -> list[tuple[int, str]]:
    """(id, text) of every token of ``text``, as the model reads it (no BOS added)."""
    return _call(model, "token_pieces", text, special=special)


def detokenize(model: str | ModelRef, ids: Sequence[int]) -> str:
    return _call(model, "detokenize", [int(i) for i in ids])


def is_eog(model: str | ModelRef, token_id: int) -> bool:
    """Does ``token_id`` end a generation (end of text, end of turn)?"""
    return _call(model, "is_eog", int(token_id))


def _as_prompt(prompt: str | Sequence[int]) -> str | list[int]:
    return prompt if isinstance(prompt, str) else [int(t) for t in prompt]


def next_token_probs(model: str | ModelRef, prompt: str | Sequence[int], k: int = 10) -> list[tuple[int, str, float]]:
    """The k most likely next tokens after ``prompt``, with probabilities of the FULL softmax
    (they need not sum to 1 over the k shown). An empty prompt means "start of text"."""
    if not 1 <= int(k) <= 1000:
        raise BadInput("k must be between 1 and 1000.")
    return _call(model, "next_token_probs", _as_prompt(prompt), int(k))


def next_token_logprobs(model: str | ModelRef, prompt: str | Sequence[int], token_ids: Sequence[int]) -> list[float]:
    """log p(token | prompt) for each candidate id (e.g. the first token of each label word)."""
    return _call(model, "next_token_logprobs", _as_prompt(prompt), [int(t) for t in token_ids])


def prefix_probs(model: str | ModelRef, ids: Sequence[int], fresh: bool = False):
    """p(next | ids) over the whole vocabulary (numpy array); a growing text reuses the model's cache
    unless ``fresh`` (the whole prefix in one batch: the same number whatever was asked before)."""
    return _call(model, "prefix_probs", [int(i) for i in ids], fresh=fresh)


def sequence_logprobs(model: str | ModelRef, ids: Sequence[int], window: int = 1024) -> list[float]:
    """log p(ids[j] | ids[:j]) for every j >= 1 (perplexity), in windows of ``window`` tokens."""
    return _call(model, "sequence_logprobs", [int(i) for i in ids], window=window)


# ----------------------------------------------------------------------------------------------
# Generation


def stream(
    model: str | ModelRef,
    prompt: str | Sequence[int],
    sampling: Sampling = Sampling(),
    stop: Sequence[str] = (),
    cancel: threading.Event | None = None,
    stats: dict[str, Any] | None = None,
) -> Iterator[Piece]:
    """Generate after ``prompt`` (text, or token ids used as they are), one Piece per token.

    Stops at end of text, a stop string (not included), ``max_tokens``, when ``cancel`` is set, or
    when the request's time budget is spent (finish_reason "time"). Pass a dict as ``stats`` to
    receive n_prompt_tokens, n_tokens, seconds, tokens_per_s, finish_reason, seed and the full text
    when the stream ends. Closing the generator early stops the model at its next token.
    """
    sampling = sampling.validated()
    yield from _stream(model, "stream", (_as_prompt(prompt), sampling), {"stop": list(stop)}, cancel, stats)


def complete(
    model: str | ModelRef, prompt: str | Sequence[int], sampling: Sampling = Sampling(), stop: Sequence[str] = ()
) -> Completion:
    """The whole generation at once. Cancelled (the client went away) → RequestCancelled: a cut answer
    must not pass for a whole one (a memo would keep it)."""
    stats: dict[str, Any] = {}
    for _ in stream(model, prompt, sampling, stop=stop, stats=stats):
        pass
    return _finished(stats)


def _finished(stats: dict[str, Any]) -> Completion:
    if stats.get("finish_reason") == "cancelled":
        raise RequestCancelled()
    return completion(stats)


# ----------------------------------------------------------------------------------------------
# Chat


def chat_template(model: str | ModelRef) -> str | None:
    """The Jinja chat template stored in the GGUF file, or None (base models have none)."""
    return _call(model, "chat_template")


def render_chat(model: str | ModelRef, messages: Sequence[dict]) -> str:
    """The exact text the model receives for this conversation (generation prompt included)."""
    return _call(model, "render_chat", check_messages(messages))


def fit_chat(
    model: str | ModelRef, messages: Sequence[dict], n_ctx: int = DEFAULT_N_CTX, reserve: int = 256
) -> tuple[list[dict[str, str]], int]:
    """Drop the oldest non-system turns until the conversation + ``reserve`` tokens fit the context."""
    return _call(model, "fit_chat", check_messages(messages), n_ctx=n_ctx, reserve=reserve)


def stream_chat(
    model: str | ModelRef,
    messages: Sequence[dict],
    sampling: Sampling = Sampling(),
    cancel: threading.Event | None = None,
    stats: dict[str, Any] | None = None,
    prefill: str = "",
) -> Iterator[Piece]:
    """The assistant's reply, token by token; ``stats`` also gets ``dropped_turns`` and ``prompt``.
    ``prefill``: the reply's first words, written for the model (it continues from them; they are
    not yielded again)."""
    sampling = sampling.validated()
    msgs = check_messages(messages)
    yield from _stream(model, "stream_chat", (msgs, sampling), {"prefill": prefill}, cancel, stats)


def chat(
    model: str | ModelRef, messages: Sequence[dict], sampling: Sampling = Sampling(), prefill: str = ""
) -> Completion:
    stats: dict[str, Any] = {}
    for _ in stream_chat(model, messages, sampling, stats=stats, prefill=prefill):
        pass
    return _finished(stats)


def smoke(model: str | ModelRef, prompt: str = "El cielo es", max_tokens: int = 8) -> dict[str, Any]:
    """Load the model in its worker and generate a few greedy tokens (load_s, run_s, result)."""
    t0 = time.perf_counter()
    out = _call(model, "smoke", prompt, max_tokens)
    return {**out, "total_s": time.perf_counter() - t0}
