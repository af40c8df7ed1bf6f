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
    adopt()       make the calling thread the compute thread (the llama.cpp worker's main thread)
    threads_now(n) how many of n threads to use now, given what else keeps the CPU busy
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


def adopt() -> None:
    """From now on the calling thread is the compute thread: ``run``/``iterate``/pinned contexts
    called from it run inline (the worker process calls llama.cpp from its main thread only)."""
    _remember_ident()


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


# ----------------------------------------------------------------------------------------------
# How many threads, given the competition. llama.cpp splits every layer of a forward pass between
# its threads and waits for the slowest: when another process wants one of two cores, one of our two
# threads keeps losing it, every layer waits for it, and decoding fell 7-14x (Gemma 32 -> 2-4 tokens/s).
# One thread on the free core keeps more than half the speed. Niced processes (Pizarra's training
# jobs) do not count: the kernel gives them the CPU only when we leave it.

_CLK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
_meter_lock = threading.Lock()
_last: tuple[float, dict[int, int]] | None = None  # (time, CPU ticks of each process not niced)
_others = 0.0  # cores the rest of the machine kept busy over the last window
# The lab's other model workers: they take turns with us (the parent says how many are busy right now,
# see ``set_siblings``), so their past work is not competition; only the ones busy now are.
_siblings: tuple[int, ...] = ()
_siblings_busy = 0


def set_siblings(pids, busy: int) -> None:
    """The pids of the lab's other model workers, and how many of them have work in flight now."""
    global _siblings, _siblings_busy
    _siblings, _siblings_busy = tuple(pids), int(busy)


def _sample() -> tuple[float, dict[int, int]]:
    """CPU ticks (user + system, all threads) of every process at normal or higher priority, but us."""
    skip = {os.getpid(), *_siblings}
    ticks: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or int(entry.name) in skip:
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        if int(fields[16]) <= 0:  # nice: a niced process (a training job) yields by itself
            ticks[int(entry.name)] = int(fields[11]) + int(fields[12])
    return time.monotonic(), ticks


def others_busy() -> float:
    """Cores kept busy by other, not niced processes over the last window (0.1 s to ~0.5 s)."""
    global _last, _others
    with _meter_lock:
        if _last is not None and time.monotonic() - _last[0] < 0.1:
            return _others
        try:
            now = _sample()
        except OSError:  # no /proc: assume an idle machine
            return 0.0
        if _last is not None:
            before = _last[1]
            used = sum(t - before.get(pid, t if t > _CLK else 0) for pid, t in now[1].items())
            _others = max(0.0, used / _CLK / (now[0] - _last[0]))
        _last = now
        return _others


def start_meter(period_s: float = 0.5) -> None:
    """Keep ``others_busy()`` fresh in the background (a daemon thread that wakes twice a second)."""

    def loop():
        while True:
            others_busy()
            time.sleep(period_s)

    threading.Thread(target=loop, name="cpu-meter", daemon=True).start()


def threads_now(wanted: int, cores: int | None = None) -> int:
    """``wanted`` threads on an idle machine; fewer by the cores other processes keep busy, and by the
    lab's other model workers that are generating at the same time."""
    cores = cores or os.cpu_count() or 1
    return max(1, min(wanted, cores - int(others_busy() + 0.5) - _siblings_busy))
