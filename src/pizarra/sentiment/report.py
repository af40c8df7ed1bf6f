"""reports/imdb.json: one row per model, written by `pizarra bench imdb` (rows merge, newest wins)."""

from __future__ import annotations

import json
import os
import platform
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from pizarra.config import reports_dir

REPORT = "imdb.json"


def report_path(path: str | Path | None = None) -> Path:
    return Path(path) if path else reports_dir() / REPORT


def hardware() -> str:
    """This machine's CPU, cores and load, in words (timings here are taken on a shared machine)."""
    name = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return f"{name}, {os.cpu_count()} cores (load average {load:.1f} at the end)"


def confusion(labels: np.ndarray, pred: np.ndarray) -> list[list[int]]:
    """[[true neg, false pos], [false neg, true pos]] (rows: truth, columns: prediction)."""
    return [[int(((labels == t) & (pred == p)).sum()) for p in (0, 1)] for t in (0, 1)]


def read_report(path=None) -> dict:
    p = report_path(path)
    if p.is_file():
        return json.loads(p.read_text(encoding="utf-8"))
    return {
        "dataset": "IMDB (Maas et al. 2011), official 25k train / 25k test; validation = 2,500 "
        "reviews carved from train (seed 0)",
        "slide": "Gallego & Ríos Insua (2022)",
        "models": {},
    }


def write_row(name: str, row: dict, path=None, date: str | None = None) -> dict:
    """Put ``row`` under ``models[name]`` in the report (atomically) and return the report.
    ``date``: when it was measured (default: now)."""
    p = report_path(path)
    rep = read_report(p)
    row = {**row, "date": date or datetime.now(timezone.utc).isoformat(timespec="seconds")}
    rep.setdefault("models", {})[name] = row
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_suffix(".tmp")
    tmp.write_text(json.dumps(rep, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, p)
    return rep
