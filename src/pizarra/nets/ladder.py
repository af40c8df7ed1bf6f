"""A ladder of character-level language models on the Quijote, makemore-style.

    bigram -> MLP -> Elman -> GRU -> LSTM -> Transformer

All share ONE interface, ``model(idx (B, T), targets (B, T) | None) -> (logits (B, T, V), loss)``,
the generative factorisation p(x_1..x_T) = Π_t p(x_t | x_<t) (the loss is the mean of
−log p(x_t | x_<t), in nats per character), the same data, split and context (64 characters),
and the shared training loop ``pizarra.train.fit``. ``pizarra nets ladder`` trains them all, saves
each as the artifact ``nets-<name>`` and writes ``reports/nets_ladder.json``.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from pizarra.config import reports_dir
from pizarra.errors import BadInput
from pizarra.nets.blocks import TransformerConfig, TransformerLM
from pizarra.nets.rnn import RNN

UNK = "\ufffd"  # the unknown symbol: any character the model never saw in training
BLOCK_SIZE = 64  # the context every rung of the ladder sees
VAL_FRACTION = 0.1  # the last 10 % of the Quijote is the validation text, never trained on
VAL_CHUNKS = 1024  # validation = the first 1024 non-overlapping 64-character chunks of that text
REPORT = reports_dir() / "nets_ladder.json"


# ---------------------------------------------------------------------------------------- vocab


class CharVocab:
    """Characters <-> ids. Id 0 is ``UNK``; text outside the vocabulary maps to it."""

    def __init__(self, chars: str):
        self.chars = UNK + "".join(c for c in chars if c != UNK)
        self.stoi = {c: i for i, c in enumerate(self.chars)}

    @classmethod
    def from_text(cls, text: str) -> "CharVocab":
        return cls("".join(sorted(set(text))))

    def __len__(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> list[int]:
        return [self.stoi.get(c, 0) for c in text]

    def unknown(self, text: str) -> list[str]:
        """The distinct characters of ``text`` outside the vocabulary, in order of appearance."""
        return list(dict.fromkeys(c for c in text if c not in self.stoi))

    def decode(self, ids) -> str:
        return "".join(self.chars[i] for i in ids)


# ---------------------------------------------------------------------------------------- models


def lm_loss(logits: torch.Tensor, targets: torch.Tensor | None):
    return None if targets is None else F.cross_entropy(logits.flatten(0, 1), targets.flatten(), ignore_index=-1)


class BigramLM(nn.Module):
    """p(x_t | x_<t) ≈ p(x_t | x_{t-1}): one row of logits per previous character, a V×V table."""

    def __init__(self, vocab_size: int):
        super().__init__()
        self.table = nn.Embedding(vocab_size, vocab_size)
        nn.init.zeros_(self.table.weight)

    def forward(self, idx, targets=None):
        logits = self.table(idx)  # (B, T, V)
        return logits, lm_loss(logits, targets)


class MLPLM(nn.Module):
    """Bengio et al. (2003): the last n characters, embedded and concatenated, through a tanh layer.

    p(x_t | x_<t) ≈ softmax(W_2 tanh(W_1 [e(x_{t-n+1}); …; e(x_t)] + b_1) + b_2)
    """

    def __init__(self, vocab_size: int, context: int = 8, n_embd: int = 32, n_hidden: int = 256):
        super().__init__()
        self.context, self.pad = context, vocab_size  # one extra embedding row: "before the text"
        self.emb = nn.Embedding(vocab_size + 1, n_embd)
        self.hidden = nn.Linear(context * n_embd, n_hidden)
        self.head = nn.Linear(n_hidden, vocab_size)

    def forward(self, idx, targets=None):
        B, T = idx.shape
        padded = F.pad(idx, (self.context, 0), value=self.pad)  # (B, n + T)
        windows = padded.unfold(1, self.context, 1)[:, 1 : T + 1]  # (B, T, n): the n chars ending at t
        x = self.emb(windows).flatten(2)  # (B, T, n * E)
        logits = self.head(torch.tanh(self.hidden(x)))  # (B, T, V)
        return logits, lm_loss(logits, targets)


class RNNLM(nn.Module):
    """Embedding -> recurrent layer (Elman, GRU or LSTM, from ``rnn.py``) -> y_t = W_hy h_t."""

    def __init__(self, vocab_size: int, kind: str = "lstm", n_embd: int = 32, n_hidden: int = 192, num_layers: int = 1):
        super().__init__()
        self.emb = nn.Embedding(vocab_size, n_embd)
        self.rnn = RNN(kind, n_embd, n_hidden, num_layers)
        self.head = nn.Linear(n_hidden, vocab_size)  # W_hy

    def forward(self, idx, targets=None, state=None):
        h, _ = self.rnn(self.emb(idx), state)  # (B, T, H)
        logits = self.head(h)  # (B, T, V)
        return logits, lm_loss(logits, targets)


def build_model(config: dict) -> nn.Module:
    """The model a card's ``config["model"]`` describes (``{"kind": ..., sizes...}``)."""
    cfg = dict(config)
    kind, V = cfg.pop("kind"), cfg.pop("vocab_size")
    if kind == "bigram":
        return BigramLM(V)
    if kind == "mlp":
        return MLPLM(V, **cfg)
    if kind in ("elman", "gru", "lstm"):
        return RNNLM(V, kind, **cfg)
    if kind == "transformer":
        return TransformerLM(TransformerConfig(vocab_size=V, **cfg))
    raise BadInput(f"Unknown model kind {kind!r}.", key="err.nets.unknown_kind", value=kind)


