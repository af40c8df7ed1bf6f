"""A tiny end-to-end run of the training loop: an MLP learns to separate two spirals.

    python -m pizarra.train.demo --steps 300 --out runs/spirals            # bar, checkpoints
    python -m pizarra.train.demo --steps 600 --out runs/spirals --resume   # continue it
    torchrun --nproc_per_node=2 -m pizarra.train.demo --out runs/ddp       # same code, 2 processes

About 2 s on a laptop CPU; expected: val_acc about 0.98 after 300 steps (0.5 = chance). The tests use it to
check resume after SIGKILL and DDP against a single process.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time

import torch
import torch.nn.functional as F
from torch import nn

from pizarra.train.config import TrainConfig
from pizarra.train.loop import FitResult, fit


def spirals(n: int, seed: int = 0, noise: float = 0.05, dtype=torch.float32):
    """Two interleaved spirals: X (n, 2), y (n,) with labels 0/1 alternating."""
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 2
    t = 0.3 + 2 * math.pi * torch.rand(n, generator=g, dtype=torch.float64)  # angle: one turn
    r = t / (2 * math.pi + 0.3)  # radius grows with the angle
    X = torch.stack([r * torch.cos(t + math.pi * y), r * torch.sin(t + math.pi * y)], dim=1)
    X = X + noise * torch.randn(n, 2, generator=g, dtype=torch.float64)
    return X.to(dtype), y


class SpiralMLP(nn.Module):
    """x -> tanh(W1 x) -> dropout -> tanh(W2 .) -> dropout -> logits; makemore's interface."""

    def __init__(self, hidden: int = 64, dropout: float = 0.1):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(2, hidden),
            nn.Tanh(),
            nn.Dropout(dropout),
            nn.Linear(hidden, hidden),
            nn.Tanh(),
            nn.Dropout(dropout),
            nn.Linear(hidden, 2),
        )

    def forward(self, x: torch.Tensor, targets: torch.Tensor | None = None):
        logits = self.net(x)  # (B, 2)
        loss = None if targets is None else F.cross_entropy(logits, targets)
        return logits, loss


def accuracy(model: nn.Module, data) -> dict:
    X, y = data
    logits, _ = model(X.to(next(model.parameters()).device))
    return {"val_acc": (logits.argmax(-1).cpu() == y).double().mean().item()}


def run(
    out_dir: str | None = None,
    steps: int = 300,
    batch_size: int = 32,
    lr: float = 2e-2,
    dropout: float = 0.1,
    dtype: str = "float32",
    seed: int = 0,
    eval_every: int = 25,
    checkpoint_every: int = 25,
    patience: int | None = None,
    resume: bool = False,
    step_delay: float = 0.0,
    device: str = "cpu",
    progress: bool | None = None,
    on_event=None,
    should_stop=None,
) -> tuple[SpiralMLP, FitResult]:
    """Build data and model from ``seed`` and train them; returns (model, result)."""
    dt = getattr(torch, dtype)
    train, val = spirals(512, seed, dtype=dt), spirals(256, seed + 1, dtype=dt)
    torch.manual_seed(seed)  # the model's initial weights
    model = SpiralMLP(dropout=dropout).to(dt)
    cfg = TrainConfig(
        max_steps=steps,
        batch_size=batch_size,
        lr=lr,
        eval_every=eval_every,
        checkpoint_every=checkpoint_every,
        out_dir=out_dir,
        seed=seed,
        device=device,
        metric="val_acc",
        mode="max",
        patience=patience,
        progress=progress,
    )

    def stop_or_slow_down() -> bool:  # --step-delay lets a person watch the bar (and a test kill it)
        time.sleep(step_delay)
        return bool(should_stop and should_stop())

    result = fit(
        model, train, val, cfg, metrics_fn=accuracy, on_event=on_event, should_stop=stop_or_slow_down, resume=resume
    )
    return model, result


def main(argv: list[str] | None = None) -> FitResult:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default=None, help="folder for ckpt.pt, best.pt, metrics.json")
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--batch-size", type=int, default=32, help="global batch (split across processes)")
    p.add_argument("--lr", type=float, default=2e-2)
    p.add_argument("--dropout", type=float, default=0.1)
    p.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--eval-every", type=int, default=25)
    p.add_argument("--checkpoint-every", type=int, default=25)
    p.add_argument("--patience", type=int, default=None)
    p.add_argument("--resume", action="store_true")
    p.add_argument("--step-delay", type=float, default=0.0, help="seconds to sleep after each step")
    p.add_argument("--device", default="cpu")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--json", action="store_true", help="print the result as one JSON object")
    p.add_argument(
        "--artifact", default=None, metavar="NAME", help="save the trained model as artifacts/NAME with its card"
    )
    a = p.parse_args(argv)
    model, result = run(
        a.out,
        a.steps,
        a.batch_size,
        a.lr,
        a.dropout,
        a.dtype,
        a.seed,
        a.eval_every,
        a.checkpoint_every,
        a.patience,
        a.resume,
        a.step_delay,
        a.device,
        False if a.no_progress else None,
    )
    if int(os.environ.get("RANK", "0")) == 0:
        if a.artifact:
            from pizarra.assets.artifacts import save_artifact

            config = {k: v for k, v in vars(a).items() if k not in {"json", "artifact", "out", "resume"}}
            save_artifact(
                a.artifact,
                model.state_dict(),
                config={"model": "SpiralMLP(hidden=64)", **config},
                data={"train": "spirals(512, seed)", "val": "spirals(256, seed + 1)"},
                metrics={
                    result.metric: result.best,
                    "best_step": result.best_step,
                    "steps": result.step,
                    "train_seconds": round(result.elapsed_s, 2),
                },
                command="pizarra train demo " + " ".join(argv if argv is not None else sys.argv[1:]),
            )
        if a.json:
            print(json.dumps(result.to_dict()))
        else:
            print(
                f"{result.status} at step {result.step}/{result.total_steps}: best {result.metric} "
                f"{result.best} (step {result.best_step}), {result.elapsed_s:.1f} s"
            )
    return result


if __name__ == "__main__":
    main()
