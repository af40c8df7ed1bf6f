"""What a teacher runs when something is wrong: ``pizarra doctor [--json] [--lang es|en]``.

Each check says what it found and, when it fails, what to do (in Spanish or English):

    cpu         the processor and the features llama.cpp cares about (AVX2, AVX-512, VNNI, AMX)
    llama.cpp   the installed build's features; AMX on is a warning (guarded, slower), see pizarra.llm.native
    model:NAME  each GGUF model loaded in its worker process, and a few tokens from it
    onnx        the fast MiniLM path (ONNX Runtime) equal to PyTorch on the lecture's pair
    sandbox     kernel-level isolation for code written by a model (bubblewrap)
    data        the data folder (PIZARRA_DATA): only training and evaluation need it
    cache       Pizarra's own folder: writable, free space
    chromium    headless Chromium for the browser tests (not needed to use the lab)

``run(lang)`` returns ``{"ok", "checks": [{"name", "status": "ok"|"warn"|"fail", "detail", "fix"}]}``;
``ok`` is false when any check failed (warnings do not count).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any, Callable

OK, WARN, FAIL = "ok", "warn", "fail"

FIXES = {
    "llama_amx": {
        "es": "Esta compilación de llama.cpp trae AMX: Pizarra la usa sin reempaquetar pesos (más lenta). "
        "Reinstala con `make clean install`, que compila llama.cpp sin AMX.",
        "en": "This llama.cpp build has AMX: Pizarra runs it without weight repacking (slower). "
        "Reinstall with `make clean install`, which compiles llama.cpp without AMX.",
    },
    "llama_missing": {
        "es": "Falta llama-cpp-python: ejecuta `make install`.",
        "en": "llama-cpp-python is missing: run `make install`.",
    },
    "model": {
        "es": "El modelo no carga o no genera: ejecuta `pizarra models check` y `make install`; "
        "si dice 'checksum', borra la caché de Pizarra y vuelve a instalar.",
        "en": "The model does not load or generate: run `pizarra models check` and `make install`; "
        "on a checksum error delete Pizarra's cache and install again.",
    },
    "onnx": {
        "es": "El camino ONNX de MiniLM no coincide con PyTorch: borra la carpeta similarity/ de la caché "
        "de Pizarra (se reconstruye sola).",
        "en": "The ONNX MiniLM path differs from PyTorch: delete the similarity/ folder of Pizarra's "
        "cache (it is rebuilt on its own).",
    },
    "sandbox": {
        "es": "Sin aislamiento no se ejecuta código generado: instala bubblewrap "
        "(`sudo apt-get install bubblewrap`) y permite los espacios de nombres de usuario.",
        "en": "Without isolation no generated code runs: install bubblewrap "
        "(`sudo apt-get install bubblewrap`) and allow user namespaces.",
    },
    "data": {
        "es": "Solo hace falta para entrenar y evaluar: apunta PIZARRA_DATA a la carpeta de datos.",
        "en": "Only training and evaluation need it: point PIZARRA_DATA at the data folder.",
    },
    "cache": {
        "es": "Pizarra necesita escribir en su caché: da permisos o usa PIZARRA_CACHE=/otra/carpeta.",
        "en": "Pizarra must write to its cache: fix its permissions or set PIZARRA_CACHE=/another/folder.",
    },
    "chromium": {
        "es": "Solo para las pruebas del navegador: `sudo apt-get install chromium chromium-driver`.",
        "en": "Only for the browser tests: `sudo apt-get install chromium chromium-driver`.",
    },
}

CPU_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_tile", "amx_int8")


def _check(name: str, status: str, detail: str, fix: str | None = None, lang: str = "es", **extra) -> dict:
    return {
        "name": name,
        "status": status,
        "detail": detail,
        "fix": FIXES[fix][lang] if fix and status != OK else None,
        **extra,
    }


def cpu(lang: str) -> list[dict]:
    model, flags = "?", set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name") and model == "?":
                model = line.split(":", 1)[1].strip()
            elif line.startswith("flags") and not flags:
                flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    have = {f: f in flags for f in CPU_FLAGS}
    detail = f"{model}, {os.cpu_count()} cores; " + ", ".join(f for f, on in have.items() if on)
    return [_check("cpu", OK, detail, lang=lang, flags=have)]


def llama(lang: str) -> list[dict]:
    try:
        from pizarra.llm import native

        info = native.system_info()
    except Exception as e:  # noqa: BLE001 - reported
        return [_check("llama.cpp", FAIL, f"{type(e).__name__}: {e}", "llama_missing", lang)]
    amx = native.build_has_amx(info)
    return [
        _check(
            "llama.cpp",
            WARN if amx else OK,
            ("AMX on (guarded). " if amx else "no AMX. ") + info.strip(),
            "llama_amx",
            lang,
            features=native.features(info),
        )
    ]


def gguf_models(lang: str) -> list[dict]:
    from pizarra.llm import runtime

    out = []
    for name in runtime.LLM_NAMES:
        try:
            r = runtime.smoke(name)
            out.append(
                _check(
                    f"model:{name}",
                    OK if r["n_tokens"] > 0 else FAIL,
                    f"{r['result']!r} (load {r['load_s']:.1f} s, {r['n_tokens']} tokens in {r['run_s']:.2f} s, "
                    f"worker pid {runtime.worker(name).pid})",
                    "model",
                    lang,
                )
            )
        except Exception as e:  # noqa: BLE001 - reported
            out.append(_check(f"model:{name}", FAIL, f"{type(e).__name__}: {e}", "model", lang))
    return out


def onnx(lang: str) -> list[dict]:
    import numpy as np

    from pizarra.similarity.core import LECTURE_CANDIDATES, LECTURE_SOURCE
    from pizarra.similarity.encoders import MiniLMOnnx, MiniLMTorch

    texts = [LECTURE_SOURCE, *LECTURE_CANDIDATES]
    try:
        fast, ref = MiniLMOnnx().encode(texts).vectors, MiniLMTorch().encode(texts).vectors
    except Exception as e:  # noqa: BLE001 - reported
        return [_check("onnx", FAIL, f"{type(e).__name__}: {e}", "onnx", lang)]
    cos_fast, cos_ref = fast[0] @ fast[1:].T, ref[0] @ ref[1:].T
    diff = float(np.abs(cos_fast - cos_ref).max())
    detail = (
        f"cos ONNX {[round(float(c), 3) for c in cos_fast]} · PyTorch {[round(float(c), 3) for c in cos_ref]} "
        f"(max diff {diff:.1e})"
    )
    return [_check("onnx", OK if diff < 1e-3 else FAIL, detail, "onnx", lang)]


def sandbox(lang: str) -> list[dict]:
    try:
        from pizarra.chat import sandbox as sb

        status = sb.isolation_status()
    except Exception as e:  # noqa: BLE001 - reported
        return [_check("sandbox", FAIL, f"{type(e).__name__}: {e}", "sandbox", lang)]
    detail = f"{status.get('tool')} {status.get('version') or ''}".strip()
    if not status.get("available"):
        detail += f": {status.get('reason')}"
    return [_check("sandbox", OK if status.get("available") else FAIL, detail, "sandbox", lang)]


def data(lang: str) -> list[dict]:
    from pizarra.config import data_dir

    folder = data_dir()
    if folder is None:
        return [_check("data", WARN, "PIZARRA_DATA not set", "data", lang)]
    if not folder.is_dir():
        return [_check("data", FAIL, f"{folder} does not exist", "data", lang)]
    return [_check("data", OK, f"{folder} ({len(list(folder.iterdir()))} entries)", "data", lang)]


def cache(lang: str) -> list[dict]:
    from pizarra.config import cache_dir

    try:
        folder = cache_dir()
        probe = folder / ".doctor-write-test"
        probe.write_text("ok")
        probe.unlink()
    except OSError as e:
        return [_check("cache", FAIL, str(e), "cache", lang)]
    free_gb = shutil.disk_usage(folder).free / 1e9
    return [_check("cache", OK if free_gb > 1 else WARN, f"{folder} (writable, {free_gb:.1f} GB free)", "cache", lang)]


def chromium(lang: str) -> list[dict]:
    path = os.environ.get("PIZARRA_CHROMIUM", "/usr/bin/chromium")
    found = Path(path).is_file() or shutil.which("chromium")
    return [_check("chromium", OK if found else WARN, path if found else "not found", "chromium", lang)]


CHECKS: tuple[Callable[[str], list[dict]], ...] = (cpu, llama, gguf_models, onnx, sandbox, data, cache, chromium)


def run(lang: str = "es", checks=CHECKS) -> dict[str, Any]:
    results = []
    for check in checks:
        try:
            results += check(lang)
        except Exception as e:  # noqa: BLE001 - one broken check must not hide the others
            results.append({"name": check.__name__, "status": FAIL, "detail": f"{type(e).__name__}: {e}", "fix": None})
    return {"ok": all(r["status"] != FAIL for r in results), "checks": results}
