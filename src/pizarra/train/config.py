"""TrainConfig: every knob of the one training loop, in one dataclass (nanoGPT-style)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from pizarra.errors import BadInput

SCHEDULES = ("constant", "cosine")


@dataclass
class TrainConfig:
    # how long: optimiser steps, or whole epochs over the training data (epochs wins when set)
    max_steps: int | None = 1000
    epochs: int | None = None
    batch_size: int = 32  # GLOBAL batch: under DDP each of W ranks takes batch_size / W rows
    # optimiser (default AdamW; weight decay only on matrices, not on biases and norms)
    lr: float = 1e-3
    weight_decay: float = 0.0
    betas: tuple[float, float] = (0.9, 0.999)
    grad_clip: float | None = 1.0  # max global gradient norm; None = no clipping
    # learning-rate schedule: linear warmup, then constant or cosine down to lr * min_lr_ratio
    schedule: str = "constant"
    warmup_steps: int = 0
    min_lr_ratio: float = 0.1
    # evaluation and early stopping on a named metric of the eval record (e.g. "val_loss")
    eval_every: int = 100  # also how often a record is added to the metrics history
    eval_batches: int | None = None  # cap on validation batches per eval; None = all
    metric: str = "val_loss"
    mode: str = "min"  # "min" or "max"
    patience: int | None = None  # evals without improvement before stopping; None = never
    min_delta: float = 0.0  # an improvement must beat the best by more than this
    restore_best: bool = False  # load the best weights into the model when training ends
    # checkpoints and outputs; out_dir=None trains in memory (no checkpoint, no resume)
    out_dir: str | None = None
    checkpoint_every: int | None = 100  # steps; a checkpoint is also written at the end and on stop
    # reproducibility, device, progress
    seed: int = 1337
    device: str = "auto"  # "auto" (cuda if available), "cpu", "cuda", "cuda:1", ...
    progress: bool | None = None  # CLI bar on stderr; None = only when stderr is a terminal
    progress_every_s: float = 0.25  # at most this often a "progress" event

    def validate(self) -> "TrainConfig":
        """Raise BadInput with a clear sentence for any value that cannot work."""
        if self.epochs is None and self.max_steps is None:
            raise BadInput("Set max_steps or epochs: the training needs to know when to end.")
        for name in ("max_steps", "epochs", "batch_size", "eval_every", "checkpoint_every", "eval_batches", "patience"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise BadInput(f"{name} must be a positive integer, got {value!r}.")
        if not isinstance(self.seed, int) or self.seed < 0:
            raise BadInput(f"seed must be an integer >= 0, got {self.seed!r}.")
        if self.lr <= 0:
            raise BadInput(f"lr must be positive, got {self.lr}.")
        if self.schedule not in SCHEDULES:
            raise BadInput(f"schedule must be one of {', '.join(SCHEDULES)}, got {self.schedule!r}.")
        if self.mode not in ("min", "max"):
            raise BadInput(f"mode must be 'min' or 'max', got {self.mode!r}.")
        if self.out_dir is not None:
            self.out_dir = str(self.out_dir)
        return self

    def total_steps(self, steps_per_epoch: int) -> int:
        return self.epochs * steps_per_epoch if self.epochs is not None else self.max_steps

    def to_dict(self) -> dict:
        d = asdict(self)
        d["betas"] = list(self.betas)
        return d
