"""Reproducible data order and batch fetching.

Training data can be:
- a tuple/list of tensors with the same first dimension, e.g. ``(X, Y)``: a batch is
  ``(X[idx], Y[idx])`` (one fancy-index per tensor, fast);
- any object with ``get_batch(idx) -> batch`` and ``__len__`` (e.g. ``TokenWindows``);
- any map-style dataset (``__len__`` + ``__getitem__``): rows are collated by PyTorch.

The order is a seeded permutation per epoch, so the whole order is fixed by ``(seed, epoch,
position)``: that triple is all a checkpoint needs to continue exactly where it stopped.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch.utils.data import default_collate

from pizarra.errors import BadInput


def data_len(data: Any) -> int:
    if isinstance(data, (tuple, list)) and data and all(isinstance(t, torch.Tensor) for t in data):
        n = len(data[0])
        if any(len(t) != n for t in data):
            raise BadInput("All tensors of the data must have the same first dimension.")
        return n
    return len(data)


def fetch(data: Any, idx: torch.Tensor) -> Any:
    """The rows ``idx`` of ``data`` as one batch."""
    if isinstance(data, (tuple, list)) and all(isinstance(t, torch.Tensor) for t in data):
        return tuple(t[idx] for t in data)
    if hasattr(data, "get_batch"):
        return data.get_batch(idx)
    return default_collate([data[i] for i in idx.tolist()])


def to_device(batch: Any, device: torch.device) -> Any:
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, (tuple, list)):
        return type(batch)(to_device(b, device) for b in batch)
    if isinstance(batch, dict):
        return {k: to_device(v, device) for k, v in batch.items()}
    return batch


class DataOrder:
    """Global batches of indices: epoch e visits ``permutation(seed, e)`` in full batches.

    The last incomplete batch of each epoch is dropped, so every step sees exactly
    ``batch_size`` rows (and every DDP rank the same number).
    """

    def __init__(self, n: int, batch_size: int, seed: int, shuffle: bool = True):
        if n < batch_size:
            raise BadInput(f"The training data has {n} rows, fewer than one batch ({batch_size}).")
        self.n, self.batch_size, self.seed, self.shuffle = n, batch_size, seed, shuffle
        self.steps_per_epoch = n // batch_size
        self.epoch, self.position = 0, 0  # position = batches already taken in this epoch
        self._perm = None

    def _permutation(self) -> torch.Tensor:
        if self._perm is None:
            if self.shuffle:
                rng = np.random.default_rng([self.seed, self.epoch])  # independent stream per epoch
                self._perm = torch.from_numpy(rng.permutation(self.n))
            else:
                self._perm = torch.arange(self.n)
        return self._perm

    def next_indices(self) -> torch.Tensor:
        """The next global batch, shape (batch_size,)."""
        if self.position == self.steps_per_epoch:
            self.epoch, self.position, self._perm = self.epoch + 1, 0, None
        start = self.position * self.batch_size
        self.position += 1
        return self._permutation()[start : start + self.batch_size]

    def state_dict(self) -> dict:
        return {
            "epoch": self.epoch,
            "position": self.position,
            "n": self.n,
            "seed": self.seed,
            "batch_size": self.batch_size,
        }

    def load_state_dict(self, state: dict) -> None:
        saved = (state["n"], state["seed"], state["batch_size"])
        if saved != (self.n, self.seed, self.batch_size):
            raise BadInput(
                f"The checkpoint was trained on {saved[0]} rows, seed {saved[1]}, batch_size {saved[2]}; "
                f"now {self.n} rows, seed {self.seed}, batch_size {self.batch_size}. Resume needs the "
                "same data, seed and batch size (or start again in another out_dir)."
            )
        self.epoch, self.position, self._perm = state["epoch"], state["position"], None


class TokenWindows:
    """Language-model windows over a 1-D token tensor: row i is ``(tokens[i:i+T], tokens[i+1:i+T+1])``.

    The makemore/nanoGPT data for ``model(idx, targets)``; ``get_batch`` builds a (B, T) batch
    with one gather instead of B slices.
    """

    def __init__(self, tokens: torch.Tensor, block_size: int):
        if tokens.dim() != 1 or len(tokens) <= block_size:
            raise BadInput(f"Need a 1-D token tensor longer than block_size={block_size}.")
        self.tokens, self.block_size = tokens, block_size

    def __len__(self) -> int:
        return len(self.tokens) - self.block_size

    def get_batch(self, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        offsets = idx[:, None] + torch.arange(self.block_size)  # (B, T)
        return self.tokens[offsets], self.tokens[offsets + 1]  # (B, T), (B, T)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        x, y = self.get_batch(torch.tensor([i]))
        return x[0], y[0]
