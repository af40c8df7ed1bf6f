"""What the page and the CLI call: read a caption, search, generate, show the steps, mix captions.

    read_caption("una zapatila roja")  -> words read, unknown words and their replacements, the
                                          nearest classes, the CLIP text embedding
    search("un bolso", k=8)            -> the gallery pictures nearest to the caption (text -> image)
    describe(index)                    -> the classes nearest to a gallery picture (image -> text)
    generate("un siete", n=16, steps=40, guidance=3, seed=0)   -> 16 pictures (28×28 uint8)
    steps_view("a sneaker", seed=0)    -> the same sample after 1, 2, 3, 5, 8, 10, 15, 20, 30, 40 steps
    interpolate("una zapatilla", "un botín", n=7)   LERP in the shared space: generated + nearest
    interpolate_images(i, j, n=7)      LERP between two gallery pictures (CLIP space and latent space)
    arithmetic([(1, "una zapatilla"), (1, "un botín")])   caption + caption, generated + nearest

Limits are explicit (``LIMITS``); a value outside them raises ``BadInput`` naming the range.
Unknown words never fail: they are replaced by the known word spelled most like them, or dropped,
and the answer says so (``unknown``, ``notice``).
"""

from __future__ import annotations

import contextlib
import difflib
import time

import numpy as np
import torch
import torch.nn.functional as F

from pizarra.errors import BadInput
from pizarra.images.data import N_CLASSES, all_captions, class_name, normalize, to_uint8

STEPS_VIEWER = (1, 2, 3, 5, 8, 10, 15, 20, 30, 40)  # the slide's Stable Diffusion steps
DEFAULT_GUIDANCE = 5.0  # chosen on a sweep of 200 samples (reports/images_quality.json has the final numbers)
METHODS = ("ddim", "ddpm")
MAX_CAPTION = 200  # characters
LIMITS = {
    "steps": (1, 100),
    "guidance": (0.0, 10.0),
    "n": (1, 32),
    "k": (1, 50),
    "seed": (0, 2**31 - 1),
    "points": (2, 11),
    "terms": (1, 4),
    "weight": (-2.0, 2.0),
}


def check(name: str, value) -> None:
    lo, hi = LIMITS[name]
    if value is None or not (lo <= value <= hi):
        raise BadInput(
            f"{name} must be between {lo} and {hi}, got {value!r}.",
            key="err.range",
            name=name,
            lo=lo,
            hi=hi,
            value=str(value),
        )


def _check_caption(caption: str) -> str:
    caption = (caption or "").strip()
    if not caption or len(caption) > MAX_CAPTION:
        raise BadInput(
            f"The caption must have 1 to {MAX_CAPTION} characters, got {len(caption)}.",
            key="err.images.caption_length",
            limit=MAX_CAPTION,
            n=len(caption),
        )
    if not normalize(caption):
        raise BadInput(
            "The caption has no words (letters or digits): write e.g. 'una zapatilla' or 'a seven'.",
            key="err.images.caption_words",
        )
    return caption


def notice(unknown: dict, fallback: str | None, lang: str = "es") -> str | None:
    """A sentence about the words the model did not know, in Spanish or English."""
    if not unknown:
        return None
    parts = []
    for w, r in unknown.items():
        if r is None:
            parts.append(f"«{w}» ({'ignorada' if lang == 'es' else 'ignored'})")
        else:
            parts.append(f"«{w}» → «{r}»")
    if lang == "es":
        text = "El modelo no conoce: " + ", ".join(parts) + "."
        if any(r is None for r in unknown.values()):
            text += " Solo aprendió diez prendas y los dígitos: lo que no se parece a ninguno se ignora."
        if fallback:
            text += f" Ninguna palabra conocida: uso el pie de foto más parecido, «{fallback}»."
    else:
        text = "Words the model does not know: " + ", ".join(parts) + "."
        if any(r is None for r in unknown.values()):
            text += " It only learned ten garments and the digits: a word like none of them is ignored."
        if fallback:
            text += f" No known word left: using the closest caption, “{fallback}”."
    return text


