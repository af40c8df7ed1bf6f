"""Server-sent events from a blocking generator (token streams from llama.cpp, sampling loops).

    return sse_response(request, lambda cancel: my_events(..., cancel=cancel))

The generator runs in a worker thread; each dict it yields becomes one ``data: <json>`` message.
When the client goes away (closed tab, stop button, ``AbortController``), the Event handed to the
generator is set so the model stops generating at the next token and releases its lock. A
PizarraError inside becomes ``{"type": "error", "message": ...}`` in the user's words; any other
exception is logged and reported without its details. Keep-alive comments every few seconds.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from typing import Any, Callable, Iterator

from fastapi import Request
from fastapi.responses import StreamingResponse

from pizarra.errors import PizarraError

log = logging.getLogger(__name__)

KEEPALIVE_S = 10.0
_END = object()


def _message(event: dict[str, Any]) -> str:
    return f"data: {json.dumps(event, ensure_ascii=False)}\n\n"


def sse_response(request: Request, make_events: Callable[[threading.Event], Iterator[dict[str, Any]]]) -> StreamingResponse:
    cancel = threading.Event()

    async def body():
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue = asyncio.Queue()

        def put(item: Any) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, item)

        def worker() -> None:
            try:
                for event in make_events(cancel):
                    put(event)
                    if cancel.is_set():
                        break
            except PizarraError as e:
                put({"type": "error", "message": str(e)})
            except Exception:  # never a half-open stream: say it failed, log the details
                log.exception("event stream failed")
                put({"type": "error", "message": "internal error"})
            finally:
                put(_END)

        thread = threading.Thread(target=worker, name="sse-worker", daemon=True)
        thread.start()
        try:
            while True:
                try:
                    item = await asyncio.wait_for(queue.get(), timeout=KEEPALIVE_S)
                except asyncio.TimeoutError:
                    if await request.is_disconnected():
                        break
                    yield ": keep-alive\n\n"
                    continue
                if item is _END:
                    break
                yield _message(item)
        finally:
            cancel.set()  # client gone or stream over: stop the generator at its next step

    return StreamingResponse(body(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
