"""Run long jobs one at a time, each in its own process, and remember them in SQLite.

    runner = JobRunner()                 # database: cache_dir()/jobs.sqlite
    runner.start()                       # recover from a previous run, start the dispatcher
    job = runner.submit("demo.count", {"n": 5, "delay_s": 0.1})
    runner.events(job["id"])             # [{"seq": 1, "type": "status", "status": "queued", …}, …]
    runner.cancel(job["id"])
    runner.stop()                        # interrupts the running job: nothing keeps eating the CPU

A dispatcher thread takes the oldest queued job when nothing is running (a 2-core laptop has
no room for two trainings) and starts ``python -m pizarra.jobs.worker`` for it in a new session,
so that a cancel can signal its whole process group. The worker writes progress and the outcome
to the database itself; the dispatcher only watches processes: it SIGKILLs a worker that
ignores SIGTERM for ``grace_s`` seconds, records a worker that died without a word, and on
start marks ``interrupted`` the jobs whose worker is gone. A worker that outlived a crashed
server is adopted: it finishes, and the queue waits for it.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from pizarra.config import cache_dir
from pizarra.errors import BadInput, Phrase
from pizarra.jobs import registry
from pizarra.jobs.store import (
    CANCELLED,
    FAILED,
    INTERRUPTED,
    QUEUED,
    RUNNING,
    STATUSES,
    JobConflict,
    JobNotFound,
    JobStore,
    final_stop_status,
)

log = logging.getLogger(__name__)

SIGKILL = getattr(signal, "SIGKILL", signal.SIGTERM)
LAUNCH_GRACE_S = 30.0  # a running job without pid this young is being launched by some runner


def default_db_path() -> Path:
    return cache_dir() / "jobs.sqlite"


def worker_alive(pid: int | None, job_id: int) -> bool:
    """Is ``pid`` alive and the worker of ``job_id`` (not a recycled pid, not a zombie)?"""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    except OSError:
        return False
    cmdline = Path(f"/proc/{pid}/cmdline")
    if not Path("/proc/self/cmdline").exists():
        return True  # no /proc (macOS): trust the pid
    try:
        args = cmdline.read_bytes().split(b"\0")
    except OSError:
        return False
    return b"pizarra.jobs.worker" in args and str(job_id).encode() in args


def signal_group(pid: int, sig: int) -> None:
    """Send ``sig`` to the worker's process group (the worker leads it: start_new_session)."""
    try:
        if hasattr(os, "killpg"):
            os.killpg(pid, sig)
        else:  # Windows: no process groups, no SIGTERM handler; this terminates the process
            os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


@dataclass
class _Child:
    job_id: int
    proc: subprocess.Popen
    log_file: IO