@torch.no_grad()
def class_prototypes() -> torch.Tensor:
    from pizarra.images.evaluate import class_prototypes as protos
    from pizarra.images.models import load_clip

    clip, vocab = load_clip()
    key = id(clip)
    if _PROTOS.get("key") != key:
        _PROTOS.update(key=key, value=protos(clip, vocab))
    return _PROTOS["value"]


_PROTOS: dict = {}


def nearest_classes(emb: torch.Tensor, k: int = 3) -> list[dict]:
    """The k classes whose captions are nearest to ``emb`` (cosine)."""
    sims = class_prototypes() @ emb  # (20,)
    top = sims.topk(k)
    return [
        {"class": int(c), "es": class_name(int(c), "es"), "en": class_name(int(c), "en"), "score": round(float(s), 3)}
        for s, c in zip(top.values, top.indices, strict=False)
    ]


@torch.no_grad()
def read_caption(caption: str) -> dict:
    """How the tiny CLIP reads ``caption``: words, unknown words, nearest classes, embedding."""
    from pizarra.images.models import load_clip

    caption = _check_caption(caption)
    clip, vocab = load_clip()
    enc = vocab.encode(caption)
    fallback = None
    if not enc.words:  # nothing known: the caption spelled most like it stands in
        pool = [c for c, _ in all_captions()]
        fallback = max(pool, key=lambda c: difflib.SequenceMatcher(None, caption.lower(), c).ratio())
        enc = vocab.encode(fallback)
    emb = clip.encode_text(torch.tensor([enc.ids]))[0]  # (dim,)
    unknown = (
        {w: r for w, r in enc.unknown.items()}
        if fallback is None
        else {w: None for w in normalize(caption) if w not in vocab.stoi}
    )
    return {
        "caption": caption,
        "words": enc.words,
        "unknown": unknown,
        "fallback": fallback,
        "notice": notice(unknown, fallback, "es"),
        "notice_en": notice(unknown, fallback, "en"),
        "classes": nearest_classes(emb),
        "emb": emb,
    }


def public(info: dict) -> dict:
    """``read_caption``'s answer without the tensor (JSON-able)."""
    return {k: v for k, v in info.items() if k != "emb"}


# ----------------------------------------------------------------------------------------- search


def _gallery_item(g, i: int, score: float | None = None) -> dict:
    c = int(g.labels[i])
    out = {"index": int(i), "class": c, "es": class_name(c, "es"), "en": class_name(c, "en"), "image": g.images[i]}
    if score is not None:
        out["score"] = round(float(score), 3)
    return out


def nearest_images(emb: torch.Tensor, k: int) -> list[dict]:
    from pizarra.images.models import load_gallery

    g = load_gallery()
    top = (g.emb @ emb).topk(min(k, len(g.labels)))
    return [_gallery_item(g, int(i), s) for s, i in zip(top.values, top.indices, strict=False)]


def search(caption: str, k: int = 8) -> dict:
    """Text -> image: the ``k`` gallery pictures nearest to the caption in the shared space."""
    check("k", k)
    info = read_caption(caption)
    return {**public(info), "results": nearest_images(info["emb"], k)}


def describe(index: int, k: int = 5) -> dict:
    """Image -> text: the classes nearest to gallery picture ``index``."""
    from pizarra.images.models import load_gallery

    g = load_gallery()
    if not (0 <= index < len(g.labels)):
        raise BadInput(
            f"index must be between 0 and {len(g.labels) - 1}, got {index}.",
            key="err.range",
            name="index",
            lo=0,
            hi=len(g.labels) - 1,
            value=str(index),
        )
    check("k", k)
    return {**_gallery_item(g, index), "classes": nearest_classes(g.emb[index], min(k, N_CLASSES))}


def gallery_sample(per_class: int = 1) -> list[dict]:
    """The first ``per_class`` gallery pictures of every class (what the page shows to click on)."""
    from pizarra.images.models import load_gallery

    g = load_gallery()
    out = []
    for c in range(N_CLASSES):
        out += [_gallery_item(g, int(i)) for i in np.flatnonzero(g.labels == c)[:per_class]]
    return out


