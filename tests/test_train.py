"""The one training loop: history, events, early stopping, cancellation, resume, atomic files."""

import json
import os
import signal

import pytest
import torch
from torch import nn

from pizarra.errors import BadInput
from pizarra.train import (
    BEST,
    CHECKPOINT,
    METRICS,
    DataOrder,
    TokenWindows,
    TrainConfig,
    atomic_save,
    fit,
    load_checkpoint,
)
from pizarra.train import checkpoint as ckpt_mod
from pizarra.train.demo import run

pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


def same_weights(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def without_time(history):
    return [{k: v for k, v in r.items() if k != "elapsed_s"} for r in history]


def test_fit_learns_and_records_history_and_events(tmp_path):
    events = []
    model, result = run(
        str(tmp_path), steps=60, eval_every=20, checkpoint_every=30, progress=False, on_event=events.append
    )
    assert result.status == "done" and result.step == 60 and result.total_steps == 60
    assert [r["step"] for r in result.history] == [20, 40, 60]
    first, last = result.history[0], result.history[-1]
    assert last["train_loss"] < first["train_loss"] and last["val_loss"] < first["val_loss"]
    assert {"lr", "val_acc", "epoch", "elapsed_s"} <= last.keys()
    # metrics.json is the same history, readable without torch
    saved = json.loads((tmp_path / METRICS).read_text())
    assert saved["history"] == result.history and saved["status"] == "done" and saved["best"] == result.best
    # events: JSON-able, in order, checkpoint at 30 and at the end
    json.dumps(events)
    types = [e["type"] for e in events]
    assert types[0] == "start" and types[-1] == "done"
    assert [e["step"] for e in events if e["type"] == "checkpoint"] == [30, 60]
    assert [e["step"] for e in events if e["type"] == "eval"] == [20, 40, 60]
    progress = [e for e in events if e["type"] == "progress"]
    assert progress and progress[-1]["step"] == 60 and progress[-1]["total"] == 60
    assert {"loss", "lr"} <= progress[-1]["metrics"].keys()
    # the final checkpoint holds the final weights and the whole loop state
    ck = load_checkpoint(tmp_path / CHECKPOINT)
    assert same_weights(ck["model"], model.state_dict())
    assert ck["state"]["step"] == 60 and ck["data"]["epoch"] == 3  # 512 rows / 32 = 16 steps per epoch
    assert result.best == max(r["val_acc"] for r in result.history)
    assert same_weights(load_checkpoint(tmp_path / BEST), model.state_dict()) == (result.best_step == 60)


def test_cancel_then_resume_equals_uninterrupted(tmp_path):
    """should_stop stops with a checkpoint; resume continues bit-exactly (dropout + shuffling)."""
    ref_model, ref = run(str(tmp_path / "ref"), steps=40, eval_every=10, checkpoint_every=100, progress=False)

    calls = {"n": 0}

    def stop_at_13():
        calls["n"] += 1
        return calls["n"] == 13

    cfg_args = dict(steps=40, eval_every=10, checkpoint_every=100, progress=False)
    _, part = run(str(tmp_path / "cut"), should_stop=stop_at_13, **cfg_args)
    assert part.status == "cancelled" and part.step == 13
    model, resumed = run(str(tmp_path / "cut"), resume=True, **cfg_args)
    assert resumed.resumed and resumed.status == "done" and resumed.step == 40
    assert same_weights(model.state_dict(), ref_model.state_dict())
    assert without_time(resumed.history) == without_time(ref.history)
    # resuming a finished run changes nothing
    again_model, again = run(str(tmp_path / "cut"), resume=True, **cfg_args)
    assert again.status == "done" and same_weights(again_model.state_dict(), ref_model.state_dict())


def test_sigterm_checkpoints_and_stops(tmp_path):
    model = nn.Linear(3, 1)
    X, Y = torch.randn(64, 3), torch.randn(64, 1)
    steps = {"n": 0}

    def terminate_at_7():
        steps["n"] += 1
        if steps["n"] == 7:
            os.kill(os.getpid(), signal.SIGTERM)  # what the web job runner sends
        return False

    before = signal.getsignal(signal.SIGTERM)
    result = fit(
        model,
        (X, Y),
        config=TrainConfig(max_steps=50, batch_size=8, out_dir=str(tmp_path), progress=False),
        loss_fn=lambda m, b: nn.functional.mse_loss(m(b[0]), b[1]),
        should_stop=terminate_at_7,
    )
    assert result.status == "cancelled" and result.step == 7
    assert load_checkpoint(tmp_path / CHECKPOINT)["state"]["step"] == 7
    assert signal.getsignal(signal.SIGTERM) is before  # handler restored


def test_early_stopping_and_restore_best(tmp_path):
    """A metric that improves twice then gets worse: stop after `patience` bad evals."""
    values = iter([1.0, 0.5, 0.6, 0.5, 0.7, 0.1])  # 0.5 again is no improvement with min_delta
    snapshots = {}

    def metric(model, _):
        snapshots[len(snapshots) + 1] = {k: v.clone() for k, v in model.state_dict().items()}
        return {"score": next(values)}

    X, Y = torch.randn(64, 3), torch.randn(64, 1)
    events = []
    cfg = TrainConfig(
        max_steps=100,
        batch_size=16,
        eval_every=5,
        metric="score",
        mode="min",
        patience=3,
        min_delta=0.01,
        out_dir=str(tmp_path),
        restore_best=True,
        progress=False,
    )
    model = nn.Linear(3, 1)
    result = fit(
        model,
        (X, Y),
        config=cfg,
        metrics_fn=metric,
        on_event=events.append,
        loss_fn=lambda m, b: nn.functional.mse_loss(m(b[0]), b[1]),
    )
    assert result.status == "early_stop" and result.step == 25
    assert result.best == 0.5 and result.best_step == 10
    assert [e for e in events if e["type"] == "early_stop"][0]["best_step"] == 10
    assert same_weights(model.state_dict(), snapshots[2])  # restore_best
    assert same_weights(load_checkpoint(tmp_path / BEST), snapshots[2])
    # resume after an early stop does not train further
    again = fit(
        nn.Linear(3, 1),
        (X, Y),
        config=cfg,
        metrics_fn=metric,
        resume=True,
        loss_fn=lambda m, b: nn.functional.mse_loss(m(b[0]), b[1]),
    )
    assert again.status == "early_stop" and again.step == 25


def test_early_stopping_needs_the_metric():
    cfg = TrainConfig(max_steps=10, batch_size=4, eval_every=5, metric="val_acc", patience=2, progress=False)
    with pytest.raises(BadInput, match="val_acc"):
        fit(
            nn.Linear(2, 1),
            (torch.randn(8, 2), torch.randn(8, 1)),
            config=cfg,
            loss_fn=lambda m, b: nn.functional.mse_loss(m(b[0]), b[1]),
        )


def test_epochs_and_max_mode_and_val_loss_without_out_dir():
    X = torch.randn(40, 2)
    Y = X @ torch.tensor([[2.0], [-1.0]])
    cfg = TrainConfig(
        epochs=3,
        max_steps=None,
        batch_size=8,
        lr=0.1,
        eval_every=5,
        grad_clip=None,
        schedule="cosine",
        warmup_steps=2,
        progress=False,
    )
    result = fit(nn.Linear(2, 1), (X, Y), (X, Y), cfg, loss_fn=lambda m, b: nn.functional.mse_loss(m(b[0]), b[1]))
    assert result.total_steps == 15 and result.step == 15 and result.epoch == 2
    assert result.history[-1]["val_loss"] < result.history[0]["val_loss"]
    assert result.history[-1]["lr"] == pytest.approx(0.1 * 0.1, rel=1e-6)  # cosine ends at min_lr_ratio


def test_bad_configs_are_refused(tmp_path):
    data = (torch.randn(10, 2), torch.randn(10, 1))
    loss = lambda m, b: nn.functional.mse_loss(m(b[0]), b[1])  # noqa: E731
    with pytest.raises(BadInput, match="max_steps or epochs"):
        fit(nn.Linear(2, 1), data, config=TrainConfig(max_steps=None), loss_fn=loss)
    with pytest.raises(BadInput, match="fewer than one batch"):
        fit(nn.Linear(2, 1), data, config=TrainConfig(batch_size=32), loss_fn=loss)
    with pytest.raises(BadInput, match="schedule"):
        fit(nn.Linear(2, 1), data, config=TrainConfig(schedule="step"), loss_fn=loss)
    fit(
        nn.Linear(2, 1),
        data,
        config=TrainConfig(max_steps=3, batch_size=5, out_dir=str(tmp_path), progress=False),
        loss_fn=loss,
    )
    with pytest.raises(BadInput, match="batch_size"):
        fit(
            nn.Linear(2, 1),
            data,
            config=TrainConfig(max_steps=6, batch_size=2, out_dir=str(tmp_path), progress=False),
            loss_fn=loss,
            resume=True,
        )


def test_atomic_save_failure_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.pt"
    atomic_save({"step": 1, "w": torch.ones(3)}, path)

    def broken_save(obj, f):
        f.write(b"half a checkpoint")
        raise OSError("disk full")

    monkeypatch.setattr(ckpt_mod.torch, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        atomic_save({"step": 2, "w": torch.zeros(3)}, path)
    monkeypatch.undo()
    old = load_checkpoint(path)
    assert old["step"] == 1 and torch.equal(old["w"], torch.ones(3))
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt.pt"]  # no temp file left behind


def test_data_order_is_a_seeded_permutation_with_resumable_state():
    order = DataOrder(10, 3, seed=7)
    epoch0 = torch.cat([order.next_indices() for _ in range(3)])
    assert len(set(epoch0.tolist())) == 9  # 3 full batches, no repeats, last row dropped
    state = order.state_dict()
    rest = [order.next_indices() for _ in range(5)]
    other = DataOrder(10, 3, seed=7)
    other.load_state_dict(state)
    assert all(torch.equal(a, other.next_indices()) for a in rest)
    assert not torch.equal(epoch0, torch.cat(rest[:3]))  # a new permutation each epoch
    assert not torch.equal(epoch0, torch.cat([DataOrder(10, 3, seed=8).next_indices() for _ in range(3)]))


def test_token_windows_feed_a_makemore_model():
    tokens = torch.arange(20)
    windows = TokenWindows(tokens, block_size=4)
    x, y = windows.get_batch(torch.tensor([0, 5]))
    assert x.tolist() == [[0, 1, 2, 3], [5, 6, 7, 8]] and y.tolist() == [[1, 2, 3, 4], [6, 7, 8, 9]]
    assert len(windows) == 16

    class Bigram(nn.Module):
        def __init__(self):
            super().__init__()
            self.table = nn.Embedding(20, 20)

        def forward(self, idx, targets=None):
            logits = self.table(idx)  # (B, T, V)
            return logits, nn.functional.cross_entropy(logits.view(-1, 20), targets.view(-1))

    result = fit(
        Bigram(), windows, windows, TrainConfig(max_steps=30, batch_size=8, lr=0.1, eval_every=10, progress=False)
    )
    assert result.history[-1]["val_loss"] < result.history[0]["val_loss"]
