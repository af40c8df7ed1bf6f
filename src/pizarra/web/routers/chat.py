"""Chapter 8 over HTTP: "Instrucciones, chat y alucinaciones".

    GET  /capitulo/instrucciones-chat-alucinaciones   the page
    POST /api/chat/compare         the same prompt to the base and the instruct model, side by side
    POST /api/chat/compare/stream  the same, streamed (SSE: per side start, token..., done)
    POST /api/chat/template        the exact text and tokens the chat model receives
    POST /api/chat/stream          one assistant turn, streamed (SSE: start, token..., done)
    POST /api/chat/reply           one assistant turn as JSON (what `pizarra chat --prompt` prints)
    POST /api/chat/run             Python code (or a reply to extract it from) run in the sandbox
    POST /api/chat/hallucination   N sampled answers, clusters, semantic entropy, flag (SSE)
    GET  /api/chat/instructions    instruction -> output examples (self-instruct)
    GET  /api/chat/info            the lecture's prompts, limits, measured reports
    POST /api/chat/ladder          one question to the four models of the size ladder (SSE: answer per model, done)
    GET  /api/chat/ladder/report   the ladder's measured accuracy (reports/chat_ladder.json), or null

Thin: the work is in :mod:`pizarra.chat`. The conversation lives in the browser; the server keeps
nothing between requests.
"""

from __future__ import annotations

import json
import threading
from typing import Annotated, Iterator, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from pizarra import i18n
from pizarra.chapters import reports as chapter_reports
from pizarra.chat.hallucination import DEFAULT_MODEL as HALLUC_MODEL
from pizarra.chat.hallucination import DEFAULTS as HALLUC
from pizarra.config import reports_dir
from pizarra.web.templating import chapter_page

router = APIRouter()
SLUG = "instrucciones-chat-alucinaciones"
MAX_CHARS, MAX_MESSAGES = 4000, 50
ChatModel = Literal[
    "qwen-coder-1.5b", "qwen-coder-0.5b", "smollm2"
]  # chat.core.CHAT_MODELS (others: the CLI's --model PATH)
Text = Annotated[str, Field(min_length=1, max_length=MAX_CHARS)]


class Message(BaseModel):
    role: Literal["system", "user", "assistant"]
    content: Annotated[str, Field(max_length=MAX_CHARS)]


class ChatIn(BaseModel):
    messages: list[Message] = Field(
        min_length=1, max_length=MAX_MESSAGES, description="The conversation so far; the last message is the user's."
    )
    system: Annotated[str, Field(max_length=MAX_CHARS)] | None = Field(None, description="System prompt (optional).")
    model: ChatModel = "qwen-coder-1.5b"
    max_tokens: int = Field(256, ge=1, le=512)
    temperature: float = Field(0.7, ge=0.0, le=2.0)
    top_p: float = Field(0.95, gt=0.0, le=1.0)
    seed: int | None = Field(None, ge=0, le=2**31 - 1)


class TemplateIn(BaseModel):
    messages: list[Message] = Field(min_length=1, max_length=MAX_MESSAGES)
    system: Annotated[str, Field(max_length=MAX_CHARS)] | None = None
    model: ChatModel = "qwen-coder-1.5b"


class CompareIn(BaseModel):
    prompt: Text
    max_tokens: int = Field(96, ge=1, le=256)
    temperature: float = Field(0.7, ge=0.0, le=2.0)
    seed: int | None = Field(0, ge=0, le=2**31 - 1)


class RunIn(BaseModel):
    code: Annotated[str, Field(max_length=20_000)] | None = Field(None, description="Python code to run as it is.")
    reply: Annotated[str, Field(max_length=20_000)] | None = Field(
        None, description="A chat reply to take the code from."
    )
    stdin: Annotated[str, Field(max_length=10_000)] = Field("70\n1.75\n", description="What the program reads.")


