"""Pretrained models over HTTP: list them, embed sentences, complete a prompt.

Thin: the work is in :mod:`pizarra.assets.models`. Limits are explicit and in the schema.
"""

from __future__ import annotations

import time
from typing import Annotated, Literal

import numpy as np
from fastapi import APIRouter
from pydantic import BaseModel, Field

from pizarra.assets import models

router = APIRouter(prefix="/api/models", tags=["models"])

MAX_TEXTS = 32
MAX_CHARS = 2000
MAX_NEW_TOKENS = 128


class EmbedRequest(BaseModel):
    model: Literal["minilm", "use"] = "minilm"
    texts: list[Annotated[str, Field(max_length=MAX_CHARS)]] = Field(
        min_length=1, max_length=MAX_TEXTS, description=f"1 to {MAX_TEXTS} texts of at most {MAX_CHARS} characters"
    )
    include_vectors: bool = False


class EmbedResponse(BaseModel):
    model: str
    dim: int
    similarity: list[list[float]]  # cosine between every pair of texts
    vectors: list[list[float]] | None = None
    seconds: float


class CompleteRequest(BaseModel):
    model: Literal["gemma-base", "smollm2"] = "gemma-base"
    prompt: str = Field(min_length=1, max_length=MAX_CHARS)
    max_tokens: int = Field(32, ge=1, le=MAX_NEW_TOKENS)
    temperature: float = Field(0.0, ge=0.0, le=2.0)
    seed: int = Field(0, ge=0, le=2**31 - 1)


class CompleteResponse(BaseModel):
    model: str
    prompt: str
    text: str
    tokens: int
    seconds: float


@router.get("")
def list_models() -> dict:
    """Every pretrained model: installed or not, package, size, licence."""
    return {"models": [models.status(n) for n in models.MODELS], "loaded": models.loaded()}


@router.post("/embed", response_model=EmbedResponse)
def embed(req: EmbedRequest) -> EmbedResponse:
    """Sentence embeddings and the cosine similarity between every pair of texts."""
    start = time.perf_counter()
    vectors = np.asarray(models.sentence_encoder(req.model).encode(req.texts), dtype=np.float64)
    unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    return EmbedResponse(
        model=req.model,
        dim=vectors.shape[1],
        similarity=np.round(unit @ unit.T, 6).tolist(),
        vectors=vectors.tolist() if req.include_vectors else None,
        seconds=time.perf_counter() - start,
    )


@router.post("/complete", response_model=CompleteResponse)
def complete(req: CompleteRequest) -> CompleteResponse:
    """Continue a prompt with a local GGUF model (raw completion, no chat template)."""
    from pizarra.llm import runtime as rt

    start = time.perf_counter()
    out = rt.complete(
        req.model,
        req.prompt,
        rt.Sampling(max_tokens=req.max_tokens, temperature=req.temperature, seed=req.seed, repeat_penalty=1.1),
    )
    return CompleteResponse(
        model=req.model, prompt=req.prompt, text=out.text, tokens=out.n_tokens, seconds=time.perf_counter() - start
    )
