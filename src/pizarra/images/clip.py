"""A tiny CLIP: an image encoder and a text encoder that map into one embedding space.

    img = normalize(ImageEncoder(x))        # (B, d)  a small CNN over the 28×28 picture
    txt = normalize(TextEncoder(words))     # (B, d)  a small Transformer over the caption's words
    logits = exp(s) · img @ txtᵀ            # (B, B)  cosine similarities, learned temperature
    loss = (CE(logits, match) + CE(logitsᵀ, match)) / 2

As in CLIP (Radford et al. 2021), a caption and its picture should be closer than every other
pair of the batch. With only 20 classes many pictures of a batch share a class, so ``match`` gives
the same weight to every caption of the right class (a soft target) instead of punishing
"una zapatilla" for being close to another sneaker.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from pizarra.images.data import MAX_TOKENS, PAD


@dataclass
class ClipConfig:
    vocab_size: int = 256
    dim: int = 64  # the shared space
    width: int = 64  # text Transformer width
    layers: int = 2
    heads: int = 4
    channels: tuple[int, int, int] = (16, 32, 64)  # image CNN

    def to_dict(self) -> dict:
        d = asdict(self)
        d["channels"] = list(self.channels)
        return d


class ImageEncoder(nn.Module):
    """28×28 -> conv -> pool -> conv -> pool -> conv -> global average -> linear -> (B, dim)."""

    def __init__(self, cfg: ClipConfig):
        super().__init__()
        c1, c2, c3 = cfg.channels
        self.net = nn.Sequential(
            nn.Conv2d(1, c1, 3, padding=1),
            nn.GELU(),
            nn.MaxPool2d(2),  # (B, c1, 14, 14)
            nn.Conv2d(c1, c2, 3, padding=1),
            nn.GELU(),
            nn.MaxPool2d(2),  # (B, c2, 7, 7)
            nn.Conv2d(c2, c3, 3, padding=1),
            nn.GELU(),  # (B, c3, 7, 7)
        )
        self.proj = nn.Linear(c3 * 2, cfg.dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.net(x)  # (B, c3, 7, 7)
        h = torch.cat([h.mean((2, 3)), h.amax((2, 3))], dim=1)  # (B, 2*c3): average and max pooling
        return self.proj(h)  # (B, dim)


class TextEncoder(nn.Module):
    """word ids -> embeddings + positions -> Transformer layers -> mean over the words -> (B, dim)."""

    def __init__(self, cfg: ClipConfig):
        super().__init__()
        self.tok = nn.Embedding(cfg.vocab_size, cfg.width, padding_idx=PAD)
        self.pos = nn.Parameter(torch.zeros(MAX_TOKENS, cfg.width))
        layer = nn.TransformerEncoderLayer(
            cfg.width, cfg.heads, 2 * cfg.width, dropout=0.0, activation="gelu", batch_first=True, norm_first=True
        )
        self.blocks = nn.TransformerEncoder(layer, cfg.layers, enable_nested_tensor=False)
        self.ln = nn.LayerNorm(cfg.width)
        self.proj = nn.Linear(cfg.width, cfg.dim)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        pad = ids == PAD  # (B, T)
        pad[:, 0] = False  # an empty caption still has one position to read
        h = self.tok(ids) + self.pos[: ids.shape[1]]  # (B, T, width)
        h = self.ln(self.blocks(h, src_key_padding_mask=pad))  # (B, T, width)
        keep = (~pad).unsqueeze(-1).float()  # (B, T, 1)
        h = (h * keep).sum(1) / keep.sum(1)  # (B, width): mean over the real words
        return self.proj(h)  # (B, dim)


class TinyCLIP(nn.Module):
    def __init__(self, cfg: ClipConfig):
        super().__init__()
        self.cfg = cfg
        self.image = ImageEncoder(cfg)
        self.text = TextEncoder(cfg)
        self.log_scale = nn.Parameter(torch.tensor(2.659))  # exp(2.659) = 1/0.07, CLIP's start

    def encode_image(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.image(x), dim=-1)  # (B, dim), unit length

    def encode_text(self, ids: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.text(ids), dim=-1)  # (B, dim), unit length

    def forward(self, images: torch.Tensor, ids: torch.Tensor, labels: torch.Tensor | None = None):
        img, txt = self.encode_image(images), self.encode_text(ids)
        logits = self.log_scale.clamp(max=4.6052).exp() * img @ txt.T  # (B, B); scale at most 100
        if labels is None:
            match = torch.eye(len(img), device=img.device)
        else:
            match = (labels[:, None] == labels[None, :]).float()  # (B, B) same class
        target = match / match.sum(1, keepdim=True)
        loss = (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2
        return logits, loss
