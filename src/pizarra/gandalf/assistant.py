"""The guarded assistant: Qwen2.5-Coder-0.5B-Instruct through the shared runtime, with a memo.

    Assistant()(system, user, seed, history=(), prefill="") -> str
    Assistant().stream(system, user, seed, ...) -> the same answer, piece by piece as it is written
        history: earlier (user, assistant) turns; prefill: the answer's first words (the model continues)

Same system prompt + same earlier turns + same question + same seed → same answer (llama.cpp sampling is seeded), so
answers are remembered (a bounded LRU cache): levels that send the model the exact same prompt
share one call, which is what keeps the red-team evaluation within minutes on a laptop.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Iterator

# Gandalf's model. Measured here (2-core AMD EPYC shared with other jobs, 1 thread, level 2's system prompt, 18
# factual questions in Spanish and English x 2 seeds): SmolLM2-135M answered 5/36 right, often in gibberish
# («El quijote es el púcis»), 1.0 s an answer; Qwen2.5-Coder-0.5B 13/36 in sentences that make sense, 1.4 s;
# Qwen2.5-Coder-1.5B 29/36, 2.6 s. The 0.5B: a student sees a defense, not noise, and a class of 30 sharing
# one laptop waits about half as long as with the 1.5B. The red-team numbers are in reports/gandalf_eval*.json.
MODEL = "qwen-coder-0.5b"
MAX_TOKENS = 64  # short answers: enough to leak, quick on 2 cores
TEMPERATURE = 0.7


class Assistant:
    """Callable ``(system, user, seed) -> answer``; ``calls``/``hits`` count model runs and memo hits."""

    def __init__(
        self,
        model: str = MODEL,
        max_tokens: int = MAX_TOKENS,
        temperature: float = TEMPERATURE,
        maxsize: int = 4096,
        backend=None,
        threads: int | None = None,
    ):
        self.threads = threads  # llama.cpp threads for this process's model (1 is steadier on a busy machine)
        self.backend = backend  # optional (system, user, seed) -> text, instead of the local model (tests)
        self.model, self.max_tokens, self.temperature, self.maxsize = model, max_tokens, temperature, maxsize
        self.memo: OrderedDict[tuple, str] = OrderedDict()
        self.lock = threading.Lock()
        self.calls = self.hits = 0
        self.seconds = 0.0

    def __call__(self, system: str, user: str, seed: int, history: tuple = (), prefill: str = "") -> str:
        return "".join(self.stream(system, user, seed, history, prefill))

    def stream(self, system: str, user: str, seed: int, history: tuple = (), prefill: str = "") -> Iterator[str]:
        """The answer in pieces as the model writes them (the prefill first; a remembered answer in one
        piece). Only a whole answer is remembered: closing the stream early leaves the memo as it was."""
        key = (system, tuple(history), user, seed, prefill)
        with self.lock:
            if key in self.memo:
                self.memo.move_to_end(key)
                self.hits += 1
                memo = self.memo[key]
            else:
                memo = None
        if memo is not None:
            yield memo
            return
        t0 = time.perf_counter()
        parts = [prefill]
        if prefill:
            yield prefill
        pieces = (
            [self.backend(system, user, seed)] if self.backend else self._generate(system, user, seed, history, prefill)
        )
        for piece in pieces:
            parts.append(piece)
            yield piece
        text = "".join(parts)
        with self.lock:
            self.calls += 1
            self.seconds += time.perf_counter() - t0
            self.memo[key] = text
            while len(self.memo) > self.maxsize:
                self.memo.popitem(last=False)

    def _generate(self, system: str, user: str, seed: int, history: tuple = (), prefill: str = "") -> Iterator[str]:
        from ..llm import runtime as rt
        from ..llm.worker import RequestCancelled

        if self.threads:
            self._set_threads(rt)
        sampling = rt.Sampling(
            max_tokens=self.max_tokens,
            temperature=self.temperature,
            top_p=0.95,
            top_k=40,
            seed=seed,
            repeat_penalty=1.1,
        )
        messages = [{"role": "system", "content": system}]
        for u, a in history:  # earlier turns (level 1's examples)
            messages += [{"role": "user", "content": u}, {"role": "assistant", "content": a}]
        stats: dict = {}
        for piece in rt.stream_chat(
            self.model, messages + [{"role": "user", "content": user}], sampling, stats=stats, prefill=prefill
        ):
            if piece.text:
                yield piece.text
        if stats.get("finish_reason") == "cancelled":  # a cut answer must not pass for a whole one
            raise RequestCancelled()

    def _set_threads(self, rt) -> None:
        """Use ``threads`` llama.cpp threads: with 2 threads on 2 cores shared with other jobs, each
        token waits for the slower thread (20-60 s an answer measured under load, 0.5-3 s with 1)."""
        rt.set_threads(self.model, self.threads)
        self.threads = None  # once is enough


_default: Assistant | None = None
_default_lock = threading.Lock()


def default_assistant() -> Assistant:
    """The process-wide assistant (one memo shared by the web game)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Assistant()
        return _default
