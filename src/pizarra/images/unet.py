"""The denoiser: a small UNet over 4×7×7 latents, told the time step and the caption.

    ε̂ = UNet(z_t, t, text)     predicts the noise that was added to z_0 to make z_t

    z (4,7,7) -conv-> 7×7×c1 -Res-> ---------------------------skip--------------------.
                                  -down-> 4×4×c2 -Res-> -Res-> -up-> 7×7 -concat-> -Res-> -conv-> ε̂ (4,7,7)

Every ResBlock is told ``emb = MLP(sinusoid(t)) + Linear(text)`` as a per-channel scale and shift
(FiLM). ``text`` is the tiny CLIP's text embedding; a learned "null" embedding stands for "no
caption", which is what classifier-free guidance needs.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class UNetConfig:
    latent_channels: int = 4
    channels: tuple[int, int] = (32, 64)
    emb: int = 128  # time + text embedding width
    text_dim: int = 64  # the tiny CLIP's space

    def to_dict(self) -> dict:
        d = asdict(self)
        d["channels"] = list(self.channels)
        return d


def timestep_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """Transformer-style sinusoids of the step number: (B,) -> (B, dim)."""
    half = dim // 2
    freqs = torch.exp(-math.log(10000) * torch.arange(half, device=t.device) / half)  # (half,)
    args = t.float()[:, None] * freqs[None]  # (B, half)
    return torch.cat([args.sin(), args.cos()], dim=1)


class ResBlock(nn.Module):
    """h = conv(silu(norm(x))); h = h·(1 + scale) + shift from emb; out = skip(x) + conv(silu(norm(h)))"""

    def __init__(self, cin: int, cout: int, emb: int):
        super().__init__()
        self.norm1 = nn.GroupNorm(8, cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.film = nn.Linear(emb, 2 * cout)
        self.norm2 = nn.GroupNorm(8, cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))  # (B, cout, H, W)
        scale, shift = self.film(emb)[:, :, None, None].chunk(2, dim=1)  # (B, cout, 1, 1) each
        h = self.norm2(h) * (1 + scale) + shift
        return self.skip(x) + self.conv2(F.silu(h))


class UNet(nn.Module):
    def __init__(self, cfg: UNetConfig):
        super().__init__()
        self.cfg = cfg
        c1, c2 = cfg.channels
        self.time_mlp = nn.Sequential(nn.Linear(cfg.emb, cfg.emb), nn.SiLU(), nn.Linear(cfg.emb, cfg.emb))
        self.text_proj = nn.Linear(cfg.text_dim, cfg.emb)
        self.null_text = nn.Parameter(torch.zeros(cfg.text_dim))  # "no caption" for guidance
        self.inp = nn.Conv2d(cfg.latent_channels, c1, 3, padding=1)
        self.down1 = ResBlock(c1, c1, cfg.emb)  # 7×7
        self.down = nn.Conv2d(c1, c2, 3, stride=2, padding=1)  # 7×7 -> 4×4
        self.mid1 = ResBlock(c2, c2, cfg.emb)  # 4×4
        self.mid2 = ResBlock(c2, c2, cfg.emb)
        self.up1 = ResBlock(c2 + c1, c1, cfg.emb)  # 7×7, after the skip connection
        self.out_norm = nn.GroupNorm(8, c1)
        self.out = nn.Conv2d(c1, cfg.latent_channels, 3, padding=1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, z: torch.Tensor, t: torch.Tensor, text: torch.Tensor | None) -> torch.Tensor:
        """z (B, 4, 7, 7), t (B,) integer steps, text (B, text_dim) or None (no caption)."""
        if text is None:
            text = self.null_text.expand(len(z), -1)
        emb = self.time_mlp(timestep_embedding(t, self.cfg.emb)) + self.text_proj(text)  # (B, emb)
        h1 = self.down1(self.inp(z), emb)  # (B, c1, 7, 7)
        h = self.down(h1)  # (B, c2, 4, 4)
        h = self.mid2(self.mid1(h, emb), emb)  # (B, c2, 4, 4)
        h = F.interpolate(h, size=h1.shape[-2:], mode="nearest")  # (B, c2, 7, 7)
        h = self.up1(torch.cat([h, h1], dim=1), emb)  # (B, c1, 7, 7)
        return self.out(F.silu(self.out_norm(h)))  # (B, 4, 7, 7)
