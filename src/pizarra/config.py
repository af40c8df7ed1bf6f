"""Where Pizarra reads data and writes caches. Everything is configurable by environment.

- ``PIZARRA_DATA``: folder of data sets (see ``pizarra.assets.datasets``). Only training,
  evaluation and benchmark commands need it; the lab runs without it.
- ``PIZARRA_CACHE``: Pizarra's own writable folder (assembled GGUF files, checksum memo,
  job database, indexes). Default ``~/.cache/pizarra``. Never beside the data: the data
  folder may be read-only.
- ``PIZARRA_ARTIFACTS``: folder of shipped artifacts. Default ``artifacts/`` at the repo root.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def data_dir() -> Path | None:
    """The data folder from ``PIZARRA_DATA``, or None when it is not set."""
    value = os.environ.get("PIZARRA_DATA", "").strip()
    return Path(value).expanduser().resolve() if value else None


def cache_dir() -> Path:
    value = os.environ.get("PIZARRA_CACHE", "").strip()
    path = Path(value).expanduser() if value else Path.home() / ".cache" / "pizarra"
    path.mkdir(parents=True, exist_ok=True)
    return path.resolve()


def artifacts_dir() -> Path:
    value = os.environ.get("PIZARRA_ARTIFACTS", "").strip()
    return Path(value).expanduser().resolve() if value else REPO_ROOT / "artifacts"


def threads() -> int:
    """Threads for model inference (ONNX Runtime, llama.cpp): ``PIZARRA_THREADS`` or all cores."""
    value = os.environ.get("PIZARRA_THREADS", "").strip()
    return max(1, int(value)) if value.isdigit() else max(1, os.cpu_count() or 1)
