"""One place where Pizarra talks to llama.cpp: next-token probabilities, sampling, streaming, chat.

Chapters 1, 5, 7, 8 and 9 all use the two shipped GGUF models (Gemma 3 270M base and
SmolLM2-135M-Instruct) or any other ``.gguf`` file the user points at. Everything here:

    resolve(model)                 "gemma-base" | "smollm2" | "/path/to/file.gguf" -> ModelRef
    session(model)                 the loaded llama.cpp context, with its lock held
    next_token_probs(model, text)  top-k of the full softmax over the vocabulary
    stream(model, prompt, s)       sampled pieces of text, one token at a time (cancellable)
    render_chat / stream_chat      the exact text an instruct model receives, and its reply

A llama.cpp context is not thread-safe: every use holds the model's lock, so concurrent web
requests queue instead of corrupting each other's state. Loading happens once per process.
"""

from __future__ import annotations

import codecs
import random
import threading
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

from pizarra.assets import models
from pizarra.llm import compute
from pizarra.errors import BadInput

LLM_NAMES: tuple[str, ...] = ("gemma-base", "smollm2")
DEFAULT_N_CTX = 2048

# The allowed ranges, shared by the API schemas (pydantic Field bounds) and Sampling.validated().
RANGES: dict[str, tuple[float, float]] = {
    "max_tokens": (1, 1024),
    "temperature": (0.0, 2.0),
    "top_p": (0.0, 1.0),  # top_p must be > 0
    "top_k": (0, 1000),  # 0 = off
    "repeat_penalty": (1.0, 2.0),
    "seed": (0, 2**31 - 1),
}


@dataclass(frozen=True)
class ModelRef:
    name: str  # "gemma-base", "smollm2", or the resolved path of a user's .gguf file
    path: Path
    label: str  # short name for humans

    @property
    def key(self) -> str:
        return self.name


@dataclass(frozen=True)
class Sampling:
    """How the next token is chosen. temperature 0 = greedy (argmax); top_k 0 = no top-k cut."""

    max_tokens: int = 128
    temperature: float = 0.8
    top_p: float = 0.95
    top_k: int = 40
    seed: int | None = None
    repeat_penalty: float = 1.1

    def validated(self) -> "Sampling":
        def check(name: str, value: Any, *, open_low: bool = False) -> None:
            lo, hi = RANGES[name]
            bad = value is None or not (lo < value <= hi if open_low else lo <= value <= hi)
            if bad:
                low = f"more than {lo:g}" if open_low else f"at least {lo:g}"
                raise BadInput(f"{name} must be {low} and at most {hi:g} (got {value!r}).")

        check("max_tokens", self.max_tokens)
        check("temperature", self.temperature)
        check("top_p", self.top_p, open_low=True)
        check("top_k", self.top_k)
        check("repeat_penalty", self.repeat_penalty)
        if self.seed is not None:
            check("seed", self.seed)
        return self

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Piece:
    """One generated token: its id and the text it adds (may be "" while a UTF-8 character is split)."""

    text: str
    token_id: int


@dataclass
class Completion:
    text: str
    n_prompt_tokens: int
    n_tokens: int
    seconds: float  # whole call: prompt evaluation + generation
    tokens_per_s: float  # generated tokens / time spent generating them (after the first token)
    finish_reason: str  # "stop" (end of text or stop string), "length", "cancelled"
    prompt_truncated: int = 0  # prompt tokens dropped from the left to fit the context
    stats: dict[str, Any] = field(default_factory=dict)


# ----------------------------------------------------------------------------------------------
# Models and contexts


def resolve(model: str) -> ModelRef:
    """A shipped model name or a path to a ``.gguf`` file; BadInput for anything else."""
    if not isinstance(model, str) or not model.strip():
        raise BadInput(f"Choose a model: {', '.join(LLM_NAMES)} or a path to a .gguf file.")
    model = model.strip()
    if model in LLM_NAMES:
        return ModelRef(model, models.gguf_path(model), model)
    path = Path(model).expanduser()
    if path.suffix.lower() == ".gguf":
        if not path.is_file():
            raise BadInput(f"No GGUF file at {path}.")
        path = path.resolve()
        return ModelRef(str(path), path, path.stem)
    raise BadInput(f"Unknown model '{model}': choose {', '.join(LLM_NAMES)} or a path to a .gguf file.")


def _load(ref: ModelRef, n_ctx: int):
    if ref.name in LLM_NAMES:
        return models.llm(ref.name, n_ctx=n_ctx)

    def make():
        from llama_cpp import Llama  # (pizarra.llm.compute, imported above, has set libgomp's spin count)

        from pizarra.config import threads
        from pizarra.llm.compute import pin

        try:
            return pin(Llama(model_path=str(ref.path), n_ctx=n_ctx, n_threads=threads(),
                             verbose=False, seed=0))
        except (ValueError, RuntimeError) as e:  # not a GGUF llama.cpp can read
            raise BadInput(f"llama.cpp could not load {ref.path}: {e}") from e

    return models._once(("gguf-file", ref.name, n_ctx), make)


