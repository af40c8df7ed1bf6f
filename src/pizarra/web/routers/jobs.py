"""HTTP API of the job runner: list, submit, cancel, and follow a job over Server-Sent Events.

    GET  /api/jobs?limit=50&status=running   newest first
    POST /api/jobs  {"kind": "demo.count", "params": {"n": 5}}  → 201 + the job
    GET  /api/jobs/kinds                     kinds with the JSON schema of their params
    GET  /api/jobs/{id}
    POST /api/jobs/{id}/cancel
    GET  /api/jobs/{id}/events               text/event-stream; resume with Last-Event-ID or ?after=

Each SSE message is ``id: <seq>`` + ``data: <json>``, with no ``event:`` line, so a page reads
them all with ``EventSource.onmessage``; the JSON has ``seq``, ``time`` and ``type``
(``status`` | ``progress`` | whatever the job emits). The stream ends after the event whose
``status`` is final (done, failed, cancelled, interrupted); lines starting with ``:`` are
keep-alive comments. A connection also ends after ``SSE_MAX_S`` without a final event (no
request lives forever): ``EventSource`` then reconnects by itself with ``Last-Event-ID`` and
nothing is lost, so close it only after the final status event.

The app factory calls ``attach_runner(app)``; handlers reach the runner with ``get_runner``.
"""

from __future__ import annotations

import asyncio
import json
import time
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Header, HTTPException, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from pizarra import i18n
from pizarra.errors import BadInput, PizarraError
from pizarra.jobs import TERMINAL, JobRunner
from pizarra.jobs.store import MESSAGE_KEYS, STATUSES

router = APIRouter(prefix="/api/jobs", tags=["jobs"])

# Documented error answers (the OpenAPI schema lists them; bodies carry a sentence in "detail")
_ERR = {"description": "An error with a sentence that says what was wrong"}
NOT_FOUND = {404: _ERR, 422: _ERR, 503: _ERR}

MAX_ID = 2**53  # ids and seqs beyond what JavaScript counts exactly are certainly wrong
SSE_POLL_S = 0.25  # how often the stream looks for new events
SSE_KEEPALIVE_S = 15.0  # a comment line this often keeps proxies and browsers from giving up
SSE_RETRY_MS = 2000  # EventSource reconnects after this, sending Last-Event-ID
SSE_MAX_S = 120.0  # one connection at most this long; the browser reconnects and resumes

JobId = Annotated[int, PathParam(ge=1, le=MAX_ID, description="Job id (an integer ≥ 1).")]
Status = Literal["queued", "running", "done", "failed", "cancelled", "interrupted"]


class JobCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: str = Field(min_length=1, max_length=64, examples=["demo.count"])
    params: dict[str, Any] = Field(default_factory=dict, examples=[{"n": 5, "delay_s": 0.1}])


def attach_runner(app: FastAPI, db_path: str | Path | None = None, **runner_kwargs) -> JobRunner:
    """Give ``app`` a job runner that starts with the app and stops with it (wrapping whatever
    lifespan the app already has). Returns the runner (also at ``app.state.job_runner``)."""
    runner = JobRunner(db_path, **runner_kwargs)
    app.state.job_runner = runner
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app_):
        runner.start()
        try:
            async with inner(app_) as state:
                yield state
        finally:
            await run_in_threadpool(runner.stop)

    app.router.lifespan_context = lifespan
    return runner


def http_error(err: PizarraError) -> HTTPException:
    """``err`` as an HTTPException (the router works in any FastAPI app) that keeps its catalogue
    key and parameters: the lab's handler answers it in the request's language."""
    exc = HTTPException(err.status_code, str(err))
    exc.i18n_key, exc.i18n_params = err.i18n_key, err.i18n_params
    return exc


def get_runner(request: Request) -> JobRunner:
    runner = getattr(request.app.state, "job_runner", None)
    if runner is None:
        err = PizarraError("The job runner is not available in this server.", key="err.jobs.no_runner")
        err.status_code = 503
        raise http_error(err)
    return runner


Runner = Annotated[JobRunner, Depends(get_runner)]


def page_texts(lang: str) -> dict:
    """What the jobs page shows for the API's machine words, in ``lang``: each status, and the
    runner's own sentences about a job's end (the API keeps ``status`` and ``error`` as they are)."""
    return {
        "status": {s: i18n.t(f"jobs.status.{s}", lang) for s in STATUSES},
        "error": {sentence: i18n.t(key, lang) for sentence, key in MESSAGE_KEYS.items()},
    }


