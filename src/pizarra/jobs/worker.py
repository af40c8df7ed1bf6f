"""The process that runs one job: ``python -m pizarra.jobs.worker JOB_ID DB_PATH [--import MODULE[=FILE]]``.

Started by ``JobRunner`` in its own session (process group), it writes everything to the
database itself — events, result, final status — so a job's story survives a restart of the
server. SIGTERM means "stop, please": ``should_stop()`` turns true and the job returns early;
the runner sends SIGKILL if it does not within its grace period.

Exit codes: 0 done, 1 failed, 3 stopped (cancelled or interrupted), 2 nothing to run.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import signal
import sys
import time
import traceback as tb

from pizarra.errors import PizarraError
from pizarra.jobs import registry
from pizarra.jobs.store import DONE, FAILED, RUNNING, JobStore, final_stop_status, to_json

STOP_POLL_S = 0.2  # how often should_stop() looks at the database for a cancel request


def describe_error(exc: BaseException) -> str:
    """A sentence for people: Pizarra's own errors are already one; others get their type name."""
    if isinstance(exc, PizarraError):
        return str(exc)
    message = str(exc).strip()
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def error_i18n(exc: BaseException) -> dict | None:
    """``{"key", "params"}`` of a Pizarra error that has a catalogue key (so that a page can say it in
    the reader's language), when its parameters are plain values; else None (the English sentence)."""
    key = getattr(exc, "i18n_key", None)
    params = getattr(exc, "i18n_params", None) or {}
    if not key or not all(isinstance(v, (str, int, float, bool)) or v is None for v in params.values()):
        return None
    return {"key": key, "params": params}


def import_job_module(spec: str) -> None:
    """Import ``module`` (or ``module=file``) so that its ``register_job`` calls run here too."""
    name, _, file = spec.partition("=")
    if name != "__main__":
        try:
            importlib.import_module(name)
            return
        except ModuleNotFoundError:
            if not file:
                raise
    if file:  # not importable by name (a script, a test file under importlib mode): load the file
        alias = "_pizarra_job_" + "".join(c if c.isalnum() else "_" for c in name)
        module_spec = importlib.util.spec_from_file_location(alias, file)
        if module_spec is None or module_spec.loader is None:
            raise ImportError(f"Cannot load job module from {file}")
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[alias] = module
        module_spec.loader.exec_module(module)


class StopFlag:
    """True once SIGTERM arrived or someone recorded a stop request in the database."""

    def __init__(self, store: JobStore, job_id: int):
        self.store, self.job_id = store, job_id
        self.signalled = False
        self._reason: str | None = None
        self._checked = 0.0

    def on_signal(self, signum, frame) -> None:
        self.signalled = True

    def reason(self) -> str | None:
        now = time.monotonic()
        if self._reason is None and now - self._checked >= STOP_POLL_S:
            self._checked = now
            self._reason = self.store.stop_reason(self.job_id)
        return self._reason

    def __call__(self) -> bool:
        return self.signalled or self.reason() is not None

    def final(self) -> bool:
        """The same question without the cache, once the job has returned: a job may have stopped
        on its own SIGTERM handler (the training loop has one) before we polled the database."""
        self._checked = -STOP_POLL_S
        return self()


def run(job_id: int, db_path: str, imports: list[str]) -> int:
    store = JobStore(db_path)
    job = store.get(job_id)
    if job is None or job.status != RUNNING:
        return 2
    store.set_pid(job_id, os.getpid())
    should_stop = StopFlag(store, job_id)
    signal.signal(signal.SIGTERM, should_stop.on_signal)

    def emit(event: dict) -> None:
        if not isinstance(event, dict):
            raise TypeError("emit() takes a dict, e.g. {'type': 'progress', 'step': 3, 'total': 10}")
        event = {"type": "progress", **event}
        if event["type"] == "status":
            raise ValueError("Event type 'status' is reserved for the job runner.")
        store.add_event(job_id, event)

    def stopped_status() -> tuple[str, str]:
        return final_stop_status(store.stop_reason(job_id))

    try:
        for spec in imports:
            import_job_module(spec)
        kind = registry.get_kind(job.kind)
        params = kind.parse(job.params)
        if should_stop():
            status, message = stopped_status()
            store.finish(job_id, status, error=message)
            return 3
        result = kind.func(params, emit, should_stop)
        to_json(result, "The job's result")  # fail here, readably, rather than inside finish()
    except Exception as exc:  # the job's own failure: a message for people, the traceback for us
        keyed = None
        if should_stop.final():
            status, message = stopped_status()
        else:
            status, message, keyed = FAILED, describe_error(exc), error_i18n(exc)
        store.finish(job_id, status, error=message, traceback=tb.format_exc(), error_i18n=keyed)
        print(tb.format_exc(), file=sys.stderr)
        return 1 if status == FAILED else 3
    if should_stop.final():
        status, message = stopped_status()
        store.finish(job_id, status, result=result, error=message)
        return 3
    store.finish(job_id, DONE, result=result)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pizarra.jobs.worker", description=__doc__)
    parser.add_argument("job_id", type=int)
    parser.add_argument("db_path")
    parser.add_argument("--import", dest="imports", action="append", default=[], metavar="MODULE[=FILE]")
    args = parser.parse_args(argv)
    lower_priority()
    return run(args.job_id, args.db_path, args.imports)


JOB_NICE = 15


def lower_priority() -> None:
    """A job (a training) yields the CPU to whoever is using the lab: at nice 15 the kernel gives it
    what the model worker and the web server leave; the model worker does not count niced processes
    as competition (see ``pizarra.llm.compute.threads_now``), so chat keeps its speed.

    With the kernel's autogroups on (most desktop Linux), a nice value only counts inside the process's
    own session, and the runner starts each job in a session of its own: there the whole group is
    lowered too (``/proc/self/autogroup``), or the job still got half the CPU (chat kept 27 % of its speed
    while a training ran, measured by bench/contention.py)."""
    try:
        os.nice(JOB_NICE - os.nice(0))
    except OSError:  # not allowed here: run at the priority we have
        pass
    if os.getsid(0) == os.getpid():  # our own session (never lower the teacher's terminal's group)
        try:
            with open("/proc/self/autogroup", "w") as f:
                f.write(str(JOB_NICE))
        except OSError:  # no autogroups here: the nice value above is all it takes
            pass


if __name__ == "__main__":
    sys.exit(main())
