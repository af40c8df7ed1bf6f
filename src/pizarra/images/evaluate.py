"""Measured numbers of chapter 10: CLIP retrieval, and the quality of generated pictures.

clip_retrieval(clip, vocab, images, labels)
    image -> text  acc@1 / acc@5: the right class among the 20 (each class = the mean of its
                   captions' embeddings, CLIP's "prompt ensembling")
    text  -> image p@1 / p@5: for every caption, the share of its 1 / 5 nearest test pictures
                   that show its class (all 20,000 test pictures are candidates)
quality(steps=40, per_class=50)                         -> reports/images_quality.json
    recognised: share of generated pictures the classifier (trained on real data) labels as
                the class asked for; FID on the classifier's features against the test split,
                next to the FID of real training pictures (the floor a perfect model would reach)
"""

from __future__ import annotations

import json
import time

import numpy as np
import torch

from pizarra.config import reports_dir
from pizarra.images.data import N_CLASSES, all_captions, captions_for, class_name, to_float


@torch.no_grad()
def class_prototypes(clip, vocab) -> torch.Tensor:
    """(20, dim): each class's captions (both languages) averaged, unit length."""
    protos = []
    for c in range(N_CLASSES):
        e = clip.encode_text(vocab.tensor(captions_for(c)))
        protos.append(torch.nn.functional.normalize(e.mean(0), dim=0))
    return torch.stack(protos)


@torch.no_grad()
def clip_retrieval(clip, vocab, images: np.ndarray, labels: np.ndarray, batch: int = 2000) -> dict:
    img = torch.cat([clip.encode_image(to_float(images[i : i + batch])) for i in range(0, len(images), batch)])
    y = torch.as_tensor(labels)
    top5 = (img @ class_prototypes(clip, vocab).T).topk(5, dim=1).indices  # (N, 5)
    out = {
        "image_to_text_acc@1": (top5[:, 0] == y).float().mean().item(),
        "image_to_text_acc@5": (top5 == y[:, None]).any(1).float().mean().item(),
    }
    caps = all_captions()
    txt = clip.encode_text(vocab.tensor([c for c, _ in caps]))  # (n_captions, dim)
    cls = torch.tensor([k for _, k in caps])
    near = (txt @ img.T).topk(5, dim=1).indices  # (n_captions, 5)
    hit = y[near] == cls[:, None]  # (n_captions, 5)
    out["text_to_image_p@1"] = hit[:, 0].float().mean().item()
    out["text_to_image_p@5"] = hit.float().mean().item()
    es = torch.tensor([c in captions_for(k, "es") for c, k in caps])
    out["text_to_image_p@1_es"] = hit[es, 0].float().mean().item()
    out["text_to_image_p@1_en"] = hit[~es, 0].float().mean().item()
    out["test_pictures"], out["captions"] = len(y), len(caps)
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in out.items()}


@torch.no_grad()
def classifier_features(clf, images: np.ndarray, batch: int = 1000) -> tuple[np.ndarray, np.ndarray]:
    """(features (N, 128), predicted class (N,)) for uint8 pictures."""
    feats, preds = [], []
    for i in range(0, len(images), batch):
        f = clf.features(to_float(images[i : i + batch]))
        feats.append(f)
        preds.append(clf.head(f).argmax(-1))
    return torch.cat(feats).numpy().astype(np.float64), torch.cat(preds).numpy()


def quality(
    steps: int = 40,
    guidance: float | None = None,
    per_class: int = 50,
    seed: int = 0,
    method: str = "ddim",
    write: bool = True,
    data=None,
) -> dict:
    """Generate ``per_class`` pictures of each class from its captions (both languages, in turn),
    label them with the classifier, and measure FID against the test split."""
    from pizarra.images.classifier import frechet_distance
    from pizarra.images.core import DEFAULT_GUIDANCE, generate_from_embeddings
    from pizarra.images.data import load_images
    from pizarra.images.models import load_classifier, load_clip

    guidance = DEFAULT_GUIDANCE if guidance is None else guidance
    clip, vocab = load_clip()
    clf = load_classifier()
    want, pics = [], []
    t0 = time.perf_counter()
    for c in range(N_CLASSES):
        caps = captions_for(c)
        chosen = [caps[i % len(caps)] for i in range(per_class)]
        with torch.no_grad():
            emb = clip.encode_text(vocab.tensor(chosen))
        for i in range(0, per_class, 25):  # batches of 25 pictures
            pics.append(generate_from_embeddings(emb[i : i + 25], steps, guidance, seed + 1000 * c + i, method))
        want += [c] * per_class
    gen_seconds = time.perf_counter() - t0
    gen, want = np.concatenate(pics), np.array(want)
    f_gen, pred = classifier_features(clf, gen)
    xt, yt = load_images("test", data)
    xtr, _ = load_images("train", data)
    f_test, _ = classifier_features(clf, xt)
    rng = np.random.default_rng(seed)
    f_real, _ = classifier_features(clf, xtr[rng.permutation(len(xtr))[: len(gen)]])
    right = pred == want
    report = {
        "steps": steps,
        "guidance": guidance,
        "method": method,
        "samples": int(len(gen)),
        "recognised": round(float(right.mean()), 4),
        "recognised_fashion": round(float(right[want < 10].mean()), 4),
        "recognised_digits": round(float(right[want >= 10].mean()), 4),
        "recognised_per_class": {
            class_name(c, "en"): round(float(right[want == c].mean()), 3) for c in range(N_CLASSES)
        },
        "fid_classifier_features": round(frechet_distance(f_gen, f_test), 3),
        "fid_real_train_vs_test": round(frechet_distance(f_real, f_test), 3),
        "fid_reference": f"FID on the 128 features of img-classifier, {len(gen)} pictures "
        f"vs all {len(xt)} test pictures",
        "generation_seconds": round(gen_seconds, 1),
        "torch_threads": torch.get_num_threads(),
    }
    if write:
        path = reports_dir() / "images_quality.json"
        path.parent.mkdir(exist_ok=True)
        path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    return report


def add_to_card(name: str, metrics: dict) -> None:
    """Re-save artifact ``name`` with ``metrics`` merged into its card (same files, same command)."""
    import shutil
    import tempfile
    from pathlib import Path

    from pizarra.assets.artifacts import load_artifact, save_artifact

    art = load_artifact(name)
    with tempfile.TemporaryDirectory() as tmp:
        files = {}
        for fname in art.card["files"]:
            if fname != "weights.safetensors":
                shutil.copyfile(art.path / fname, Path(tmp) / fname)
                files[fname] = Path(tmp) / fname
        extra = {
            k: v
            for k, v in art.card.items()
            if k
            not in {
                "name",
                "config",
                "data",
                "metrics",
                "git_commit",
                "git_dirty",
                "command",
                "created",
                "pizarra_version",
                "files",
            }
        }
        save_artifact(
            name,
            art.state_dict(),
            files=files,
            config=art.config,
            data=art.card.get("data"),
            metrics={**art.metrics, **metrics},
            command=art.card.get("command"),
            extra=extra,
        )
