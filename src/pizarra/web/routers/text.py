"""Chapter 2 over HTTP: the page and the API of "De texto a números".

    GET  /capitulo/texto-a-numeros     the page
    POST /api/text/tokenize            tokens of a text: chars, words, n-grams, our BPE, Gemma's, SmolLM2's
    POST /api/text/compare             tokens per word of every tokenizer, Spanish and English
    POST /api/text/vectorize           one-hot, bag of words or TF-IDF of a few sentences

Thin: the work is in :mod:`pizarra.text`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from pizarra.web.templating import chapter_page

router = APIRouter()
SLUG = "texto-a-numeros"
Kind = Literal["chars", "words", "word-ngrams", "char-ngrams", "bpe", "gemma", "smollm2"]


class TokenizeIn(BaseModel):
    text: str = Field(min_length=1, max_length=5000)
    kind: Kind = "words"
    n: int = Field(2, ge=1, le=6, description="n for word/char n-grams")
    vocab_size: int | None = Field(None, ge=260, le=16000, description="BPE: keep only the first N tokens")
    lower: bool = False


class CutChar(BaseModel):
    char: str = Field(description="A character whose UTF-8 bytes were cut between tokens, e.g. é")
    hex: str = Field(description="Its bytes, e.g. C3 A9")
    tokens: int = Field(description="How many tokens hold a part of it")


class Piece(BaseModel):
    text: str = Field(description="The token readable: its characters, ‹C3› for a lone byte, ▁ for a space")
    parts: list[dict[str, str]] = Field(description='Runs of characters {"text"} and lone bytes {"byte": "C3"}')
    hex: str = Field(description="The token's bytes")
    partial: bool = Field(description="It holds only part of a character")
    group: int = Field(description="Tokens that share a cut character share this number")
    cut: list[CutChar]


class TokenizeOut(BaseModel):
    kind: str
    tokens: list[str]
    ids: list[int] | None
    n_tokens: int
    n_words: int
    tokens_per_word: float | None
    pieces: list[Piece] | None = Field(None, description="Subword tokenizers: each token's bytes, cut characters")
    n: int | None = None
    vocab_size: int | None = None


class CompareIn(BaseModel):
    es: str | None = Field(None, min_length=1, max_length=3000, description="Spanish text (default: Quijote)")
    en: str | None = Field(None, min_length=1, max_length=3000, description="English text (default: Dickens)")


class VectorizeIn(BaseModel):
    sentences: list[Annotated[str, Field(max_length=2000)]] = Field(min_length=1, max_length=20)
    method: Literal["onehot", "bow", "tfidf"] = "bow"


class VectorizeOut(BaseModel):
    method: str
    vocabulary: list[str]
    rows: list[str]
    vectors: list[list[float]]
    dimension: int
    nonzero: int
    sparsity: float
    idf: list[float] | None = None


@router.get("/capitulo/texto-a-numeros", response_class=HTMLResponse, tags=["pages"], summary="Chapter 2 page")
def page(request: Request) -> HTMLResponse:
    from pizarra.text.tokenizers import SAMPLES
    from pizarra.text.vectorize import EXAMPLES

    return chapter_page(request, SLUG, samples=SAMPLES, examples=EXAMPLES)


@router.post("/api/text/tokenize", response_model=TokenizeOut, tags=["text"])
def tokenize(req: TokenizeIn) -> TokenizeOut:
    """Split a text into tokens with one tokenizer; counts and tokens per word."""
    from pizarra.text.tokenizers import tokenize as run

    return TokenizeOut(**run(req.text, req.kind, req.n, req.vocab_size, req.lower))


@router.post("/api/text/compare", tags=["text"])
def compare(req: CompareIn) -> dict:
    """Tokens per word for characters, words, our BPE (16k, 4k, 1k), Gemma 3 and SmolLM2."""
    from pizarra.text.tokenizers import SAMPLES
    from pizarra.text.tokenizers import compare as run

    return run({"es": req.es or SAMPLES["es"], "en": req.en or SAMPLES["en"]})


@router.post("/api/text/vectorize", response_model=VectorizeOut, tags=["text"])
def vectorize(req: VectorizeIn) -> VectorizeOut:
    """One-hot (one row per token), bag of words or TF-IDF (one row per sentence)."""
    from pizarra.text.vectorize import vectorize as run

    return VectorizeOut(**run(req.sentences, req.method))
