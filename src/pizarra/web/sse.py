"""Server-sent events from a blocking generator (token streams from llama.cpp, sampling loops).

    return sse_response(request, lambda cancel: my_events(..., cancel=cancel))

The generator runs in a worker thread; each dict it yields becomes one ``data: <json>`` message.
When the client goes away (closed tab, stop button, ``AbortController``), the Event handed to the
generator is set so the model stops generating at the next token and releases its lock.

The event loop collects what the worker produced every ``POLL_S`` (20 ms; ``PIZARRA_SSE_POLL_MS``)
and writes it in one chunk,
instead of being woken once per token: on a 2-core laptop, per-token wake-ups of the loop and of
the client preempt llama.cpp's worker threads, which wait for each other at every layer, and
generation through the page ran at a third of llama.cpp's speed. The first event and the end of the
stream wake the loop at once (no poll delay on the time to the first token or to the last). A
PizarraError inside becomes ``{"type": "error", "message": ...}`` in the user's words; any other
exception is logged and reported without its details. Keep-alive comments every few seconds.
In classroom mode a request waiting for its turn at a model sends ``{"type": "queue", "model",
"position", "eta_s"}`` events first (position 0: its turn has come; see ``pizarra.llm.fair``).
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import os
import threading
import time
from collections import deque
from typing import Any, Callable, Iterator

from fastapi import Request
from fastapi.responses import StreamingResponse

from pizarra import i18n
from pizarra.errors import PizarraError
from pizarra.llm import fair

log = logging.getLogger(__name__)

KEEPALIVE_S = 10.0
POLL_S = max(0.001, float(os.environ.get("PIZARRA_SSE_POLL_MS", "20") or 20) / 1000)  # at most 1/POLL_S writes
#   a second, whatever the token rate: no per-token wake-ups
_END = object()


def _message(event: dict[str, Any]) -> str:
    return f"data: {json.dumps(event, ensure_ascii=False)}\n\n"


def sse_response(  # noqa: C901 - the producer thread and the batching writer share state; see body()
    request: Request, make_events: Callable[[threading.Event], Iterator[dict[str, Any]]]
) -> StreamingResponse:
    cancel = threading.Event()
    lang = i18n.request_lang(request) if hasattr(request, "cookies") else i18n.DEFAULT_LANG
    context = contextvars.copy_context()  # the request's model scope (see web.disconnect) goes with it

    async def body():  # noqa: C901 - poll, drain, keep-alive and disconnect in one loop
        pending: deque = deque()  # appended by the worker, drained by the loop (deque ops are atomic)
        put = pending.append
        loop = asyncio.get_running_loop()
        ready = asyncio.Event()  # set by the POLL_S timer, or at once by the worker for an urgent item

        def urgent(item) -> None:  # from the worker: an item the client should not wait POLL_S for
            put(item)
            loop.call_soon_threadsafe(ready.set)

        def worker() -> None:
            fair.on_wait.set(urgent)  # classroom mode: {"type": "queue", "position", "eta_s"} while waiting
            try:
                for i, event in enumerate(make_events(cancel)):
                    (urgent if i == 0 else put)(event)  # the first one at once (the time to the first token)
                    if cancel.is_set():
                        break
            except PizarraError as e:
                put({"type": "error", "message": i18n.error_text(e, lang), "kind": type(e).__name__})
            except Exception:  # never a half-open stream: say it failed, log the details
                log.exception("event stream failed")
                put({"type": "error", "message": "internal error"})
            finally:
                try:
                    urgent(_END)
                except RuntimeError:  # the loop is closed: nobody is reading any more
                    pass

        async def pause() -> None:  # POLL_S, or less when the worker has sent something urgent
            if not ready.is_set():
                timer = loop.call_later(POLL_S, ready.set)
                try:
                    await ready.wait()
                finally:
                    timer.cancel()
            ready.clear()

        thread = threading.Thread(target=context.run, args=(worker,), name="sse-worker", daemon=True)
        thread.start()
        last_write = time.monotonic()
        try:
            done = False
            while not done:
                await pause()
                chunk = []
                while pending:
                    item = pending.popleft()
                    if item is _END:
                        done = True
                        break
                    chunk.append(_message(item))
                if chunk:
                    last_write = time.monotonic()
                    yield "".join(chunk)
                elif time.monotonic() - last_write > KEEPALIVE_S:
                    if await request.is_disconnected():
                        break
                    last_write = time.monotonic()
                    yield ": keep-alive\n\n"
        finally:
            cancel.set()  # client gone or stream over: stop the generator at its next step

    return StreamingResponse(
        body(), media_type="text/event-stream", headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    )
