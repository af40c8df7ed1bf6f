"""llama.cpp in a process of its own, supervised: a native crash costs the requests in flight, not the lab.

Parent side (the web server, the CLI, a test):

    w = Worker("gemma-base")
    w.call("next_token_probs", (ref, "El cielo es"), {}, cancel=[event], budget_s=15)   # a result
    for item in w.stream("stream", (ref, prompt, sampling), {}, cancel=[event]): ...     # pieces, then stats

Child side: ``python -m pizarra.llm.worker FD`` runs ``pizarra.llm.engine`` functions by name, one at a
time, on its main thread (the compute thread: see ``pizarra.llm.compute``), in the order they came.
A second thread reads the pipe meanwhile, so a ``cancel`` reaches a running generation at its next
token, or drops a request still waiting in the queue.

Messages are pickled tuples over a socket pair (``multiprocessing.connection.Connection``):
    parent -> child   ("call", id, name, args, kwargs, budget_s, siblings)   ("cancel", id)
                      siblings: (pids of the other models' workers, how many of them are busy now)
    child -> parent   ("items", id, [pieces])   ("done", id, result, busy_s)   ("error", id, error, busy_s)

When the child dies (SIGSEGV in llama.cpp, abort, out of memory, killed) every request in flight
gets ``ModelRestarted`` (503, "el modelo se ha reiniciado, vuelve a intentarlo"); the next request
starts a fresh worker. A cancelled request the worker has not let go of within ``CANCEL_GRACE_S``
gets the worker killed: no request holds the model after its client has gone.
"""

from __future__ import annotations

import importlib
import itertools
import logging
import os
import pickle
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
import weakref
from multiprocessing.connection import Connection
from typing import Any, Callable, Generator, Iterator, Sequence

from pizarra.errors import PizarraError

log = logging.getLogger(__name__)

CANCEL_GRACE_S = 2.0  # after a cancel, the worker has this long to answer before it is killed
POLL_S = 0.05  # a waiting caller looks at its cancel events this often
FLUSH_S = 0.02  # the child sends streamed pieces in batches at most this old (the first at once)


class ModelRestarted(PizarraError):
    """The model's worker process died (a crash in native code): the request can be tried again."""

    status_code = 503
    i18n_key = "error.model_restarted"

    def __init__(self, model: str = "", detail: str = "", bystander: bool = False):
        super().__init__("El modelo se ha reiniciado, vuelve a intentarlo." + (f" [{detail}]" if detail else ""))
        self.model = model
        # True: Pizarra killed the worker because ANOTHER request ignored its cancel (its client had
        # gone); this request did nothing wrong and is asked again (pizarra.llm.runtime)
        self.bystander = bystander


class RequestCancelled(PizarraError):
    """The client went away (or pressed stop) before the model got to its request."""

    status_code = 409
    i18n_key = "error.request_cancelled"

    def __init__(self, message: str = "La petición se canceló."):
        super().__init__(message)


def _describe(exc: BaseException) -> tuple[str, str, str, dict]:
    state: dict[str, Any] = {k: v for k, v in vars(exc).items() if isinstance(v, (str, int, float, bool, type(None)))}
    params = getattr(exc, "i18n_params", None)  # what the catalogue's text of the error fills
    if isinstance(params, dict) and params:
        try:
            pickle.dumps(params)
            state["i18n_params"] = params
        except Exception:  # noqa: BLE001 - a parameter that cannot travel: the error keeps its sentence
            pass
    return type(exc).__module__, type(exc).__qualname__, str(exc), state


def _rebuild(module: str, qualname: str, message: str, state: dict) -> BaseException:
    """The worker's exception as the same class here (a PizarraError keeps its status code)."""
    try:
        cls = importlib.import_module(module)
        for part in qualname.split("."):
            cls = getattr(cls, part)
        if isinstance(cls, type) and issubclass(cls, Exception):
            exc = cls.__new__(cls)
            Exception.__init__(exc, message)
            exc.__dict__.update(state)
            return exc
    except Exception:  # noqa: BLE001 - any class we cannot rebuild becomes a plain error below
        pass
    return RuntimeError(f"{qualname}: {message}")


