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


@pytest.mark.parametrize("nice,expected", [(0, 1), (19, 2)])
def test_threads_give_way_to_a_busy_process_but_not_to_a_niced_job(nice, expected):
    """llama.cpp waits for its slowest thread at every layer: with another process on one of two cores,
    one thread is faster than two. A niced process (a training job) yields by itself and does not count."""
    import os
    import time

    if (os.cpu_count() or 1) < 2:
        pytest.skip("needs two cores")
    compute.others_busy()
    time.sleep(0.6)
    assert compute.threads_now(2, cores=2) == 2  # idle (this test runs alone on the machine)
    hog = _hog(nice)
    try:
        time.sleep(0.3)
        compute.others_busy()
        time.sleep(1.0)
        assert compute.threads_now(2, cores=2) == expected
    finally:
        hog.kill()
        hog.wait()
