"""Chapter 3 over HTTP: the page and the API of word embeddings.

    GET  /capitulo/embeddings              the page
    GET  /api/embeddings/vectors           the vector sets (words, dimensions, language, card scores)
    GET  /api/embeddings/neighbors         nearest words by cosine and by euclidean distance
    GET  /api/embeddings/analogy           a : b :: c : ?  (3CosAdd or 3CosMul)
    POST /api/embeddings/formula           AVERAGE, LERP, MINUS, SUM, MUL, SLERP, DIST, DOT, SLIDER, + - * /
    POST /api/embeddings/project           PCA / t-SNE / UMAP in 2-D or 3-D of a word list or a neighbourhood
    POST /api/embeddings/estimate          how long a request will wait (first load, UMAP's compilation…)
    GET  /api/embeddings/quiz              the lecture's quizzes: 1 "¿dónde pondrías manzana?", 2 "… vaca?"

Thin: the work is in :mod:`pizarra.embeddings`. Unknown words are a 422 that names them.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from pizarra.web.templating import chapter_page

router = APIRouter()
SLUG = "embeddings"
VectorsName = Literal["es", "glove"]
Word = Annotated[str, Field(min_length=1, max_length=60)]


def _emb(name: str):
    from pizarra.embeddings.projector import WAITS
    from pizarra.embeddings.vectors import load_vectors

    return WAITS.load(name, lambda: load_vectors(name))  # the first load is timed, for the next estimate


class Scored(BaseModel):
    word: str
    score: float


class NeighborRow(BaseModel):
    word: str
    cosine: float
    euclidean: float
    euclidean_rank: int


class NeighborsOut(BaseModel):
    word: str
    vectors: str
    metric: str
    neighbors: list[Scored]
    table: list[NeighborRow]  # the k nearest by cosine with their euclidean distance too
    by_euclidean: list[Scored]
    oov: list[str] = []  # words outside the vocabulary whose vector was built from their pieces (FastText)
    close: dict[str, list[str]] = {}  # for each of them, the known words spelled most like it (a typo?)


class AnalogyOut(BaseModel):
    a: str
    b: str
    c: str
    vectors: str
    method: str
    results: list[Scored]
    oov: list[str] = []  # words outside the vocabulary whose vector was built from their pieces (FastText)
    close: dict[str, list[str]] = {}  # for each of them, the known words spelled most like it (a typo?)


class FormulaIn(BaseModel):
    formula: str = Field(min_length=1, max_length=500, examples=["LERP(mañana, noche, 0.5)"])
    vectors: VectorsName = "es"
    k: int = Field(10, ge=1, le=50)
    metric: Literal["cosine", "euclidean"] = "cosine"
    exclude_inputs: bool = True


class FormulaOut(BaseModel):
    formula: str
    vectors: str
    kind: Literal["vector", "number"]
    words: list[str]
    sliders: list[dict]
    results: list[Scored]
    oov: list[str] = []  # words outside the vocabulary whose vector was built from their pieces (FastText)
    close: dict[str, list[str]] = {}  # for each of them, the known words spelled most like it (a typo?)
    value: float | None = None


class ProjectIn(BaseModel):
    vectors: VectorsName = "es"
    words: list[Word] | None = Field(None, max_length=300, description="3 to 300 words, or use `word`")
    word: Word | None = Field(None, description="project this word and its n nearest words")
    n: int = Field(40, ge=2, le=100)
    method: Literal["pca", "tsne", "umap"] = "pca"
    dims: Literal[2, 3] = 2


class Point(BaseModel):
    word: str
    x: float
    y: float
    z: float | None = None


class ProjectOut(BaseModel):
    method: str
    dims: int
    points: list[Point]
    explained_variance: list[float] | None = None
    oov: list[str] = []  # words outside the vocabulary whose vector was built from their pieces (FastText)
    close: dict[str, list[str]] = {}  # for each of them, the known words spelled most like it (a typo?)


class EstimateIn(BaseModel):
    vectors: VectorsName = "es"
    method: Literal["pca", "tsne", "umap"] | None = Field(
        None, description="a projection; leave out for any other request"
    )
    words: list[Word] | None = Field(None, max_length=300)
    word: Word | None = None
    n: int = Field(40, ge=2, le=100)
    dims: Literal[2, 3] = 2


class WaitStep(BaseModel):
    step: Literal["load", "queue", "joins", "ready", "compile", "compute"]
    seconds: float


class EstimateOut(BaseModel):
    seconds: float
    measured: bool  # False: no timing of this machine yet, the seconds are a 2-core laptop's
    steps: list[WaitStep]


class QuizPoint(BaseModel):
    word: str
    x: float
    y: float
    role: Literal["reference", "asked"]
    group: str | None = None


class QuizFrame(BaseModel):
    x0: float
    x1: float
    y0: float
    y1: float


class QuizOut(BaseModel):
    vectors: str
    round: int
    kind: Literal["pca", "axes"]
    question: str
    x_axis: list[str] | None = None
    y_axis: list[str] | None = None
    explained_variance: list[float] | None = None
    points: list[QuizPoint]
    frame: QuizFrame


# ---------------------------------------------------------------------------------------- page


@router.get("/capitulo/embeddings", response_class=HTMLResponse, tags=["pages"], summary="Chapter 3 page")
def page(request: Request) -> HTMLResponse:
    from pizarra.embeddings.vectors import LECTURE_PROMPTS, vectors_info

    return chapter_page(request, SLUG, prompts=LECTURE_PROMPTS, info=vectors_info())


# ----------------------------------------------------------------------------------------- API
@router.get("/api/embeddings/vectors", tags=["embeddings"])
def vectors() -> dict:
    """The vector sets this lab can explore, with the shipped card's scores."""
    from pizarra.embeddings.vectors import vectors_info

    return {"vectors": vectors_info()}


