"""Job kinds that ship with Pizarra.

``demo.count`` counts to N, one step every ``delay_s`` seconds: the smallest job that shows
progress, cancel and failure (``fail_at``) on a page, and the one the tests run.
``demo.train`` trains the two-spirals MLP of ``pizarra.train.demo`` (seconds on a CPU) and
forwards the training loop's events (``start``, ``progress``, ``eval``, ``done``…).
"""

from __future__ import annotations

import time
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from pizarra.errors import BadInput
from pizarra.jobs.registry import register_job


class CountParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    n: int = Field(10, ge=1, le=10_000, description="Count up to this number.")
    delay_s: float = Field(0.5, ge=0.0, le=10.0, description="Seconds between two steps.")
    fail_at: int | None = Field(None, ge=1, le=10_000, description="Fail on purpose at this step (to see an error).")


def count(params: CountParams, emit, should_stop) -> dict:
    """Count from 1 to n, one step every delay_s seconds, emitting progress after each step."""
    for step in range(1, params.n + 1):
        if _sleep(params.delay_s, should_stop):
            return {"count": step - 1, "stopped": True}
        if params.fail_at == step:
            raise BadInput(
                f"Failed on purpose at step {step} (fail_at={params.fail_at}).",
                key="err.jobs.failed_on_purpose",
                step=step,
            )
        emit({"type": "progress", "step": step, "total": params.n, "message": f"{step}/{params.n}"})
    return {"count": params.n}


def _sleep(seconds: float, should_stop) -> bool:
    """Sleep in short slices so a cancel is noticed quickly; True if asked to stop."""
    deadline = time.monotonic() + seconds
    while True:
        if should_stop():
            return True
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        time.sleep(min(left, 0.05))


register_job("demo.count", count, CountParams, title="Count to N (demo)")


class TrainParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    steps: int = Field(300, ge=1, le=5_000, description="Training steps.")
    lr: float = Field(1e-2, gt=0.0, le=1.0, description="Learning rate (AdamW).")
    batch_size: int = Field(32, ge=1, le=512)
    seed: int = Field(0, ge=0, le=2**31 - 1)
    eval_every: int = Field(25, ge=1, le=5_000, description="Evaluate every this many steps.")
    step_delay: float = Field(0.0, ge=0.0, le=1.0, description="Seconds to wait after each step (to watch it).")


def train_spirals(params: TrainParams, emit, should_stop) -> dict:
    """Train a small MLP to separate two spirals with Pizarra's training loop (in memory)."""
    from pizarra.train.demo import run  # torch is imported in the worker only

    _, result = run(
        out_dir=None,
        steps=params.steps,
        batch_size=params.batch_size,
        lr=params.lr,
        seed=params.seed,
        eval_every=params.eval_every,
        checkpoint_every=params.steps,
        step_delay=params.step_delay,
        progress=False,
        on_event=emit,
        should_stop=should_stop,
    )
    return result.to_dict()


if (Path(__file__).parents[1] / "train" / "demo.py").is_file():  # without importing torch here
    register_job("demo.train", train_spirals, TrainParams, title="Train a tiny model (two spirals)")
