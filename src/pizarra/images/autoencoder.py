"""The latent space of our Stable Diffusion in miniature: 28×28 pictures <-> 4×7×7 latents.

    z = Encoder(x)       (B, 1, 28, 28) -> (B, 4, 7, 7)      784 numbers -> 196
    x̂ = Decoder(z)       (B, 4, 7, 7)   -> (B, 1, 28, 28)
    loss = |x̂ - x|² + |x̂ - x|  (with a little noise added to z, so that the decoder
                                  also draws well from the not-quite-perfect latents diffusion makes)

Stable Diffusion (Rombach et al. 2022) denoises in such a compressed space and decodes once at the
end: 16× fewer numbers to denoise is what makes 40 steps fast on a CPU.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class AutoencoderConfig:
    latent_channels: int = 4
    channels: tuple[int, int] = (16, 32)
    latent_noise: float = 0.1  # std of the noise added to z while training (z has std about 1)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["channels"] = list(self.channels)
        return d


class ResBlock(nn.Module):
    """x + conv(gelu(conv(gelu(norm(x)))))"""

    def __init__(self, ch: int):
        super().__init__()
        self.norm = nn.GroupNorm(8, ch)
        self.conv1 = nn.Conv2d(ch, ch, 3, padding=1)
        self.conv2 = nn.Conv2d(ch, ch, 3, padding=1)

    def forward(self, x):
        return x + self.conv2(F.gelu(self.conv1(F.gelu(self.norm(x)))))


class Autoencoder(nn.Module):
    def __init__(self, cfg: AutoencoderConfig):
        super().__init__()
        self.cfg = cfg
        c1, c2 = cfg.channels
        zc = cfg.latent_channels
        self.encoder = nn.Sequential(
            nn.Conv2d(1, c1, 3, stride=2, padding=1),
            nn.GELU(),  # (B, c1, 14, 14)
            ResBlock(c1),
            nn.Conv2d(c1, c2, 3, stride=2, padding=1),
            nn.GELU(),  # (B, c2, 7, 7)
            ResBlock(c2),
            nn.Conv2d(c2, zc, 1),  # (B, zc, 7, 7)
        )
        self.decoder = nn.Sequential(
            nn.Conv2d(zc, c2, 3, padding=1),
            nn.GELU(),  # (B, c2, 7, 7)
            ResBlock(c2),
            nn.ConvTranspose2d(c2, c1, 4, stride=2, padding=1),
            nn.GELU(),  # (B, c1, 14, 14)
            ResBlock(c1),
            nn.ConvTranspose2d(c1, c1, 4, stride=2, padding=1),
            nn.GELU(),  # (B, c1, 28, 28)
            nn.Conv2d(c1, 1, 3, padding=1),
            nn.Tanh(),  # (B, 1, 28, 28) in [-1, 1]
        )
        # the latents are standardised per channel before diffusion (Stable Diffusion's scale factor)
        self.register_buffer("z_mean", torch.zeros(zc, 1, 1))
        self.register_buffer("z_std", torch.ones(zc, 1, 1))

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Pictures -> standardised latents (B, 4, 7, 7) (mean 0, std 1 per channel)."""
        return (self.encoder(x) - self.z_mean) / self.z_std

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Standardised latents -> pictures in [-1, 1]."""
        return self.decoder(z * self.z_std + self.z_mean)

    def forward(self, x: torch.Tensor, targets: torch.Tensor | None = None):
        z = self.encoder(x)
        if self.training and self.cfg.latent_noise:
            z = z + self.cfg.latent_noise * z.detach().std() * torch.randn_like(z)
        xr = self.decoder(z)
        loss = F.mse_loss(xr, x) + F.l1_loss(xr, x)
        return xr, loss

    @torch.no_grad()
    def fit_scale(self, x: torch.Tensor, batch: int = 2048) -> None:
        """Set z_mean / z_std from the latents of ``x``."""
        zs = torch.cat([self.encoder(x[i : i + batch]) for i in range(0, len(x), batch)])  # (N, zc, 7, 7)
        self.z_mean.copy_(zs.mean((0, 2, 3)).view(-1, 1, 1))
        self.z_std.copy_(zs.std((0, 2, 3)).view(-1, 1, 1))