# ------------------------------------------------------------------------------------- generation


SAMPLER_THREADS = 1  # batches of 2×16 latents of 4×7×7: one thread is as fast on an idle CPU and
# far steadier on a busy one (bench: 1.2 s with one thread vs 7.5-11.7 s with two under load 7-8)


@contextlib.contextmanager
def sampler_threads():
    """Run the sampler with ``SAMPLER_THREADS`` torch threads, then restore the process's setting."""
    before = torch.get_num_threads()
    torch.set_num_threads(SAMPLER_THREADS)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _noise(n: int, seed: int) -> torch.Tensor:
    return torch.randn(n, 4, 7, 7, generator=torch.Generator().manual_seed(seed))  # z_T


@torch.no_grad()
def generate_from_embeddings(
    emb: torch.Tensor, steps: int = 40, guidance: float = DEFAULT_GUIDANCE, seed: int = 0, method: str = "ddim"
) -> np.ndarray:
    """Pictures uint8 (B, 28, 28) for text embeddings (B, dim): denoise latents, decode once."""
    from pizarra.images.models import load_autoencoder, load_diffusion

    diffusion, ae = load_diffusion(), load_autoencoder()
    gen = torch.Generator().manual_seed(seed + 1)  # DDPM's per-step noise
    with sampler_threads():
        z = diffusion.sample(emb, steps, guidance, method, noise=_noise(len(emb), seed), generator=gen)
        return to_uint8(ae.decode(z))


def _check_sampling(steps, guidance, seed, method) -> None:
    check("steps", steps)
    check("guidance", guidance)
    check("seed", seed)
    if method not in METHODS:
        raise BadInput(
            f"method must be one of {', '.join(METHODS)}, got {method!r}.",
            key="err.unknown_method",
            value=method,
            allowed=METHODS,
        )


def judge(images: np.ndarray) -> list[int] | None:
    """The classifier's label for each picture, or None when its artifact is missing."""
    from pizarra.errors import AssetMissing
    from pizarra.images.evaluate import classifier_features
    from pizarra.images.models import load_classifier

    try:
        clf = load_classifier()
    except AssetMissing:
        return None
    return [int(c) for c in classifier_features(clf, images)[1]]


def generate(
    caption: str, n: int = 16, steps: int = 40, guidance: float = DEFAULT_GUIDANCE, seed: int = 0, method: str = "ddim"
) -> dict:
    """``n`` pictures for ``caption``; ``seconds`` is the time of the denoising and decoding."""
    check("n", n)
    _check_sampling(steps, guidance, seed, method)
    info = read_caption(caption)
    t0 = time.perf_counter()
    images = generate_from_embeddings(info["emb"].expand(n, -1), steps, guidance, seed, method)
    seconds = time.perf_counter() - t0
    return {
        **public(info),
        "n": n,
        "steps": steps,
        "guidance": guidance,
        "seed": seed,
        "method": method,
        "seconds": round(seconds, 3),
        "images": images,
        "judge": judge(images),
    }


@torch.no_grad()
def steps_view(
    caption: str,
    seed: int = 0,
    guidance: float = DEFAULT_GUIDANCE,
    method: str = "ddim",
    counts: tuple[int, ...] = STEPS_VIEWER,
) -> dict:
    """The same starting noise denoised in 1, 2, 3, 5 ... 40 steps, as on the lecture's slide."""
    _check_sampling(max(counts), guidance, seed, method)
    info = read_caption(caption)
    frames = [
        {"steps": s, "image": generate_from_embeddings(info["emb"][None], s, guidance, seed, method)[0]} for s in counts
    ]
    return {**public(info), "seed": seed, "guidance": guidance, "method": method, "frames": frames}


def _lerp_path(ea: torch.Tensor, eb: torch.Tensor, points: int) -> torch.Tensor:
    ts = torch.linspace(0, 1, points)[:, None]  # (P, 1)
    return F.normalize((1 - ts) * ea + ts * eb, dim=-1)  # (P, dim) back on the unit sphere


