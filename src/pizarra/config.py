"""Where Pizarra reads data and writes caches. Everything is configurable by environment.

- ``PIZARRA_DATA``: folder of data sets (see ``pizarra.assets.datasets``). Only training,
  evaluation and benchmark commands need it; the lab runs without it.
- ``PIZARRA_CACHE``: Pizarra's own writable folder (assembled GGUF files, checksum memo,
  job database, indexes). Default ``~/.cache/pizarra``. Never beside the data: the data
  folder may be read-only.
- ``PIZARRA_ARTIFACTS``: folder of shipped artifacts. Default ``artifacts/`` at the repo root, or,
  installed without the repository (``pip install .``), the copy inside the package.
- ``PIZARRA_REPORTS``: folder of measured reports (``reports/``), found the same way.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
SHIPPED = Path(__file__).resolve().parent / "_shipped"  # artifacts/ and reports/ copied in by setup.py


def in_repository() -> bool:
    """Running from a checkout (an editable install, the tests), not from an installed wheel."""
    return (REPO_ROOT / "pyproject.toml").is_file()


def _shipped(env: str, name: str) -> Path:
    value = os.environ.get(env, "").strip()
    if value:
        return Path(value).expanduser().resolve()
    return REPO_ROOT / name if in_repository() else SHIPPED / name


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
    """The shipped (and user-trained) models: ``$PIZARRA_ARTIFACTS``, else ``artifacts/``."""
    return _shipped("PIZARRA_ARTIFACTS", "artifacts")


def reports_dir() -> Path:
    """The measured reports the pages show: ``$PIZARRA_REPORTS``, else ``reports/``."""
    return _shipped("PIZARRA_REPORTS", "reports")


def threads() -> int:
    """Threads for model inference (ONNX Runtime, llama.cpp): ``PIZARRA_THREADS`` or all cores."""
    value = os.environ.get("PIZARRA_THREADS", "").strip()
    return max(1, int(value)) if value.isdigit() else max(1, os.cpu_count() or 1)
