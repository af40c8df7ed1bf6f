"""Chapter 7 over HTTP: "Generar texto" — next-token table, sampling, SnapGPT, tree, streaming.

    GET  /capitulo/generar-texto        the page
    POST /api/generation/next           top-k of p(next token | prefix), and how temperature reshapes it
    POST /api/generation/step           SnapGPT: one more word (sampled, or the one the student picked)
    POST /api/generation/tree           n samples as a tree of shared prefixes, with probabilities
    POST /api/generation/score          perplexity of a text (per token, per word, bits per character)
    GET  /api/generation/stream         generated text as server-sent events; closing it stops the model
    GET  /api/generation/info           models, limits, the lecture's example, measured reports

Thin: the work is in :mod:`pizarra.generation`. Every sampling knob has the shared runtime's
range (``pizarra.llm.runtime.RANGES``) in the schema, so out-of-range values are a 422 that says
what is allowed. GGUF models queue on their lock; nothing here runs two requests in one context.
"""

from __future__ import annotations

from typing import Literal, Optional

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from pizarra.chapters import reports as chapter_reports
from pizarra.generation.generate import FABLE_START, LECTURE_EXAMPLE, LECTURE_PREFIX, LIMITS, TEMPERATURES
from pizarra.llm.runtime import RANGES
from pizarra.web.templating import chapter_page

router = APIRouter()
SLUG = "generar-texto"
MODELS = ("gemma-base", "smollm2", "gpt", "lstm", "ngram")
Model = Literal["gemma-base", "smollm2", "gpt", "lstm", "ngram"]
MAX_SCORE_CHARS = 5000  # a web request stays a few seconds long even on Gemma
R = RANGES


class SamplingIn(BaseModel):
    temperature: float = Field(0.8, ge=R["temperature"][0], le=R["temperature"][1], description="0 = greedy, up to 2.")
    top_k: int = Field(40, ge=R["top_k"][0], le=R["top_k"][1], description="0 = off.")
    top_p: float = Field(0.95, gt=R["top_p"][0], le=R["top_p"][1])
    repeat_penalty: float = Field(1.1, ge=R["repeat_penalty"][0], le=R["repeat_penalty"][1])
    seed: Optional[int] = Field(None, ge=R["seed"][0], le=R["seed"][1], description="Same seed, same text.")

    def sampling(self, max_tokens: int = 128):
        from pizarra.llm.runtime import Sampling

        return Sampling(
            max_tokens=max_tokens,
            temperature=self.temperature,
            top_k=self.top_k,
            top_p=self.top_p,
            repeat_penalty=self.repeat_penalty,
            seed=self.seed,
        ).validated()


Prefix = Field(
    LECTURE_PREFIX,
    max_length=LIMITS["prefix_chars"],
    description=f"Text to continue (0-{LIMITS['prefix_chars']} characters; empty = start of a text).",
)


class NextIn(BaseModel):
    prefix: str = Prefix
    model: Model = "gemma-base"
    k: int = Field(10, ge=1, le=LIMITS["k"])


class TokenProb(BaseModel):
    id: int
    token: str
    prob: float


class NextOut(BaseModel):
    model: str
    label: str
    prefix: str
    context_tokens: int
    tokens: list[TokenProb]  # descending, probabilities of the full softmax
    shown_mass: float
    entropy_bits: float
    temperature: dict[str, list[float]]  # "0.5" -> probability of each shown token at T = 0.5
    ms: float


class StepIn(SamplingIn):
    text: str = Field(FABLE_START, max_length=LIMITS["prefix_chars"])
    model: Model = "gemma-base"
    choice: Optional[int] = Field(None, ge=0, le=300_000, description="Token id picked by the student (else sampled).")
    k: int = Field(10, ge=1, le=LIMITS["k"])


class StepOut(BaseModel):
    model: str
    text: str
    added: str
    chosen: TokenProb
    distribution: list[TokenProb]
    end: bool
    tokens_added: int


