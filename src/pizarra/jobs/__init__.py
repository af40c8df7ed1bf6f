"""Long jobs (trainings, benchmarks) run in the background, one at a time, remembered in SQLite.

See ``runner`` for the life of a job, ``store`` for the database, ``registry`` for how a job
kind is declared, ``worker`` for the process that runs one, ``builtin`` for the demo kinds.
"""

from pizarra.jobs.registry import (
    JobKind,
    get_kind,
    kind_names,
    list_kinds,
    register_job,
    run_job,
    unregister_job,
)
from pizarra.jobs.runner import JobRunner, default_db_path
from pizarra.jobs.store import (
    STATUSES,
    TERMINAL,
    Job,
    JobConflict,
    JobNotFound,
    JobStore,
    QueueFull,
)

__all__ = [
    "STATUSES",
    "TERMINAL",
    "Job",
    "JobConflict",
    "JobKind",
    "JobNotFound",
    "JobRunner",
    "JobStore",
    "QueueFull",
    "default_db_path",
    "get_kind",
    "kind_names",
    "list_kinds",
    "register_job",
    "run_job",
    "unregister_job",
]
