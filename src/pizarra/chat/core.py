"""Base model vs instruction-tuned model, the chat template, and instruction data.

    base_vs_instruct(prompt)      the same request to Gemma 3 270M base (plain continuation) and to
                                  SmolLM2-135M-Instruct (through its chat template), side by side
    base_vs_instruct_events(...)  the same, streamed token by token (the page's two columns)
    chat_view(messages)           the exact text and tokens the chat model receives
    reply(messages, ...)          one assistant turn -> {"model", "reply", ...}
    instruction_examples(...)     instruction -> output pairs (self-instruct), as OpenOrca's

The lecture: base models "no siguen bien las instrucciones ni las conversaciones" — BLOOM given
"Escribe un resumen de El Quijote. (300 palabras)" just keeps writing more text like the prompt.
An instruct model was further trained on (instruction, answer) pairs wrapped in a chat template.
"""

from __future__ import annotations

from typing import Iterator, Sequence

from ..errors import BadInput, Phrase
from .code import BMI_PROMPT_ES
from .hallucination import FOLLOW_UPS, STORY
from .validate import utf8

# Base vs instruct: the tiniest instruct model makes the point (the template turns a continuation into an
# answer). Chat and code: the models that measured best on these 2 cores (README, "8 · Instrucciones"):
# Qwen2.5-Coder-1.5B answers Spanish general-knowledge questions (SmolLM2-135M: none of 20) at ~10
# tokens/s, and writes the lecture's BMI program right in Spanish and in English (reports/chat_bmi_*_qwen15.json);
# the 0.5B, twice as fast, got the English one right only 11 times in 20 (it turns metres into centimetres).
BASE_MODEL, INSTRUCT_MODEL = "gemma-base", "smollm2"
CHAT_MODEL, CODE_MODEL = "qwen-coder-1.5b", "qwen-coder-1.5b"
CHAT_MODELS = ("qwen-coder-1.5b", "qwen-coder-0.5b", "smollm2")  # what the chat page offers, best first
DEFAULT_SYSTEM = {
    "es": "Eres un asistente útil. Responde en español, con frases breves y datos correctos.",
    "en": "You are a helpful assistant. Answer briefly and accurately.",
}
MAX_MESSAGE_CHARS = 4000
MAX_MESSAGES = 50

# The prompts of the slides, preloaded on the page.
LECTURE_PROMPTS = {
    "quijote": "Escribe un resumen de El Quijote. (300 palabras)",
    "quijote_en": "Write a summary of Don Quixote. (300 words)",
    "bmi": BMI_PROMPT_ES,
    "book": STORY + "\n\n" + FOLLOW_UPS[0],
}


def _sampling(max_tokens: int, temperature: float, seed: int | None, top_p: float = 0.95):
    from pizarra.llm import runtime as rt

    return rt.Sampling(max_tokens=max_tokens, temperature=temperature, top_p=top_p, seed=seed).validated()


def check_messages(messages: Sequence[dict], system: str | None = None) -> list[dict]:
    """Validate a conversation (roles, sizes); a ``system`` text goes first when given."""
    msgs = [dict(m) for m in messages]
    if system and system.strip():
        msgs = [m for m in msgs if m.get("role") != "system"]
        msgs.insert(0, {"role": "system", "content": system.strip()})
    if not msgs or msgs[-1].get("role") != "user":
        raise BadInput("The conversation must end with a message from the user.", key="err.chat.last_not_user")
    if len(msgs) > MAX_MESSAGES:
        raise BadInput(
            f"The conversation has {len(msgs)} messages; the limit is {MAX_MESSAGES}.",
            key="err.chat.too_many_messages",
            n=len(msgs),
            limit=MAX_MESSAGES,
        )
    for m in msgs:
        if m.get("role") not in ("system", "user", "assistant") or not isinstance(m.get("content"), str):
            raise BadInput(
                "Each message needs a role (system, user or assistant) and a text content.",
                key="err.chat.message_shape",
                roles=("system", "user", "assistant"),
            )
        utf8(m["content"], "message")
        if len(m["content"]) > MAX_MESSAGE_CHARS:
            raise BadInput(
                f"A message has {len(m['content'])} characters; the limit is {MAX_MESSAGE_CHARS}.",
                key="err.text_too_long",
                what=Phrase("err.what.message"),
                n=len(m["content"]),
                limit=MAX_MESSAGE_CHARS,
            )
    return msgs


