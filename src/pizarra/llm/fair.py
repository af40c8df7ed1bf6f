"""Fair model time for a class: one queue per model, round-robin between students (classroom mode).

A laptop with two cores runs one model request at a time per model (its worker process takes them in
order). Without this module thirty students share one first-come-first-served line: whoever clicks
most gets most, and a request can wait for minutes. In classroom mode (``enable()``) every model call
of ``pizarra.llm.runtime`` first takes a turn here:

    with fair.turn("gemma-base", cancel=[event]):      # waits its turn, or raises
        worker.call(...)

    - one request in flight per student per model; a student's next request waits behind their own
      (at most ``per_student`` waiting: beyond that → 429);
    - round-robin between students: after each turn the next student in the ring goes, not the one
      who asked most;
    - an honest answer instead of a hang: when the estimated wait is longer than ``max_wait_s`` the
      request is declined at once with 429 and a ``Retry-After``; a request still waiting after
      ``max_wait_s`` + a grace (the estimate was wrong) is declined with 503 and ``Retry-After``;
    - the waiting caller hears its position and an estimate (``on_wait``: the SSE stream sends them
      to the page), and stops waiting when its client goes (the request's cancel event);
    - the teacher can pause generation for students (``Paused``, 503).

Who is asking comes from the context variable ``who`` (set per request by the classroom middleware;
FastAPI copies it into its threads). Calls without one (the CLI, tests, a lab not in classroom mode)
pass straight through. Service time per model is an exponential average of recent turns: the
estimate is ``position × service time`` plus what is left of the turn in progress. With every turn
capped (the request budget), a student behind k others waits at most about k × cap.
"""

from __future__ import annotations

import contextvars
import math
import threading
import time
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Sequence

from pizarra.errors import PizarraError

TEACHER = "profesor"  # the ``who`` of the teacher's own requests (in the ring like a student)
MAX_WAIT_S = 35.0  # longest estimated wait accepted; longer → 429 at once
GRACE_S = 5.0  # a request waiting past MAX_WAIT_S + GRACE_S is declined (503), never left hanging:
#                40 s of queue + its capped model time (8 s, its later calls going first) < 60 s
PER_STUDENT = 2  # requests one student may have waiting per model (besides the one running)
INITIAL_SERVICE_S = 3.0  # estimate of a turn before any was measured
POLL_S = 0.2
WORKER_NICE = 5  # model worker processes in a class run at this niceness: pages, similarity, tokenizers
#                  (the web process) take the CPU first, the models use what is left

who: contextvars.ContextVar[str | None] = contextvars.ContextVar("pizarra_classroom_who", default=None)
on_wait: contextvars.ContextVar[Callable[[dict], None] | None] = contextvars.ContextVar(
    "pizarra_classroom_on_wait", default=None
)


class QueueFull(PizarraError):
    """The model's queue is longer than a student should wait: try again in ``retry_after`` s."""

    status_code = 429
    i18n_key = "classroom.queue_full"

    def __init__(self, retry_after: float, model: str = "", reason: str = "busy"):
        self.retry_after = max(1, int(math.ceil(retry_after)))
        self.model, self.reason = model, reason
        super().__init__(f"The model {model} is busy ({reason}): try again in {self.retry_after} s.")
        self.i18n_params = {"retry_after": self.retry_after, "model": model}

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class WaitedTooLong(QueueFull):
    status_code = 503
    i18n_key = "classroom.waited_too_long"


class Paused(PizarraError):
    """The teacher paused generation for the class."""

    status_code = 503
    i18n_key = "classroom.paused"
    retry_after = 30

    def __init__(self):
        super().__init__("The teacher has paused text generation for the class.")
        self.i18n_params = {"retry_after": self.retry_after}

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


@dataclass
class Ticket:
    who: str
    model: str
    queued_at: float = field(default_factory=time.monotonic)
    started_at: float | None = None
    thread: int = field(default_factory=threading.get_ident)
    resumed: bool = False  # the request already had a turn at this model: it goes before new ones