class HallucinationIn(BaseModel):
    question: Annotated[str, Field(min_length=1, max_length=1000)]
    n: int = Field(HALLUC["n"], ge=2, le=10, description="Answers to sample.")
    temperature: float = Field(HALLUC["temperature"], ge=0.1, le=2.0)
    max_tokens: int = Field(HALLUC["max_tokens"], ge=4, le=96)
    threshold: float = Field(
        HALLUC["threshold"], gt=0.0, le=1.0, description="Cosine needed to join a meaning cluster."
    )
    flag_at: float = Field(
        HALLUC["flag_at"], ge=0.0, le=5.0, description="Semantic entropy (nats) that raises the flag."
    )
    model: ChatModel = Field(HALLUC_MODEL, description="The model that answers (default: the one that measured best).")
    encoder: Literal["use", "minilm"] = Field(HALLUC["encoder"], description="use: multilingual; minilm: English only.")
    lang: Literal["es", "en"] | None = Field(
        None, description="Language of the short-answer system prompt (default: the page's)."
    )
    seed: int = Field(0, ge=0, le=2**31 - 1)


LadderModel = Literal["smollm2", "gemma-base", "qwen-coder-0.5b", "qwen-coder-1.5b"]  # chat.ladder.LADDER_MODELS


class LadderIn(BaseModel):
    question: Annotated[str, Field(min_length=1, max_length=300)]
    models: list[LadderModel] | None = Field(
        None, min_length=1, max_length=4, description="Which models (default all four); they answer smallest first."
    )
    lang: Literal["es", "en"] | None = Field(
        None, description="The prompt's language (default: the question set's, else the page's)."
    )


class ReplyOut(BaseModel):
    model: str
    reply: str
    dropped_turns: int
    n_tokens: int | None = None
    seconds: float | None = None
    finish_reason: str | None = None


# --------------------------------------------------------------------------------------- page


def reports() -> dict:
    """The measured reports of ``bench/chat_eval.py`` that exist (reports/chat_*.json)."""
    out = chapter_reports(SLUG, "bmi_es", "bmi_en", "halueval", "truthfulqa")
    for report in out.values():
        for bulky in ("samples", "examples", "rows"):  # per-question detail: not for the page
            if isinstance(report, dict):
                report.pop(bulky, None)
    return out


@router.get(f"/capitulo/{SLUG}", response_class=HTMLResponse, tags=["pages"], summary="Chapter 8 page")
def page(request: Request) -> HTMLResponse:
    from pizarra.chat.code import BMI_PROMPT_ES, BMI_REFERENCE, BMI_STDIN
    from pizarra.chat.core import CHAT_MODELS, CODE_MODEL, DEFAULT_SYSTEM, LECTURE_PROMPTS
    from pizarra.chat.hallucination import DEFAULT_MODEL, DEFAULTS, EXAMPLE_QUESTIONS, FOLLOW_UPS, STORY

    lang = i18n.request_lang(request)
    return chapter_page(
        request,
        SLUG,
        prompts=LECTURE_PROMPTS,
        chat_models=CHAT_MODELS,
        code_model=CODE_MODEL,
        default_system=DEFAULT_SYSTEM[lang],
        bmi_prompt=BMI_PROMPT_ES,
        bmi_reference=BMI_REFERENCE,
        bmi_stdin=BMI_STDIN,
        story=STORY,
        follow_ups=FOLLOW_UPS,
        questions=EXAMPLE_QUESTIONS[lang],
        defaults=DEFAULTS,
        reports=reports(),
        halluc_model=DEFAULT_MODEL,
        ladder=ladder_view(lang),
    )


# ---------------------------------------------------------------------------------------- API


def _messages(messages: list[Message]) -> list[dict]:
    return [m.model_dump() for m in messages]


@router.post("/api/chat/compare", tags=["chat"])
def compare(req: CompareIn) -> dict:
    """Gemma 3 270M base continues the prompt as text; SmolLM2-135M-Instruct answers it as a chat turn."""
    from pizarra.chat.core import base_vs_instruct

    return base_vs_instruct(req.prompt, req.max_tokens, req.temperature, req.seed)


@router.post("/api/chat/compare/stream", tags=["chat"])
def compare_stream(req: CompareIn, request: Request):
    """Server-sent events, base model then instruct model: per side ``start`` (the exact text it
    receives), ``token``..., ``done``. Closing the connection stops the model at its next token."""
    from pizarra.chat.core import base_vs_instruct_events, check_compare
    from pizarra.web.sse import sse_response

    prompt = check_compare(req.prompt)  # bad input: 422 before the stream starts

    def events(cancel: threading.Event) -> Iterator[dict]:
        yield from base_vs_instruct_events(prompt, req.max_tokens, req.temperature, req.seed, cancel=cancel)

    return sse_response(request, events)