# ----------------------------------------------------------------------------------------------
# Parent side


class _Call:
    def __init__(self, rid: int, proc: subprocess.Popen):
        self.rid, self.proc = rid, proc
        self.inbox: queue.SimpleQueue = queue.SimpleQueue()
        self.finished = False


_all: "weakref.WeakSet[Worker]" = weakref.WeakSet()


class Worker:
    """One model's worker process: started on first use, restarted after it dies."""

    def __init__(self, key: str, nice: int = 0):
        _all.add(self)
        self.key = key
        self.nice = nice  # > 0: the process yields the CPU to the web server (classroom mode)
        self._lock = threading.Lock()  # the process, its connection and the table of calls
        self._send_lock = threading.Lock()
        self._proc: subprocess.Popen | None = None
        self._conn: Connection | None = None
        self._calls: dict[int, _Call] = {}
        self._killed_for_cancel: set[int] = set()  # pids Pizarra killed because a request ignored its cancel
        self._closing: subprocess.Popen | None = None
        self._ids = itertools.count(1)
        self.starts = 0
        self.deaths: list[dict[str, Any]] = []  # how earlier processes ended (exit code, signal, time)

    # -- process

    def renice(self, nice: int) -> None:
        """Run the worker at ``nice`` above the server from now on (lowering it may need privileges:
        then it stays where it is until the next start)."""
        self.nice = nice
        pid = self.pid
        if pid is not None:
            try:
                base = os.getpriority(os.PRIO_PROCESS, 0)
                for tid in os.listdir(f"/proc/{pid}/task"):  # every thread: llama.cpp's too
                    os.setpriority(os.PRIO_PROCESS, int(tid), base + nice)
            except OSError:
                pass

    @property
    def pid(self) -> int | None:
        proc = self._proc
        return proc.pid if proc is not None and proc.poll() is None else None

    def _start(self) -> None:
        parent, child = socket.socketpair()
        with child:
            proc = subprocess.Popen(
                [sys.executable, "-m", "pizarra.llm.worker", str(child.fileno())],
                pass_fds=[child.fileno()],
                stdin=subprocess.DEVNULL,
            )
        conn = Connection(parent.detach())
        if self.nice > 0:  # before the model loads: llama.cpp's threads inherit it from the main thread
            try:
                os.setpriority(os.PRIO_PROCESS, proc.pid, os.getpriority(os.PRIO_PROCESS, 0) + self.nice)
            except OSError:
                pass
        self._proc, self._conn = proc, conn
        self.starts += 1
        threading.Thread(target=self._read, args=(proc, conn), name=f"llm-worker-{self.key[-20:]}", daemon=True).start()

    def _read(self, proc: subprocess.Popen, conn: Connection) -> None:
        try:
            while True:
                msg = conn.recv()
                call = self._calls.get(msg[1])
                if call is not None:
                    call.inbox.put(msg)
        except (EOFError, OSError):
            pass
        except Exception:  # noqa: BLE001 - a message we cannot read: treat the worker as broken
            log.exception("unreadable message from the model worker %s", self.key)
        if proc is self._closing:  # close(): the child exits by itself on EOF
            return
        try:
            proc.kill()
        except OSError:
            pass
        code = proc.wait()
        conn.close()
        with self._lock:
            if self._proc is proc:
                self._proc, self._conn = None, None
            orphans = [c for c in self._calls.values() if c.proc is proc]
        if code != 0 or orphans:
            how = (
                f"signal {signal.Signals(-code).name}"
                if code < 0 and -code in signal.valid_signals()
                else f"exit {code}"
            )
            self.deaths.append({"code": code, "how": how, "at": time.time(), "requests_lost": len(orphans)})
            log.warning(
                "model worker %s (pid %s) ended: %s; %d request(s) answered 503", self.key, proc.pid, how, len(orphans)
            )
        for c in orphans:
            c.inbox.put(("dead", c.rid, code))

    def kill(self) -> None:
        """End the worker now (its requests get ModelRestarted); the next request starts a new one."""
        with self._lock:
            proc = self._proc
        if proc is not None:
            try:
                proc.kill()
            except OSError:
                pass

    def close(self) -> None:
        with self._lock:
            proc, conn = self._proc, self._conn
            self._proc, self._conn, self._closing = None, None, proc
        if conn is not None:
            conn.close()  # the child reads EOF and exits
        if proc is not None:
            try:
                proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                proc.kill()

    # -- requests

    def _send(self, conn: Connection, msg: tuple) -> bool:
        try:
            with self._send_lock:
                conn.send(msg)
            return True
        except (OSError, ValueError):
            return False

    def _submit(self, name: str, args: tuple, kwargs: dict, budget_s: float | None) -> tuple[_Call, Connection]:
        with self._lock:
            if self._proc is None or self._proc.poll() is not None:
                self._start()
            assert self._proc is not None and self._conn is not None  # _start set them
            call = _Call(next(self._ids), self._proc)
            self._calls[call.rid] = call
            conn = self._conn
        others = [w for w in list(_all) if w is not self]
        siblings = ([pid for w in others if (pid := w.pid)], sum(1 for w in others if w._calls))
        if not self._send(conn, ("call", call.rid, name, args, kwargs, budget_s, siblings)):
            call.inbox.put(("dead", call.rid, None))
        return call, conn

    def _messages(self, call: _Call, conn: Connection, cancel: Sequence[threading.Event]) -> Iterator[tuple]:
        """The worker's messages about ``call`` until its end; a set cancel event is passed on to the
        worker, which is killed if it does not let go within CANCEL_GRACE_S."""
        cancelled_at = None
        try:
            while True:
                if cancelled_at is None and any(e.is_set() for e in cancel):
                    cancelled_at = time.monotonic()
                    self._send(conn, ("cancel", call.rid))
                elif cancelled_at is not None and time.monotonic() - cancelled_at > CANCEL_GRACE_S:
                    log.warning("model worker %s ignored a cancel for %.1f s: killed", self.key, CANCEL_GRACE_S)
                    self._killed_for_cancel.add(call.proc.pid)
                    call.proc.kill()
                    cancelled_at = float("inf")
                try:
                    msg = call.inbox.get(timeout=POLL_S)
                except queue.Empty:
                    continue
                if msg[0] in ("done", "error", "dead"):
                    call.finished = True
                yield msg
                if call.finished:
                    return
        finally:
            self._calls.pop(call.rid, None)
            if not call.finished:  # the caller stopped reading a stream: stop generating
                self._send(conn, ("cancel", call.rid))

    def _end(self, msg: tuple, call=None, cancel: Sequence[threading.Event] = ()) -> tuple[Any, float]:
        kind = msg[0]
        if kind == "done":
            return msg[2], msg[3]
        if kind == "error":
            raise _rebuild(*msg[2])
        mine = any(e.is_set() for e in cancel)
        raise ModelRestarted(
            self.key, bystander=call is not None and call.proc.pid in self._killed_for_cancel and not mine
        )

    def call(
        self,
        name: str,
        args: tuple = (),
        kwargs: dict | None = None,
        cancel: Sequence[threading.Event] = (),
        budget_s: float | None = None,
    ) -> tuple[Any, float]:
        """Run ``engine.<name>(*args, **kwargs)`` in the worker: (its result, seconds the model was busy)."""
        call, conn = self._submit(name, args, kwargs or {}, budget_s)
        for msg in self._messages(call, conn, cancel):
            if msg[0] != "items":
                return self._end(msg, call, cancel)
        raise ModelRestarted(self.key)  # not reached: _messages ends with done/error/dead

    def stream(
        self,
        name: str,
        args: tuple = (),
        kwargs: dict | None = None,
        cancel: Sequence[threading.Event] = (),
        budget_s: float | None = None,
    ) -> Generator[Any, None, tuple[Any, float]]:
        """The items of the stream ``engine.<name>``; its last value (``return``) is (stats, busy_s)."""
        call, conn = self._submit(name, args, kwargs or {}, budget_s)
        for msg in self._messages(call, conn, cancel):
            if msg[0] == "items":
                for item in msg[2]:
                    if any(e.is_set() for e in cancel):
                        break  # the caller asked to stop: what the worker made meanwhile is dropped
                    yield item
            else:
                return self._end(msg, call, cancel)
        raise ModelRestarted(self.key)


