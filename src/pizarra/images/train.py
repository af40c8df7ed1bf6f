"""Training the four models of chapter 10 with the shared loop (``pizarra.train.fit``), in order:

    autoencoder  pictures <-> 4×7×7 latents                     -> artifacts/img-autoencoder
    clip         tiny CLIP (image CNN + text Transformer)       -> artifacts/img-clip (+ search gallery)
    classifier   the judge of generated pictures (and FID)      -> artifacts/img-classifier
    diffusion    UNet over latents, conditioned on CLIP text    -> artifacts/img-diffusion

    python -m pizarra.images.train all          # or: pizarra images train all
    python -m pizarra.images.train diffusion --steps 6000

Each runs on the CPU with one thread in minutes (the cards record steps, seconds and scores) and
needs ``PIZARRA_DATA`` (Fashion-MNIST and MNIST). The diffusion model needs the autoencoder and
the CLIP artifacts first.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time

import numpy as np
import torch

from pizarra.assets.artifacts import load_artifact, save_artifact
from pizarra.images.autoencoder import Autoencoder, AutoencoderConfig
from pizarra.images.classifier import Classifier, ClassifierConfig
from pizarra.images.clip import ClipConfig, TinyCLIP
from pizarra.images.data import N_CLASSES, CaptionedImages, Vocab, all_captions, gallery_indices, load_images, to_float
from pizarra.images.diffusion import Diffusion, DiffusionConfig
from pizarra.images.unet import UNet, UNetConfig
from pizarra.train import TrainConfig, fit

DATA = {
    "train": "Fashion-MNIST train (60,000) + MNIST train (60,000) = 20 classes",
    "val": "2,000 pictures of the test splits (Fashion-MNIST t10k + MNIST t10k)",
}
GALLERY_PER_CLASS = 50  # shipped search gallery: 1,000 test pictures


def _val_subset(x, y, n=2000, seed=0):
    idx = np.random.default_rng(seed).permutation(len(y))[:n]
    return x[idx], y[idx]


def _deadline(minutes: float | None):
    """should_stop for fit: True after ``minutes`` (the loop then checkpoints and stops)."""
    if not minutes:
        return None
    end = time.monotonic() + 60 * minutes
    return lambda: time.monotonic() > end


def _stop(minutes: float | None, should_stop):
    """should_stop for fit: the deadline of ``minutes``, or the caller's own question (a job's cancel)."""
    deadline = _deadline(minutes)
    if should_stop is None:
        return deadline
    return lambda: bool(should_stop()) or bool(deadline and deadline())


def _cancelled(result, should_stop) -> bool:
    """A run stopped by its caller (a job's cancel): it ends at once and saves nothing. Without
    ``should_stop`` (the CLI) a stopped run is saved, as before."""
    return should_stop is not None and result.status == "cancelled"


def _command(argv) -> str:
    return "pizarra images train " + " ".join(argv)


def _summary(result) -> dict:
    return {
        "steps": result.step,
        "status": result.status,
        "train_seconds": round(result.elapsed_s, 1),
        "best_" + result.metric: result.best,
        "final": result.history[-1] if result.history else None,
    }


# ---------------------------------------------------------------------------------------------


def train_autoencoder(
    steps=2500,
    batch_size=128,
    lr=2e-3,
    minutes=None,
    seed=0,
    argv=(),
    eval_every=250,
    on_event=None,
    should_stop=None,
    root=None,
) -> dict:
    """``on_event``/``should_stop``: the loop's events and a job's cancel; ``root``: where the artifact goes."""
    x, y = load_images("train")
    xt, yt = _val_subset(*load_images("test"))
    torch.manual_seed(seed)
    model = Autoencoder(AutoencoderConfig())
    X, Xv = to_float(x), to_float(xt)
    cfg = TrainConfig(
        max_steps=steps,
        batch_size=batch_size,
        lr=lr,
        schedule="cosine",
        warmup_steps=100,
        eval_every=eval_every,
        checkpoint_every=None,
        seed=seed,
        device="cpu",
    )
    result = fit(model, (X, X), (Xv, Xv), cfg, on_event=on_event, should_stop=_stop(minutes, should_stop))
    if _cancelled(result, should_stop):
        return _summary(result)
    model.eval()
    model.fit_scale(X[:20000])
    with torch.no_grad():
        xr, _ = model(Xv)
        mse = torch.mean((xr - Xv) ** 2).item()
    metrics = {**_summary(result), "val_mse": round(mse, 5), "val_psnr_db": round(10 * np.log10(4 / mse), 2)}
    save_artifact(
        "img-autoencoder",
        model.state_dict(),
        config=model.cfg.to_dict() | {"train": cfg.to_dict()},
        data=DATA,
        metrics=metrics,
        command=_command(argv or ["autoencoder"]),
        root=root,
    )
    return metrics


def train_clip(steps=2000, batch_size=256, lr=2e-3, minutes=None, seed=0, argv=()) -> dict:
    from pizarra.images.evaluate import clip_retrieval

    vocab = Vocab.from_captions()
    x, y = load_images("train")
    xt_all, yt_all = load_images("test")
    xt, yt = _val_subset(xt_all, yt_all)
    torch.manual_seed(seed)
    model = TinyCLIP(ClipConfig(vocab_size=len(vocab)))
    cfg = TrainConfig(
        max_steps=steps,
        batch_size=batch_size,
        lr=lr,
        schedule="cosine",
        warmup_steps=100,
        weight_decay=0.01,
        eval_every=250,
        checkpoint_every=None,
        seed=seed,
        device="cpu",
    )
    result = fit(
        model, CaptionedImages(x, y, vocab), CaptionedImages(xt, yt, vocab), cfg, should_stop=_deadline(minutes)
    )
    model.eval()
    metrics = {**_summary(result), **clip_retrieval(model, vocab, xt_all, yt_all)}
    gal = gallery_indices(yt_all, GALLERY_PER_CLASS)
    buf = io.BytesIO()
    np.savez_compressed(buf, images=xt_all[gal], labels=yt_all[gal].astype(np.uint8), test_index=gal)
    save_artifact(
        "img-clip",
        model.state_dict(),
        files={"gallery.npz": buf.getvalue(), "vocab.json": json.dumps(vocab.itos).encode()},
        config=model.cfg.to_dict() | {"train": cfg.to_dict()},
        data=DATA | {"gallery": f"{GALLERY_PER_CLASS} test pictures per class (seed 0)"},
        metrics=metrics,
        command=_command(argv or ["clip"]),
    )
    return metrics


def train_classifier(
    steps=2500,
    batch_size=128,
    lr=2e-3,
    minutes=None,
    seed=0,
    argv=(),
    eval_every=250,
    on_event=None,
    should_stop=None,
    root=None,
) -> dict:
    """``on_event``/``should_stop``: the loop's events and a job's cancel; ``root``: where the artifact goes."""
    x, y = load_images("train")
    xt_all, yt_all = load_images("test")
    xt, yt = _val_subset(xt_all, yt_all)
    torch.manual_seed(seed)
    model = Classifier(ClassifierConfig())

    def accuracy(m, data):
        logits, _ = m(data[0])
        return {"val_acc": (logits.argmax(-1) == data[1]).float().mean().item()}

    cfg = TrainConfig(
        max_steps=steps,
        batch_size=batch_size,
        lr=lr,
        schedule="cosine",
        warmup_steps=100,
        weight_decay=0.01,
        eval_every=eval_every,
        checkpoint_every=None,
        seed=seed,
        device="cpu",
        metric="val_acc",
        mode="max",
        restore_best=True,
    )
    Yt = torch.from_numpy(yt)
    result = fit(
        model,
        (to_float(x), torch.from_numpy(y)),
        (to_float(xt), Yt),
        cfg,
        metrics_fn=accuracy,
        on_event=on_event,
        should_stop=_stop(minutes, should_stop),
    )
    if _cancelled(result, should_stop):
        return _summary(result)
    model.eval()
    with torch.no_grad():
        pred = torch.cat([model(to_float(xt_all[i : i + 2000]))[0].argmax(-1) for i in range(0, len(yt_all), 2000)])
    right = pred.numpy() == yt_all
    metrics = {
        **_summary(result),
        "test_acc": round(float(right.mean()), 4),
        "test_acc_fashion": round(float(right[yt_all < 10].mean()), 4),
        "test_acc_digits": round(float(right[yt_all >= 10].mean()), 4),
    }
    save_artifact(
        "img-classifier",
        model.state_dict(),
        config=model.cfg.to_dict() | {"train": cfg.to_dict()},
        data=DATA | {"test": "all 20,000 test pictures"},
        metrics=metrics,
        command=_command(argv or ["classifier"]),
        root=root,
    )
    return metrics


class EMA:
    """Exponential moving average of a model's weights, updated after every optimiser step:
    θ_ema ← decay · θ_ema + (1 - decay) · θ. Diffusion models sample better from the average."""

    def __init__(self, model: torch.nn.Module, decay: float):
        self.decay, self.model = decay, model
        self.shadow = {k: v.detach().clone() for k, v in model.state_dict().items()}

    @torch.no_grad()
    def update(self) -> None:
        for k, v in self.model.state_dict().items():
            self.shadow[k].lerp_(v, 1 - self.decay) if v.is_floating_point() else self.shadow[k].copy_(v)

    def optimizer(self, cfg: TrainConfig):
        """A factory for ``fit(optimizer=...)``: the default AdamW that also updates this average."""
        ema = self

        class AveragingAdamW(torch.optim.AdamW):
            def step(self, closure=None):
                out = super().step(closure)
                ema.update()
                return out

        def make(model):  # the loop's default: AdamW, weight decay on matrices only
            params = [p for p in model.parameters() if p.requires_grad]
            groups = [
                {"params": [p for p in params if p.dim() >= 2], "weight_decay": cfg.weight_decay},
                {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
            ]
            return AveragingAdamW(groups, lr=cfg.lr, betas=cfg.betas)

        return make


class LatentCaptions:
    """Diffusion training data: ``get_batch(idx)`` -> (latents (B,4,7,7), CLIP text embeddings (B,64)),
    each picture with a random caption of its class (the embeddings of every caption precomputed)."""

    def __init__(self, latents: torch.Tensor, labels: np.ndarray, caption_emb: torch.Tensor, caption_class):
        self.latents, self.labels = latents, torch.from_numpy(np.asarray(labels, dtype=np.int64))
        self.emb = caption_emb  # (n_captions, 64)
        self.by_class = [torch.tensor([i for i, c in enumerate(caption_class) if c == k]) for k in range(N_CLASSES)]

    def __len__(self):
        return len(self.labels)

    def get_batch(self, idx):
        labels = self.labels[idx]
        pick = torch.stack([self.by_class[k][torch.randint(len(self.by_class[k]), ())] for k in labels.tolist()])
        return self.latents[idx], self.emb[pick]


def train_diffusion(
    steps=2500, batch_size=128, lr=1e-3, minutes=None, seed=0, argv=(), more: bool = False, ema: float | None = None
) -> dict:
    """``more``: start from the shipped img-diffusion weights and train ``steps`` more (fresh optimiser)."""
    from pizarra.images.models import load_autoencoder, load_clip

    ae, (clip, vocab) = load_autoencoder(), load_clip()
    x, y = load_images("train")
    xt, yt = _val_subset(*load_images("test"))
    with torch.no_grad():

        def enc(imgs):
            return torch.cat([ae.encode(to_float(imgs[i : i + 4000])) for i in range(0, len(imgs), 4000)])

        z, zv = enc(x), enc(xt)  # (N, 4, 7, 7)
        caps = all_captions()
        emb = clip.encode_text(vocab.tensor([c for c, _ in caps]))  # (n_captions, 64)
    classes = [k for _, k in caps]
    torch.manual_seed(seed)
    model = Diffusion(UNet(UNetConfig(text_dim=clip.cfg.dim)), DiffusionConfig())
    before = {"steps": 0, "seconds": 0.0, "commands": []}
    if more:
        art = load_artifact("img-diffusion")
        model.unet.load_state_dict(art.state_dict())
        prev = art.config.get(
            "history",
            {
                "steps": art.metrics["steps"],
                "seconds": art.metrics["train_seconds"],
                "commands": [art.card.get("command")],
            },
        )
        before = prev
        seed += 1  # another data order
    cfg = TrainConfig(
        max_steps=steps,
        batch_size=batch_size,
        lr=lr,
        schedule="cosine",
        warmup_steps=200,
        eval_every=500,
        checkpoint_every=None,
        seed=seed,
        device="cpu",
        eval_batches=8,
    )
    average = EMA(model.unet, ema) if ema else None
    result = fit(
        model,
        LatentCaptions(z, y, emb, classes),
        LatentCaptions(zv, yt, emb, classes),
        cfg,
        optimizer=average.optimizer(cfg) if average else None,
        should_stop=_deadline(minutes),
    )
    if average:
        model.unet.load_state_dict(average.shadow)  # ship the averaged weights
    metrics = _summary(result)
    metrics["ema_decay"] = ema
    history = {
        "steps": before["steps"] + result.step,
        "seconds": round(before["seconds"] + result.elapsed_s, 1),
        "commands": [*before["commands"], _command(argv or ["diffusion"])],
    }
    metrics["total_steps"], metrics["total_train_seconds"] = history["steps"], history["seconds"]
    save_artifact(
        "img-diffusion",
        model.unet.state_dict(),
        config={
            "unet": model.unet.cfg.to_dict(),
            "diffusion": model.cfg.to_dict(),
            "train": cfg.to_dict(),
            "autoencoder": "img-autoencoder",
            "text_encoder": "img-clip",
            "history": history,
        },
        data=DATA,
        metrics=metrics,
        command=_command(argv or ["diffusion"]),
    )
    return metrics


TRAINERS = {
    "autoencoder": train_autoencoder,
    "clip": train_clip,
    "classifier": train_classifier,
    "diffusion": train_diffusion,
}


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("model", choices=[*TRAINERS, "all"])
    p.add_argument("--steps", type=int, default=None)
    p.add_argument("--minutes", type=float, default=None, help="stop (and save) after this long")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--lr", type=float, default=None)
    p.add_argument("--more", action="store_true", help="diffusion: continue from the shipped weights")
    p.add_argument("--ema", type=float, default=None, help="diffusion: ship an EMA of the weights (e.g. 0.995)")
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    argv = sys.argv[1:] if argv is None else argv
    names = list(TRAINERS) if a.model == "all" else [a.model]
    for name in names:
        kw = {"minutes": a.minutes, "argv": [name] + argv[1:]}
        if a.steps:
            kw["steps"] = a.steps
        if a.lr:
            kw["lr"] = a.lr
        if name == "diffusion":
            kw["more"], kw["ema"] = a.more, a.ema
        print(name, json.dumps(TRAINERS[name](**kw)), flush=True)


if __name__ == "__main__":
    main()