@router.post("/api/chat/template", tags=["chat"])
def template(req: TemplateIn) -> dict:
    """The conversation after the model's chat template: the exact text and its tokens."""
    from pizarra.chat.core import chat_view

    return chat_view(_messages(req.messages), req.model, req.system)


@router.post("/api/chat/reply", response_model=ReplyOut, tags=["chat"])
def chat_reply(req: ChatIn, request: Request) -> dict:
    """One assistant turn, whole (oldest turns dropped when the conversation outgrows the context).
    In a class, students are answered by the model the teacher chose."""
    from pizarra.chat.core import reply
    from pizarra.web.routers.classroom import chat_model_for

    return reply(
        _messages(req.messages),
        chat_model_for(request, req.model),
        req.system,
        req.max_tokens,
        req.temperature,
        req.top_p,
        req.seed,
    )


@router.post("/api/chat/stream", tags=["chat"])
def chat_stream(req: ChatIn, request: Request):
    """Server-sent events: ``start`` (dropped_turns), one ``token`` per token, then ``done``.

    Closing the connection (the stop button) stops the generation at the next token."""
    from pizarra.chat.core import check_messages
    from pizarra.llm import runtime as rt
    from pizarra.web.routers.classroom import chat_model_for
    from pizarra.web.sse import sse_response

    model = chat_model_for(request, req.model)  # a class: the teacher's choice (one model warm for all)
    msgs = check_messages(_messages(req.messages), req.system)  # bad input: 422 before the stream starts
    sampling = rt.Sampling(
        max_tokens=req.max_tokens, temperature=req.temperature, top_p=req.top_p, seed=req.seed
    ).validated()

    def events(cancel: threading.Event) -> Iterator[dict]:
        stats: dict = {}
        started = False
        for piece in rt.stream_chat(model, msgs, sampling, cancel=cancel, stats=stats):
            if not started:
                started = True
                yield {
                    "type": "start",
                    "dropped_turns": stats.get("dropped_turns", 0),
                    "prompt_tokens": stats.get("n_prompt_tokens"),
                }
            if piece.text:
                yield {"type": "token", "text": piece.text}
        yield {
            "type": "done",
            "dropped_turns": stats.get("dropped_turns", 0),
            "n_tokens": stats.get("n_tokens"),
            "finish_reason": stats.get("finish_reason"),
            "tokens_per_s": round(stats.get("tokens_per_s", 0.0), 1),
            "seconds": round(stats.get("seconds", 0.0), 2),
        }

    return sse_response(request, events)


@router.post("/api/chat/run", tags=["chat"])
def run_code(req: RunIn, request: Request) -> dict:
    """Run ``code`` (or the Python found in ``reply``) in the sandbox with ``stdin``: no network, no
    files outside a temporary folder, 2 s of CPU, 256 MB, 64 kB of output, 5 s of wall clock."""
    from pizarra.chat.code import check_bmi, extract_code
    from pizarra.chat.sandbox import run_python
    from pizarra.errors import BadInput

    code = req.code if req.code and req.code.strip() else extract_code(req.reply or "")
    if not code:
        raise BadInput(
            "No Python code found: send `code`, or a `reply` with a ```python block.", key="err.chat.no_python"
        )
    result = run_python(code, req.stdin).to_dict()
    lang = i18n.request_lang(request)
    if result.get("message_key"):  # the sandbox's sentence in the reader's language
        result["message"] = i18n.fill(result["message_key"], lang, result.get("message_params"))
    result["status_text"] = i18n.t(f"sandbox.status.{result['status']}", lang)
    return {"code": code, "result": result, "bmi_check": check_bmi(result["stdout"])}


@router.post("/api/chat/hallucination", tags=["chat"])
def hallucination(req: HallucinationIn, request: Request):
    """Server-sent events: one ``answer`` per sample, then ``result`` (clusters, semantic entropy, flag)."""
    from pizarra.chat import hallucination as h
    from pizarra.web.sse import sse_response

    events = h.check_events(  # bad input: 422 before the stream starts
        req.question,
        req.model,
        req.n,
        req.temperature,
        req.max_tokens,
        req.threshold,
        req.flag_at,
        encoder=req.encoder,
        seed=req.seed,
        lang=req.lang or i18n.request_lang(request),
    )

    def stream(cancel: threading.Event) -> Iterator[dict]:
        yield from events  # the stream stops between answers once the client has gone (sse_response)

    return sse_response(request, stream)


