"""The job runner: queue order, one job at a time, events, failures, cancel, restart.

Jobs run in real worker processes (``python -m pizarra.jobs.worker``); the kinds below are
defined here, and the worker finds them by loading this file.
"""

from __future__ import annotations

import os
import signal
import time

import pytest

from pizarra.errors import BadInput
from pizarra.jobs import JobConflict, JobNotFound, JobRunner, QueueFull, register_job, run_job
from pizarra.jobs.runner import worker_alive

FAST = {"poll_s": 0.05, "grace_s": 0.5}


# ---- job kinds used only by these tests -----------------------------------------------------


def crash(params, emit, should_stop):
    """Fails with a Python error that is not one of Pizarra's."""
    emit({"type": "progress", "step": 1, "total": 2})
    raise RuntimeError("boom at step 2")


def hard_exit(params, emit, should_stop):
    """Dies without a word, as a segfault or the OOM killer would."""
    os._exit(7)


def stubborn(params, emit, should_stop):
    """Ignores should_stop() (and so SIGTERM): only SIGKILL ends it."""
    emit({"type": "progress", "step": 1, "total": 1})
    time.sleep(60)
    return {"never": True}


def own_handler(params, emit, should_stop):
    """Catches SIGTERM itself and returns normally, as the training loop does."""
    got = []
    signal.signal(signal.SIGTERM, lambda *args: got.append(args[0]))
    emit({"type": "progress", "step": 1, "total": 1})
    while not got:
        should_stop()  # polled often, as a training loop does every step
        time.sleep(0.01)
    return {"stopped_by": "own handler"}


def niceness(params, emit, should_stop):
    """Reports the priority the job runs at (and its session's, where the kernel groups by session)."""
    try:
        group = open("/proc/self/autogroup").read().split()[-1]
    except OSError:
        group = None
    return {"nice": os.nice(0), "group_nice": int(group) if group else None}


register_job("test.crash", crash)
register_job("test.niceness", niceness)
register_job("test.own-handler", own_handler)
register_job("test.hard-exit", hard_exit)
register_job("test.stubborn", stubborn)


# ---- helpers ------------------------------------------------------------------------------


@pytest.fixture
def make_runner(tmp_path):
    """Runners on one database in tmp_path; all stopped (and their workers ended) at the end."""
    runners = []
    db = tmp_path / "jobs.sqlite"

    def make(start: bool = True, **kwargs) -> JobRunner:
        runner = JobRunner(db, **{**FAST, **kwargs})
        runners.append(runner)
        if start:
            runner.start()
        return runner

    yield make
    for runner in runners:
        runner.stop()
    for runner in runners:  # workers left alone on purpose by a test
        for proc in runner.detached:
            _kill(proc.pid)
            proc.wait()


