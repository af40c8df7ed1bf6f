"""The training loop across processes: killed with SIGKILL and resumed; DDP with torchrun (gloo)."""

import json
import os
import runpy
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from pizarra.train import CHECKPOINT, load_checkpoint
from pizarra.train.demo import run

SRC = str(Path(__file__).resolve().parents[1] / "src")
WORKER = Path(__file__).resolve().parent / "fixtures" / "train" / "ddp_worker.py"


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


def env() -> dict:
    e = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))
    e.update(MASTER_ADDR="127.0.0.1", GLOO_SOCKET_IFNAME="lo", OMP_NUM_THREADS="1")
    return e


def without_time(history):
    return [{k: v for k, v in r.items() if k != "elapsed_s"} for r in history]


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_sigkill_mid_run_then_resume_gives_the_same_weights(tmp_path):
    steps, out = 120, tmp_path / "killed"
    args = ["--out", str(out), "--steps", str(steps), "--eval-every", "10", "--checkpoint-every", "5"]
    log = tmp_path / "stderr.txt"
    with open(log, "wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "pizarra.train.demo", *args, "--step-delay", "0.03", "--no-progress"],
            env=env(),
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    try:
        deadline = time.monotonic() + 60
        while not (out / CHECKPOINT).exists():
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "no checkpoint within 60 s"
            time.sleep(0.02)
        time.sleep(0.1)  # a few steps past the checkpoint: their work is lost and must be redone
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    cut = load_checkpoint(out / CHECKPOINT)["state"]["step"]
    assert 0 < cut < steps, "the run was not killed mid-way"

    model, resumed = run(str(out), steps=steps, eval_every=10, checkpoint_every=5, resume=True, progress=False)
    ref_model, ref = run(str(tmp_path / "ref"), steps=steps, eval_every=10, checkpoint_every=5, progress=False)
    assert resumed.resumed and resumed.step == steps
    for k, v in ref_model.state_dict().items():
        assert torch.equal(model.state_dict()[k], v), k
    assert without_time(resumed.history) == without_time(ref.history)


@pytest.mark.slow
def test_ddp_two_gloo_processes_equal_one_process_on_the_same_global_batch(tmp_path):
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nnodes=1",
        "--nproc-per-node=2",
        "--master-addr=127.0.0.1",
        f"--master-port={free_port()}",
        str(WORKER),
        str(tmp_path / "ddp"),
    ]
    done = subprocess.run(cmd, env=env(), capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    ddp = load_checkpoint(tmp_path / "ddp" / CHECKPOINT)
    assert ddp["state"]["step"] == 12 and len(ddp["ranks"]) == 2  # both ranks' RNG states saved

    worker = runpy.run_path(str(WORKER))  # the same training in this process: a world of one
    model, one, seen = worker["train"](str(tmp_path / "one"))
    # each rank took its own half of every global batch
    halves = [json.loads((tmp_path / "ddp" / f"seen{r}.json").read_text()) for r in (0, 1)]
    assert len(seen) == 12 and all(len(h) == 16 for h in halves[0] + halves[1])
    assert [a + b for a, b in zip(*halves, strict=False)] == seen
    # averaged gradients of the halves = gradient of the whole batch: same parameters
    for k, v in model.state_dict().items():
        torch.testing.assert_close(ddp["model"][k], v, rtol=0, atol=1e-10)
    for a, b in zip(ddp["state"]["history"], one.history, strict=True):
        assert a["train_loss"] == pytest.approx(b["train_loss"], abs=1e-10)
        assert a["val_loss"] == pytest.approx(b["val_loss"], abs=1e-10)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
