"""Progress for people (a tqdm bar on stderr) and for programs (``on_event(dict)``).

Events are JSON-able dicts; the web job runner forwards them as Server-Sent Events:
``{"type": "start", "step", "total", "resumed"}``
``{"type": "progress", "step", "total", "epoch", "metrics": {"loss", "lr"}, "elapsed_s"}``
``{"type": "eval", "step", "metrics": {...}}``
``{"type": "checkpoint", "step", "path"}``
``{"type": "early_stop", "step", "metric", "best", "best_step"}``
``{"type": "cancelled", "step"}``
``{"type": "done", "status", "step", "best", "best_step", "metric", "elapsed_s"}``
"""

from __future__ import annotations

import math
import sys
import time
from typing import Callable

from tqdm.auto import tqdm

Event = dict
OnEvent = Callable[[Event], None]


def clean(value):
    """JSON-safe copy: NaN/inf become None (JSON has no NaN), nested dicts and lists too."""
    if isinstance(value, dict):
        return {k: clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


class Progress:
    """Bar + throttled events; silent on every DDP rank but 0."""

    def __init__(
        self, total: int, step: int, enabled: bool, bar: bool | None, on_event: OnEvent | None, every_s: float
    ):
        self.total, self.enabled, self.on_event, self.every_s = total, enabled, on_event, every_s
        show = sys.stderr.isatty() if bar is None else bar
        self.bar = tqdm(
            total=total,
            initial=step,
            desc="train",
            unit="step",
            file=sys.stderr,
            dynamic_ncols=True,
            disable=not (enabled and show),
            leave=True,
        )
        self._last = -math.inf

    def emit(self, event: Event) -> None:
        if self.enabled and self.on_event is not None:
            self.on_event(clean(event))

    def due(self, step: int) -> bool:
        """A progress event is due at most every ``every_s`` seconds, and at the last step."""
        return self.enabled and (step == self.total or time.monotonic() - self._last >= self.every_s)

    def report(self, step: int, epoch: int, metrics: dict, elapsed_s: float) -> None:
        self._last = time.monotonic()
        self.bar.set_postfix({k: f"{v:.4g}" for k, v in metrics.items() if v is not None}, refresh=False)
        self.emit(
            {
                "type": "progress",
                "step": step,
                "total": self.total,
                "epoch": epoch,
                "metrics": metrics,
                "elapsed_s": round(elapsed_s, 3),
            }
        )

    def tick(self) -> None:
        self.bar.update(1)

    def write(self, text: str) -> None:
        if self.enabled and not self.bar.disable:
            self.bar.write(text, file=sys.stderr)

    def close(self) -> None:
        self.bar.close()