@contextmanager
def session(model: str | ModelRef, n_ctx: int = DEFAULT_N_CTX):
    """``with session("smollm2") as (llm, ref):`` — the loaded context, its lock held throughout."""
    ref = model if isinstance(model, ModelRef) else resolve(model)
    llm = _load(ref, n_ctx)
    with models.llm_lock(ref.key):
        yield llm, ref


def tokenize(model: str | ModelRef, text: str, add_bos: bool = True, special: bool = False) -> list[int]:
    with session(model) as (llm, _):
        return llm.tokenize(text.encode("utf-8"), add_bos=add_bos, special=special)


def _token_text(llm, token_id: int) -> str:
    return llm.detokenize([int(token_id)], special=True).decode("utf-8", errors="replace")


def token_text(model: str | ModelRef, token_id: int) -> str:
    """The text of one token (a lone byte of a multi-byte character shows as U+FFFD)."""
    with session(model) as (llm, _):
        return _token_text(llm, token_id)


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
        raise BadInput(f"max_tokens leaves no room for the prompt (context is {llm.n_ctx()} tokens).")
    dropped = len(tokens) - limit
    return tokens[:1] + tokens[1 + dropped:], dropped


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


def next_token_probs(model: str | ModelRef, prompt: str | Sequence[int], k: int = 10) -> list[tuple[int, str, float]]:
    """The k most likely next tokens after ``prompt``, with probabilities of the FULL softmax
    (they need not sum to 1 over the k shown). An empty prompt means "start of text"."""
    if not 1 <= int(k) <= 1000:
        raise BadInput("k must be between 1 and 1000.")
    with session(model) as (llm, _):
        _eval_prompt(llm, prompt)
        logp = _log_softmax(_last_logits(llm))
        top = np.argpartition(-logp, min(k, len(logp) - 1))[:k]
        top = top[np.argsort(-logp[top])]
        return [(int(i), _token_text(llm, int(i)), float(np.exp(logp[i]))) for i in top]


def next_token_logprobs(model: str | ModelRef, prompt: str | Sequence[int], token_ids: Sequence[int]) -> list[float]:
    """log p(token | prompt) for each candidate id (e.g. the first token of each label word)."""
    with session(model) as (llm, _):
        _eval_prompt(llm, prompt)
        logp = _log_softmax(_last_logits(llm))
        n = len(logp)
        out = []
        for t in token_ids:
            if not 0 <= int(t) < n:
                raise BadInput(f"token id {t} is outside the vocabulary (0..{n - 1}).")
            out.append(float(logp[int(t)]))
        return out


# ----------------------------------------------------------------------------------------------
# Generation


def _generate(llm, tokens: list[int], sampling: Sampling, stop: Sequence[str], cancel: threading.Event | None,
              stats: dict[str, Any]) -> Iterator[Piece]:
    import llama_cpp

    s = sampling.validated()
    stop = [x for x in stop if x]
    tokens, dropped = _fit_prompt(llm, tokens, room=s.max_tokens)
    seed = s.seed if s.seed is not None else random.randrange(2**31)
    llm.set_seed(seed)
    t0 = time.perf_counter()
    stats.update(n_prompt_tokens=len(tokens), prompt_truncated=dropped, n_tokens=0, seed=seed,
                 finish_reason="length", first_token_s=None)
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    held = ""  # text held back because it might be the start of a stop string
    text_all = ""
    hold = max((len(x) for x in stop), default=1) - 1
    n = 0
    # Evaluate the whole prompt every time: reusing the KV cache of a shared prefix splits the
    # evaluation into other batches, which changes the logits in the last bits, and a seeded
    # sample would then differ between the first call and the next ones.
    llm.reset()
    gen = llm.generate(tokens, top_k=s.top_k, top_p=s.top_p, min_p=0.0, typical_p=1.0, temp=s.temperature,
                       repeat_penalty=s.repeat_penalty, reset=True)
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
        else:
            pass
        if held and stats["finish_reason"] != "stop":
            text_all += held
            yield Piece(held, -1)
    finally:
        gen.close()
        t1 = time.perf_counter()
        first = stats.get("first_token_s") or (t1 - t0)
        stats.update(n_tokens=n, seconds=t1 - t0, text=text_all,
                     tokens_per_s=(n - 1) / (t1 - t0 - first) if n > 1 and t1 - t0 > first else 0.0)


