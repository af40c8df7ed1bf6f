"""Self-attention from the slide: q = x W_q, k = x W_k, v = x W_v, softmax(q·kᵀ/√d)·v.

Masks are boolean and say who may look at whom: ``True`` = this query may attend to this key
(the convention of ``F.scaled_dot_product_attention``). Combine them with ``&``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def causal_mask(T: int, device=None) -> torch.Tensor:
    """(T, T): query t may look at keys 0..t only (the past), never at the future."""
    return torch.ones(T, T, dtype=torch.bool, device=device).tril()


def padding_mask(lengths: torch.Tensor, T: int) -> torch.Tensor:
    """(B, 1, 1, T): key j is a real token of sequence b when j < lengths[b]; padding is ignored."""
    return (torch.arange(T, device=lengths.device)[None, :] < lengths[:, None])[:, None, None, :]


def scaled_dot_product_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    mask: torch.Tensor | None = None,
    dropout_p: float = 0.0,
    training: bool = False,
) -> tuple[torch.Tensor, torch.Tensor]:
    """softmax(q·kᵀ/√d)·v for q (..., Tq, d), k (..., Tk, d), v (..., Tk, dv).

    Returns (output (..., Tq, dv), attention weights (..., Tq, Tk)); each row of weights sums to 1
    over the keys the mask allows.
    """
    d = q.size(-1)
    scores = q @ k.transpose(-2, -1) / math.sqrt(d)  # (..., Tq, Tk)
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = scores.softmax(dim=-1)  # (..., Tq, Tk)
    out = F.dropout(weights, dropout_p, training) @ v  # (..., Tq, dv)
    return out, weights


class MultiHeadAttention(nn.Module):
    """h heads of attention side by side, each on its own d_model/h slice, then mixed by W_o:

        head_i = softmax(q_i·k_iᵀ/√d_head)·v_i,   q = x W_q, k = m W_k, v = m W_v
        out    = [head_1; …; head_h] W_o

    m = x for self-attention; pass ``memory`` for cross-attention (a decoder reading an encoder).
    """

    def __init__(self, d_model: int, n_heads: int, dropout: float = 0.0, bias: bool = True):
        super().__init__()
        if d_model % n_heads:
            raise ValueError(f"d_model ({d_model}) must be a multiple of n_heads ({n_heads})")
        self.d_model, self.n_heads, self.dropout = d_model, n_heads, dropout
        self.W_q = nn.Linear(d_model, d_model, bias=bias)
        self.W_k = nn.Linear(d_model, d_model, bias=bias)
        self.W_v = nn.Linear(d_model, d_model, bias=bias)
        self.W_o = nn.Linear(d_model, d_model, bias=bias)

    def split_heads(self, x: torch.Tensor) -> torch.Tensor:
        B, T, C = x.shape
        return x.view(B, T, self.n_heads, C // self.n_heads).transpose(1, 2)  # (B, nh, T, hs)

    def forward(
        self,
        x: torch.Tensor,
        memory: torch.Tensor | None = None,
        mask: torch.Tensor | None = None,
        need_weights: bool = True,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """x (B, T, C), mask broadcastable to (B, nh, T, Tk) -> (out (B, T, C), weights (B, nh, T, Tk)).

        ``need_weights=False`` computes the same softmax(q·kᵀ/√d)·v with PyTorch's fused kernel, which
        never builds the (T, Tk) weight matrix (several times faster to train on CPU), and returns
        ``None`` for the weights."""
        memory = x if memory is None else memory
        B, T, C = x.shape
        q = self.split_heads(self.W_q(x))  # (B, nh, T, hs)
        k = self.split_heads(self.W_k(memory))  # (B, nh, Tk, hs)
        v = self.split_heads(self.W_v(memory))  # (B, nh, Tk, hs)
        if need_weights:
            y, weights = scaled_dot_product_attention(q, k, v, mask, self.dropout, self.training)
        else:
            y, weights = (
                F.scaled_dot_product_attention(
                    q, k, v, attn_mask=mask, dropout_p=self.dropout if self.training else 0.0
                ),
                None,
            )
        y = y.transpose(1, 2).contiguous().view(B, T, C)  # heads side by side again: (B, T, C)
        return self.W_o(y), weights
