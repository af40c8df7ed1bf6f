"""The one training loop of Pizarra: seeded, resumable, observable, data-parallel.

    from pizarra.train import TrainConfig, fit
    result = fit(model, (X, Y), (Xv, Yv), TrainConfig(max_steps=500, out_dir="runs/mlp"), resume=True)

See ``loop.fit`` for the arguments, ``progress`` for the events, ``demo`` for a runnable example
(``python -m pizarra.train.demo``, or ``torchrun --nproc_per_node=2 -m pizarra.train.demo``).
"""

from pizarra.train.checkpoint import (
    BEST,
    CHECKPOINT,
    METRICS,
    atomic_save,
    atomic_write,
    atomic_write_json,
    load_checkpoint,
    seed_everything,
)
from pizarra.train.config import TrainConfig
from pizarra.train.data import DataOrder, TokenWindows
from pizarra.train.loop import FitResult, compute_loss, evaluate, fit

__all__ = [
    "BEST",
    "CHECKPOINT",
    "METRICS",
    "DataOrder",
    "FitResult",
    "TokenWindows",
    "TrainConfig",
    "atomic_save",
    "atomic_write",
    "atomic_write_json",
    "compute_loss",
    "evaluate",
    "fit",
    "load_checkpoint",
    "seed_everything",
]