def stream(model: str | ModelRef, prompt: str | Sequence[int], sampling: Sampling = Sampling(),
           stop: Sequence[str] = (), cancel: threading.Event | None = None,
           stats: dict[str, Any] | None = None) -> Iterator[Piece]:
    """Generate after ``prompt`` (text, or token ids used as they are), one Piece per token.

    Stops at end of text, a stop string (not included), ``max_tokens`` or when ``cancel`` is set.
    Pass a dict as ``stats`` to receive n_prompt_tokens, n_tokens, seconds, tokens_per_s,
    finish_reason, seed and the full text when the stream ends. The model's lock is held for the
    whole stream: consume it promptly (or set ``cancel``).
    """
    sampling = sampling.validated()
    stats = {} if stats is None else stats
    with session(model) as (llm, _):
        yield from compute.iterate(_generate(llm, _prompt_tokens(llm, prompt), sampling, stop, cancel, stats))


def _completion(stats: dict[str, Any]) -> Completion:
    return Completion(text=stats.get("text", ""), n_prompt_tokens=stats["n_prompt_tokens"],
                      n_tokens=stats["n_tokens"], seconds=stats["seconds"], tokens_per_s=stats["tokens_per_s"],
                      finish_reason=stats["finish_reason"], prompt_truncated=stats["prompt_truncated"],
                      stats={k: v for k, v in stats.items() if k != "text"})


def complete(model: str | ModelRef, prompt: str | Sequence[int], sampling: Sampling = Sampling(),
             stop: Sequence[str] = ()) -> Completion:
    stats: dict[str, Any] = {}
    for _ in stream(model, prompt, sampling, stop=stop, stats=stats):
        pass
    return _completion(stats)


# ----------------------------------------------------------------------------------------------
# Chat


ROLES = ("system", "user", "assistant")


def _check_messages(messages: Sequence[dict]) -> list[dict[str, str]]:
    if not messages:
        raise BadInput("A conversation needs at least one message.")
    out = []
    for m in messages:
        role, content = (m.get("role"), m.get("content")) if isinstance(m, dict) else (None, None)
        if role not in ROLES or not isinstance(content, str):
            raise BadInput(f"Each message needs a role ({', '.join(ROLES)}) and a text content.")
        out.append({"role": role, "content": content})
    return out


def chat_template(model: str | ModelRef) -> str | None:
    """The Jinja chat template stored in the GGUF file, or None (base models have none)."""
    with session(model) as (llm, _):
        return llm.metadata.get("tokenizer.chat_template") or None


def _render(llm, ref: ModelRef, messages: list[dict[str, str]]) -> str:
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    template = llm.metadata.get("tokenizer.chat_template")
    if not template:
        raise BadInput(f"{ref.label} has no chat template (it is a base model): send it plain text instead.")
    formatter = Jinja2ChatFormatter(template=template, eos_token=_token_text(llm, llm.token_eos()),
                                    bos_token=_token_text(llm, llm.token_bos()))
    return formatter(messages=messages).prompt


def render_chat(model: str | ModelRef, messages: Sequence[dict]) -> str:
    """The exact text the model receives for this conversation (generation prompt included)."""
    msgs = _check_messages(messages)
    with session(model) as (llm, ref):
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
            raise BadInput(f"The last message is too long: {n} tokens, and the context holds {limit} "
                           f"besides the {reserve} reserved for the reply.")
        kept.pop(idx)
        dropped += 1
    return kept, dropped


def fit_chat(model: str | ModelRef, messages: Sequence[dict], n_ctx: int = DEFAULT_N_CTX,
             reserve: int = 256) -> tuple[list[dict[str, str]], int]:
    """Drop the oldest non-system turns until the conversation + ``reserve`` tokens fit the context."""
    msgs = _check_messages(messages)
    with session(model, n_ctx=n_ctx) as (llm, ref):
        return _fit(llm, ref, msgs, reserve)


def stream_chat(model: str | ModelRef, messages: Sequence[dict], sampling: Sampling = Sampling(),
                cancel: threading.Event | None = None, stats: dict[str, Any] | None = None,
                prefill: str = "") -> Iterator[Piece]:
    """The assistant's reply, token by token; ``stats`` also gets ``dropped_turns`` and ``prompt``.
    ``prefill``: the reply's first words, written for the model (it continues from them; they are
    not yielded again)."""
    sampling = sampling.validated()
    msgs = _check_messages(messages)
    stats = {} if stats is None else stats
    with session(model) as (llm, ref):
        kept, dropped = _fit(llm, ref, msgs, reserve=sampling.max_tokens)
        text = _render(llm, ref, kept) + prefill
        stats.update(dropped_turns=dropped, prompt=text)
        yield from compute.iterate(_generate(llm, _chat_tokens(llm, text), sampling, (), cancel, stats))


def chat(model: str | ModelRef, messages: Sequence[dict], sampling: Sampling = Sampling(),
         prefill: str = "") -> Completion:
    stats: dict[str, Any] = {}
    for _ in stream_chat(model, messages, sampling, stats=stats, prefill=prefill):
        pass
    return _completion(stats)


def with_overrides(sampling: Sampling, **changes: Any) -> Sampling:
    """A copy with some fields changed (None values ignored), validated."""
    return replace(sampling, **{k: v for k, v in changes.items() if v is not None}).validated()
