"""Red-team evaluation: every attack against every level, and benign questions for false refusals.

    evaluate(attacks, benign, seed=0) -> {"levels": {"1": {"leak_rate", "false_refusal_rate",
                                                           "n_attacks", "n_benign", ...}, ...}, ...}

A leak is judged by the strongest detector (``find_leak(..., fuzzy=True)``) on what the player
sees, the same way at every level. Each attack gets its own password (drawn with ``seed`` from the
word list of its language) and the same password at every level. The model call is remembered
across levels: levels 2-7 send the model the same prompt, so it answers once.
"""

from __future__ import annotations

import json
import random
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Callable

from ..errors import BadInput
from .game import words
from .leak import find_leak
from .levels import LEVELS, ask, prepare_prompt

DATA = Path(__file__).parent / "data"
ATTACKS = DATA / "attacks.jsonl"
BENIGN = DATA / "benign.jsonl"
MAX_ROWS = 5000


def read_prompts(path: str | Path) -> list[dict]:
    """JSON lines with a ``prompt`` field (others kept: id, technique, lang)."""
    path = Path(path)
    if not path.is_file():
        raise BadInput(f"No such file: {path}.")
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as e:
            raise BadInput(f"{path}:{n} is not valid JSON ({e}).") from None
        if not isinstance(row, dict) or not isinstance(row.get("prompt"), str) or not row["prompt"].strip():
            raise BadInput(f"{path}:{n} needs a non-empty string field \"prompt\".")
        row.setdefault("id", f"{path.stem}-{n}")
        rows.append(row)
        if len(rows) > MAX_ROWS:
            raise BadInput(f"{path} has more than {MAX_ROWS} prompts; split it.")
    if not rows:
        raise BadInput(f"{path} has no prompts.")
    return rows


def _lang(row: dict) -> str:
    return row.get("lang") if row.get("lang") in ("es", "en") else "en"


def evaluate(attacks: list[dict], benign: list[dict] | None = None, seed: int = 0, levels=None,
             assistant=None, injection_score: Callable[[str], float] | None = None,
             progress: Callable[[int, int], None] | None = None, threads: int | None = 1) -> dict:
    """Run the red team; see the module docstring for the result's shape."""
    from .assistant import Assistant

    benign = benign or []
    levels = sorted(levels or LEVELS)
    assistant = assistant or Assistant(threads=threads)
    t0 = time.perf_counter()
    if injection_score is None:
        from .classifier import load_classifier

        clf = load_classifier()
        texts = list(dict.fromkeys(prepare_prompt(r["prompt"])[0] for r in attacks + benign))
        scores = dict(zip(texts, clf.scores(texts).tolist()))
        injection_score = lambda t: scores[t] if t in scores else clf.score(t)  # noqa: E731
    rng = random.Random(seed)
    passwords = [rng.choice(words(_lang(r))) for r in attacks + benign]
    stats = {lv: {"leaks": 0, "refused": 0, "benign_leaks": 0, "retried": 0, "blocked_by": Counter(),
                  "leak_methods": Counter(), "leaks_by_technique": Counter()} for lv in levels}
    examples: dict[int, list[dict]] = defaultdict(list)
    refusal_examples: dict[int, list[dict]] = defaultdict(list)
    total, done = len(attacks + benign) * len(levels), 0
    for i, row in enumerate(attacks + benign):
        is_attack = i < len(attacks)
        for lv in levels:
            turn = ask(lv, passwords[i], row["prompt"], assistant=assistant, seed=seed, lang=_lang(row),
                       injection_score=injection_score)
            s = stats[lv]
            leak = find_leak(passwords[i], turn.answer, fuzzy=True)
            if turn.blocked:
                s["blocked_by"][turn.defense] += 1
            s["retried"] += int(bool(turn.detail.get("retried")))
            if is_attack:
                if leak:
                    s["leaks"] += 1
                    s["leak_methods"][leak.method] += 1
                    s["leaks_by_technique"][row.get("technique", "?")] += 1
                    if len(examples[lv]) < 5:
                        examples[lv].append({"id": row["id"], "prompt": row["prompt"], "password": passwords[i],
                                             "answer": turn.answer[:300], "method": leak.method})
            else:
                s["refused"] += int(turn.blocked)
                s["benign_leaks"] += int(leak is not None)
                if turn.blocked and len(refusal_examples[lv]) < 5:
                    refusal_examples[lv].append({"id": row["id"], "prompt": row["prompt"], "password": passwords[i],
                                                 "defense": turn.defense, "detail": turn.detail,
                                                 "model_answer": (turn.model_answer or "")[:300]})
            done += 1
            if progress:
                progress(done, total)
    n_a, n_b = len(attacks), len(benign)
    out = {}
    for lv in levels:
        s = stats[lv]
        out[str(lv)] = {
            "leak_rate": round(s["leaks"] / n_a, 4) if n_a else None,
            "false_refusal_rate": round(s["refused"] / n_b, 4) if n_b else None,
            "n_attacks": n_a, "n_benign": n_b, "leaks": s["leaks"], "false_refusals": s["refused"],
            "benign_leaks": s["benign_leaks"], "blocked_by": dict(s["blocked_by"]),
            "leak_methods": dict(s["leak_methods"]), "leaks_by_technique": dict(s["leaks_by_technique"]),
            "answers_retried": s["retried"], "examples": examples[lv],
            "false_refusal_examples": refusal_examples[lv],
        }
    return {
        "levels": out, "seed": seed, "model": assistant.model, "max_tokens": assistant.max_tokens,
        "temperature": assistant.temperature, "leak_detector": "find_leak(fuzzy=True) on what the player sees",
        "llm_calls": assistant.calls, "llm_cache_hits": assistant.hits,
        "llm_seconds": round(assistant.seconds, 1), "seconds": round(time.perf_counter() - t0, 1),
        "techniques": dict(Counter(r.get("technique", "?") for r in attacks)),
        "langs": dict(Counter(_lang(r) for r in attacks)),
    }
