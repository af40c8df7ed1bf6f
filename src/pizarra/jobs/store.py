"""Jobs and their events in one SQLite file, shared by the server and the worker processes.

Two tables::

    jobs(id, kind, params, status, created, started, finished, pid, stop_reason,
         result, error, traceback)
    events(job_id, seq, time, event)      -- seq = 1, 2, 3 … per job

Status moves ``queued → running → done | failed | cancelled | interrupted`` (a queued job can
also go straight to ``cancelled``). Every change of status is also an event
``{"type": "status", "status": ...}`` so a page following the events sees the whole story;
the last one carries ``result`` or ``error``.

WAL mode lets readers (the web page) and one writer (the worker) work at the same time; writes
take ``BEGIN IMMEDIATE`` so two processes never interleave a read-modify-write. Times are Unix
seconds (float, UTC).
"""

from __future__ import annotations

import json
import sqlite3
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from pizarra.errors import BadInput, PizarraError

QUEUED, RUNNING = "queued", "running"
DONE, FAILED, CANCELLED, INTERRUPTED = "done", "failed", "cancelled", "interrupted"
STATUSES = (QUEUED, RUNNING, DONE, FAILED, CANCELLED, INTERRUPTED)
TERMINAL = frozenset({DONE, FAILED, CANCELLED, INTERRUPTED})

MAX_JSON_CHARS = 256_000  # params, one event or one result; bigger is a bug in the job, not data
MAX_ERROR_CHARS = 2_000

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS jobs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    kind        TEXT NOT NULL,
    params      TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ({", ".join(repr(s) for s in STATUSES)})),
    created     REAL NOT NULL,
    started     REAL,
    finished    REAL,
    pid         INTEGER,
    stop_reason TEXT,            -- NULL | 'cancel' | 'shutdown': why the worker was asked to stop
    result      TEXT,            -- JSON
    error       TEXT,            -- a sentence for people (English)
    traceback   TEXT,            -- for developers; never sent to the page
    error_i18n  TEXT             -- JSON {"key", "params"}: the same sentence in the catalogues
);
CREATE INDEX IF NOT EXISTS jobs_by_status ON jobs(status, id);
CREATE TABLE IF NOT EXISTS events (
    job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    seq    INTEGER NOT NULL,
    time   REAL NOT NULL,
    type   TEXT NOT NULL,        -- event["type"]: status, progress, log, …
    event  TEXT NOT NULL,        -- the JSON object
    PRIMARY KEY (job_id, seq)
);
"""


class JobNotFound(PizarraError):
    status_code = 404

    def __init__(self, job_id: int):
        super().__init__(f"There is no job with id {job_id}.", key="err.jobs.not_found", id=str(job_id))
        self.job_id = job_id


class JobConflict(PizarraError):
    """The request makes no sense in the job's current state (e.g. cancel a finished job)."""

    status_code = 409


class QueueFull(PizarraError):
    status_code = 429


@dataclass
class Job:
    id: int
    kind: str
    params: dict
    status: str
    created: float
    started: float | None
    finished: float | None
    pid: int | None
    stop_reason: str | None
    result: Any
    error: str | None
    traceback: str | None
    progress: dict | None = None  # the last {"type": "progress", ...} event, if any
    error_i18n: dict | None = None  # {"key", "params"}: ``error`` as a catalogue key (pages translate it)

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL

    def to_dict(self) -> dict:
        """The public shape (web API, ``--json``): everything but the traceback."""
        end = self.finished if self.finished is not None else (time.time() if self.started else None)
        return {
            "id": self.id,
            "kind": self.kind,
            "params": self.params,
            "status": self.status,
            "created": self.created,
            "started": self.started,
            "finished": self.finished,
            "elapsed_s": round(end - self.started, 3) if self.started and end else None,
            "cancel_requested": self.stop_reason == "cancel",
            "progress": self.progress,
            "result": self.result,
            "error": self.error,
            "error_key": (self.error_i18n or {}).get("key"),
            "error_params": (self.error_i18n or {}).get("params"),
        }


# The runner's own sentences about a job's end, and their keys in the web's string catalogues
# (``jobs.error.*``): the jobs keep the English sentence, pages show the reader's language.
MESSAGE_KEYS = {
    "Cancelled.": "jobs.error.cancelled",
    "Cancelled before it started.": "jobs.error.cancelled_queued",
    "Interrupted: the server stopped while this job was running.": "jobs.error.shutdown",
    "Interrupted: the job's process was stopped from outside Pizarra.": "jobs.error.killed",
    "Interrupted: its process ended while no server was watching it "
    "(the server was restarted or crashed). Start it again if you need it.": "jobs.error.orphan",
}


