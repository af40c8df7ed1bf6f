"""One thread for every llama.cpp forward pass in the process.

llama.cpp's CPU backend (built with OpenMP here) runs each forward pass on a team of worker threads
that belongs to the *calling* thread. A web server calls the model from many threads (a fresh one per
token stream, a pool for the other endpoints), so several teams pile up and fight over the two cores:
measured on this 2-core machine with SmolLM2, raw llama.cpp decodes ~80 tokens/s from the thread that
first used it and 15-35 tokens/s from any other thread. Sending every ``decode`` to one long-lived
thread keeps a single team: full speed from any caller, for a hand-off of some microseconds a token.

    pin(llm)      make ``llm`` (a ``llama_cpp.Llama``) run its forward passes on the compute thread
    run(fn, *a)   call fn(*a) on the compute thread and wait for its result (re-entrant)
    iterate(gen)  run a whole token loop there, yielding its pieces to the caller
"""

from __future__ import annotations

import os
import queue
import threading
import time
from concurrent.futures import ThreadPoolExecutor

# libgomp's workers spin this many times after a forward pass before they sleep (its default, 300k, is
# shorter than the gap between two tokens, so every token paid a wake-up). Read when libgomp loads:
# this module is imported before llama_cpp. An idle server still sleeps: nothing runs, nothing spins.
os.environ.setdefault("GOMP_SPINCOUNT", "3000000")

FLUSH_S = 0.02  # iterate(): items reach the caller in batches at most this old (fewer wake-ups per token)

_lock = threading.Lock()
_executor: ThreadPoolExecutor | None = None
_ident: int | None = None


def _remember_ident() -> None:
    global _ident
    _ident = threading.get_ident()


def _get() -> ThreadPoolExecutor:
    global _executor
    with _lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(1, thread_name_prefix="llama-compute", initializer=_remember_ident)
        return _executor


def run(fn, *args, **kwargs):
    """fn(*args, **kwargs) on the compute thread (directly when already on it)."""
    if threading.get_ident() == _ident:
        return fn(*args, **kwargs)
    return _get().submit(fn, *args, **kwargs).result()


def pin(llm):
    """Route ``llm``'s forward passes (``llm._ctx.decode``, used by eval/generate) to the compute thread."""
    ctx = getattr(llm, "_ctx", None)
    if ctx is None or getattr(ctx, "_pizarra_pinned", False):
        return llm
    decode = ctx.decode
    ctx.decode = lambda batch: run(decode, batch)
    ctx._pizarra_pinned = True
    return llm


def iterate(gen):
    """Run the generator ``gen`` on the compute thread and yield its items here, as they come.

    A token loop then runs where raw llama.cpp would run it (sampling and forward passes on one
    thread, no hand-off per token). The caller must already hold whatever lock ``gen`` needs: the
    compute thread never waits for a lock, so it cannot deadlock with a caller that waits for it.
    Items are handed over in batches, at most ``FLUSH_S`` old (the first at once), so the caller is not
    woken once per token. Closing this generator early stops ``gen`` at its next item.
    """
    if threading.get_ident() == _ident:
        yield from gen
        return
    items: queue.SimpleQueue = queue.SimpleQueue()
    stop = threading.Event()

    def produce():
        batch, last = [], float("-inf")  # the first item goes at once
        try:
            for item in gen:
                batch.append(item)
                now = time.monotonic()
                if now - last >= FLUSH_S:  # hand over what is ready: the consumer wakes at most 1/FLUSH_S a second
                    items.put((_ITEMS, batch))
                    batch, last = [], now
                if stop.is_set():
                    break
        except BaseException as e:  # noqa: BLE001 - handed to the consumer, raised there
            items.put((_ITEMS, batch))
            items.put((_ERROR, e))
        else:
            items.put((_ITEMS, batch))
            items.put((_END, None))
        finally:
            gen.close()

    done = _get().submit(produce)
    try:
        while True:
            kind, value = items.get()
            if kind is _ITEMS:
                yield from value
            elif kind is _ERROR:
                raise value
            else:
                return
    finally:
        stop.set()
        done.result()  # the producer has let go of the model before the caller's lock is released


_ITEMS, _ERROR, _END = object(), object(), object()
