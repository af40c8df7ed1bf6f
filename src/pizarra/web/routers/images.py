"""Chapter 10 over HTTP: "Generar imágenes" — the page and the API of the tiny CLIP and the diffusion model.

    GET  /capitulo/generar-imagenes     the page
    GET  /api/images/search             caption -> nearest gallery pictures (text -> image)
    GET  /api/images/describe           gallery picture -> nearest classes (image -> text)
    POST /api/images/generate           caption -> pictures (DDIM / DDPM, guidance, seed)
    POST /api/images/steps              the same sample after 1, 2, 3, 5, 8, 10, 15, 20, 30, 40 steps
    POST /api/images/interpolate        LERP between two captions (generated + nearest)
    GET  /api/images/interpolate-images LERP between two gallery pictures (CLIP space + latent space)
    POST /api/images/arithmetic         caption + caption (weights), generated + nearest
    GET  /api/images/info               limits, model cards' metrics, measured reports

Thin: the work is in :mod:`pizarra.images.core`. Pictures travel as PNG data URIs (28×28 grayscale).
"""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from pizarra import i18n
from pizarra.chapters import reports as chapter_reports
from pizarra.web.templating import chapter_page

router = APIRouter()
SLUG = "generar-imagenes"
MAX_CAPTION, MAX_N, MAX_STEPS, MAX_K, MAX_POINTS, MAX_TERMS = 200, 16, 50, 24, 9, 4
STEPS_VIEWER = (1, 2, 3, 5, 8, 10, 15, 20, 30, 40)
DEFAULT_GUIDANCE = 5.0  # = pizarra.images.core.DEFAULT_GUIDANCE (kept here so that importing the router stays light)
Caption = Field(min_length=1, max_length=MAX_CAPTION, description=f"1-{MAX_CAPTION} characters, Spanish or English.")
Steps = Field(40, ge=1, le=MAX_STEPS, description=f"Denoising steps, 1-{MAX_STEPS}.")
Guidance = Field(
    DEFAULT_GUIDANCE,
    ge=0.0,
    le=10.0,
    description="Classifier-free guidance w, 0-10 (0 = no caption, 1 = plain conditional).",
)
Seed = Field(0, ge=0, le=2**31 - 1, description="Seed of the starting noise.")


class ClassScore(BaseModel):
    model_config = {"populate_by_name": True}
    class_: int = Field(alias="class")
    es: str
    en: str
    score: float


class CaptionInfo(BaseModel):
    caption: str
    words: list[str]  # the words the text encoder read (after corrections)
    unknown: dict[str, str | None]  # unknown word -> known word used instead (None: ignored)
    fallback: str | None  # no known word: the closest caption used instead
    notice: str | None  # about the unknown words, in the request's language
    classes: list[ClassScore]  # the nearest classes to the caption


class Picture(BaseModel):
    model_config = {"populate_by_name": True}
    index: int  # in the gallery
    class_: int = Field(alias="class")
    es: str
    en: str
    image: str  # PNG data URI
    score: float | None = None


class SearchOut(CaptionInfo):
    results: list[Picture]


class DescribeOut(Picture):
    classes: list[ClassScore]


class GenerateIn(BaseModel):
    caption: str = Caption
    n: int = Field(16, ge=1, le=MAX_N, description=f"Pictures, 1-{MAX_N}.")
    steps: int = Steps
    guidance: float = Guidance
    seed: int = Seed
    method: str = Field(
        "ddim", pattern="^(ddim|ddpm)$", description="ddim (deterministic) or ddpm (adds noise each step)."
    )


class GenerateOut(CaptionInfo):
    n: int
    steps: int
    guidance: float
    seed: int
    method: str
    seconds: float
    images: list[str]
    judge: list[int] | None  # the classifier's label of each picture (None: classifier not shipped)


class StepsIn(BaseModel):
    caption: str = Caption
    guidance: float = Guidance
    seed: int = Seed
    method: str = Field("ddim", pattern="^(ddim|ddpm)$")


class Frame(BaseModel):
    steps: int
    image: str


class StepsOut(CaptionInfo):
    seed: int
    guidance: float
    method: str
    frames: list[Frame]


