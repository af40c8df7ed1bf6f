"""fit(): the one training loop every Pizarra model trains with.

    for step in 1..total:
        batch = next global batch (seeded order), this rank's slice of it
        loss  = model(*batch) -> loss | (logits, loss)     (or loss_fn(model, batch))
        loss.backward(); clip; optimizer.step(); scheduler.step()
        every eval_every:       record {train_loss, val_loss, ...} -> history, best, early stop
        every checkpoint_every: atomic checkpoint (model, optimiser, scheduler, RNG, data order)

The same code runs on one process or on N under ``torchrun`` (DistributedDataParallel): the
global batch is split evenly across ranks, gradients are averaged, only rank 0 writes files
and reports progress.

Every model Pizarra trains from scratch trains here. One loop lives elsewhere, on purpose:
``pizarra.sentiment.finetune`` (row f of the IMDB table, a Hugging Face encoder fine-tuned end to
end) keeps its own 40 lines. Its recipe is the reference run's (bf16 autocast on CUDA, linear decay
to zero, padding per batch, the epoch chosen on validation accuracy), its number was measured on a
lent GPU that this project cannot count on, and moving it here would change its data order: the
row could no longer be reproduced by the command in its report until someone re-runs it on a GPU.
Fold it in when that re-run is possible (the loop would need a ``linear`` schedule and a collate hook).
"""

from __future__ import annotations

import contextlib
import math
import signal
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.optim.lr_scheduler import LambdaLR

from pizarra.errors import BadInput
from pizarra.train.checkpoint import (
    BEST,
    CHECKPOINT,
    METRICS,
    atomic_save,
    atomic_write_json,
    load_checkpoint,
    remove_stale_temps,
    rng_state,
    seed_everything,
    set_rng_state,
)
from pizarra.train.config import TrainConfig
from pizarra.train.data import DataOrder, data_len, fetch, to_device
from pizarra.train.distributed import DistContext, setup
from pizarra.train.progress import OnEvent, Progress, clean

LossFn = Callable[[nn.Module, Any], torch.Tensor]  # (model, batch) -> scalar loss
MetricsFn = Callable[[nn.Module, Any], dict]  # (model, val_data) -> {"name": float}


@dataclass
class LoopState:
    """Everything about the loop's progress that a checkpoint must carry."""

    step: int = 0
    status: str = "running"  # running | done | early_stop | cancelled
    best: float | None = None  # best value of config.metric so far
    best_step: int | None = None
    bad_evals: int = 0  # evals in a row without improvement (for patience)
    elapsed_s: float = 0.0
    history: list = field(default_factory=list)  # eval records, oldest first


@dataclass
class FitResult:
    status: str  # "done" | "early_stop" | "cancelled"
    step: int
    total_steps: int
    epoch: int
    metric: str
    best: float | None
    best_step: int | None
    history: list
    elapsed_s: float
    out_dir: str | None
    resumed: bool

    def to_dict(self) -> dict:
        return clean(asdict(self))


