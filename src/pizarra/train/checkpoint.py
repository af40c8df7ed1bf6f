"""Checkpoints that survive a crash: atomic writes (temp file + rename) and RNG state capture.

A checkpoint is one ``torch.save`` dict:
``{"version", "model", "optimizer", "scheduler", "data", "state", "ranks", "config"}``, where
``data`` is the data-order state (epoch, position), ``state`` the loop state (step, best metric,
history, ...) and ``ranks`` one entry per DDP rank with its RNG states. It only holds tensors
and plain Python values, so it loads with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import tempfile
from pathlib import Path
from typing import Any, BinaryIO, Callable

import numpy as np
import torch

CHECKPOINT = "ckpt.pt"  # the last checkpoint: what resume=True continues from
BEST = "best.pt"  # model state_dict with the best validation metric so far
METRICS = "metrics.json"  # history of eval records, readable by anyone (web, notebooks)


def atomic_write(path: str | Path, write: Callable[[BinaryIO], Any]) -> Path:
    """Write a file so that readers see either the old content or the new one, never half.

    ``write(f)`` fills a temp file in the same folder; it is flushed to disk and renamed over
    ``path`` (``os.replace`` is atomic on POSIX and Windows). If anything fails, or the process
    dies, the old file is untouched and the temp file is removed (or left as ``.name.*.tmp``).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return path


def atomic_save(obj: Any, path: str | Path) -> Path:
    """``torch.save`` made atomic."""
    return atomic_write(path, lambda f: torch.save(obj, f))


def atomic_write_json(obj: Any, path: str | Path) -> Path:
    data = json.dumps(obj, indent=2, ensure_ascii=False, allow_nan=True).encode()
    return atomic_write(path, lambda f: f.write(data))


def remove_stale_temps(folder: str | Path) -> None:
    """Delete temp files left by a process killed in the middle of ``atomic_write``."""
    for tmp in Path(folder).glob(".*.tmp"):
        with contextlib.suppress(OSError):
            tmp.unlink()


def load_checkpoint(path: str | Path, map_location: Any = "cpu") -> dict:
    return torch.load(path, map_location=map_location, weights_only=True)


# ---- random number generators -------------------------------------------------------------


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and PyTorch (CPU and every GPU)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def rng_state() -> dict:
    """Every global RNG's state, as plain values and tensors (weights_only-loadable)."""
    kind, key, pos, has_gauss, gauss = np.random.get_state()
    state = {
        "python": random.getstate(),
        "numpy": [kind, key.tolist(), pos, has_gauss, gauss],
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    version, internal, gauss_next = state["python"]
    random.setstate((version, tuple(internal), gauss_next))
    kind, key, pos, has_gauss, gauss = state["numpy"]
    np.random.set_state((kind, np.asarray(key, dtype=np.uint32), pos, has_gauss, gauss))
    torch.set_rng_state(state["torch"].cpu())
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda"]])