class InterpolateIn(BaseModel):
    a: str = Caption
    b: str = Caption
    points: int = Field(7, ge=2, le=MAX_POINTS)
    seed: int = Seed
    steps: int = Field(20, ge=1, le=MAX_STEPS)
    guidance: float = Guidance


class PathPoint(BaseModel):
    t: float
    image: str | None = None  # generated from the mixed text embedding
    latent: str | None = None  # decoded mixture of the two latents (pictures' LERP)
    nearest: Picture
    classes: list[ClassScore]


class InterpolateOut(BaseModel):
    a: dict
    b: dict
    points: list[PathPoint]


class Term(BaseModel):
    weight: float = Field(1.0, ge=-2.0, le=2.0)
    caption: str = Caption


class ArithmeticIn(BaseModel):
    terms: list[Term] = Field(min_length=1, max_length=MAX_TERMS)
    n: int = Field(8, ge=1, le=MAX_N)
    k: int = Field(8, ge=1, le=MAX_K)
    seed: int = Seed
    steps: int = Field(20, ge=1, le=MAX_STEPS)
    guidance: float = Guidance


class ArithmeticOut(BaseModel):
    terms: list[dict]
    classes: list[ClassScore]
    images: list[str]
    nearest: list[Picture]


# ------------------------------------------------------------------------------------- helpers


def _uri(img) -> str:
    from pizarra.images.png import data_uri

    return data_uri(img)


def _pictures(items: list[dict]) -> list[dict]:
    return [{**it, "image": _uri(it["image"])} for it in items]


def _caption(info: dict, lang: str) -> dict:
    out = {k: info[k] for k in ("caption", "words", "unknown", "fallback", "classes")}
    out["notice"] = info["notice"] if lang == "es" else info["notice_en"]
    return out


def reports() -> dict:
    """Measured numbers: the model cards' metrics and ``reports/images_*.json``."""
    from pizarra.assets.artifacts import list_artifacts

    cards = {a["name"]: a.get("metrics") for a in list_artifacts() if a["name"].startswith("img-")}
    return {"cards": cards, **chapter_reports(SLUG, "quality", "bench")}


# ---------------------------------------------------------------------------------------- page


@router.get(f"/capitulo/{SLUG}", response_class=HTMLResponse, tags=["pages"], summary="Chapter 10 page")
def page(request: Request) -> HTMLResponse:
    from pizarra.errors import AssetMissing
    from pizarra.images.core import gallery_sample
    from pizarra.images.data import N_CLASSES, class_name

    i18n.request_lang(request)
    try:
        gallery, missing = _pictures(gallery_sample(1)), None
    except AssetMissing as err:
        gallery, missing = [], str(err)
    limits = {"caption": MAX_CAPTION, "n": MAX_N, "steps": MAX_STEPS, "k": MAX_K, "points": MAX_POINTS}
    return chapter_page(
        request,
        SLUG,
        gallery=gallery,
        missing=missing,
        reports=reports(),
        limits=limits,
        steps_viewer=STEPS_VIEWER,
        guidance=DEFAULT_GUIDANCE,
        classes_js=[{"es": class_name(c, "es"), "en": class_name(c, "en")} for c in range(N_CLASSES)],
    )


# ----------------------------------------------------------------------------------------- API


@router.get("/api/images/search", response_model=SearchOut, response_model_by_alias=True, tags=["images"])
def search(
    request: Request,
    q: str = Query(..., min_length=1, max_length=MAX_CAPTION, description="A caption."),
    k: int = Query(8, ge=1, le=MAX_K),
) -> dict:
    """Text -> image: the k gallery pictures (1,000 test pictures) nearest to the caption in CLIP's space."""
    from pizarra.images.core import search as run

    r = run(q, k)
    return {**_caption(r, i18n.request_lang(request)), "results": _pictures(r["results"])}


@router.get("/api/images/describe", response_model=DescribeOut, tags=["images"])
def describe(
    index: int = Query(..., ge=0, le=100_000, description="A gallery picture."), k: int = Query(5, ge=1, le=20)
) -> dict:
    """Image -> text: the classes whose captions are nearest to gallery picture ``index``."""
    from pizarra.images.core import describe as run

    r = run(index, k)
    return {**r, "image": _uri(r["image"])}