@router.get("/api/chat/instructions", tags=["chat"])
def instructions(
    part: Literal["seed", "user_oriented", "predictions"] = "seed",
    offset: int = Query(0, ge=0, le=10_000),
    limit: int = Query(10, ge=1, le=50),
) -> dict:
    """Instruction data as OpenOrca's: the self-instruct set with PIZARRA_DATA, a shipped handful without."""
    from pizarra.chat.core import instruction_examples

    return instruction_examples(part, offset, limit)


@router.get("/api/chat/info", tags=["chat"])
def info() -> dict:
    """The lecture's prompts, the sandbox limits, the detector's defaults, the measured reports."""
    from pizarra.chat.code import BMI_STDIN, BMI_VALUE
    from pizarra.chat.core import LECTURE_PROMPTS
    from pizarra.chat.hallucination import DEFAULT_MODEL, DEFAULTS, FOLLOW_UPS, STORY
    from pizarra.chat.sandbox import Limits, isolation_status

    return {
        "prompts": LECTURE_PROMPTS,
        "story": STORY,
        "follow_ups": list(FOLLOW_UPS),
        "bmi": {"stdin": BMI_STDIN, "expected": f"{BMI_VALUE:.2f}"},
        "sandbox": {**Limits().__dict__, "isolation": {k: v for k, v in isolation_status().items() if k != "path"}},
        "detector": {**DEFAULTS, "model": DEFAULT_MODEL},
        "reports": reports(),
    }


# ------------------------------------------------------------------------------ size ladder


def ladder_view(lang: str) -> dict:
    """What the page's «¿Importa el tamaño?» section needs: the models, a default question, examples."""
    from pizarra.chat import ladder

    words = (
        "params",
        "queued",
        "right",
        "wrong",
        "unjudged",
        "judged",
        "time",
        "cut",
        "done",
        "table.note",
        "table.none",
    )
    return {
        "models": [{"model": m, **ladder.MODELS[m]} for m in ladder.LADDER_MODELS],
        "question": ladder.DEFAULT_QUESTION[lang],
        "examples": [q["question"] for q in ladder.questions(lang)],
        "max_chars": ladder.MAX_QUESTION_CHARS,
        "i18n": {
            **{w: i18n.t(f"chat.ladder.{w}", lang) for w in words},
            "waiting": i18n.t("chat.waiting", lang),
            "stopped": i18n.t("chat.chat.stopped", lang),
        },
    }


def ladder_report() -> dict | None:
    """reports/chat_ladder.json without its per-question answers (the table), or None."""
    try:
        report = json.loads((reports_dir() / "chat_ladder.json").read_text())
    except (OSError, ValueError):
        return None
    report.pop("questions", None)
    return report


@router.post("/api/chat/ladder", tags=["chat"])
def ladder_stream(req: LadderIn, request: Request):
    """Server-sent events: one ``answer`` per model as it finishes (smallest first), then ``done``.

    Each model gets the request's model-time budget of its own (they run one after another; a
    shared budget would cut the biggest, last, model). Closing the connection stops the ladder."""
    from pizarra.chat import ladder
    from pizarra.web.disconnect import BUDGET_S
    from pizarra.web.sse import sse_response

    question = ladder.check_question(req.question)  # bad input: 422 before the stream starts
    models = ladder.check_models(req.models or ladder.LADDER_MODELS)
    known = ladder.find(question)
    lang = req.lang or (known["lang"] if known else i18n.request_lang(request))

    def events(cancel: threading.Event) -> Iterator[dict]:
        rows = []
        for row in ladder.ask_iter(question, models, lang, cancel=cancel, budget_s=BUDGET_S):
            rows.append(row)
            yield {"type": "answer", "index": len(rows) - 1, **row}
        yield {
            "type": "done",
            "question": question,
            "lang": lang,
            "accepted": known["accepted"] if known else None,
            "seconds": round(sum(r["seconds"] for r in rows), 2),
        }

    return sse_response(request, events)


@router.get("/api/chat/ladder/report", tags=["chat"])
def ladder_report_api() -> dict | None:
    """The ladder's accuracy per model and language as `pizarra chat ladder-eval` measured it, or null."""
    return ladder_report()
