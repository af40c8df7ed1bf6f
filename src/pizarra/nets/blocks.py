"""Transformer blocks and stacks, in the style of nanoGPT (and equal to ``nn.TransformerEncoderLayer``).

    EncoderBlock   every token looks at every (non-padding) token          BERT-like
    DecoderBlock   every token looks only at the past (causal mask)        GPT-like
    TransformerEncoder   tokens + positions -> N encoder blocks -> hidden states (e.g. a classifier)
    TransformerLM        tokens + positions -> N decoder blocks -> next-token logits

One ``TransformerConfig`` sizes them all (vocab, context, width, heads, layers, dropout), so the
same code serves the character ladder here, the IMDB classifier (chapter 5) and a BPE mini-GPT
(chapter 7).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from pizarra.nets.attention import MultiHeadAttention, causal_mask, padding_mask
from pizarra.nets.positional import POSITIONS


@dataclass
class TransformerConfig:
    vocab_size: int = 96
    block_size: int = 128  # context length: the longest sequence the positions cover
    d_model: int = 128
    n_heads: int = 4
    n_layers: int = 4
    d_ff: int | None = None  # feed-forward width; None = 4 * d_model
    dropout: float = 0.0
    attn_dropout: float | None = None  # dropout on the attention weights; None = ``dropout``. (On CPU
    #   any attention dropout makes PyTorch's fused kernel fall back to the slow path: ~3x a step.)
    activation: str = "gelu"  # "gelu" or "relu"
    norm_first: bool = True  # pre-norm (GPT-2) or post-norm (the 2017 paper, nn.Transformer's default)
    bias: bool = True
    positions: str = "learned"  # "learned" or "sinusoidal"
    layer_norm_eps: float = 1e-5

    @property
    def ff(self) -> int:
        return self.d_ff or 4 * self.d_model

    def to_dict(self) -> dict:
        return asdict(self)


class FeedForward(nn.Module):
    """FFN(x) = W_2 · act(W_1 x + b_1) + b_2, applied to each position on its own."""

    def __init__(self, cfg: TransformerConfig):
        super().__init__()
        self.linear1 = nn.Linear(cfg.d_model, cfg.ff, bias=cfg.bias)
        self.linear2 = nn.Linear(cfg.ff, cfg.d_model, bias=cfg.bias)
        self.act = nn.GELU() if cfg.activation == "gelu" else nn.ReLU()
        self.dropout = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear2(self.dropout(self.act(self.linear1(x))))  # (B, T, C)


class EncoderBlock(nn.Module):
    """Attention, then a feed-forward network, each wrapped in a residual connection and a LayerNorm:

    pre-norm  (norm_first):  x = x + Attn(LN1(x));   x = x + FFN(LN2(x))
    post-norm:               x = LN1(x + Attn(x));   x = LN2(x + FFN(x))
    """

    def __init__(self, cfg: TransformerConfig):
        super().__init__()
        self.norm_first = cfg.norm_first
        self.attn = MultiHeadAttention(
            cfg.d_model, cfg.n_heads, cfg.dropout if cfg.attn_dropout is None else cfg.attn_dropout, cfg.bias
        )
        self.ffn = FeedForward(cfg)
        self.norm1 = nn.LayerNorm(cfg.d_model, eps=cfg.layer_norm_eps, bias=cfg.bias)
        self.norm2 = nn.LayerNorm(cfg.d_model, eps=cfg.layer_norm_eps, bias=cfg.bias)
        self.dropout1 = nn.Dropout(cfg.dropout)
        self.dropout2 = nn.Dropout(cfg.dropout)

    def _attend(self, x, mask, need_weights=True):
        y, weights = self.attn(x, mask=mask, need_weights=need_weights)
        return self.dropout1(y), weights

    def forward(
        self, x: torch.Tensor, mask: torch.Tensor | None = None, need_weights: bool = True
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """x (B, T, C), mask (True = may attend) -> (x (B, T, C), attention weights (B, nh, T, T)
        or None when ``need_weights=False``: the fused kernel, same result)."""
        if self.norm_first:
            y, weights = self._attend(self.norm1(x), mask, need_weights)
            x = x + y
            x = x + self.dropout2(self.ffn(self.norm2(x)))
        else:
            y, weights = self._attend(x, mask, need_weights)
            x = self.norm1(x + y)
            x = self.norm2(x + self.dropout2(self.ffn(x)))
        return x, weights


class DecoderBlock(EncoderBlock):
    """A decoder-only (GPT) block: an encoder block whose tokens cannot see the future.

    mask[t, j] = (j ≤ t)  [and j is not padding]
    """

    def forward(
        self, x: torch.Tensor, mask: torch.Tensor | None = None, need_weights: bool = True
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        causal = causal_mask(x.size(1), x.device)  # (T, T)
        return super().forward(x, causal if mask is None else causal & mask, need_weights)


class _Stack(nn.Module):
    """Token embedding + positions + N blocks (+ final LayerNorm when pre-norm)."""

    block = EncoderBlock

    def __init__(self, cfg: TransformerConfig):
        super().__init__()
        if cfg.positions not in POSITIONS:
            raise ValueError(f"positions must be one of {', '.join(POSITIONS)}, got {cfg.positions!r}")
        self.cfg = cfg
        self.tok = nn.Embedding(cfg.vocab_size, cfg.d_model)
        self.pos = POSITIONS[cfg.positions](cfg.d_model, cfg.block_size)
        self.drop = nn.Dropout(cfg.dropout)
        self.blocks = nn.ModuleList(self.block(cfg) for _ in range(cfg.n_layers))
        self.norm = (
            nn.LayerNorm(cfg.d_model, eps=cfg.layer_norm_eps, bias=cfg.bias) if cfg.norm_first else nn.Identity()
        )
        self.apply(self._init)

    @staticmethod
    def _init(m: nn.Module) -> None:  # GPT-2's initialisation
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, std=0.02)
        if isinstance(m, nn.Linear) and m.bias is not None:
            nn.init.zeros_(m.bias)

    def hidden(self, idx: torch.Tensor, lengths: torch.Tensor | None = None, need_weights: bool = True):
        """idx (B, T) -> (hidden states (B, T, C), [attention weights (B, nh, T, T) per layer]);
        ``need_weights=False`` runs the fused attention kernel and the list holds ``None``s."""
        T = idx.size(1)
        if T > self.cfg.block_size:
            raise ValueError(f"sequence of {T} tokens, the context is {self.cfg.block_size}")
        mask = None if lengths is None else padding_mask(lengths, T)  # (B, 1, 1, T)
        x = self.drop(self.pos(self.tok(idx)))  # (B, T, C)
        maps = []
        for block in self.blocks:
            x, weights = block(x, mask, need_weights)
            maps.append(weights)
        return self.norm(x), maps


class TransformerEncoder(_Stack):
    """idx (B, T) [+ lengths (B,)] -> hidden states (B, T, C); padding positions are never attended."""

    block = EncoderBlock

    def forward(self, idx: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        return self.hidden(idx, lengths, need_weights=False)[0]


class TransformerLM(_Stack):
    """A decoder-only language model: p(x_t | x_<t) = softmax(W_head · h_t).

    makemore's interface: ``model(idx, targets) -> (logits (B, T, V), loss or None)``.
    """

    block = DecoderBlock

    def __init__(self, cfg: TransformerConfig):
        super().__init__(cfg)
        self.head = nn.Linear(cfg.d_model, cfg.vocab_size, bias=False)
        nn.init.normal_(self.head.weight, std=0.02)

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None):
        logits = self.head(self.hidden(idx, need_weights=False)[0])  # (B, T, V)
        loss = None if targets is None else F.cross_entropy(logits.flatten(0, 1), targets.flatten(), ignore_index=-1)
        return logits, loss

    @torch.no_grad()
    def generate(
        self,
        idx: torch.Tensor,
        max_new_tokens: int,
        temperature: float = 1.0,
        top_k: int | None = None,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Sample ``max_new_tokens`` tokens after idx (B, T), one at a time, cropping to the context."""
        for _ in range(max_new_tokens):
            logits, _ = self(idx[:, -self.cfg.block_size :])
            logits = logits[:, -1] / max(temperature, 1e-6)  # (B, V)
            if top_k is not None:
                kth = torch.topk(logits, min(top_k, logits.size(-1))).values[:, -1:]
                logits = logits.masked_fill(logits < kth, float("-inf"))
            nxt = torch.multinomial(logits.softmax(-1), 1, generator=generator)  # (B, 1)
            idx = torch.cat([idx, nxt], dim=1)
        return idx
