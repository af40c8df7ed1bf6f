"""The two neural language models of chapter 7, built from chapter 4's pieces (not rewritten):

    lstm   Embedding -> LSTM (``pizarra.nets.rnn``, from the slide's equations) -> W_hy     nets.ladder.RNNLM
    gpt    token + learned positions -> 4 causal decoder blocks -> LayerNorm -> head       nets.blocks.TransformerLM
           (the head shares its matrix with the token embedding, as in GPT-2)

Both read the chapter-2 byte-level BPE (``pizarra.text.bpe``) cut to its first ``VOCAB_SIZE``
tokens and follow makemore's interface ``model(idx, targets) -> (logits, loss)``, so they train
with the shared loop ``pizarra.train.fit``. Weights are stored as float16 in the artifacts (half
the bytes; the measured perplexity in each card is that of the stored weights).
"""

from __future__ import annotations

import torch
from torch import nn

from pizarra.errors import BadInput
from pizarra.nets.blocks import TransformerConfig, TransformerLM
from pizarra.nets.ladder import RNNLM

VOCAB_SIZE = 4096  # the first 4,096 tokens of the shipped 16k Spanish BPE
ARTIFACTS = {"ngram": "gen-ngram", "lstm": "gen-lstm", "gpt": "gen-gpt"}
CONFIGS = {
    "lstm": {"kind": "lstm", "vocab_size": VOCAB_SIZE, "n_embd": 96, "n_hidden": 192},
    "gpt": {
        "kind": "gpt",
        "vocab_size": VOCAB_SIZE,
        "block_size": 128,
        "d_model": 128,
        "n_heads": 4,
        "n_layers": 4,
        "dropout": 0.0,
        "positions": "learned",
        "tie_weights": True,
    },
}


def build(config: dict) -> nn.Module:
    """The model a card's ``config["model"]`` describes."""
    cfg = dict(config)
    kind, V = cfg.pop("kind"), cfg.pop("vocab_size")
    if kind == "lstm":
        return RNNLM(V, "lstm", n_embd=cfg["n_embd"], n_hidden=cfg["n_hidden"])
    if kind == "gpt":
        tie = cfg.pop("tie_weights", False)
        model = TransformerLM(TransformerConfig(vocab_size=V, **cfg))
        if tie:
            model.head.weight = model.tok.weight  # one (V, C) matrix reads and writes tokens
        return model
    raise BadInput(
        f"Unknown neural model kind {kind!r} (lstm or gpt).",
        key="err.unknown_model",
        value=kind,
        allowed=("lstm", "gpt"),
    )


def context_size(model: nn.Module) -> int | None:
    """How many tokens the model can look at (None: unlimited, a recurrent state)."""
    return model.cfg.block_size if isinstance(model, TransformerLM) else None


def to_storage(model: nn.Module) -> dict[str, torch.Tensor]:
    """float16 state_dict without the tied head (it is the embedding)."""
    sd = model.state_dict()
    if isinstance(model, TransformerLM) and model.head.weight is model.tok.weight:
        sd.pop("head.weight")
    return {k: v.half() if v.is_floating_point() else v for k, v in sd.items()}


def from_storage(config: dict, state: dict[str, torch.Tensor]) -> nn.Module:
    model = build(config)
    state = {k: v.float() if v.is_floating_point() else v for k, v in state.items()}
    if config.get("tie_weights"):
        state["head.weight"] = state["tok.weight"]
    model.load_state_dict(state)
    return model.eval()