class TreeIn(SamplingIn):
    prefix: str = Prefix
    model: Model = "gpt"
    n: int = Field(8, ge=1, le=LIMITS["tree_n"])
    depth: int = Field(6, ge=1, le=LIMITS["tree_depth"])
    temperature: float = Field(1.0, ge=R["temperature"][0], le=R["temperature"][1])
    top_k: int = Field(0, ge=R["top_k"][0], le=R["top_k"][1])
    top_p: float = Field(1.0, gt=R["top_p"][0], le=R["top_p"][1])
    repeat_penalty: float = Field(1.0, ge=R["repeat_penalty"][0], le=R["repeat_penalty"][1])
    seed: Optional[int] = Field(0, ge=R["seed"][0], le=R["seed"][1])


class TreeNode(BaseModel):
    id: int
    parent: Optional[int]
    token: str
    token_id: Optional[int]
    prob: float  # p(token | path to the parent)
    path_prob: float
    count: int  # samples through this node
    depth: int


class Sample(BaseModel):
    text: str
    logprob: float


class TreeOut(BaseModel):
    model: str
    prefix: str
    n: int
    depth: int
    nodes: list[TreeNode]
    samples: list[Sample]
    sampling: dict
    seconds: float


class GenerateIn(SamplingIn):
    prefix: str = Prefix
    model: Model = "gemma-base"
    max_tokens: int = Field(64, ge=R["max_tokens"][0], le=R["max_tokens"][1])


class GenerateOut(BaseModel):
    model: str
    prefix: str
    text: str
    n_tokens: int
    seconds: float
    tokens_per_s: float
    finish_reason: Optional[str]
    sampling: dict


class ScoreIn(BaseModel):
    text: str = Field(
        min_length=1,
        max_length=MAX_SCORE_CHARS,
        description=f"1-{MAX_SCORE_CHARS} characters (`pizarra lm score` takes up to {LIMITS['score_chars']}).",
    )
    model: Model = "gpt"


class ScoreOut(BaseModel):
    model: str
    label: str
    tokens: int
    words: int
    chars: int
    nll_nats: float
    ppl_token: float
    ppl_word: float
    bits_per_char: float
    tokens_per_word: float
    seconds: float


# --------------------------------------------------------------------------------------- page


def reports() -> dict:
    """The measured reports (``reports/generation_*.json``) if present."""
    return chapter_reports(SLUG, "perplexity", "bench", "speed")


@router.get(f"/capitulo/{SLUG}", response_class=HTMLResponse, tags=["pages"], summary="Chapter 7 page")
def page(request: Request) -> HTMLResponse:
    return chapter_page(
        request,
        SLUG,
        prefix=LECTURE_PREFIX,
        fable=FABLE_START,
        lecture=LECTURE_EXAMPLE,
        models=MODELS,
        limits=LIMITS,
        ranges=RANGES,
        reports=reports(),
        temperatures=TEMPERATURES,
    )


# ---------------------------------------------------------------------------------------- API


@router.post("/api/generation/next", response_model=NextOut, tags=["generation"])
def next_token(req: NextIn) -> dict:
    """The k most likely next tokens after the prefix, with their probability in the FULL softmax
    (descending), the distribution's entropy, and each token's probability at temperatures
    0.5, 1, 1.5 and 2. The lecture's "¡Qué día más bonito! Me voy a la" is the default."""
    from pizarra.generation.generate import next_tokens

    return next_tokens(req.model, req.prefix, req.k)


@router.post("/api/generation/step", response_model=StepOut, tags=["generation"])
def step(req: StepIn) -> dict:
    """SnapGPT: one more word after ``text``. With ``choice`` (a token id from ``distribution``) the
    word starts with the student's pick; otherwise it is sampled with the given knobs."""
    from pizarra.generation.generate import step as run

    return run(req.model, req.text, req.sampling(), choice=req.choice, k=req.k, seed=req.seed)