def chat_view(messages: Sequence[dict], model: str = CHAT_MODEL, system: str | None = None) -> dict:
    """The exact text the chat model receives (template applied, generation prompt added), and its tokens."""
    from pizarra.llm import runtime as rt

    msgs = check_messages(messages, system)
    kept, dropped = rt.fit_chat(model, msgs, reserve=1)
    text = rt.render_chat(model, kept)
    tokens = rt.token_pieces(model, text, special=True)
    return {
        "model": model,
        "prompt": text,
        "tokens": [{"id": int(i), "text": p} for i, p in tokens],
        "n_tokens": len(tokens),
        "dropped_turns": dropped,
        "template": rt.chat_template(model),
    }


def _check_prompt(prompt: str) -> None:
    if not isinstance(prompt, str) or not prompt.strip():
        raise BadInput("Write a prompt for the two models.", key="err.chat.no_prompt")
    if len(prompt) > MAX_MESSAGE_CHARS:
        raise BadInput(
            f"The prompt has {len(prompt)} characters; the limit is {MAX_MESSAGE_CHARS}.",
            key="err.text_too_long",
            what=Phrase("err.what.prompt"),
            n=len(prompt),
            limit=MAX_MESSAGE_CHARS,
        )
    utf8(prompt, "prompt")


def _side_stats(stats: dict) -> dict:
    return {
        "n_tokens": stats.get("n_tokens"),
        "seconds": round(stats.get("seconds", 0.0), 2),
        "tokens_per_s": round(stats.get("tokens_per_s", 0.0), 1),
        "finish_reason": stats.get("finish_reason"),
    }


def base_vs_instruct_events(
    prompt: str,
    max_tokens: int = 96,
    temperature: float = 0.7,
    seed: int | None = 0,
    base: str = BASE_MODEL,
    instruct: str = INSTRUCT_MODEL,
    cancel=None,
) -> Iterator[dict]:
    """:func:`base_vs_instruct`, as it happens: for each side (the base model first, then the instruct
    model: on two cores they take turns) ``start`` (model, the exact text it receives), one ``token``
    per token, ``done`` (its numbers). Validate with :func:`check_compare` before streaming."""
    from pizarra.llm import runtime as rt

    s = _sampling(max_tokens, temperature, seed)
    messages = [{"role": "user", "content": prompt}]
    view = chat_view(messages, instruct)
    sides = (
        ("base", base, prompt, None, lambda st: rt.stream(base, prompt, s, cancel=cancel, stats=st)),
        (
            "instruct",
            instruct,
            view["prompt"],
            view["tokens"],
            lambda st: rt.stream_chat(instruct, messages, s, cancel=cancel, stats=st),
        ),
    )
    for side, model, received, tokens, run in sides:
        yield {
            "type": "start",
            "side": side,
            "model": model,
            "received": received,
            **({"tokens": tokens} if tokens is not None else {}),
        }
        stats: dict = {}
        for piece in run(stats):
            if piece.text:
                yield {"type": "token", "side": side, "text": piece.text}
        yield {"type": "done", "side": side, "model": model, **_side_stats(stats)}
        if stats.get("finish_reason") == "cancelled":
            return


def check_compare(prompt: str) -> str:
    """The prompt of a base-vs-instruct request, checked (bad input: an error before any model runs)."""
    _check_prompt(prompt)
    return prompt