# ---------------------------------------------------------------------------------------- ladder


@dataclass
class Rung:
    name: str
    model: dict  # build_model config without vocab_size
    steps: int
    lr: float
    quick_steps: int = 60
    batch_size: int = 32
    note: str = ""


LADDER: tuple[Rung, ...] = (
    Rung("bigram", {"kind": "bigram"}, steps=1000, lr=3e-2, note="p(x_t | x_{t-1})"),
    Rung(
        "mlp",
        {"kind": "mlp", "context": 8, "n_embd": 32, "n_hidden": 256},
        steps=2000,
        lr=3e-3,
        note="the 8 previous characters",
    ),
    Rung("elman", {"kind": "elman", "n_embd": 32, "n_hidden": 192}, steps=2000, lr=1e-2),
    Rung("gru", {"kind": "gru", "n_embd": 32, "n_hidden": 128}, steps=2000, lr=1e-2),
    Rung("lstm", {"kind": "lstm", "n_embd": 32, "n_hidden": 128}, steps=2000, lr=1e-2),
    Rung(
        "transformer",
        {
            "kind": "transformer",
            "block_size": BLOCK_SIZE,
            "d_model": 64,
            "n_heads": 4,
            "n_layers": 2,
            "dropout": 0.0,
            "positions": "learned",
        },
        steps=2000,
        lr=1e-2,
    ),
)
RUNGS = {r.name: r for r in LADDER}


def artifact_name(rung: str) -> str:
    return f"nets-{rung}"


@dataclass
class CharData:
    vocab: CharVocab
    train: object  # TokenWindows over the first 90 %
    val: tuple  # (X, Y) non-overlapping chunks of the last 10 %
    description: dict = field(default_factory=dict)