@router.get("/api/embeddings/neighbors", response_model=NeighborsOut, tags=["embeddings"])
def neighbors(
    word: str = Query(..., min_length=1, max_length=60),
    k: int = Query(10, ge=1, le=50),
    metric: Literal["cosine", "euclidean"] = "cosine",
    vectors: VectorsName = "es",
) -> NeighborsOut:
    """The k nearest words by ``metric``, and the projector's table: cosine AND euclidean."""
    emb = _emb(vectors)
    return NeighborsOut(
        word=emb.normalize(word),
        vectors=vectors,
        metric=metric,
        neighbors=[Scored(word=w, score=s) for w, s in emb.neighbors(word, k, metric)],
        table=[NeighborRow(**r) for r in emb.neighbors_both(word, k)],
        by_euclidean=[Scored(word=w, score=s) for w, s in emb.neighbors(word, k, "euclidean")],
        **emb.pieces([word]),
    )


@router.get("/api/embeddings/analogy", response_model=AnalogyOut, tags=["embeddings"])
def analogy(
    a: str = Query(..., min_length=1, max_length=60),
    b: str = Query(..., min_length=1, max_length=60),
    c: str = Query(..., min_length=1, max_length=60),
    k: int = Query(5, ge=1, le=50),
    method: Literal["3cosadd", "3cosmul"] = "3cosadd",
    vectors: VectorsName = "es",
) -> AnalogyOut:
    """a is to b as c is to ? (hombre : mujer :: rey : ?)."""
    emb = _emb(vectors)
    return AnalogyOut(
        a=a,
        b=b,
        c=c,
        vectors=vectors,
        method=method,
        results=[Scored(word=w, score=s) for w, s in emb.analogy(a, b, c, k, method)],
        **emb.pieces([a, b, c]),
    )


@router.post("/api/embeddings/formula", response_model=FormulaOut, tags=["embeddings"])
def formula(req: FormulaIn) -> FormulaOut:
    """Evaluate a vector formula and decode the result to its nearest words."""
    from pizarra.embeddings.formula import run_formula

    emb = _emb(req.vectors)
    res = run_formula(req.formula, emb, req.k, req.metric, req.exclude_inputs)
    return FormulaOut(vectors=req.vectors, **emb.pieces(res["words"]), **res)


@router.post("/api/embeddings/project", response_model=ProjectOut, tags=["embeddings"])
def project(req: ProjectIn) -> ProjectOut:
    """PCA, t-SNE or UMAP (2-D/3-D) of a word list, or of a word and its n nearest neighbours.
    t-SNE and UMAP compute one at a time; the same request made again joins the one computing."""
    from pizarra.embeddings.projector import project_request

    emb = _emb(req.vectors)
    res = project_request(emb, req.words, req.word, req.n, req.method, req.dims)
    return ProjectOut(**emb.pieces([p["word"] for p in res["points"]]), **res)


@router.post("/api/embeddings/estimate", response_model=EstimateOut, tags=["embeddings"])
def estimate(req: EstimateIn) -> EstimateOut:
    """How long this request would wait, from timings measured on this machine: loading the
    vectors the first time, waiting for another t-SNE/UMAP, UMAP's first-call compilation, the
    projection itself. Instant: it loads and computes nothing."""
    from pizarra.embeddings.projector import estimate_request

    return EstimateOut(**estimate_request(_emb, req.vectors, req.words, req.word, req.n, req.method, req.dims))


@router.get("/api/embeddings/quiz", response_model=QuizOut, tags=["embeddings"])
def quiz(vectors: VectorsName = "es", round: int = Query(1, ge=1, le=2)) -> QuizOut:  # noqa: A002
    """The lecture's quiz ``round``: 1 "¿dónde pondrías manzana?" (a PCA map of fruits, buildings,
    vehicles), 2 "¿dónde pondrías vaca?" (size × age axes taken from the vectors)."""
    from pizarra.embeddings.projector import quiz_map

    return QuizOut(vectors=vectors, **quiz_map(_emb(vectors), round))
