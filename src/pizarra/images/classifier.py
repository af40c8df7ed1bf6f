"""The judge: a CNN trained on the real pictures (20 classes) that labels generated ones.

    features = CNN(x)                 (B, 128)   also the space where FID is measured
    logits   = Linear(features)       (B, 20)

    FID = |μ_g - μ_r|² + Tr(Σ_g + Σ_r - 2 (Σ_g Σ_r)^½)     (Heusel et al. 2017)

FID here is computed on this classifier's features, not on Inception's: the numbers are only
comparable with other FIDs measured the same way (ours, in the cards and reports).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from pizarra.images.data import N_CLASSES


@dataclass
class ClassifierConfig:
    channels: tuple[int, int, int] = (32, 32, 64)
    features: int = 128
    dropout: float = 0.3

    def to_dict(self) -> dict:
        d = asdict(self)
        d["channels"] = list(self.channels)
        return d


class Classifier(nn.Module):
    def __init__(self, cfg: ClassifierConfig):
        super().__init__()
        self.cfg = cfg
        c1, c2, c3 = cfg.channels
        self.net = nn.Sequential(
            nn.Conv2d(1, c1, 3, padding=1),
            nn.BatchNorm2d(c1),
            nn.ReLU(),
            nn.MaxPool2d(2),  # (B, c1, 14, 14)
            nn.Conv2d(c1, c2, 3, padding=1),
            nn.BatchNorm2d(c2),
            nn.ReLU(),
            nn.MaxPool2d(2),  # (B, c2, 7, 7)
            nn.Conv2d(c2, c3, 3, padding=1),
            nn.BatchNorm2d(c3),
            nn.ReLU(),  # (B, c3, 7, 7)
            nn.Flatten(),
            nn.Dropout(cfg.dropout),
            nn.Linear(c3 * 49, cfg.features),
            nn.ReLU(),  # (B, features)
        )
        self.head = nn.Sequential(nn.Dropout(cfg.dropout), nn.Linear(cfg.features, N_CLASSES))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)  # (B, features)

    def forward(self, x: torch.Tensor, targets: torch.Tensor | None = None):
        logits = self.head(self.net(x))  # (B, 20)
        loss = None if targets is None else F.cross_entropy(logits, targets)
        return logits, loss


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """FID between two sets of feature vectors (N, D) and (M, D)."""
    from scipy import linalg

    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = np.real(linalg.sqrtm(s1 @ s2))
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2 - 2 * covmean))