class FairQueue:
    """The queue of one model. Thread-safe; callers block in ``acquire`` until their turn."""

    def __init__(
        self, model: str, max_wait_s: float = MAX_WAIT_S, per_student: int = PER_STUDENT, grace_s: float = GRACE_S
    ):
        self.model, self.max_wait_s, self.per_student, self.grace_s = model, max_wait_s, per_student, grace_s
        self.cond = threading.Condition()
        self.waiting: dict[str, deque[Ticket]] = {}
        self.ring: deque[str] = deque()  # students with waiting tickets, in turn order
        self.resumed: deque[Ticket] = deque()  # follow-up calls of requests that already had a turn
        self.running: Ticket | None = None
        self.depth = 0  # re-entrant holds of the running ticket by its own thread
        self.service_s = INITIAL_SERVICE_S
        self.served = 0
        self.declined = 0
        self.max_waited_s = 0.0
        self.waits: deque[float] = deque(maxlen=500)

    # -- estimates

    def position(self, ticket: Ticket) -> int:
        """How many turns go before ``ticket`` (0: next), following the ring."""
        if ticket.resumed:
            return self.resumed.index(ticket) if ticket in self.resumed else 0
        queue = self.waiting.get(ticket.who)
        if not queue or ticket not in queue:
            return 0
        j = queue.index(ticket) + len(self.resumed)  # rounds the student's own earlier tickets take
        idx = self.ring.index(ticket.who) if ticket.who in self.ring else len(self.ring)
        ahead = j
        for i, other in enumerate(self.ring):
            if other != ticket.who:
                ahead += min(len(self.waiting.get(other, ())), j + (1 if i < idx else 0))
        return ahead

    def _eta(self, turns_ahead: int) -> float:
        left = 0.0
        if self.running is not None and self.running.started_at is not None:
            left = max(0.5, self.service_s - (time.monotonic() - self.running.started_at))
        return left + turns_ahead * self.service_s

    def eta(self, ticket: Ticket) -> float:
        return self._eta(self.position(ticket))

    def snapshot(self) -> dict:
        with self.cond:
            now = time.monotonic()
            waiting: list[dict[str, Any]] = [
                {
                    "who": t.who,
                    "position": self.position(t) + 1,
                    "waited_s": round(now - t.queued_at, 1),
                    "eta_s": round(self.eta(t), 1),
                }
                for t in self.resumed
            ]
            for queue in self.waiting.values():
                for t in queue:
                    waiting.append(
                        {
                            "who": t.who,
                            "position": self.position(t) + 1,
                            "waited_s": round(now - t.queued_at, 1),
                            "eta_s": round(self.eta(t), 1),
                        }
                    )
            waiting.sort(key=lambda w: w["position"])
            running = None
            if self.running is not None:
                running = {"who": self.running.who, "for_s": round(now - (self.running.started_at or now), 1)}
            waits = sorted(self.waits)
            return {
                "model": self.model,
                "running": running,
                "waiting": waiting,
                "service_s": round(self.service_s, 2),
                "served": self.served,
                "declined": self.declined,
                "max_waited_s": round(self.max_waited_s, 2),
                "p95_wait_s": round(waits[int(0.95 * (len(waits) - 1))], 2) if waits else None,
            }

    # -- turns

    def acquire(self, who_: str, cancel: Sequence[threading.Event] = (), resumed: bool = False) -> Ticket:
        """Wait for ``who_``'s turn. ``resumed``: a later call of a request that already had a turn here
        (a Gandalf answer and its judge, a retry): it goes before requests that have had none, so one
        request's calls do not queue behind the whole class again (its model time stays capped)."""
        from pizarra.llm.worker import RequestCancelled

        with self.cond:
            me = threading.get_ident()
            if self.running is not None and self.running.thread == me and self.running.who == who_:
                self.depth += 1  # a call made while holding the turn (same request, same thread)
                return self.running
            if resumed:
                ticket = Ticket(who_, self.model, resumed=True)
                self.resumed.append(ticket)
            else:
                queue = self.waiting.setdefault(who_, deque())
                if len(queue) >= self.per_student:
                    self.declined += 1
                    raise QueueFull(self.service_s * (len(queue) + 1), self.model, reason="per_student")
                ticket = Ticket(who_, self.model)
                queue.append(ticket)
                if who_ not in self.ring:
                    self.ring.append(who_)
            eta = self.eta(ticket)
            if not resumed and eta > self.max_wait_s and (self.running is not None or self.position(ticket) > 0):
                self._drop(ticket)
                self.declined += 1
                raise QueueFull(eta - self.max_wait_s + self.service_s, self.model)
            last_report = None
            try:
                while not self._my_turn(ticket):
                    if any(e.is_set() for e in cancel):
                        raise RequestCancelled()
                    waited = time.monotonic() - ticket.queued_at
                    if waited > self.max_wait_s + self.grace_s:
                        self.declined += 1
                        raise WaitedTooLong(self.eta(ticket), self.model, reason="waited")
                    report = (self.position(ticket) + 1, round(self.eta(ticket)))
                    if report != last_report:
                        last_report = report
                        self._report(ticket, *report)
                    self.cond.wait(POLL_S)
            except BaseException:
                self._drop(ticket)
                self.cond.notify_all()
                raise
            self._drop(ticket)
            ticket.started_at = time.monotonic()
            self.running, self.depth = ticket, 1
            waited = ticket.started_at - ticket.queued_at
            self.waits.append(waited)
            self.max_waited_s = max(self.max_waited_s, waited)
            if last_report is not None:
                self._report(ticket, 0, 0)
            return ticket

    def _my_turn(self, ticket: Ticket) -> bool:
        """Free model and ``ticket`` is the first ticket of the student at the head of the ring."""
        if self.running is not None:
            return False
        if self.resumed:
            return self.resumed[0] is ticket
        if not self.ring:
            return False
        head = self.ring[0]
        return head == ticket.who and self.waiting[head][0] is ticket

    def _drop(self, ticket: Ticket) -> None:
        if ticket.resumed:
            if ticket in self.resumed:
                self.resumed.remove(ticket)
            return
        queue = self.waiting.get(ticket.who)
        if queue is not None and ticket in queue:
            first = queue[0] is ticket
            queue.remove(ticket)
            if not queue:
                del self.waiting[ticket.who]
                if ticket.who in self.ring:
                    self.ring.remove(ticket.who)
            elif first and self.ring and self.ring[0] == ticket.who:
                self.ring.rotate(-1)  # served: the student goes to the back of the ring

    def release(self, ticket: Ticket) -> None:
        with self.cond:
            if self.running is not ticket:
                return
            self.depth -= 1
            if self.depth > 0:
                return
            held = time.monotonic() - (ticket.started_at or time.monotonic())
            self.service_s = 0.7 * self.service_s + 0.3 * max(0.05, held)
            self.served += 1
            self.running = None
            self.cond.notify_all()

    @staticmethod
    def _report(ticket: Ticket, position: int, eta_s: float) -> None:
        callback = on_wait.get()
        if callback is not None:
            try:
                callback({"type": "queue", "model": ticket.model, "position": position, "eta_s": eta_s})
            except Exception:  # noqa: BLE001 - a closed stream must not break the queue
                pass


