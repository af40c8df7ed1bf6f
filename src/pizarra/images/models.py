"""The shipped models of chapter 10, loaded once per process (and checked against their cards).

    load_autoencoder()  -> Autoencoder                  artifacts/img-autoencoder
    load_clip()         -> (TinyCLIP, Vocab)            artifacts/img-clip
    load_gallery()      -> Gallery (1,000 test pictures, labels, CLIP embeddings)
    load_diffusion()    -> Diffusion                    artifacts/img-diffusion
    load_classifier()   -> Classifier                   artifacts/img-classifier

A missing artifact raises ``AssetMissing`` (HTTP 503) naming the command that rebuilds it.
"""

from __future__ import annotations

import io
import json
import threading
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch

from pizarra.assets.artifacts import load_artifact
from pizarra.config import artifacts_dir
from pizarra.images.autoencoder import Autoencoder, AutoencoderConfig
from pizarra.images.classifier import Classifier, ClassifierConfig
from pizarra.images.clip import ClipConfig, TinyCLIP
from pizarra.images.data import Vocab, to_float
from pizarra.images.diffusion import Diffusion, DiffusionConfig
from pizarra.images.unet import UNet, UNetConfig

_lock = threading.Lock()  # one load at a time; the models themselves are read-only afterwards


def _cfg(cls, d: dict):
    fields = cls.__dataclass_fields__
    return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items() if k in fields})


def _key() -> str:
    return str(artifacts_dir())


@lru_cache(maxsize=4)
def _autoencoder(root: str) -> Autoencoder:
    art = load_artifact("img-autoencoder", root)
    model = Autoencoder(_cfg(AutoencoderConfig, art.config))
    model.load_state_dict(art.state_dict())
    return model.eval().requires_grad_(False)


@lru_cache(maxsize=4)
def _clip(root: str) -> tuple[TinyCLIP, Vocab]:
    art = load_artifact("img-clip", root)
    vocab = Vocab(json.loads(art.file("vocab.json").read_text())[2:])
    model = TinyCLIP(_cfg(ClipConfig, art.config))
    model.load_state_dict(art.state_dict())
    return model.eval().requires_grad_(False), vocab


@dataclass
class Gallery:
    images: np.ndarray  # uint8 (N, 28, 28)
    labels: np.ndarray  # int (N,) in 0..19
    emb: torch.Tensor  # (N, dim) CLIP image embeddings, unit length


@lru_cache(maxsize=4)
def _gallery(root: str) -> Gallery:
    art = load_artifact("img-clip", root)
    clip, _ = _clip(root)
    with np.load(io.BytesIO(art.file("gallery.npz").read_bytes())) as f:
        images, labels = f["images"], f["labels"].astype(np.int64)
    with torch.no_grad():
        emb = clip.encode_image(to_float(images))
    return Gallery(images, labels, emb)


@lru_cache(maxsize=4)
def _diffusion(root: str) -> Diffusion:
    art = load_artifact("img-diffusion", root)
    model = Diffusion(UNet(_cfg(UNetConfig, art.config["unet"])), _cfg(DiffusionConfig, art.config["diffusion"]))
    model.unet.load_state_dict(art.state_dict())
    return model.eval().requires_grad_(False)


@lru_cache(maxsize=4)
def _classifier(root: str) -> Classifier:
    art = load_artifact("img-classifier", root)
    model = Classifier(_cfg(ClassifierConfig, art.config))
    model.load_state_dict(art.state_dict())
    return model.eval().requires_grad_(False)


def load_autoencoder() -> Autoencoder:
    with _lock:
        return _autoencoder(_key())


def load_clip() -> tuple[TinyCLIP, Vocab]:
    with _lock:
        return _clip(_key())


def load_gallery() -> Gallery:
    with _lock:
        return _gallery(_key())


def load_diffusion() -> Diffusion:
    with _lock:
        return _diffusion(_key())


def load_classifier() -> Classifier:
    with _lock:
        return _classifier(_key())