def interpolate(
    a: str, b: str, points: int = 7, seed: int = 0, steps: int = 40, guidance: float = DEFAULT_GUIDANCE
) -> dict:
    """LERP between two captions in the shared space: at each point a picture generated from the
    mixed embedding (same noise everywhere) and the nearest gallery picture."""
    check("points", points)
    _check_sampling(steps, guidance, seed, "ddim")
    ia, ib = read_caption(a), read_caption(b)
    path = _lerp_path(ia["emb"], ib["emb"], points)
    images = _same_noise(path, steps, guidance, seed)  # every point starts from the same z_T
    ts = torch.linspace(0, 1, points).tolist()
    return {
        "a": public(ia),
        "b": public(ib),
        "points": [
            {"t": round(t, 3), "image": img, "nearest": nearest_images(e, 1)[0], "classes": nearest_classes(e, 2)}
            for t, img, e in zip(ts, images, path, strict=False)
        ],
    }


@torch.no_grad()
def _same_noise(emb: torch.Tensor, steps: int, guidance: float, seed: int) -> np.ndarray:
    from pizarra.images.models import load_autoencoder, load_diffusion

    z = _noise(1, seed).expand(len(emb), -1, -1, -1).contiguous()
    with sampler_threads():
        z = load_diffusion().sample(emb, steps, guidance, "ddim", noise=z)
        return to_uint8(load_autoencoder().decode(z))


@torch.no_grad()
def interpolate_images(i: int, j: int, points: int = 7) -> dict:
    """LERP between gallery pictures i and j: in CLIP's space (nearest gallery picture at each
    point) and in the autoencoder's latent space (the decoded mixture)."""
    from pizarra.images.data import to_float
    from pizarra.images.models import load_autoencoder, load_gallery

    check("points", points)
    g = load_gallery()
    for name, v in (("i", i), ("j", j)):
        if not (0 <= v < len(g.labels)):
            raise BadInput(
                f"{name} must be between 0 and {len(g.labels) - 1}, got {v}.",
                key="err.range",
                name=name,
                lo=0,
                hi=len(g.labels) - 1,
                value=str(v),
            )
    path = _lerp_path(g.emb[i], g.emb[j], points)
    ae = load_autoencoder()
    za, zb = ae.encode(to_float(g.images[[i, j]]))
    ts = torch.linspace(0, 1, points)
    latent = to_uint8(ae.decode(torch.stack([(1 - t) * za + t * zb for t in ts])))
    return {
        "a": _gallery_item(g, i),
        "b": _gallery_item(g, j),
        "points": [
            {
                "t": round(float(t), 3),
                "latent": img,
                "nearest": nearest_images(e, 1)[0],
                "classes": nearest_classes(e, 2),
            }
            for t, img, e in zip(ts, latent, path, strict=False)
        ],
    }


def arithmetic(
    terms: list[tuple[float, str]],
    n: int = 8,
    k: int = 8,
    seed: int = 0,
    steps: int = 40,
    guidance: float = DEFAULT_GUIDANCE,
) -> dict:
    """Σ weight · text embedding, normalised: pictures generated from it and the nearest gallery
    pictures. "una zapatilla" + "un botín" lands between the two."""
    check("terms", len(terms))
    check("n", n)
    check("k", k)
    _check_sampling(steps, guidance, seed, "ddim")
    infos = []
    total = None
    for w, caption in terms:
        check("weight", w)
        info = read_caption(caption)
        infos.append({"weight": w, **public(info)})
        total = w * info["emb"] if total is None else total + w * info["emb"]
    if float(total.norm()) < 1e-6:
        raise BadInput(
            "The terms cancel out (their sum is the zero vector): change a weight.", key="err.images.cancel_out"
        )
    emb = F.normalize(total, dim=0)
    images = generate_from_embeddings(emb.expand(n, -1), steps, guidance, seed, "ddim")
    return {"terms": infos, "classes": nearest_classes(emb), "images": images, "nearest": nearest_images(emb, k)}
