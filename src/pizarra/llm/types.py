"""What callers and the llama.cpp worker exchange: model names, sampling settings, results.

Plain data, no llama.cpp: both sides of the worker pipe (``pizarra.llm.worker``) import it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Sequence

from pizarra.errors import BadInput, Phrase

LLM_NAMES: tuple[str, ...] = ("gemma-base", "smollm2", "qwen-coder-0.5b", "qwen-coder-1.5b")
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
                raise BadInput(
                    f"{name} must be {low} and at most {hi:g} (got {value!r}).",
                    key="err.llm.sampling_range",
                    name=name,
                    low=Phrase("err.more_than" if open_low else "err.at_least", {"n": lo}),
                    hi=hi,
                    value=str(value),
                )

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


def with_overrides(sampling: Sampling, **changes: Any) -> Sampling:
    """A copy with some fields changed (None values ignored), validated."""
    return replace(sampling, **{k: v for k, v in changes.items() if v is not None}).validated()


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


def completion(stats: dict[str, Any]) -> Completion:
    """The Completion a finished stream's ``stats`` describe."""
    return Completion(
        text=stats.get("text", ""),
        n_prompt_tokens=stats["n_prompt_tokens"],
        n_tokens=stats["n_tokens"],
        seconds=stats["seconds"],
        tokens_per_s=stats["tokens_per_s"],
        finish_reason=stats["finish_reason"],
        prompt_truncated=stats["prompt_truncated"],
        stats={k: v for k, v in stats.items() if k != "text"},
    )


ROLES = ("system", "user", "assistant")


def check_messages(messages: Sequence[dict]) -> list[dict[str, str]]:
    if not messages:
        raise BadInput("A conversation needs at least one message.", key="err.chat.no_messages")
    out = []
    for m in messages:
        role, content = (m.get("role"), m.get("content")) if isinstance(m, dict) else (None, None)
        if role not in ROLES or not isinstance(content, str):
            raise BadInput(
                f"Each message needs a role ({', '.join(ROLES)}) and a text content.",
                key="err.chat.message_shape",
                roles=ROLES,
            )
        out.append({"role": role, "content": content})
    return out
