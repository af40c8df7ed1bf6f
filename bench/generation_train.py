"""The mini-GPT's training speed and validation loss against a nanoGPT-style reference.

    PIZARRA_DATA=../shared/data python bench/generation_train.py [--steps 150] [--threads 1]

Both models have the same size (vocab 4,096 BPE tokens, context 128, 4 layers, 4 heads, width 128,
tied embedding/head, no dropout), the same initial seed, see the SAME batches in the same order
(``pizarra.train.DataOrder`` over the chapter-7 training tokens) with the same AdamW settings and
warmup + cosine schedule, for the same number of steps, one after the other in this process:

  ours       ``pizarra.nets.blocks.TransformerLM`` (separate Q/K/V projections, the chapter-4 blocks;
             training runs their fused-attention path, tested equal to the slide's equations)
             trained by the shared loop ``pizarra.train.fit``
  reference  a plain PyTorch GPT in nanoGPT's style (``F.scaled_dot_product_attention``, fused
             QKV) trained by a plain 10-line loop

Reports training tokens/second (ratio ours / reference) and the validation loss both reach on the
same validation chunks. Writes reports/generation_bench.json.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
REPORT = ROOT / "reports" / "generation_bench.json"
SIZE = {"vocab_size": 4096, "block_size": 128, "n_layer": 4, "n_head": 4, "n_embd": 128}
BATCH, LR, WD, WARMUP, MIN_LR_RATIO = 32, 3e-3, 0.01, 20, 0.1


# ------------------------------------------------------------------------- nanoGPT-style reference


class CausalSelfAttention(nn.Module):
    def __init__(self, n_embd: int, n_head: int):
        super().__init__()
        self.c_attn = nn.Linear(n_embd, 3 * n_embd)
        self.c_proj = nn.Linear(n_embd, n_embd)
        self.n_head = n_head

    def forward(self, x):
        B, T, C = x.size()
        q, k, v = self.c_attn(x).split(C, dim=2)
        q, k, v = (t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) for t in (q, k, v))  # (B, nh, T, hs)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.c_proj(y.transpose(1, 2).contiguous().view(B, T, C))


class Block(nn.Module):
    def __init__(self, n_embd: int, n_head: int):
        super().__init__()
        self.ln_1, self.ln_2 = nn.LayerNorm(n_embd), nn.LayerNorm(n_embd)
        self.attn = CausalSelfAttention(n_embd, n_head)
        self.mlp = nn.Sequential(nn.Linear(n_embd, 4 * n_embd), nn.GELU(), nn.Linear(4 * n_embd, n_embd))

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    def __init__(self, vocab_size, block_size, n_layer, n_head, n_embd):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(vocab_size, n_embd), nn.Embedding(block_size, n_embd)
        self.h = nn.ModuleList(Block(n_embd, n_head) for _ in range(n_layer))
        self.ln_f = nn.LayerNorm(n_embd)
        self.lm_head = nn.Linear(n_embd, vocab_size, bias=False)
        self.lm_head.weight = self.wte.weight
        self.apply(self._init)

    @staticmethod
    def _init(m):
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, std=0.02)
        if isinstance(m, nn.Linear) and m.bias is not None:
            nn.init.zeros_(m.bias)

    def forward(self, idx, targets=None):
        T = idx.size(1)
        x = self.wte(idx) + self.wpe(torch.arange(T, device=idx.device))
        for block in self.h:
            x = block(x)
        logits = self.lm_head(self.ln_f(x))
        loss = None if targets is None else F.cross_entropy(logits.flatten(0, 1), targets.flatten())
        return logits, loss


def lr_at(step: int, total: int) -> float:
    if step < WARMUP:
        return LR * (step + 1) / WARMUP
    done = min(1.0, (step - WARMUP) / max(1, total - WARMUP))
    return LR * (MIN_LR_RATIO + (1 - MIN_LR_RATIO) * 0.5 * (1 + math.cos(math.pi * done)))


def train_reference(windows, steps: int, seed: int) -> tuple[nn.Module, float]:
    from pizarra.train import DataOrder

    torch.manual_seed(seed)
    model = GPT(**SIZE)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    rest = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": WD}, {"params": rest, "weight_decay": 0.0}], lr=LR)
    order = DataOrder(len(windows), BATCH, seed)
    t0 = time.perf_counter()
    for step in range(steps):
        for g in opt.param_groups:
            g["lr"] = lr_at(step, steps)
        x, y = windows.get_batch(order.next_indices())
        _, loss = model(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
    return model, time.perf_counter() - t0


def train_ours(windows, val, steps: int, seed: int) -> tuple[nn.Module, float]:
    from pizarra.nets.blocks import TransformerConfig, TransformerLM
    from pizarra.train import TrainConfig, fit

    torch.manual_seed(seed)
    model = TransformerLM(
        TransformerConfig(
            vocab_size=SIZE["vocab_size"],
            block_size=SIZE["block_size"],
            d_model=SIZE["n_embd"],
            n_heads=SIZE["n_head"],
            n_layers=SIZE["n_layer"],
        )
    )
    model.head.weight = model.tok.weight
    cfg = TrainConfig(
        max_steps=steps,
        batch_size=BATCH,
        lr=LR,
        weight_decay=WD,
        schedule="cosine",
        warmup_steps=WARMUP,
        min_lr_ratio=MIN_LR_RATIO,
        eval_every=10**9,
        checkpoint_every=None,
        seed=seed,
        device="cpu",
        progress=False,
    )
    t0 = time.perf_counter()
    fit(model, windows, val, cfg)
    return model, time.perf_counter() - t0


@torch.no_grad()
def val_loss(model, X, Y) -> float:
    model.eval()
    losses = [model(X[i : i + 32], Y[i : i + 32])[1].item() for i in range(0, len(X), 32)]
    return sum(losses) / len(losses)


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=150)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=1337)
    p.add_argument("--no-report", action="store_true")
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)

    from pizarra.generation.train import tokens, val_chunks
    from pizarra.train import TokenWindows

    train, val = tokens()
    windows = TokenWindows(torch.from_numpy(train.astype("int64")), SIZE["block_size"])
    X, Y = val_chunks(val, n=128)
    rows = {}
    for name, run in (
        ("ours", lambda: train_ours(windows, (X, Y), a.steps, a.seed)),
        ("reference", lambda: train_reference(windows, a.steps, a.seed)),
    ):
        model, secs = run()
        tokens_seen = a.steps * BATCH * SIZE["block_size"]
        rows[name] = {
            "tokens_per_s": round(tokens_seen / secs, 1),
            "seconds": round(secs, 1),
            "val_loss": round(val_loss(model, X, Y), 4),
            "params": sum(p.numel() for p in model.parameters()),
        }
        print(f"{name}: {rows[name]}", file=sys.stderr)
    import os

    out = {
        "size": SIZE,
        "batch_size": BATCH,
        "steps": a.steps,
        "threads": a.threads,
        "lr": LR,
        "ours": rows["ours"],
        "reference": rows["reference"],
        "speed_ratio": round(rows["ours"]["tokens_per_s"] / rows["reference"]["tokens_per_s"], 3),
        "val_loss_difference": round(rows["ours"]["val_loss"] - rows["reference"]["val_loss"], 4),
        "loadavg_at_end": [round(x, 2) for x in os.getloadavg()],
        "torch": torch.__version__,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    print(json.dumps({k: v for k, v in out.items() if k in ("speed_ratio", "val_loss_difference")}))
    if not a.no_report:
        REPORT.parent.mkdir(parents=True, exist_ok=True)
        REPORT.write_text(json.dumps(out, indent=2) + "\n")
    return out


if __name__ == "__main__":
    main()
