"""Denoising diffusion: DDPM training, DDPM and DDIM sampling, classifier-free guidance.

Forward (noising), closed form (Ho et al. 2020):
    z_t = √ᾱ_t · z_0 + √(1-ᾱ_t) · ε,      ε ~ N(0, I),   ᾱ_t = ∏_{s≤t} (1 - β_s)
Training: loss = |ε - ε̂(z_t, t, text)|², the caption dropped (replaced by "null") 15 % of the time.

Guidance (Ho & Salimans 2022):   ε̃ = ε̂(z_t, t, ∅) + w · (ε̂(z_t, t, text) - ε̂(z_t, t, ∅))

Sampling with S of the T=1000 steps, τ_1 > τ_2 > ... > τ_S:
    ẑ_0   = (z_τ - √(1-ᾱ_τ) ε̃) / √ᾱ_τ
    DDIM:  z_τ' = √ᾱ_τ' ẑ_0 + √(1-ᾱ_τ') ε̃                      (deterministic, Song et al. 2021)
    DDPM:  z_τ' = √ᾱ_τ' β̃ ẑ_0/(1-ᾱ_τ) ... i.e. the posterior q(z_τ' | z_τ, ẑ_0) plus its noise
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from pizarra.images.unet import UNet


@dataclass
class DiffusionConfig:
    timesteps: int = 1000
    beta_start: float = 1e-4
    beta_end: float = 0.02
    p_uncond: float = 0.15  # share of training examples without their caption

    def to_dict(self) -> dict:
        return asdict(self)


class Diffusion(nn.Module):
    """The schedule plus the denoiser; ``forward(z0, text)`` -> (None, loss) for the training loop."""

    def __init__(self, unet: UNet, cfg: DiffusionConfig):
        super().__init__()
        self.unet, self.cfg = unet, cfg
        betas = torch.linspace(cfg.beta_start, cfg.beta_end, cfg.timesteps, dtype=torch.float64)
        self.register_buffer("alpha_bar", torch.cumprod(1 - betas, 0).float(), persistent=False)  # (T,)

    def forward(self, z0: torch.Tensor, text: torch.Tensor, targets=None):
        B = len(z0)
        t = torch.randint(0, self.cfg.timesteps, (B,), device=z0.device)
        eps = torch.randn_like(z0)
        ab = self.alpha_bar[t].view(B, 1, 1, 1)
        zt = ab.sqrt() * z0 + (1 - ab).sqrt() * eps  # the closed-form forward process
        drop = torch.rand(B, device=z0.device) < self.cfg.p_uncond
        text = torch.where(drop[:, None], self.unet.null_text.expand(B, -1), text)
        return None, F.mse_loss(self.unet(zt, t, text), eps)

    def guided_eps(self, z: torch.Tensor, t: int, text: torch.Tensor, guidance: float) -> torch.Tensor:
        """ε̃ with classifier-free guidance: one batched call for the conditional and null halves."""
        B = len(z)
        tt = torch.full((2 * B,), t, dtype=torch.long, device=z.device)
        null = self.unet.null_text.expand(B, -1)
        eps = self.unet(torch.cat([z, z]), tt, torch.cat([text, null]))  # (2B, 4, 7, 7)
        cond, uncond = eps.chunk(2)
        return uncond + guidance * (cond - uncond)

    def timesteps_for(self, steps: int) -> list[int]:
        """``steps`` evenly spaced steps of the T, from the noisiest down (DDIM's τ)."""
        T = self.cfg.timesteps
        return sorted({int(round(x)) for x in torch.linspace(T - 1, 0, steps).tolist()}, reverse=True)

    @torch.no_grad()
    def sample(
        self,
        text: torch.Tensor,
        steps: int = 40,
        guidance: float = 3.0,
        method: str = "ddim",
        noise: torch.Tensor | None = None,
        generator: torch.Generator | None = None,
        on_step: Callable[[int, torch.Tensor], None] | None = None,
    ) -> torch.Tensor:
        """Latents (B, 4, 7, 7) for text embeddings (B, text_dim). ``noise``: the starting z_T.
        ``on_step(i, ẑ_0)`` sees the current estimate of the clean latent after each step."""
        B = len(text)
        z = noise if noise is not None else torch.randn(B, 4, 7, 7, generator=generator)
        taus = self.timesteps_for(steps)
        for i, tau in enumerate(taus):
            ab = self.alpha_bar[tau]
            ab_prev = self.alpha_bar[taus[i + 1]] if i + 1 < len(taus) else torch.tensor(1.0)
            eps = self.guided_eps(z, tau, text, guidance)
            z0 = ((z - (1 - ab).sqrt() * eps) / ab.sqrt()).clamp(-6, 6)  # ẑ_0
            if method == "ddim":
                z = ab_prev.sqrt() * z0 + (1 - ab_prev).sqrt() * eps
            else:  # DDPM: sample the posterior q(z_prev | z, ẑ_0) of the respaced chain
                beta = 1 - ab / ab_prev
                mean = (ab_prev.sqrt() * beta / (1 - ab)) * z0 + ((1 - beta).sqrt() * (1 - ab_prev) / (1 - ab)) * z
                var = beta * (1 - ab_prev) / (1 - ab)
                z = mean
                if i + 1 < len(taus):
                    z = z + var.sqrt() * torch.randn(z.shape, generator=generator)
            if on_step is not None:
                on_step(i, z0)
        return z
