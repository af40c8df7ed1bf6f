"""Chapter 6 over HTTP: "Entender texto" — the page and the API of sentence similarity.

    GET  /capitulo/entender-texto      the page
    POST /api/similarity/compare       a source sentence against 1-100 sentences: scores, ranking
    POST /api/similarity/map           2D map (PCA / t-SNE) of 2-200 sentences, clustered
    GET  /api/similarity/search        top-k passages of a Spanish collection (the shipped index)
    GET  /api/similarity/info          models, limits, the lecture's example, indexes, eval report

Thin: the work is in :mod:`pizarra.similarity`. Both models run on the fast path (MiniLM on
ONNX Runtime, USE on NumPy) behind an LRU cache of sentence embeddings.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from pizarra.chapters import reports as chapter_reports
from pizarra.web.templating import chapter_page

router = APIRouter()
SLUG = "entender-texto"
MAX_CANDIDATES, MAX_CHARS, MAX_MAP, MAX_K = 100, 2000, 200, 50
Model = Literal["minilm", "use"]
Text = Annotated[str, Field(min_length=1, max_length=MAX_CHARS)]


class CompareIn(BaseModel):
    source: Text = Field(description=f"The source sentence (1-{MAX_CHARS} characters).")
    candidates: list[Text] = Field(
        min_length=1,
        max_length=MAX_CANDIDATES,
        description=f"1 to {MAX_CANDIDATES} sentences to compare with the source.",
    )
    model: Model = "minilm"


class Ranked(BaseModel):
    rank: int
    index: int  # position in ``candidates``
    text: str
    score: float


class CompareOut(BaseModel):
    model: str
    source: str
    scores: list[float]  # cosine, 3 decimals, in the candidates' order
    ranking: list[Ranked]
    truncated: list[int]  # 0 = the source, i = candidate i (counted from 1): cut to the model's window
    notices: list[str]
    ms: float  # encoding time of this request (0 when every sentence was in the cache)


class MapIn(BaseModel):
    sentences: list[Text] = Field(min_length=2, max_length=MAX_MAP)
    model: Model = "minilm"
    method: Literal["pca", "tsne", "umap"] = "pca"
    k: int = Field(4, ge=1, le=12, description="Number of clusters.")


class MapPoint(BaseModel):
    text: str
    x: float
    y: float
    cluster: int
    nearest: str
    nearest_score: float


class MapOut(BaseModel):
    model: str
    method: str
    points: list[MapPoint]
    notices: list[str]


class Passage(BaseModel):
    rank: int
    score: float
    text: str
    doc: str


class SearchOut(BaseModel):
    collection: str
    model: str
    query: str
    passages: int  # how many passages were searched
    source: Literal["shipped", "cache"]  # the index that came with Pizarra, or one built here
    results: list[Passage]


# --------------------------------------------------------------------------------------- page


def eval_report() -> dict | None:
    """The measured reports (``reports/similarity_eval.json``, ``similarity_bench.json``) if present."""
    return chapter_reports(SLUG, "eval", "bench")


@router.get(f"/capitulo/{SLUG}", response_class=HTMLResponse, tags=["pages"], summary="Chapter 6 page")
def page(request: Request) -> HTMLResponse:
    from pizarra.similarity.core import LECTURE_CANDIDATES, LECTURE_SOURCE, MAP_EXAMPLES
    from pizarra.similarity.search import shipped_card

    return chapter_page(
        request,
        SLUG,
        source=LECTURE_SOURCE,
        candidates=LECTURE_CANDIDATES,
        map_examples=MAP_EXAMPLES,
        collections=((shipped_card() or {}).get("data") or {}).get("collections") or {},
        reports=eval_report(),
        limits={"candidates": MAX_CANDIDATES, "chars": MAX_CHARS},
    )


# ---------------------------------------------------------------------------------------- API


@router.post("/api/similarity/compare", response_model=CompareOut, tags=["similarity"])
def compare(req: CompareIn) -> dict:
    """Cosine similarity of the source with each sentence, rounded to 3 decimals, and the ranking.

    The lecture's example: "Me encanta el baloncesto" vs "Me encanta el fútbol" = 0.655 and vs
    "Nada me gusta más que el baloncesto" = 0.838 (model minilm).
    """
    from pizarra.similarity.core import compare as run

    return run(req.source, req.candidates, req.model)


@router.post("/api/similarity/map", response_model=MapOut, tags=["similarity"])
def semantic_map(req: MapIn) -> dict:
    """Embed the sentences, project them to 2D and cluster them (spherical k-means)."""
    from pizarra.similarity.core import semantic_map as run

    return run(req.sentences, req.model, req.method, req.k)


@router.get("/api/similarity/search", response_model=SearchOut, tags=["similarity"])
def search(
    q: str = Query(..., min_length=1, max_length=MAX_CHARS, description="What to look for."),
    collection: Literal["quijote", "cuentos"] = "quijote",
    model: Model = "use",
    k: int = Query(5, ge=1, le=MAX_K),
) -> dict:
    """The k passages closest to ``q``, from the index that ships with Pizarra (no build step);
    an index built with `pizarra similarity index` is used first. 503 only if both are missing."""
    from pizarra.similarity.search import search as run

    return run(q, collection, model, k)


@router.get("/api/similarity/info", tags=["similarity"])
def info() -> dict:
    """Models, limits, the lecture's example, which indexes exist and the measured reports."""
    from pizarra.similarity.core import LECTURE_CANDIDATES, LECTURE_SCORES, LECTURE_SOURCE
    from pizarra.similarity.encoders import DESCRIPTIONS
    from pizarra.similarity.search import index_status

    return {
        "models": DESCRIPTIONS,
        "limits": {"candidates": MAX_CANDIDATES, "chars": MAX_CHARS, "map_sentences": MAX_MAP, "k": MAX_K},
        "lecture": {"source": LECTURE_SOURCE, "candidates": LECTURE_CANDIDATES, "scores": LECTURE_SCORES},
        "indexes": index_status(),
        "reports": eval_report(),
    }