def said(job_or_event: dict, lang: str) -> dict:
    """``error_text``: the job's error in ``lang`` — its catalogue key when the job failed with one,
    the runner's own sentences through MESSAGE_KEYS; the API's ``error`` stays the English sentence."""
    error = job_or_event.get("error")
    if not error:
        return job_or_event
    key, params = job_or_event.get("error_key"), job_or_event.get("error_params") or {}
    text = None
    if key:
        try:
            text = i18n.fill(key, lang, params)
        except (KeyError, IndexError, ValueError):
            text = None
    if text is None and error in MESSAGE_KEYS:
        text = i18n.t(MESSAGE_KEYS[error], lang)
    return {**job_or_event, "error_text": text or error}


async def _call(func, *args, **kwargs):
    """Run a runner method off the event loop (SQLite) and turn Pizarra errors into HTTP ones."""
    try:
        return await run_in_threadpool(func, *args, **kwargs)
    except PizarraError as err:
        raise http_error(err) from None


@router.get("", summary="Jobs, newest first", responses={422: _ERR, 503: _ERR})
async def list_jobs(
    runner: Runner,
    request: Request,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    status: Status | None = None,
) -> list[dict]:
    lang = i18n.request_lang(request)
    return [said(j, lang) for j in await _call(runner.list, limit=limit, status=status)]


@router.post("", status_code=201, summary="Queue a job", responses={422: _ERR, 429: _ERR, 503: _ERR})
async def create_job(body: JobCreate, runner: Runner) -> dict:
    return await _call(runner.submit, body.kind, body.params)


@router.get("/kinds", summary="Job kinds this server can run", responses={503: _ERR})
async def job_kinds(runner: Runner) -> list[dict]:
    return await _call(runner.kinds)


@router.get("/{job_id}", summary="One job", responses=NOT_FOUND)
async def get_job(job_id: JobId, runner: Runner, request: Request) -> dict:
    return said(await _call(runner.get, job_id), i18n.request_lang(request))


@router.post("/{job_id}/cancel", summary="Cancel a queued or running job", responses={**NOT_FOUND, 409: _ERR})
async def cancel_job(job_id: JobId, runner: Runner) -> dict:
    return await _call(runner.cancel, job_id)


@router.get(
    "/{job_id}/events",
    summary="The job's events as Server-Sent Events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "id: seq / data: JSON"}, **NOT_FOUND},
)
async def job_events(
    job_id: JobId,
    request: Request,
    runner: Runner,
    after: Annotated[int | None, Query(ge=0, le=MAX_ID, description="Send events with seq > after.")] = None,
    last_event_id: Annotated[str | None, Header(max_length=32)] = None,
) -> StreamingResponse:
    await _call(runner.get, job_id)  # 404 before the stream starts
    if last_event_id is not None and last_event_id.strip():
        value = last_event_id.strip()
        if not value.isdigit() or int(value) > MAX_ID:
            raise http_error(
                BadInput(
                    f"Last-Event-ID must be an event seq (an integer ≥ 0), not {value[:32]!r}.",
                    key="err.jobs.last_event_id",
                    value=value[:32],
                )
            )
        after = int(value)
    return StreamingResponse(
        _event_stream(runner, request, job_id, after or 0),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def format_sse(event: dict) -> str:
    return f"id: {event['seq']}\ndata: {json.dumps(event, ensure_ascii=False)}\n\n"


async def _event_stream(runner: JobRunner, request: Request, job_id: int, after: int):
    lang = i18n.request_lang(request)
    yield f"retry: {SSE_RETRY_MS}\n\n"
    last_sent = opened = time.monotonic()
    while time.monotonic() - opened < SSE_MAX_S:
        events = await run_in_threadpool(runner.events, job_id, after)
        for event in events:
            yield format_sse(said(event, lang) if event.get("type") == "status" else event)
            after = event["seq"]
            last_sent = time.monotonic()
            if event.get("type") == "status" and event.get("status") in TERMINAL:
                return
        if events:
            continue  # there may be more right away
        job = await run_in_threadpool(runner.store.get, job_id)
        if job is None or job.terminal:  # final event already sent in an earlier connection
            if not await run_in_threadpool(runner.events, job_id, after):
                return
            continue
        if await request.is_disconnected():
            return
        if time.monotonic() - last_sent >= SSE_KEEPALIVE_S:
            yield ": keep-alive\n\n"
            last_sent = time.monotonic()
        await asyncio.sleep(SSE_POLL_S)