def final_stop_status(stop_reason: str | None) -> tuple[str, str]:
    """The final status and message of a job that was asked to stop (by a person or not)."""
    if stop_reason == "cancel":
        return CANCELLED, "Cancelled."
    if stop_reason == "shutdown":
        return INTERRUPTED, "Interrupted: the server stopped while this job was running."
    return INTERRUPTED, "Interrupted: the job's process was stopped from outside Pizarra."


def to_json(value: Any, what: str) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{what} is not JSON-serialisable: {err}") from None
    if len(text) > MAX_JSON_CHARS:
        raise ValueError(f"{what} is too large ({len(text)} characters, at most {MAX_JSON_CHARS}).")
    return text


class JobStore:
    """All reads and writes of the job database. Safe to use from many threads and processes:
    each call opens its own short-lived connection."""

    def __init__(self, path: str | Path, *, max_queued: int = 100):
        self.path = Path(path)
        self.max_queued = max_queued
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(SCHEMA)
            if "error_i18n" not in {r["name"] for r in db.execute("PRAGMA table_info(jobs)")}:
                db.execute("ALTER TABLE jobs ADD COLUMN error_i18n TEXT")  # a database from before it

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA foreign_keys=ON")
            yield db
        finally:
            db.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction that holds the database lock from its first statement."""
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    # ---- reads -------------------------------------------------------------------------------

    _SELECT = """
        SELECT j.*, (SELECT e.event FROM events e WHERE e.job_id = j.id
                     AND e.type = 'progress'
                     ORDER BY e.seq DESC LIMIT 1) AS last_progress
        FROM jobs j
    """

    @staticmethod
    def _row_to_job(row: sqlite3.Row) -> Job:
        return Job(
            id=row["id"],
            kind=row["kind"],
            params=json.loads(row["params"]),
            status=row["status"],
            created=row["created"],
            started=row["started"],
            finished=row["finished"],
            pid=row["pid"],
            stop_reason=row["stop_reason"],
            result=json.loads(row["result"]) if row["result"] is not None else None,
            error=row["error"],
            traceback=row["traceback"],
            progress=json.loads(row["last_progress"]) if row["last_progress"] else None,
            error_i18n=json.loads(row["error_i18n"]) if row["error_i18n"] else None,
        )

    def get(self, job_id: int) -> Job | None:
        with self._connect() as db:
            row = db.execute(self._SELECT + " WHERE j.id = ?", (job_id,)).fetchone()
        return self._row_to_job(row) if row else None

    def list(self, limit: int = 50, status: str | None = None) -> list[Job]:
        """Newest first."""
        where, args = ("WHERE j.status = ?", [status]) if status else ("", [])
        with self._connect() as db:
            rows = db.execute(f"{self._SELECT} {where} ORDER BY j.id DESC LIMIT ?", (*args, limit)).fetchall()
        return [self._row_to_job(r) for r in rows]

    def running(self) -> list[Job]:
        return self.list(limit=1000, status=RUNNING)

    def events(self, job_id: int, after: int = 0, limit: int = 1000) -> list[dict]:
        """Events with ``seq > after``, oldest first, each as ``{"seq", "time", **event}``."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT seq, time, event FROM events WHERE job_id = ? AND seq > ? ORDER BY seq LIMIT ?",
                (job_id, after, limit),
            ).fetchall()
        return [{**json.loads(r["event"]), "seq": r["seq"], "time": r["time"]} for r in rows]

    # ---- writes ------------------------------------------------------------------------------

    @staticmethod
    def _add_event(db: sqlite3.Connection, job_id: int, event: dict) -> int:
        (seq,) = db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM events WHERE job_id = ?", (job_id,)).fetchone()
        db.execute(
            "INSERT INTO events (job_id, seq, time, type, event) VALUES (?, ?, ?, ?, ?)",
            (job_id, seq, time.time(), str(event.get("type", "")), to_json(event, "The event")),
        )
        return seq

    def create(self, kind: str, params: dict) -> int:
        try:
            params_json = to_json(params, "The parameters")
        except ValueError as err:
            raise BadInput(str(err)) from None
        with self._write() as db:
            (queued,) = db.execute("SELECT COUNT(*) FROM jobs WHERE status = 'queued'").fetchone()
            if queued >= self.max_queued:
                raise QueueFull(
                    f"There are already {queued} jobs waiting (at most {self.max_queued}). "
                    "Wait for some to finish or cancel them, then try again.",
                    key="err.jobs.queue_full",
                    n=queued,
                    limit=self.max_queued,
                )
            cur = db.execute(
                "INSERT INTO jobs (kind, params, status, created) VALUES (?, ?, 'queued', ?)",
                (kind, params_json, time.time()),
            )
            job_id = cur.lastrowid
            self._add_event(db, job_id, {"type": "status", "status": QUEUED})
        return job_id

    def add_event(self, job_id: int, event: dict) -> int:
        """Append one event; returns its ``seq``."""
        with self._write() as db:
            return self._add_event(db, job_id, event)

    def claim_next(self) -> Job | None:
        """Mark the oldest queued job running, unless some job is running already (machine-wide:
        every runner on this database obeys the same lock)."""
        with self._write() as db:
            if db.execute("SELECT 1 FROM jobs WHERE status = 'running' LIMIT 1").fetchone():
                return None
            row = db.execute("SELECT id FROM jobs WHERE status = 'queued' ORDER BY id LIMIT 1").fetchone()
            if row is None:
                return None
            db.execute("UPDATE jobs SET status = 'running', started = ? WHERE id = ?", (time.time(), row["id"]))
            self._add_event(db, row["id"], {"type": "status", "status": RUNNING})
        return self.get(row["id"])

    def set_pid(self, job_id: int, pid: int) -> None:
        with self._write() as db:
            db.execute("UPDATE jobs SET pid = ? WHERE id = ?", (pid, job_id))

    def request_stop(self, job_id: int, reason: str) -> tuple[str, Job]:
        """Cancel a queued job at once; for a running one, record why its worker must stop (the
        caller signals the process; a first reason is kept). Returns (status before, job after)."""
        assert reason in ("cancel", "shutdown")
        with self._write() as db:
            row = db.execute("SELECT status FROM jobs WHERE id = ?", (job_id,)).fetchone()
            if row is None:
                raise JobNotFound(job_id)
            before = row["status"]
            if before == QUEUED and reason == "cancel":
                self._finish(db, job_id, CANCELLED, error="Cancelled before it started.")
            elif before == RUNNING:
                db.execute("UPDATE jobs SET stop_reason = COALESCE(stop_reason, ?) WHERE id = ?", (reason, job_id))
        return before, self.get(job_id)

    def stop_reason(self, job_id: int) -> str | None:
        with self._connect() as db:
            row = db.execute("SELECT stop_reason FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return row["stop_reason"] if row else None

    def finish(
        self,
        job_id: int,
        status: str,
        *,
        result: Any = None,
        error: str | None = None,
        traceback: str | None = None,
        error_i18n: dict | None = None,
    ) -> bool:
        """Move a running job to a final status (once: False if it was no longer running).
        ``error_i18n``: ``{"key", "params"}`` of ``error`` in the string catalogues, when it has one."""
        with self._write() as db:
            row = db.execute("SELECT status FROM jobs WHERE id = ?", (job_id,)).fetchone()
            if row is None or row["status"] != RUNNING:
                return False
            self._finish(db, job_id, status, result=result, error=error, traceback=traceback, error_i18n=error_i18n)
        return True

    def _finish(self, db, job_id, status, *, result=None, error=None, traceback=None, error_i18n=None) -> None:
        assert status in TERMINAL
        if error is not None and len(error) > MAX_ERROR_CHARS:
            error = error[: MAX_ERROR_CHARS - 1] + "…"
        result_json = to_json(result, "The result") if result is not None else None
        i18n_json = to_json(error_i18n, "The error's key") if error_i18n else None
        db.execute(
            "UPDATE jobs SET status = ?, finished = ?, result = ?, error = ?, traceback = ?, error_i18n = ?"
            " WHERE id = ?",
            (status, time.time(), result_json, error, traceback, i18n_json, job_id),
        )
        event: dict = {"type": "status", "status": status}
        if result is not None:
            event["result"] = result
        if error is not None:
            event["error"] = error
        if error_i18n:
            event["error_key"], event["error_params"] = error_i18n.get("key"), error_i18n.get("params")
        self._add_event(db, job_id, event)