@router.post("/api/images/generate", response_model=GenerateOut, tags=["images"])
def generate(req: GenerateIn, request: Request) -> dict:
    """n pictures for a caption: latent diffusion (DDIM or DDPM) with classifier-free guidance."""
    from pizarra.images.core import generate as run

    r = run(req.caption, req.n, req.steps, req.guidance, req.seed, req.method)
    out = {k: r[k] for k in ("n", "steps", "guidance", "seed", "method", "seconds", "judge")}
    return {**_caption(r, i18n.request_lang(request)), **out, "images": [_uri(i) for i in r["images"]]}


@router.post("/api/images/steps", response_model=StepsOut, tags=["images"])
def steps(req: StepsIn, request: Request) -> dict:
    """The slide's steps viewer: the same starting noise denoised in 1, 2, 3, 5, 8, 10, 15, 20, 30, 40 steps."""
    from pizarra.images.core import steps_view

    r = steps_view(req.caption, req.seed, req.guidance, req.method, STEPS_VIEWER)
    return {
        **_caption(r, i18n.request_lang(request)),
        "seed": r["seed"],
        "guidance": r["guidance"],
        "method": r["method"],
        "frames": [{"steps": f["steps"], "image": _uri(f["image"])} for f in r["frames"]],
    }


def _point(p: dict) -> dict:
    out = {"t": p["t"], "nearest": _pictures([p["nearest"]])[0], "classes": p["classes"]}
    for key in ("image", "latent"):
        if key in p:
            out[key] = _uri(p[key])
    return out


@router.post("/api/images/interpolate", response_model=InterpolateOut, tags=["images"])
def interpolate(req: InterpolateIn, request: Request) -> dict:
    """LERP between two captions' embeddings: at each point a generated picture (same noise) and the
    nearest gallery picture."""
    from pizarra.images.core import interpolate as run

    lang = i18n.request_lang(request)
    r = run(req.a, req.b, req.points, req.seed, req.steps, req.guidance)
    return {"a": _caption(r["a"], lang), "b": _caption(r["b"], lang), "points": [_point(p) for p in r["points"]]}


@router.get("/api/images/interpolate-images", response_model=InterpolateOut, tags=["images"])
def interpolate_images(
    i: int = Query(..., ge=0, le=100_000),
    j: int = Query(..., ge=0, le=100_000),
    points: int = Query(7, ge=2, le=MAX_POINTS),
) -> dict:
    """LERP between gallery pictures i and j: in CLIP's space (nearest picture) and in the latent space."""
    from pizarra.images.core import interpolate_images as run

    r = run(i, j, points)

    def pic(it):
        return {k: v for k, v in _pictures([it])[0].items()}

    return {"a": pic(r["a"]), "b": pic(r["b"]), "points": [_point(p) for p in r["points"]]}


@router.post("/api/images/arithmetic", response_model=ArithmeticOut, tags=["images"])
def arithmetic(req: ArithmeticIn, request: Request) -> dict:
    """Σ weight · caption embedding (normalised): generated pictures and the nearest gallery pictures."""
    from pizarra.images.core import arithmetic as run

    lang = i18n.request_lang(request)
    r = run([(t.weight, t.caption) for t in req.terms], req.n, req.k, req.seed, req.steps, req.guidance)
    return {
        "terms": [{"weight": t["weight"], **_caption(t, lang)} for t in r["terms"]],
        "classes": r["classes"],
        "images": [_uri(i) for i in r["images"]],
        "nearest": _pictures(r["nearest"]),
    }


@router.get("/api/images/info", tags=["images"])
def info() -> dict:
    """Limits, the steps of the viewer, the classes and the measured numbers."""
    from pizarra.images.data import N_CLASSES, class_name

    return {
        "limits": {
            "caption": MAX_CAPTION,
            "n": MAX_N,
            "steps": MAX_STEPS,
            "k": MAX_K,
            "points": MAX_POINTS,
            "terms": MAX_TERMS,
            "guidance": [0.0, 10.0],
        },
        "steps_viewer": list(STEPS_VIEWER),
        "classes": [{"class": c, "es": class_name(c, "es"), "en": class_name(c, "en")} for c in range(N_CLASSES)],
        "reports": reports(),
    }