def default_optimizer(model: nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    """AdamW; weight decay on matrices (dim >= 2) only, never on biases or norm gains."""
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [
        {"params": [p for p in params if p.dim() >= 2], "weight_decay": cfg.weight_decay},
        {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(groups, lr=cfg.lr, betas=cfg.betas)


def default_scheduler(opt: torch.optim.Optimizer, cfg: TrainConfig, total: int) -> LambdaLR:
    """lr(step) = lr * factor(step): linear warmup, then constant or cosine to lr * min_lr_ratio."""

    def factor(step: int) -> float:
        if step < cfg.warmup_steps:
            return (step + 1) / cfg.warmup_steps
        if cfg.schedule == "constant":
            return 1.0
        done = min(1.0, (step - cfg.warmup_steps) / max(1, total - cfg.warmup_steps))
        return cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * done))

    return LambdaLR(opt, factor)


def compute_loss(model: nn.Module, batch: Any, loss_fn: LossFn | None = None) -> torch.Tensor:
    """``loss_fn(model, batch)`` if given; else the model's own loss: makemore's
    ``model(idx, targets) -> (logits, loss)``, a bare loss, or an output with ``.loss``."""
    if loss_fn is not None:
        return loss_fn(model, batch)
    if isinstance(batch, dict):
        out = model(**batch)
    else:
        out = model(*batch) if isinstance(batch, (tuple, list)) else model(batch)
    if isinstance(out, (tuple, list)):
        return out[1]
    return out.loss if hasattr(out, "loss") else out


@torch.no_grad()
def evaluate(
    model: nn.Module, val_data: Any, cfg: TrainConfig, ctx: DistContext, loss_fn: LossFn | None = None
) -> dict:
    """Mean validation loss over the validation data in order (batches shared out among ranks)."""
    was_training = model.training
    model.eval()
    n = data_len(val_data)
    starts = list(range(0, n, cfg.batch_size))[: cfg.eval_batches]
    sums = torch.zeros(2, dtype=torch.float64, device=ctx.device)  # (sum of loss * rows, rows)
    for i in range(ctx.rank, len(starts), ctx.world_size):
        idx = torch.arange(starts[i], min(starts[i] + cfg.batch_size, n))
        loss = compute_loss(model, to_device(fetch(val_data, idx), ctx.device), loss_fn)
        sums[0] += loss.double() * len(idx)
        sums[1] += len(idx)
    ctx.all_reduce_(sums)
    model.train(was_training)
    return {"val_loss": (sums[0] / sums[1]).item()}


@contextlib.contextmanager
def stop_on_signals(flag: dict):
    """The first SIGTERM/SIGINT asks the loop to checkpoint and stop; a second one acts as usual.

    Only possible in the main thread (Python's rule); elsewhere use ``should_stop``.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {}

    def handler(signum, frame):
        flag["signal"] = signal.Signals(signum).name
        signal.signal(signum, previous[signum])

    for sig in (signal.SIGTERM, signal.SIGINT):
        previous[sig] = signal.signal(sig, handler) or signal.SIG_DFL
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def fit(
    model: nn.Module,
    train_data: Any,
    val_data: Any = None,
    config: TrainConfig | None = None,
    *,
    loss_fn: LossFn | None = None,
    metrics_fn: MetricsFn | None = None,
    optimizer: Callable[[nn.Module], torch.optim.Optimizer] | None = None,
    scheduler: Callable[[torch.optim.Optimizer, int], Any] | None = None,
    on_event: OnEvent | None = None,
    should_stop: Callable[[], bool] | None = None,
    resume: bool = False,
) -> FitResult:
    """Train ``model`` in place and return what happened.

    - ``train_data``/``val_data``: ``(X, Y)`` tensors, a dataset, or an object with ``get_batch``
      (see ``pizarra.train.data``). The loss is ``compute_loss(model, batch, loss_fn)``.
    - ``metrics_fn(model, val_data)``: extra eval metrics, e.g. accuracy, for early stopping.
    - ``optimizer(model)`` / ``scheduler(optimizer, total_steps)``: factories replacing the defaults.
    - ``on_event(dict)``: JSON-able events (see ``pizarra.train.progress``); rank 0 only.
    - ``should_stop()``: checked every step; True checkpoints and stops ("cancelled"), as SIGTERM does.
    - ``resume``: continue from ``config.out_dir/ckpt.pt`` when it exists.
    Seed the model's initialisation before building it; ``fit`` seeds the rest from ``config.seed``.
    """
    cfg = (config or TrainConfig()).validate()
    ctx = setup(cfg.device)
    try:
        return _fit(
            model,
            train_data,
            val_data,
            cfg,
            ctx,
            loss_fn,
            metrics_fn,
            optimizer,
            scheduler,
            on_event,
            should_stop,
            resume,
        )
    finally:
        ctx.close()


def _fit(  # noqa: C901 - the one training loop, kept in one piece as nanoGPT keeps its loop: read top to bottom
    model,
    train_data,
    val_data,
    cfg,
    ctx,
    loss_fn,
    metrics_fn,
    make_optimizer,
    make_scheduler,
    on_event,
    should_stop,
    resume,
) -> FitResult:
    out = Path(cfg.out_dir) if cfg.out_dir else None
    order = DataOrder(data_len(train_data), cfg.batch_size, cfg.seed)
    total = cfg.total_steps(order.steps_per_epoch)
    if cfg.batch_size % ctx.world_size:
        raise BadInput(f"batch_size {cfg.batch_size} must be a multiple of the {ctx.world_size} processes.")
    local_bs = cfg.batch_size // ctx.world_size
    seed_everything(cfg.seed + ctx.rank)  # ranks draw different dropout masks, as separate GPUs would
    model.to(ctx.device).train()
    opt = make_optimizer(model) if make_optimizer else default_optimizer(model, cfg)
    sched = make_scheduler(opt, total) if make_scheduler else default_scheduler(opt, cfg, total)
    st, loss_sum, loss_n = LoopState(), 0.0, 0  # loss_sum/n: this rank's train loss since the last record

    resumed = bool(resume and out and (out / CHECKPOINT).exists())
    if resumed:
        ck = load_checkpoint(out / CHECKPOINT, map_location=ctx.device)
        order.load_state_dict(ck["data"])
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        sched.load_state_dict(ck["scheduler"])
        st = LoopState(**ck["state"])
        if st.status != "early_stop":
            st.status = "running" if st.step < total else "done"
        if ctx.rank < len(ck["ranks"]):
            mine = ck["ranks"][ctx.rank]
            set_rng_state(mine["rng"])
            loss_sum, loss_n = mine["loss_sum"], mine["loss_n"]
    loss_sum = torch.tensor(loss_sum, dtype=torch.float64, device=ctx.device)

    net = model
    if ctx.world_size > 1:
        net = DistributedDataParallel(model, device_ids=[ctx.device.index] if ctx.device.type == "cuda" else None)
    progress = Progress(total, st.step, ctx.is_main, cfg.progress, on_event, cfg.progress_every_s)
    if ctx.is_main and out:
        out.mkdir(parents=True, exist_ok=True)
        remove_stale_temps(out)
    progress.emit(
        {
            "type": "start",
            "step": st.step,
            "total": total,
            "resumed": resumed,
            "world_size": ctx.world_size,
            "device": str(ctx.device),
        }
    )
    best_state = None  # in-memory copy of the best weights, for restore_best
    t0 = time.monotonic() - st.elapsed_s

    def write_metrics():
        if ctx.is_main and out:
            atomic_write_json(
                clean(
                    {
                        "metric": cfg.metric,
                        "mode": cfg.mode,
                        "best": st.best,
                        "best_step": st.best_step,
                        "status": st.status,
                        "step": st.step,
                        "total_steps": total,
                        "history": st.history,
                        "config": cfg.to_dict(),
                    }
                ),
                out / METRICS,
            )

    signalled: dict = {}
    with stop_on_signals(signalled), contextlib.closing(progress):  # bar closed even on errors
        while st.status == "running":
            idx = order.next_indices()[ctx.rank * local_bs : (ctx.rank + 1) * local_bs]  # (local_bs,)
            batch = to_device(fetch(train_data, idx), ctx.device)
            loss = compute_loss(net, batch, loss_fn)
            opt.zero_grad(set_to_none=True)
            loss.backward()  # under DDP: gradients averaged over ranks = gradient of the global batch
            if cfg.grad_clip:
                torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            opt.step()
            sched.step()
            st.step += 1
            loss_sum += loss.detach()
            loss_n += 1
            progress.tick()
            st.elapsed_s = time.monotonic() - t0

            if progress.due(st.step):  # loss: this rank's mean train loss since the last record
                running = (loss_sum / loss_n).item()
                progress.report(st.step, order.epoch, {"loss": running, "lr": sched.get_last_lr()[0]}, st.elapsed_s)

            if st.step % cfg.eval_every == 0 or st.step == total:
                train = ctx.all_reduce_(torch.stack([loss_sum, loss_sum.new_tensor(loss_n)]))
                record = {
                    "step": st.step,
                    "epoch": order.epoch,
                    "lr": sched.get_last_lr()[0],
                    "train_loss": (train[0] / train[1]).item(),
                }
                if val_data is not None:
                    record.update(evaluate(model, val_data, cfg, ctx, loss_fn))
                if metrics_fn is not None:
                    with torch.no_grad():
                        model.eval()
                        record.update({k: float(v) for k, v in metrics_fn(model, val_data).items()})
                        model.train()
                record["elapsed_s"] = round(st.elapsed_s, 3)
                record = ctx.broadcast(record)  # every rank takes rank 0's decisions
                loss_sum.zero_()
                loss_n = 0
                st.history.append(record)
                progress.emit({"type": "eval", "step": st.step, "metrics": record})
                progress.write(
                    f"step {st.step}: "
                    + ", ".join(f"{k} {v:.4g}" for k, v in record.items() if isinstance(v, float) and k != "elapsed_s")
                )
                if _track_best(record, st, cfg):
                    if ctx.is_main and out:
                        atomic_save(model.state_dict(), out / BEST)
                    if cfg.restore_best:
                        best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
                elif cfg.patience is not None and st.bad_evals >= cfg.patience:
                    st.status = "early_stop"
                    progress.emit(
                        {
                            "type": "early_stop",
                            "step": st.step,
                            "metric": cfg.metric,
                            "best": st.best,
                            "best_step": st.best_step,
                        }
                    )
                write_metrics()

            asked = bool(should_stop and should_stop()) or bool(signalled)
            if ctx.any(asked) and st.status == "running":
                st.status = "cancelled"
                progress.emit({"type": "cancelled", "step": st.step, "reason": signalled.get("signal", "should_stop")})
            if st.status == "running" and st.step >= total:
                st.status = "done"
            periodic = cfg.checkpoint_every and st.step % cfg.checkpoint_every == 0
            if out and (periodic or st.status != "running"):
                ranks = ctx.gather({"rng": rng_state(), "loss_sum": loss_sum.item(), "loss_n": loss_n})
                if ctx.is_main:
                    path = atomic_save(
                        {
                            "version": 1,
                            "model": model.state_dict(),
                            "optimizer": opt.state_dict(),
                            "scheduler": sched.state_dict(),
                            "data": order.state_dict(),
                            "state": asdict(st),
                            "ranks": ranks,
                            "config": cfg.to_dict(),
                        },
                        out / CHECKPOINT,
                    )
                    progress.emit({"type": "checkpoint", "step": st.step, "path": str(path)})

    if cfg.restore_best and st.best_step is not None:
        if best_state is None and out and (out / BEST).exists():
            best_state = load_checkpoint(out / BEST, map_location=ctx.device)
        if best_state is not None:
            model.load_state_dict(best_state)
    write_metrics()
    result = FitResult(
        st.status,
        st.step,
        total,
        order.epoch,
        cfg.metric,
        st.best,
        st.best_step,
        st.history,
        round(st.elapsed_s, 3),
        cfg.out_dir,
        resumed,
    )
    progress.emit({"type": "done", **{k: v for k, v in result.to_dict().items() if k != "history"}})
    return result


def _track_best(record: dict, st: LoopState, cfg: TrainConfig) -> bool:
    """Update best/bad_evals from ``record[cfg.metric]``; True when it improved."""
    value = record.get(cfg.metric)
    if value is None:
        if cfg.patience is not None:
            raise BadInput(
                f"Early stopping watches {cfg.metric!r}, but the eval record only has "
                f"{', '.join(sorted(record))}. Give val_data or a metrics_fn that computes it."
            )
        return False
    sign = 1 if cfg.mode == "min" else -1
    if st.best is None or sign * (st.best - value) > cfg.min_delta:
        st.best, st.best_step, st.bad_evals = value, st.step, 0
        return True
    st.bad_evals += 1
    return False
