"""The one place that builds a ``llama_cpp.Llama``: what the installed llama.cpp can do, and the
guard that keeps a build with AMX from crashing the lab.

llama.cpp's AMX kernels (``ggml_backend_amx_mul_mat``) segfault on the first decode on Intel CPUs
with AMX (Sapphire Rapids and later; llama.cpp issue #20824). The Makefile compiles llama.cpp
without AMX; a wheel built elsewhere may still have it, so a build that reports ``AMX_INT8 = 1``
loads every model with ``use_extra_bufts = False`` (no weight repacking into AMX buffers: slower,
but it runs).

    system_info()      llama.cpp's own line: "CPU : SSE3 = 1 | ... | AMX_INT8 = 1 | ..."
    build_has_amx()    does the installed build carry AMX kernels?
    llama(path, **kw)  a Llama with the guard applied (and libgomp's spin count set first)
"""

from __future__ import annotations

import threading
from functools import lru_cache

from pizarra.llm import compute  # noqa: F401 - first: sets libgomp's spin count before llama_cpp loads it

_guard_lock = threading.Lock()
_guarded = False


@lru_cache(maxsize=1)
def system_info() -> str:
    import llama_cpp

    return llama_cpp.llama_print_system_info().decode("utf-8", errors="replace")


def features(info: str | None = None) -> dict[str, bool]:
    """``{"AVX2": True, "AMX_INT8": False, ...}`` from llama.cpp's system info line."""
    out: dict[str, bool] = {}
    for part in (info if info is not None else system_info()).replace("|", "\n").splitlines():
        name, _, value = part.rpartition("=")
        name = name.split(":")[-1].strip()
        if name and value.strip() in ("0", "1"):
            out[name] = value.strip() == "1"
    return out


def build_has_amx(info: str | None = None) -> bool:
    return any(on for name, on in features(info).items() if name.startswith("AMX"))


def _no_repacking() -> None:
    """Make every Llama built from now on in this process load with ``use_extra_bufts = False``.

    ``Llama.__init__`` takes its model parameters from ``llama_model_default_params()`` and has no
    argument for this field, so the default itself is changed (once, for the whole process)."""
    global _guarded
    import llama_cpp.llama_cpp as C

    with _guard_lock:
        if _guarded:
            return
        default = C.llama_model_default_params

        def without_extra_buffers():
            params = default()
            params.use_extra_bufts = False
            return params

        C.llama_model_default_params = without_extra_buffers
        _guarded = True


def guarded() -> bool:
    """Is the AMX guard on in this process (models load without weight repacking)?"""
    return _guarded


def llama(path, **kwargs):
    """``llama_cpp.Llama(model_path=path, verbose=False, **kwargs)``, safe on any x86-64 CPU."""
    from llama_cpp import Llama

    if build_has_amx():
        _no_repacking()
    return Llama(model_path=str(path), verbose=False, **kwargs)