def _kill(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def count(n=3, delay_s=0.02, **extra) -> dict:
    return {"n": n, "delay_s": delay_s, **extra}


def wait_for(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def has_progress(runner, job_id) -> bool:
    return runner.get(job_id)["progress"] is not None


# ---- queue, events, results ---------------------------------------------------------------


def test_jobs_run_one_at_a_time_in_submission_order(make_runner):
    runner = make_runner(start=False)
    ids = [runner.submit("demo.count", count(n=2))["id"] for _ in range(3)]
    assert [runner.get(i)["status"] for i in ids] == ["queued"] * 3
    runner.start()
    jobs = [runner.wait(i, timeout=20) for i in ids]

    assert [j["status"] for j in jobs] == ["done"] * 3
    assert [j["result"] for j in jobs] == [{"count": 2}] * 3
    for before, after in zip(jobs, jobs[1:], strict=False):  # oldest first, never two at once
        assert before["finished"] <= after["started"]
    assert [j["id"] for j in runner.list()] == ids[::-1]  # newest first
    assert [j["id"] for j in runner.list(limit=1)] == ids[-1:]


def test_jobs_run_at_low_priority_so_the_lab_keeps_its_speed(make_runner):
    from pizarra.jobs.worker import JOB_NICE

    runner = make_runner()
    job = runner.wait(runner.submit("test.niceness", {})["id"], timeout=20)
    assert job["status"] == "done" and job["result"]["nice"] == JOB_NICE and JOB_NICE >= 10
    assert job["result"]["group_nice"] in (None, JOB_NICE)  # autogroups: nice counts only inside a session
    assert os.nice(0) < JOB_NICE  # the lab itself is not lowered


def test_progress_events_are_stored_in_order(make_runner):
    runner = make_runner()
    job_id = runner.submit("demo.count", count(n=3))["id"]
    job = runner.wait(job_id)
    events = runner.events(job_id)

    assert [e["seq"] for e in events] == list(range(1, 7))
    assert [(e["type"], e.get("status"), e.get("step")) for e in events] == [
        ("status", "queued", None),
        ("status", "running", None),
        ("progress", None, 1),
        ("progress", None, 2),
        ("progress", None, 3),
        ("status", "done", None),
    ]
    assert events[-1]["result"] == {"count": 3}
    assert all(e["total"] == 3 for e in events if e["type"] == "progress")
    assert job["progress"]["step"] == 3 and job["elapsed_s"] > 0
    assert runner.events(job_id, after=4) == events[4:]
    assert job["params"] == {"n": 3, "delay_s": 0.02, "fail_at": None}  # validated, defaults filled


def test_failing_jobs_get_a_readable_error_and_keep_the_traceback_aside(make_runner):
    runner = make_runner()
    on_purpose = runner.submit("demo.count", count(n=3, fail_at=2))["id"]
    crashed = runner.submit("test.crash")["id"]
    died = runner.submit("test.hard-exit")["id"]

    job = runner.wait(on_purpose)
    assert job["status"] == "failed"
    assert job["error"] == "Failed on purpose at step 2 (fail_at=2)."
    assert job["progress"]["step"] == 1 and job["result"] is None

    job = runner.wait(crashed)
    assert job["status"] == "failed" and job["error"] == "RuntimeError: boom at step 2"
    assert "traceback" not in job  # never shown to users…
    stored = runner.store.get(crashed).traceback
    assert "Traceback" in stored and "raise RuntimeError" in stored  # …but kept for developers
    assert runner.events(crashed)[-1] == {**runner.events(crashed)[-1], "status": "failed", "error": job["error"]}

    job = runner.wait(died)
    assert job["status"] == "failed"
    assert "ended unexpectedly (exit code 7)" in job["error"]


def test_bad_submissions_say_what_is_allowed(make_runner):
    runner = make_runner(start=False)
    with pytest.raises(BadInput, match=r"Unknown job kind 'nope'\. Allowed kinds: .*demo\.count"):
        runner.submit("nope", {})
    with pytest.raises(BadInput, match=r"job kind 'demo\.count': n: .*less than or equal to 10000"):
        runner.submit("demo.count", {"n": 10**9})
    with pytest.raises(BadInput, match="m: Extra inputs are not permitted"):
        runner.submit("demo.count", {"m": 1})
    with pytest.raises(BadInput, match="JSON object"):
        runner.submit("demo.count", [1, 2])
    with pytest.raises(JobNotFound, match="no job with id 42"):
        runner.get(42)
    with pytest.raises(BadInput, match="Unknown status"):
        runner.list(status="sleeping")
    assert runner.list() == []  # nothing was queued by the bad calls


def test_queue_has_a_limit(make_runner):
    runner = make_runner(start=False, max_queued=2)
    runner.submit("demo.count", count())
    runner.submit("demo.count", count())
    with pytest.raises(QueueFull, match="at most 2"):
        runner.submit("demo.count", count())


def test_kinds_describe_their_parameters(make_runner):
    kinds = {k["kind"]: k for k in make_runner(start=False).kinds()}
    schema = kinds["demo.count"]["params_schema"]
    assert schema["properties"]["n"]["maximum"] == 10_000
    assert kinds["demo.count"]["description"].startswith("Count from 1 to n")


# ---- cancel -------------------------------------------------------------------------------


def test_cancel_a_running_job(make_runner):
    runner = make_runner()
    job_id = runner.submit("demo.count", count(n=1000, delay_s=0.05))["id"]
    wait_for(lambda: has_progress(runner, job_id))

    answer = runner.cancel(job_id)
    assert answer["status"] == "running" and answer["cancel_requested"] is True
    job = runner.wait(job_id, timeout=5)
    assert job["status"] == "cancelled" and job["error"] == "Cancelled."
    assert job["result"]["stopped"] is True and job["result"]["count"] < 1000
    assert runner.events(job_id)[-1]["status"] == "cancelled"
    with pytest.raises(JobConflict, match="already finished"):
        runner.cancel(job_id)


def test_cancel_a_job_that_ignores_sigterm_kills_it_after_the_grace_period(make_runner):
    runner = make_runner(grace_s=0.3)
    job_id = runner.submit("test.stubborn")["id"]
    wait_for(lambda: has_progress(runner, job_id))
    pid = runner.store.get(job_id).pid

    t0 = time.monotonic()
    runner.cancel(job_id)
    job = runner.wait(job_id, timeout=5)
    assert job["status"] == "cancelled"
    assert 0.3 <= time.monotonic() - t0 < 3
    wait_for(lambda: not worker_alive(pid, job_id), timeout=3)


def test_cancel_a_job_that_handles_sigterm_itself(make_runner):
    runner = make_runner()
    job_id = runner.submit("test.own-handler")["id"]
    wait_for(lambda: has_progress(runner, job_id))
    runner.cancel(job_id)
    job = runner.wait(job_id, timeout=5)
    assert job["status"] == "cancelled" and job["result"] == {"stopped_by": "own handler"}


def test_cancel_a_queued_job(make_runner):
    runner = make_runner()
    first = runner.submit("demo.count", count(n=1000, delay_s=0.05))["id"]
    second = runner.submit("demo.count", count())["id"]
    third = runner.submit("demo.count", count(n=1))["id"]

    job = runner.cancel(second)
    assert job["status"] == "cancelled" and job["started"] is None
    assert job["error"] == "Cancelled before it started."
    runner.cancel(first)
    assert runner.wait(third)["status"] == "done"
    assert runner.get(second)["started"] is None  # never ran
    assert [e["status"] for e in runner.events(second)] == ["queued", "cancelled"]


# ---- restart ------------------------------------------------------------------------------


def test_finished_jobs_survive_a_restart(make_runner):
    first = make_runner()
    job_id = first.submit("demo.count", count(n=2))["id"]
    before = first.wait(job_id)
    events = first.events(job_id)
    first.stop()

    second = make_runner()
    assert second.list() == [before]
    assert second.events(job_id) == events


def test_stopping_the_server_interrupts_the_running_job_and_keeps_the_queue(make_runner):
    first = make_runner()
    running = first.submit("demo.count", count(n=1000, delay_s=0.05))["id"]
    queued = first.submit("demo.count", count(n=1))["id"]
    wait_for(lambda: has_progress(first, running))
    first.stop()

    job = first.get(running)
    assert job["status"] == "interrupted" and "server stopped" in job["error"]
    assert first.get(queued)["status"] == "queued"
    second = make_runner()
    assert second.wait(queued)["status"] == "done"


def test_a_job_whose_worker_died_with_the_server_is_interrupted_on_restart(make_runner):
    first = make_runner()
    running = first.submit("demo.count", count(n=1000, delay_s=0.05))["id"]
    queued = first.submit("demo.count", count(n=1))["id"]
    wait_for(lambda: has_progress(first, running))
    first.stop(interrupt_running=False)  # as if the server crashed…
    pid = first.store.get(running).pid
    _kill(pid)  # …and took its worker with it
    wait_for(lambda: not worker_alive(pid, running), timeout=5)
    assert first.get(running)["status"] == "running"  # nobody has noticed yet

    second = make_runner()
    job = second.get(running)
    assert job["status"] == "interrupted"
    assert "no server was watching" in job["error"]
    assert second.wait(queued)["status"] == "done"


def test_a_worker_that_outlives_the_server_is_adopted_and_the_queue_waits_for_it(make_runner):
    first = make_runner()
    running = first.submit("demo.count", count(n=8, delay_s=0.1))["id"]
    wait_for(lambda: has_progress(first, running))
    first.stop(interrupt_running=False)  # the worker goes on alone

    second = make_runner()
    queued = second.submit("demo.count", count(n=1))["id"]
    adopted = second.wait(running)
    assert adopted["status"] == "done" and adopted["result"] == {"count": 8}
    after = second.wait(queued)
    assert after["status"] == "done" and after["started"] >= adopted["finished"]


def test_a_stale_running_row_with_a_recycled_pid_is_not_mistaken_for_our_worker(make_runner):
    runner = make_runner(start=False)
    job_id = runner.submit("demo.count", count())["id"]
    runner.store.claim_next()
    runner.store.set_pid(job_id, os.getpid())  # alive, but this is pytest, not a worker
    runner.start()
    assert runner.get(job_id)["status"] == "interrupted"


def test_stop_also_interrupts_an_adopted_worker(make_runner):
    first = make_runner()
    job_id = first.submit("demo.count", count(n=1000, delay_s=0.05))["id"]
    wait_for(lambda: has_progress(first, job_id))
    first.stop(interrupt_running=False)
    pid = first.store.get(job_id).pid

    second = make_runner()
    assert second.get(job_id)["status"] == "running"  # adopted
    second.stop()
    job = second.get(job_id)
    assert job["status"] == "interrupted" and "server stopped" in job["error"]
    assert not worker_alive(pid, job_id)


def test_demo_train_runs_the_training_loop_and_streams_its_events(make_runner):
    runner = make_runner()
    job_id = runner.submit("demo.train", {"steps": 30, "eval_every": 10})["id"]
    job = runner.wait(job_id, timeout=60)
    assert job["status"] == "done", job["error"]
    assert job["result"]["status"] == "done" and job["result"]["step"] == 30
    types = [e["type"] for e in runner.events(job_id)]
    assert types[:2] == ["status", "status"] and types[-1] == "status"
    assert {"start", "progress", "eval", "done"} <= set(types)
    last = [e for e in runner.events(job_id) if e["type"] == "progress"][-1]
    assert last["step"] == 30 and last["total"] == 30 and "loss" in last["metrics"]


def test_run_job_runs_in_the_foreground_for_the_cli():
    events = []
    assert run_job("demo.count", {"n": 2, "delay_s": 0}, emit=events.append) == {"count": 2}
    assert [e["step"] for e in events] == [1, 2]
    assert run_job("demo.count", {"n": 5, "delay_s": 0}, should_stop=lambda: True) == {"count": 0, "stopped": True}
    with pytest.raises(BadInput, match="Allowed kinds"):
        run_job("demo.nope")
