"""The perplexity table: every model scored on the same held-out Spanish text.

    pizarra lm eval            ->  reports/generation_perplexity.json (+ held-out numbers in the gen-* cards)

Fair across tokenizers: each model assigns a probability to the same text, −log p(text) =
−Σ_t log p(x_t | x_<t) over ITS tokens (the text starts after the model's start token:
<|endoftext|> for ours, BOS for the GGUF models). We divide that one number by the same count
of words (whitespace-separated) for the per-word perplexity exp(NLL / words), and by the same
count of characters for bits per character. Per-token perplexity is shown too, but it depends
on the tokenizer and cannot be compared between models.
"""

from __future__ import annotations

import json
import math
import time

from pizarra.config import reports_dir

REPORT = reports_dir() / "generation_perplexity.json"
ORDER = ("ngram", "lstm", "gpt", "gemma-base", "smollm2")


def _params(name: str, lm) -> int | None:
    """Trained weights (shared ones once); n-gram: stored entries; GGUF: llama.cpp's count."""
    if name == "ngram":
        return int(lm.model.n_entries())
    if lm.kind == "gguf":
        return int(lm.n_params)
    return int(sum(p.numel() for p in lm.model.parameters()))


def evaluate(names=ORDER, data=None, update_cards: bool = True, log=print) -> dict:
    from pizarra.generation.corpus import HELDOUT_DOCS, HELDOUT_WORDS_PER_PART, heldout_text
    from pizarra.generation.generate import score
    from pizarra.generation.lm import get_model

    text = heldout_text(data)
    rows = []
    for name in names:
        t0 = time.perf_counter()
        lm = get_model(name)
        r = score(lm, text)
        r["params"] = _params(name, lm)
        r["seconds"] = round(time.perf_counter() - t0, 1)
        rows.append(r)
        if log:
            log(f"{name}: ppl/word {r['ppl_word']:.1f}, bits/char {r['bits_per_char']:.3f} ({r['seconds']} s)")
        if update_cards and name in ("ngram", "lstm", "gpt"):
            _update_card(name, r)
    out = {
        "heldout": f"first {HELDOUT_WORDS_PER_PART} words of the validation part of {', '.join(HELDOUT_DOCS)}",
        "heldout_words": len(text.split()),
        "heldout_chars": len(text),
        "method": "NLL = -sum log p(x_t | x_<t) over each model's own tokens of the same text; "
        "ppl_word = exp(NLL / words), bits_per_char = NLL / ln 2 / chars",
        "params_note": "n-gram: stored trigram + bigram entries; GGUF: parameters of the original model",
        "rows": rows,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n")
    return out


def _update_card(name: str, row: dict) -> None:
    """Add the held-out numbers to the artifact's card (same files, re-saved with their checksums)."""
    import shutil
    import tempfile
    from pathlib import Path

    from pizarra.assets.artifacts import load_artifact, save_artifact
    from pizarra.generation.neural import ARTIFACTS

    art = load_artifact(ARTIFACTS[name])
    metrics = dict(art.metrics)
    if "val_loss_nats" in metrics:  # validation perplexity per token of the model's own tokenizer
        metrics["val_ppl_token"] = round(math.exp(metrics["val_loss_nats"]), 2)
    metrics["heldout"] = {
        k: row[k] for k in ("words", "chars", "tokens", "nll_nats", "ppl_word", "bits_per_char", "ppl_token")
    }
    with tempfile.TemporaryDirectory() as tmp:
        files = {}
        for fname in art.card["files"]:
            files[fname] = Path(tmp) / fname
            shutil.copyfile(art.path / fname, files[fname])
        weights = None
        if "weights.safetensors" in files:
            import safetensors.torch

            weights = safetensors.torch.load_file(files.pop("weights.safetensors"))
        save_artifact(
            art.name,
            weights,
            files=files,
            config=art.config,
            data=art.card.get("data"),
            metrics=metrics,
            command=art.card.get("command"),
        )
