"""Where is each token? Attention alone does not know the order, so we add a position vector.

sinusoidal (Vaswani et al., 2017):  PE[pos, 2i]   = sin(pos / 10000^(2i/d))
                                    PE[pos, 2i+1] = cos(pos / 10000^(2i/d))
learned:                            PE[pos] = a trainable row of an embedding table
"""

from __future__ import annotations

import math

import torch
from torch import nn


def sinusoidal_table(n_positions: int, d_model: int, dtype=torch.float32) -> torch.Tensor:
    """The (n_positions, d_model) matrix PE of the equations above."""
    pos = torch.arange(n_positions, dtype=torch.float64)[:, None]  # (T, 1)
    two_i = torch.arange(0, d_model, 2, dtype=torch.float64)  # (d/2,)
    angle = pos / torch.pow(10000.0, two_i / d_model)  # (T, d/2)
    pe = torch.zeros(n_positions, d_model, dtype=torch.float64)
    pe[:, 0::2] = torch.sin(angle)
    pe[:, 1::2] = torch.cos(angle[:, : d_model // 2])
    return pe.to(dtype)


class SinusoidalPositions(nn.Module):
    """x + PE[:T], with the fixed sinusoidal table (no parameters; works for any length ≤ max_len)."""

    def __init__(self, d_model: int, max_len: int = 1024):
        super().__init__()
        self.register_buffer("pe", sinusoidal_table(max_len, d_model), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        T = x.size(1)
        if T > self.pe.size(0):
            raise ValueError(f"sequence of {T} positions, the table has {self.pe.size(0)}")
        return x + self.pe[:T].to(x.dtype)  # (B, T, C)


class LearnedPositions(nn.Module):
    """x + P[:T], where P (max_len, d_model) is learned with the rest of the model (GPT-2 style)."""

    def __init__(self, d_model: int, max_len: int = 1024):
        super().__init__()
        self.table = nn.Embedding(max_len, d_model)
        nn.init.normal_(self.table.weight, std=1 / math.sqrt(d_model))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        T = x.size(1)
        if T > self.table.num_embeddings:
            raise ValueError(f"sequence of {T} positions, the table has {self.table.num_embeddings}")
        return x + self.table(torch.arange(T, device=x.device))  # (B, T, C)


POSITIONS = {"sinusoidal": SinusoidalPositions, "learned": LearnedPositions}