def base_vs_instruct(
    prompt: str,
    max_tokens: int = 96,
    temperature: float = 0.7,
    seed: int | None = 0,
    base: str = BASE_MODEL,
    instruct: str = INSTRUCT_MODEL,
) -> dict:
    """The same request to a base model (as text to continue) and to an instruct model (as a chat turn)."""
    from pizarra.llm import runtime as rt

    _check_prompt(prompt)
    s = _sampling(max_tokens, temperature, seed)
    b = rt.complete(base, prompt, s)
    messages = [{"role": "user", "content": prompt}]
    view = chat_view(messages, instruct)
    i = rt.chat(instruct, messages, s)

    def side(c):
        return {
            "text": c.text,
            "n_tokens": c.n_tokens,
            "seconds": round(c.seconds, 2),  # noqa: E731
            "tokens_per_s": round(c.tokens_per_s, 1),
            "finish_reason": c.finish_reason,
        }

    return {
        "prompt": prompt,
        "sampling": s.to_dict(),
        "base": {"model": base, "received": prompt, **side(b)},
        "instruct": {"model": instruct, "received": view["prompt"], "tokens": view["tokens"], **side(i)},
    }


def reply(
    messages: Sequence[dict],
    model: str = CHAT_MODEL,
    system: str | None = None,
    max_tokens: int = 256,
    temperature: float = 0.7,
    top_p: float = 0.95,
    seed: int | None = None,
) -> dict:
    """One assistant turn: ``{"model", "reply", "dropped_turns", ...}``."""
    from pizarra.llm import runtime as rt

    msgs = check_messages(messages, system)
    s = _sampling(max_tokens, temperature, seed, top_p)
    stats: dict = {}
    text = "".join(p.text for p in rt.stream_chat(model, msgs, s, stats=stats))
    return {
        "model": model,
        "reply": text.strip(),
        "dropped_turns": stats.get("dropped_turns", 0),
        "n_tokens": stats.get("n_tokens"),
        "seconds": round(stats.get("seconds", 0.0), 2),
        "finish_reason": stats.get("finish_reason"),
    }


SELF_INSTRUCT_PARTS = ("seed", "user_oriented", "predictions")


def instruction_examples(part: str = "seed", offset: int = 0, limit: int = 10) -> dict:
    """Instruction -> output pairs: the whole self-instruct set with PIZARRA_DATA, else the shipped few."""
    from pizarra.config import data_dir

    if part not in SELF_INSTRUCT_PARTS:
        raise BadInput(
            f"Unknown part '{part}': choose {', '.join(SELF_INSTRUCT_PARTS)}.",
            key="err.chat.unknown_part",
            value=part,
            allowed=SELF_INSTRUCT_PARTS,
        )
    if not 1 <= limit <= 50 or offset < 0:
        raise BadInput("limit must be 1..50 and offset at least 0.", key="err.chat.limit_offset")
    if data_dir() is None:
        from .instruction_examples import EXAMPLES

        rows, source = list(EXAMPLES), "shipped"
    else:
        from pizarra.assets.datasets import load_self_instruct

        raw, source = load_self_instruct(part), f"self_instruct/{part}"
        rows = [_flatten(r) for r in raw]
    return {
        "part": part,
        "source": source,
        "total": len(rows),
        "offset": offset,
        "examples": rows[offset : offset + limit],
    }


def _flatten(r: dict) -> dict:
    if "instances" in r:  # seed / user-oriented tasks: first instance
        inst = (r.get("instances") or [{}])[0]
        return {
            "id": r.get("id"),
            "name": r.get("name") or r.get("motivation_app", ""),
            "instruction": r["instruction"],
            "input": inst.get("input", ""),
            "output": inst.get("output", ""),
        }
    return {
        "id": "",
        "name": "text-davinci-003",
        "instruction": r.get("instruction", ""),
        "input": r.get("input", ""),
        "output": (r.get("response") or "").strip(),
    }