# ----------------------------------------------------------------------------------------------
# Child side


def _serve(
    engine,
    send: Callable[[tuple], None],
    rid: int,
    name: str,
    args: tuple,
    kwargs: dict,
    budget_s: float | None,
    cancel: threading.Event,
    t0: float,
) -> None:
    """Run one request: a stream's items in batches at most FLUSH_S old, then ("done", stats, busy_s)."""
    if name in engine.STREAMS:
        stats: dict[str, Any] = {}
        batch: list[Any] = []
        last = float("-inf")
        generate: Callable[..., Iterator[Any]] = engine.STREAMS[name]
        for item in generate(*args, **kwargs, cancel=cancel, stats=stats, budget_s=budget_s):
            batch.append(item)
            now = time.monotonic()
            if now - last >= FLUSH_S:
                send(("items", rid, batch))
                batch, last = [], now
        if batch:
            send(("items", rid, batch))
        send(("done", rid, stats, time.monotonic() - t0))
    elif name in engine.CALLS:
        send(("done", rid, engine.CALLS[name](*args, **kwargs), time.monotonic() - t0))
    else:
        raise ValueError(f"the model worker has no function {name!r}")


def main(fd: int) -> None:
    from pizarra.llm import compute, engine

    compute.adopt()  # llama.cpp runs on this thread, the one its OpenMP team belongs to
    compute.start_meter()
    conn = Connection(fd)
    todo: queue.SimpleQueue = queue.SimpleQueue()
    cancels: dict[int, threading.Event] = {}  # requests not finished yet
    answered: set[int] = set()  # cancelled while queued: already answered, skip them
    lock = threading.Lock()  # cancels, answered, running, and sending on conn
    running: list[int | None] = [None]

    def send(msg: tuple) -> None:
        with lock:
            conn.send(msg)

    def read() -> None:
        while True:
            try:
                msg = conn.recv()
            except (EOFError, OSError):
                os._exit(0)  # the parent is gone: nobody is waiting for anything
            with lock:
                if msg[0] == "call":
                    cancels[msg[1]] = threading.Event()
                    todo.put(msg)
                elif msg[0] == "cancel" and msg[1] in cancels:
                    cancels[msg[1]].set()
                    if running[0] != msg[1] and msg[1] not in answered:  # still queued: answer now
                        answered.add(msg[1])
                        conn.send(("error", msg[1], _describe(RequestCancelled()), 0.0))

    threading.Thread(target=read, name="pipe-reader", daemon=True).start()
    while True:
        _, rid, name, args, kwargs, budget_s, siblings = todo.get()
        compute.set_siblings(*siblings)
        with lock:
            if rid in answered:
                answered.discard(rid)
                cancels.pop(rid, None)
                continue
            cancel = cancels[rid]
            running[0] = rid
        t0 = time.monotonic()
        try:
            _serve(engine, send, rid, name, args, kwargs, budget_s, cancel, t0)
        except Exception as e:  # noqa: BLE001 - every failure goes back to the caller
            try:
                send(("error", rid, _describe(e), time.monotonic() - t0))
            except (OSError, ValueError):
                os._exit(0)
        finally:
            with lock:
                cancels.pop(rid, None)
                running[0] = None


if __name__ == "__main__":
    from pizarra.llm.worker import main as _main  # the module's own classes, not __main__'s copies

    _main(int(sys.argv[1]))
