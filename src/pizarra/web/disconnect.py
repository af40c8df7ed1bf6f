"""Every API request runs in a model scope: its work stops when its client goes, and it has a budget.

A non-streamed request (generate, chat reply, compare, Gandalf, a sentiment row) runs in a thread
that never hears that its client closed the connection, and kept the model busy for tens of seconds
after an abandoned request. This middleware owns the request's ``receive`` channel: it hands the body
to the app as usual and, once the body is read, keeps listening for ``http.disconnect``; when it comes,
the request's cancel event is set, and every model call made for the request (``pizarra.llm.runtime``,
through a context variable that FastAPI copies into its worker threads) stops at its next token.

The same scope gives the request a budget of model time (``PIZARRA_REQUEST_BUDGET_S``, default 15 s):
all its model calls together hold a model at most that long, and a generation that reaches it ends
with ``finish_reason: "time"``. Work bigger than that belongs to jobs.
"""

from __future__ import annotations

import asyncio
import os
import threading

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pizarra.llm import runtime

BUDGET_S = float(os.environ.get("PIZARRA_REQUEST_BUDGET_S", "15") or 15)


class CancelOnDisconnect:
    def __init__(self, app: ASGIApp, budget_s: float | None = None):
        self.app, self.budget_s = app, budget_s  # None: BUDGET_S, read at each request

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope.get("path", "").startswith("/api/"):
            return await self.app(scope, receive, send)
        cancel = threading.Event()
        gone = asyncio.Event()
        body: asyncio.Queue[Message] = asyncio.Queue()

        async def listen() -> None:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    cancel.set()
                    gone.set()
                    return
                await body.put(message)

        waits: dict[str, asyncio.Future] = {}  # at most one pending get and one "gone" wait, reused

        async def app_receive() -> Message:
            if "get" not in waits and not body.empty():
                return body.get_nowait()
            if gone.is_set() and "get" not in waits:
                return {"type": "http.disconnect"}
            if "get" not in waits:
                waits["get"] = asyncio.ensure_future(body.get())
            if "gone" not in waits:
                waits["gone"] = asyncio.ensure_future(gone.wait())
            get = waits["get"]
            await asyncio.wait({get, waits["gone"]}, return_when=asyncio.FIRST_COMPLETED)
            if get.done():
                del waits["get"]
                return get.result()
            return {"type": "http.disconnect"}

        listener = asyncio.ensure_future(listen())
        try:
            with runtime.request_scope(cancel, self.budget_s if self.budget_s is not None else BUDGET_S):
                await self.app(scope, app_receive, send)
        finally:
            listener.cancel()
            for pending in waits.values():
                pending.cancel()
            cancel.set()  # response sent (or failed): anything still running for it may stop