def char_data(text: str, block_size: int = BLOCK_SIZE, val_chunks: int = VAL_CHUNKS) -> CharData:
    """The fixed split: the first 90 % of ``text`` trains, chunks of the last 10 % validate."""
    from pizarra.train import TokenWindows

    vocab = CharVocab.from_text(text)
    ids = torch.tensor(vocab.encode(text), dtype=torch.long)
    cut = int(len(ids) * (1 - VAL_FRACTION))
    val_ids = ids[cut:]
    n = min(val_chunks, (len(val_ids) - 1) // block_size)
    if n < 1:
        raise BadInput("The text is too short for a validation split.", key="err.nets.too_short")
    X = val_ids[: n * block_size].view(n, block_size)
    Y = val_ids[1 : n * block_size + 1].view(n, block_size)
    desc = {
        "text": "Quijote (Project Gutenberg #2000), characters",
        "chars": len(text),
        "vocab_size": len(vocab),
        "train_chars": cut,
        "val_chars_total": len(val_ids),
        "val_chars_scored": n * block_size,
        "split": f"first {1 - VAL_FRACTION:.0%} train, "
        f"first {n} non-overlapping {block_size}-char chunks of the last {VAL_FRACTION:.0%} validate",
    }
    return CharData(vocab, TokenWindows(ids[:cut], block_size), (X, Y), desc)


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def train_rung(
    rung: Rung,
    data: CharData,
    quick: bool = False,
    progress: bool | None = None,
    on_event=None,
    should_stop=None,
    seed: int = 1337,
    save: bool = True,
    root=None,
    steps: int | None = None,
) -> dict:
    """Train one rung with ``pizarra.train.fit``; measure it on the whole validation set; save it."""
    from pizarra.train import TrainConfig, evaluate, fit
    from pizarra.train.distributed import setup

    steps = steps or (rung.quick_steps if quick else rung.steps)
    config = {**rung.model, "vocab_size": len(data.vocab)}
    torch.manual_seed(seed)
    model = build_model(config)
    cfg = TrainConfig(
        max_steps=steps,
        batch_size=rung.batch_size,
        lr=rung.lr,
        schedule="cosine",
        warmup_steps=min(100, steps // 10),
        eval_every=max(50, steps // 10),
        eval_batches=4,
        checkpoint_every=None,
        seed=seed,
        device="cpu",
        progress=progress,
    )
    t0 = time.perf_counter()
    result = fit(model, data.train, data.val, cfg, on_event=on_event, should_stop=should_stop)
    train_s = time.perf_counter() - t0
    ctx = setup("cpu")
    try:
        full = TrainConfig(batch_size=64, device="cpu")
        val_loss = evaluate(model, data.val, full, ctx)["val_loss"]
    finally:
        ctx.close()
    row = {
        "name": rung.name,
        "kind": rung.model["kind"],
        "params": n_params(model),
        "steps": result.step,
        "status": result.status,
        "val_loss_nats": round(val_loss, 4),
        "val_bits_per_char": round(val_loss / math.log(2), 4),
        "train_seconds": round(train_s, 1),
        "batch_size": rung.batch_size,
        "block_size": BLOCK_SIZE,
        "lr": rung.lr,
        "quick": quick,
    }
    if save and result.status == "done":
        from pizarra.assets.artifacts import save_artifact

        save_artifact(
            artifact_name(rung.name),
            model.state_dict(),
            config={"model": config, "vocab": data.vocab.chars[1:], "train": cfg.to_dict()},
            data=data.description,
            metrics=row,
            command=f"pizarra nets ladder --only {rung.name}" + (" --quick" if quick else ""),
            root=root,
        )
    return row


def run_ladder(
    names: list[str] | None = None,
    quick: bool = False,
    progress: bool | None = None,
    on_event=None,
    should_stop=None,
    text: str | None = None,
    save: bool = True,
    root=None,
    report: bool = True,
    log: Callable[[str], None] | None = None,
    steps: int | None = None,
) -> dict:
    """Train the rungs ``names`` (default: all, in order) and return ``{"rows": [...], ...}``."""
    names = names or [r.name for r in LADDER]
    for n in names:
        if n not in RUNGS:
            raise BadInput(
                f"Unknown rung {n!r}; the ladder has {', '.join(RUNGS)}.",
                key="err.nets.unknown_rung",
                value=str(n),
                allowed=RUNGS,
            )
    if text is None:
        from pizarra.assets.datasets import load_quijote

        text = load_quijote()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the numbers are for one laptop core
    try:
        data = char_data(text)
        rows = []
        for n in names:
            if log:
                log(f"training {n} …")
            rows.append(
                train_rung(RUNGS[n], data, quick, progress, on_event, should_stop, save=save, root=root, steps=steps)
            )
            if rows[-1]["status"] == "cancelled":
                break
    finally:
        torch.set_num_threads(threads)
    out = {
        "rows": rows,
        "data": data.description,
        "quick": quick,
        "threads": 1,
        "torch": torch.__version__,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    if report and save and not quick and steps is None:
        import json

        previous = {}
        if REPORT.is_file():
            previous = {r["name"]: r for r in json.loads(REPORT.read_text()).get("rows", [])}
        previous.update({r["name"]: r for r in rows})
        merged = {**out, "rows": [previous[r.name] for r in LADDER if r.name in previous]}
        REPORT.parent.mkdir(parents=True, exist_ok=True)
        REPORT.write_text(json.dumps(merged, indent=2, ensure_ascii=False) + "\n")
    return out


# ---------------------------------------------------------------------------------------- loading

_LOADED: dict[str, tuple[nn.Module, CharVocab, dict]] = {}


def load_lm(rung: str, root=None) -> tuple[nn.Module, CharVocab, dict]:
    """(model in eval mode, its vocabulary, its card) from the shipped artifact ``nets-<rung>``."""
    key = f"{root}:{rung}"
    if key not in _LOADED:
        from pizarra.assets.artifacts import load_artifact

        if rung not in RUNGS:
            raise BadInput(
                f"Unknown model {rung!r}; the ladder has {', '.join(RUNGS)}.",
                key="err.nets.unknown_rung",
                value=str(rung),
                allowed=RUNGS,
            )
        art = load_artifact(artifact_name(rung), root=root)
        model = build_model(art.config["model"])
        model.load_state_dict(art.state_dict())
        model.eval()
        _LOADED[key] = (model, CharVocab(art.config["vocab"]), art.card)
    return _LOADED[key]