@router.post("/api/generation/tree", response_model=TreeOut, tags=["generation"])
def tree(req: TreeIn) -> dict:
    """``n`` continuations of ``depth`` tokens merged into a tree of shared prefixes."""
    from pizarra.generation.generate import tree as run

    return run(req.model, req.prefix, req.n, req.depth, req.sampling(), seed=req.seed)


@router.post("/api/generation/score", response_model=ScoreOut, tags=["generation"])
def score(req: ScoreIn) -> dict:
    """Perplexity of the text under the model: per token, per word (comparable across
    tokenizers) and bits per character."""
    from pizarra.generation.generate import score as run

    return run(req.model, req.text)


@router.post("/api/generation/generate", response_model=GenerateOut, tags=["generation"])
def generate(req: GenerateIn) -> dict:
    """The whole continuation in one answer (what ``pizarra generate --json`` prints); the page
    uses the stream below to show it word by word."""
    from pizarra.generation.generate import generate as run
    from pizarra.generation.lm import get_model

    return run(get_model(req.model), req.prefix, req.sampling(req.max_tokens))


@router.get(
    "/api/generation/stream",
    tags=["generation"],
    responses={
        200: {
            "content": {"text/event-stream": {}},
            "description": 'Events: {"type": "token", "text", "token_id"} … then '
            '{"type": "done", "n_tokens", "seconds", "tokens_per_s", "finish_reason"}',
        }
    },
)
def stream(
    request: Request,
    prefix: str = Query(LECTURE_PREFIX, max_length=LIMITS["prefix_chars"]),
    model: Model = "gemma-base",
    max_tokens: int = Query(64, ge=R["max_tokens"][0], le=R["max_tokens"][1]),
    temperature: float = Query(0.8, ge=R["temperature"][0], le=R["temperature"][1]),
    top_k: int = Query(40, ge=R["top_k"][0], le=R["top_k"][1]),
    top_p: float = Query(0.95, gt=R["top_p"][0], le=R["top_p"][1]),
    repeat_penalty: float = Query(1.1, ge=R["repeat_penalty"][0], le=R["repeat_penalty"][1]),
    seed: Optional[int] = Query(None, ge=R["seed"][0], le=R["seed"][1]),
):
    """Generate after ``prefix``, one event per token. Closing the connection cancels the generation
    (the model stops at its next token and frees its lock)."""
    from pizarra.generation.generate import stream as run
    from pizarra.generation.lm import get_model
    from pizarra.web.sse import sse_response

    sampling = SamplingIn(
        temperature=temperature, top_k=top_k, top_p=top_p, repeat_penalty=repeat_penalty, seed=seed
    ).sampling(max_tokens)
    lm = get_model(model)  # a missing model is a 503 now, not an error event later

    def events(cancel):
        stats: dict = {}
        yield {"type": "start", "model": lm.name, "label": lm.label, "sampling": sampling.to_dict()}
        for piece in run(lm, prefix, sampling, cancel=cancel, stats=stats):
            yield {"type": "token", **piece}
        yield {
            "type": "done",
            "n_tokens": stats.get("n_tokens", 0),
            "seconds": round(stats.get("seconds", 0.0), 3),
            "tokens_per_s": round(stats.get("tokens_per_s", 0.0), 2),
            "finish_reason": stats.get("finish_reason"),
        }

    return sse_response(request, events)


@router.get("/api/generation/info", tags=["generation"])
def info() -> dict:
    """Models, limits and ranges, the lecture's example and the measured reports."""
    return {
        "models": list(MODELS),
        "limits": LIMITS,
        "ranges": RANGES,
        "lecture": {"prefix": LECTURE_PREFIX, "slide": [{"word": w, "prob": p} for w, p in LECTURE_EXAMPLE]},
        "fable": FABLE_START,
        "reports": reports(),
    }