# ----------------------------------------------------------------------------------------------
# The switch and the queues of every model


class _State:
    enabled = False
    paused = False
    max_wait_s = MAX_WAIT_S
    queues: dict[str, FairQueue] = {}
    lock = threading.Lock()


def enable(max_wait_s: float = MAX_WAIT_S) -> None:
    """Classroom mode on: from now on every model call with a ``who`` takes its turn."""
    with _State.lock:
        _State.enabled, _State.max_wait_s, _State.queues = True, max_wait_s, {}


def disable() -> None:
    with _State.lock:
        _State.enabled, _State.paused, _State.queues = False, False, {}


def enabled() -> bool:
    return _State.enabled


def set_paused(paused: bool) -> None:
    _State.paused = bool(paused)


def paused() -> bool:
    return _State.paused


def queue(model: str) -> FairQueue:
    with _State.lock:
        q = _State.queues.get(model)
        if q is None:
            q = _State.queues[model] = FairQueue(model, max_wait_s=_State.max_wait_s)
        return q


def snapshot() -> list[dict]:
    with _State.lock:
        queues = list(_State.queues.values())
    return [q.snapshot() for q in queues]


def in_flight(who_: str) -> list[dict]:
    """Where ``who_`` stands in every model's queue (position 0: running now)."""
    out = []
    with _State.lock:
        queues = list(_State.queues.values())
    for q in queues:
        with q.cond:
            if q.running is not None and q.running.who == who_:
                out.append({"model": q.model, "position": 0, "eta_s": 0})
            for t in [*(t for t in q.resumed if t.who == who_), *q.waiting.get(who_, ())]:
                out.append({"model": q.model, "position": q.position(t) + 1, "eta_s": round(q.eta(t))})
    return out


@contextmanager
def turn(model: str, cancel: Sequence[threading.Event] = (), resumed: bool = False) -> Iterator[None]:
    """Wait for ``model``'s turn of the current ``who`` (no-op outside classroom mode)."""
    current = who.get()
    if not _State.enabled or current is None:
        yield
        return
    if _State.paused and current != TEACHER:
        raise Paused()
    q = queue(model)
    ticket = q.acquire(current, cancel, resumed)
    try:
        yield
    finally:
        q.release(ticket)
