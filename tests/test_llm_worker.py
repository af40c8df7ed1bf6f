"""llama.cpp in its own process: a native crash costs a request, not the lab; cancel and budgets hold.

The models run in a worker process per model (pizarra.llm.worker); these tests kill it, stop it,
cancel its work and ask again.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from pizarra.errors import BadInput
from pizarra.llm import native
from pizarra.llm import runtime as rt
from pizarra.llm import worker as W

LONG = rt.Sampling(max_tokens=1024, temperature=1.0, seed=1)


def _wait_for_pid(model: str, timeout: float = 60.0) -> int:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        pid = rt.worker(model).pid
        if pid:
            return pid
        time.sleep(0.05)
    raise AssertionError("the worker did not start")


def test_the_model_runs_in_another_process():
    rt.next_token_probs("smollm2", "Hola", k=1)
    pid = rt.worker("smollm2").pid
    assert pid and pid != os.getpid()
    import llama_cpp  # noqa: F401 - importing the bindings is harmless ...

    from pizarra.assets import models

    assert not any(k[0] == "smollm2" for k in models._instances)  # ... but no model is loaded here


def test_a_segfault_in_the_worker_costs_its_request_and_the_next_one_works():
    w = rt.worker("smollm2")
    rt.next_token_probs("smollm2", "Hola", k=1)
    starts, pid = w.starts, w.pid
    pieces, errors = [], []

    def generate():
        try:
            for piece in rt.stream("smollm2", "Once upon a time", LONG):
                pieces.append(piece)
        except Exception as e:  # noqa: BLE001 - inspected below
            errors.append(e)

    t = threading.Thread(target=generate)
    t.start()
    while not pieces and t.is_alive():
        time.sleep(0.01)
    os.kill(pid, signal.SIGSEGV)  # what llama.cpp's AMX kernels did on the first decode
    t.join(10)
    assert not t.is_alive()
    assert len(errors) == 1 and isinstance(errors[0], W.ModelRestarted), errors
    assert errors[0].status_code == 503 and "reiniciado" in str(errors[0])
    assert w.deaths[-1]["how"] == "signal SIGSEGV" and w.deaths[-1]["requests_lost"] == 1
    # asking again starts a fresh worker, which answers
    top = rt.next_token_probs("smollm2", "The capital of France is", k=3)
    assert len(top) == 3 and w.starts == starts + 1 and w.pid != pid


def test_requests_waiting_in_the_queue_also_get_503_and_the_other_model_is_untouched():
    rt.next_token_probs("gemma-base", "Hola", k=1)
    gemma_pid = rt.worker("gemma-base").pid
    pid = (
        _wait_for_pid("smollm2")
        if rt.worker("smollm2").pid
        else (rt.next_token_probs("smollm2", "a", k=1) and rt.worker("smollm2").pid)
    )
    errors = []

    def ask():
        try:
            rt.complete("smollm2", "Once upon a time", LONG)
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=ask) for _ in range(3)]
    for t in threads:
        t.start()
    time.sleep(0.5)
    os.kill(pid, signal.SIGKILL)  # e.g. the kernel's out-of-memory killer
    for t in threads:
        t.join(10)
    assert len(errors) == 3 and all(isinstance(e, W.ModelRestarted) for e in errors)
    assert rt.worker("gemma-base").pid == gemma_pid  # one model's crash is that model's alone
    assert rt.next_token_probs("gemma-base", "El cielo es", k=1)


def _complete_in_scope(model: str, prompt: str) -> tuple[threading.Thread, threading.Event, dict]:
    """A whole answer asked in a cancellable request scope on a thread of its own (a web request):
    (the thread, its cancel event, {"error": what it raised, "t": when it returned})."""
    cancel, out = threading.Event(), {}

    def run():
        with rt.request_scope(cancel):
            try:
                rt.complete(model, prompt, LONG)
            except Exception as e:  # noqa: BLE001 - inspected by the test
                out["error"] = e
            out["t"] = time.monotonic()

    t = threading.Thread(target=run)
    t.start()
    return t, cancel, out


def test_cancel_stops_a_whole_answer_within_a_second():
    """A non-streamed request (generate, chat reply, Gandalf...) whose client left stops generating."""
    t, cancel, out = _complete_in_scope("gemma-base", "Había una vez")
    time.sleep(1.0)  # the model is generating (1024 tokens would take ~25 s)
    cancelled = time.monotonic()
    cancel.set()
    t.join(5)
    assert isinstance(out.get("error"), W.RequestCancelled)
    assert out["t"] - cancelled < 1.0
    t0 = time.monotonic()
    rt.next_token_probs("gemma-base", "El cielo es", k=1)  # the model is free again at once
    assert time.monotonic() - t0 < 2.0


def test_a_cancelled_request_still_in_the_queue_never_runs():
    first = threading.Thread(
        target=lambda: rt.complete("smollm2", "Once upon a time", rt.Sampling(max_tokens=200, seed=1))
    )
    first.start()
    time.sleep(0.3)
    t, cancel, out = _complete_in_scope("smollm2", "Twice upon a time")
    time.sleep(0.1)
    cancel.set()
    t0 = time.monotonic()
    t.join(5)
    first.join(30)
    assert isinstance(out.get("error"), W.RequestCancelled) and out["t"] - t0 < 0.5


def test_a_worker_that_ignores_a_cancel_is_killed(monkeypatch):
    monkeypatch.setattr(W, "CANCEL_GRACE_S", 0.5)
    rt.next_token_probs("smollm2", "Hola", k=1)
    pid = rt.worker("smollm2").pid
    t, cancel, out = _complete_in_scope("smollm2", "Once upon a time")
    time.sleep(0.3)
    os.kill(pid, signal.SIGSTOP)  # hung in native code: it cannot read the cancel
    t0 = time.monotonic()
    cancel.set()
    t.join(5)
    assert isinstance(out.get("error"), W.ModelRestarted) and time.monotonic() - t0 < 2.0
    assert rt.complete("smollm2", "1, 2, 3,", rt.Sampling(max_tokens=3)).n_tokens == 3


def test_a_request_budget_bounds_the_model_time_of_all_its_calls():
    with rt.request_scope(budget_s=0.6) as scope:
        c = rt.complete("gemma-base", "Había una vez", LONG)
        assert c.finish_reason == "time" and 0.5 < c.seconds < 1.2
        d = rt.complete("gemma-base", "Había una vez", LONG)  # the budget is spent: one token at most
        assert d.finish_reason == "time" and d.n_tokens <= 1
    assert scope.used_s >= 0.6
    assert rt.complete("gemma-base", "Había una vez", rt.Sampling(max_tokens=40, seed=1)).finish_reason != "time"


def test_errors_from_the_worker_keep_their_kind_and_words():
    with pytest.raises(BadInput, match="too long") as err:
        rt.fit_chat("smollm2", [{"role": "user", "content": "palabra " * 3000}])
    assert err.value.status_code == 422
    with pytest.raises(BadInput, match="no chat template"):
        rt.render_chat("gemma-base", [{"role": "user", "content": "Hola"}])


def test_the_installed_llama_cpp_has_no_amx():
    """The Makefile compiles llama.cpp without AMX (its kernels segfault on Sapphire Rapids)."""
    assert "AVX" in native.system_info()
    assert not native.build_has_amx()


def test_a_build_with_amx_loads_models_without_weight_repacking(tmp_path):
    amx_line = "CPU : SSE3 = 1 | AVX2 = 1 | AVX512 = 1 | AMX_INT8 = 1 | OPENMP = 1 |"
    assert native.build_has_amx(amx_line) and not native.build_has_amx(amx_line.replace("AMX_INT8 = 1", "AMX_INT8 = 0"))
    assert native.features(amx_line) == {"SSE3": True, "AVX2": True, "AVX512": True, "AMX_INT8": True, "OPENMP": True}
    # In a process of its own (the guard is for the whole process): pretend the build reports AMX.
    code = f"""
import llama_cpp.llama_cpp as C
from pizarra.llm import native
from pizarra.assets import models
native.system_info.cache_clear()
native.system_info = lambda: {amx_line!r}
before = C.llama_model_default_params().use_extra_bufts
llm = native.llama(models.gguf_path("smollm2"), n_ctx=256, n_threads=1)
print(before, C.llama_model_default_params().use_extra_bufts, native.guarded(), len(llm.tokenize(b"Hola")) > 0)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.split() == ["True", "False", "True", "True"], out.stderr[-2000:]
