"""The compute thread: every llama.cpp forward pass on one thread, whoever calls."""

from __future__ import annotations

import threading

import pytest

from pizarra.llm import compute


def test_run_goes_to_one_thread_and_is_reentrant():
    seen = set()

    def where():
        seen.add(threading.get_ident())
        return compute.run(threading.get_ident)  # nested: runs directly, no deadlock

    results = []
    threads = [threading.Thread(target=lambda: results.append(compute.run(where))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(seen) == 1 and set(results) == seen and threading.get_ident() not in seen


def test_iterate_yields_in_order_raises_and_stops_early():
    ran_on = []

    def gen(n, fail=False):
        for i in range(n):
            ran_on.append(threading.get_ident())
            yield i
        if fail:
            raise ValueError("boom")

    assert list(compute.iterate(gen(5))) == [0, 1, 2, 3, 4]
    assert len(set(ran_on)) == 1 and ran_on[0] != threading.get_ident()
    with pytest.raises(ValueError, match="boom"):
        list(compute.iterate(gen(2, fail=True)))
    closed = threading.Event()

    def endless():
        try:
            i = 0
            while True:
                yield i
                i += 1
        finally:
            closed.set()

    it = compute.iterate(endless())
    assert [next(it) for _ in range(3)] == [0, 1, 2]
    it.close()  # the producer stops at its next item and is closed before close() returns
    assert closed.is_set()


def test_pin_routes_decode():
    class Ctx:
        def decode(self, batch):
            return threading.get_ident(), batch

    class Llm:
        _ctx = Ctx()

    llm = compute.pin(Llm())
    assert compute.pin(llm) is llm  # once
    ident, batch = llm._ctx.decode("b")
    assert batch == "b" and ident == compute.run(threading.get_ident) != threading.get_ident()


def _hog(nice: int = 0):
    import subprocess
    import sys

    return subprocess.Popen([sys.executable, "-c", f"import os; os.nice({nice})\nwhile True: pass"])


@pytest.mark.parametrize("nice,counted", [(0, True), (19, False)])
def test_the_meter_counts_a_busy_process_but_not_a_niced_job(nice, counted):
    """llama.cpp waits for its slowest thread at every layer: with another process on one of two cores,
    one thread is faster than two. A niced process (a training job) yields by itself and does not count.
    (Checked on the meter's per-process sample, which holds on a busy machine too.)"""
    import os
    import time

    hog = _hog(nice)
    try:
        time.sleep(0.5)  # the hog has set its priority
        t0, first = compute._sample()
        time.sleep(1.0)
        t1, second = compute._sample()
    finally:
        hog.kill()
        hog.wait()
    assert os.getpid() not in second  # our own ticks are never competition
    if counted:
        assert hog.pid in second and second[hog.pid] - first.get(hog.pid, 0) > 0.2 * compute._CLK * (t1 - t0)
    else:
        assert hog.pid not in second


def test_threads_follow_the_free_cores(monkeypatch):
    monkeypatch.setattr(compute, "others_busy", lambda: 0.1)
    assert compute.threads_now(2, cores=2) == 2 and compute.threads_now(4, cores=2) == 2
    monkeypatch.setattr(compute, "others_busy", lambda: 0.9)
    assert compute.threads_now(2, cores=2) == 1 and compute.threads_now(4, cores=4) == 3
    monkeypatch.setattr(compute, "others_busy", lambda: 0.0)
    compute.set_siblings([], busy=1)  # another model of the lab is generating right now
    try:
        assert compute.threads_now(2, cores=2) == 1
    finally:
        compute.set_siblings([], busy=0)
    assert compute.threads_now(2, cores=2) == 2