class JobRunner:
    """One job at a time, in a background process, with status kept in SQLite."""

    def __init__(
        self,
        db_path: str | Path | None = None,
        *,
        grace_s: float = 5.0,
        poll_s: float = 0.2,
        max_queued: int = 100,
    ):
        self.db_path = Path(db_path) if db_path else default_db_path()
        self.store = JobStore(self.db_path, max_queued=max_queued)
        self.log_dir = self.db_path.parent / "job-logs"
        self.grace_s = grace_s
        self.poll_s = poll_s
        self._lock = threading.RLock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._child: _Child | None = None
        self._kills: dict[int, tuple[int, float]] = {}  # job id -> (pid, SIGKILL deadline)
        self.detached: list[subprocess.Popen] = []  # workers left running by stop(interrupt_running=False)

    # ---- life cycle --------------------------------------------------------------------------

    def start(self) -> None:
        """Recover what a previous server left (dead workers → interrupted) and start dispatching."""
        if self._thread and self._thread.is_alive():
            return
        self._stopping.clear()
        with self._lock:
            self._check_others()
        self._thread = threading.Thread(target=self._loop, name="pizarra-jobs", daemon=True)
        self._thread.start()

    def stop(self, interrupt_running: bool = True) -> None:
        """Stop dispatching. The running job (ours or adopted) is stopped too and ends
        ``interrupted``, so nothing keeps using the CPU after the server is gone; with
        ``interrupt_running=False`` its worker goes on alone (a later ``start`` adopts it)."""
        self._stopping.set()
        self._wake.set()
        if self._thread:
            self._thread.join(timeout=10)
            self._thread = None
        with self._lock:
            if not interrupt_running:
                if self._child is not None:
                    self._child.log_file.close()
                    self.detached.append(self._child.proc)  # still running, on its own
                    self._child = None
                return
            for job in self.store.running():
                own = self._child is not None and job.id == self._child.job_id
                if own or worker_alive(job.pid, job.id):
                    self.store.request_stop(job.id, "shutdown")
                    self._signal_stop(job.id, job.pid)
            deadline = time.monotonic() + self.grace_s + 2.0
            while self._kills and time.monotonic() < deadline:
                self._enforce_kills()  # SIGKILL who ignores SIGTERM past the grace period, wait for the end
                time.sleep(0.02)
            if self._child is not None:  # finished or stopping: give it time to exit, then insist
                try:
                    self._child.proc.wait(timeout=self.grace_s)
                except subprocess.TimeoutExpired:
                    signal_group(self._child.proc.pid, SIGKILL)
                    self._child.proc.wait()
            self._reap_child()
            self._check_others()

    @property
    def started(self) -> bool:
        return bool(self._thread and self._thread.is_alive())

    # ---- what the web and the CLI call -------------------------------------------------------

    def submit(self, kind: str, params: dict | None = None) -> dict:
        """Queue a job; ``BadInput`` (unknown kind, invalid params) or ``QueueFull``."""
        job_kind = registry.get_kind(kind)
        parsed = job_kind.parse(params)
        job_id = self.store.create(job_kind.name, parsed.model_dump(mode="json"))
        self._wake.set()
        return self.get(job_id)

    def get(self, job_id: int) -> dict:
        job = self.store.get(job_id)
        if job is None:
            raise JobNotFound(job_id)
        return job.to_dict()

    def list(self, limit: int = 50, status: str | None = None) -> list[dict]:
        if status is not None and status not in STATUSES:
            raise BadInput(
                f"Unknown status '{status}'. Allowed: {', '.join(STATUSES)}.",
                key="err.jobs.unknown_status",
                value=status,
                allowed=STATUSES,
            )
        return [job.to_dict() for job in self.store.list(limit=limit, status=status)]

    def events(self, job_id: int, after: int = 0, limit: int = 1000) -> list[dict]:
        return self.store.events(job_id, after=after, limit=limit)

    def kinds(self) -> list[dict]:
        return [kind.to_dict() for kind in registry.list_kinds()]

    def cancel(self, job_id: int) -> dict:
        """Cancel a queued job at once, or ask a running one to stop (SIGTERM, then SIGKILL after
        ``grace_s``). ``JobConflict`` if it had already finished."""
        before, job = self.store.request_stop(job_id, "cancel")
        if before not in (QUEUED, RUNNING):
            raise JobConflict(
                f"Job {job_id} has already finished ({before}); there is nothing to cancel.",
                key="err.jobs.already_finished",
                id=str(job_id),
                status=Phrase(f"jobs.status.{before}"),
            )
        if job.status == RUNNING:
            with self._lock:
                self._signal_stop(job_id, job.pid)
            self._wake.set()
        return job.to_dict()

    def wait(self, job_id: int, timeout: float = 60.0) -> dict:
        """Block until the job has finished; returns it. ``TimeoutError`` after ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            job = self.get(job_id)
            if job["status"] not in (QUEUED, RUNNING):
                return job
            if time.monotonic() > deadline:
                raise TimeoutError(f"Job {job_id} still {job['status']} after {timeout} s.")
            time.sleep(0.05)

    # ---- the dispatcher ----------------------------------------------------------------------

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                with self._lock:
                    self._reap_child()
                    self._check_others()
                    self._enforce_kills()
                    if self._child is None and not self._stopping.is_set():
                        self._launch_next()
            except Exception:  # keep dispatching; the database may be busy for a moment
                log.exception("job dispatcher")
            self._wake.wait(self.poll_s)
            self._wake.clear()

    def _launch_next(self) -> None:
        job = self.store.claim_next()
        if job is None:
            return
        try:
            imports = [f"{k.module}={k.file or ''}" for k in [registry.get_kind(job.kind)]]
        except BadInput:
            imports = []  # the worker will fail it with the list of allowed kinds
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log_file = open(self.log_dir / f"{job.id}.log", "ab")
        cmd = [sys.executable, "-m", "pizarra.jobs.worker", str(job.id), str(self.db_path)]
        for spec in imports:
            cmd += ["--import", spec]
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(os.path.abspath(p or ".") for p in sys.path))
        env.setdefault("PYTHONUNBUFFERED", "1")
        try:
            proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        except OSError as err:
            log_file.close()
            self.store.finish(job.id, FAILED, error=f"Could not start the job's process: {err}.")
            return
        self.store.set_pid(job.id, proc.pid)
        self._child = _Child(job.id, proc, log_file)
        if self.store.stop_reason(job.id):  # cancelled between claim and launch
            self._signal_stop(job.id, proc.pid)

    def _signal_stop(self, job_id: int, pid: int | None) -> None:
        own = self._child is not None and self._child.job_id == job_id
        if own:
            pid = self._child.proc.pid
        if pid and (own or worker_alive(pid, job_id)):
            signal_group(pid, signal.SIGTERM)
            self._kills.setdefault(job_id, (pid, time.monotonic() + self.grace_s))

    def _enforce_kills(self) -> None:
        now = time.monotonic()
        for job_id, (pid, deadline) in list(self._kills.items()):
            own = self._child is not None and self._child.job_id == job_id
            alive = self._child.proc.poll() is None if own else worker_alive(pid, job_id)
            if not alive:
                self._kills.pop(job_id)
            elif now >= deadline:
                log.warning("job %s ignored SIGTERM for %.1f s: SIGKILL", job_id, self.grace_s)
                signal_group(pid, SIGKILL)
                self._kills[job_id] = (pid, float("inf"))  # forget it once it is gone

    def _reap_child(self) -> None:
        """Our worker ended: if it could not write its own ending, write it for it."""
        child = self._child
        if child is None or child.proc.poll() is None:
            return
        self._child = None
        self._kills.pop(child.job_id, None)
        child.log_file.close()
        reason = self.store.stop_reason(child.job_id)
        if reason:
            status, message = final_stop_status(reason)
        else:
            status = FAILED
            message = (
                f"The job's process ended unexpectedly (exit code {child.proc.returncode}). "
                f"Its log is in {self.log_dir / f'{child.job_id}.log'}."
            )
        self.store.finish(child.job_id, status, error=message)

    def _check_others(self) -> None:
        """Running jobs that are not our child: adopt those whose worker lives (they block the
        queue until they end), close those whose worker is gone."""
        for job in self.store.running():
            if self._child is not None and job.id == self._child.job_id:
                continue
            if job.pid is None and job.started and time.time() - job.started < LAUNCH_GRACE_S:
                continue
            if worker_alive(job.pid, job.id):
                continue
            if job.stop_reason == "cancel":
                status, message = CANCELLED, "Cancelled."
            else:
                status = INTERRUPTED
                message = (
                    "Interrupted: its process ended while no server was watching it "
                    "(the server was restarted or crashed). Start it again if you need it."
                )
            if self.store.finish(job.id, status, error=message):
                log.info("job %s: %s", job.id, status)
