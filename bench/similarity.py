"""Benchmark: plain sentence-transformers `encode` vs Pizarra's two ONNX Runtime paths.

    baseline  SentenceTransformer.encode (PyTorch)
    exact     fp32 ONNX graph: the same numbers (scores, the lecture's cosines, the page)
    fast      int8 ONNX graph (dynamic quantisation of every linear layer): bulk work (search indexes)

All three encode the distinct sentences of STS-B test (batch 32, 2 threads each), in the same run,
chunk by chunk and rotating which goes first, so that a busy machine slows them alike.
Then: Spearman of each on STS-B test, the lecture's two cosines, the largest cosine difference
against the baseline, and the p50 latency of a single-pair POST /api/similarity/compare
(exact path, distinct pairs, so the LRU cache never answers).

    PIZARRA_DATA=/path/to/data python bench/similarity.py [--threads 2] [--chunk 256] \
        [--out reports/similarity_bench.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--chunk", type=int, default=256)
    ap.add_argument("--latency-requests", type=int, default=60)
    ap.add_argument("--out", default=str(ROOT / "reports" / "similarity_bench.json"))
    args = ap.parse_args(argv)
    os.environ["PIZARRA_THREADS"] = str(args.threads)

    import torch

    torch.set_num_threads(args.threads)
    from pizarra.assets.datasets import load_sts
    from pizarra.similarity.core import LECTURE_CANDIDATES, LECTURE_SOURCE
    from pizarra.similarity.encoders import MiniLMOnnx, MiniLMTorch
    from pizarra.similarity.evaluate import pair_scores, spearman

    pairs = load_sts("stsb_en", "test")
    sentences = sorted({s for a, b, _ in pairs for s in (a, b)})
    random.Random(0).shuffle(sentences)
    encoders = {
        "baseline": MiniLMTorch(),
        "exact": MiniLMOnnx(n_threads=args.threads),
        "fast": MiniLMOnnx(n_threads=args.threads, precision="int8"),
    }
    for enc in encoders.values():  # warm-up
        enc.encode(sentences[:64])

    load_before = os.getloadavg()
    t = {name: 0.0 for name in encoders}
    vec = {name: {} for name in encoders}
    chunks = [sentences[i : i + args.chunk] for i in range(0, len(sentences), args.chunk)]
    order = list(encoders.items())
    for n, chunk in enumerate(chunks):
        for name, enc in order[n % 3 :] + order[: n % 3]:
            t0 = time.perf_counter()
            v = enc.encode(chunk, batch_size=32).vectors
            t[name] += time.perf_counter() - t0
            vec[name].update(zip(chunk, v, strict=False))
        print(f"chunk {n + 1}/{len(chunks)}: " + " ".join(f"{k} {v:.1f}s" for k, v in t.items()), file=sys.stderr)
    load_after = os.getloadavg()

    rho, cos = {}, {}
    for name in t:
        cos[name], gold = pair_scores(lambda s, name=name: np.stack([vec[name][x] for x in s]), pairs)
        rho[name] = spearman(cos[name], gold)
    lecture = {}
    for name, enc in encoders.items():
        v = enc.encode([LECTURE_SOURCE] + LECTURE_CANDIDATES).vectors
        lecture[name] = [round(float(v[0] @ v[i]), 4) for i in (1, 2)]

    # single-pair API latency on the fast path, cache misses only
    from fastapi.testclient import TestClient

    from pizarra.web.app import create_app

    client = TestClient(create_app())
    client.post("/api/similarity/compare", json={"source": "warm up", "candidates": ["warm up twice"]})
    lat, cpu = [], []
    for a, b, _ in pairs[: args.latency_requests]:
        t0, c0 = time.perf_counter(), time.process_time()
        r = client.post("/api/similarity/compare", json={"source": a + " ", "candidates": [b + " ."]})
        lat.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)  # CPU time of this process (all its threads)
        assert r.status_code == 200, r.text

    report = {
        "baseline_sps": round(len(sentences) / t["baseline"], 2),
        "fast_sps": round(len(sentences) / t["fast"], 2),
        "speedup": round(t["baseline"] / t["fast"], 3),
        "spearman_baseline": round(rho["baseline"], 4),
        "spearman_fast": round(rho["fast"], 4),
        "max_abs_cosine_diff": float(np.max(np.abs(np.subtract(cos["baseline"], cos["fast"])))),
        "exact_sps": round(len(sentences) / t["exact"], 2),
        "exact_speedup": round(t["baseline"] / t["exact"], 3),
        "spearman_exact": round(rho["exact"], 4),
        "exact_max_abs_cosine_diff": float(np.max(np.abs(np.subtract(cos["baseline"], cos["exact"])))),
        "lecture_baseline": lecture["baseline"],
        "lecture_exact": lecture["exact"],
        "lecture_fast": lecture["fast"],
        "api_pair_latency_ms": {
            "p50": round(statistics.median(lat), 2),
            "p90": round(float(np.percentile(lat, 90)), 2),
            "n": len(lat),
            "cpu_p50": round(statistics.median(cpu), 2),
        },
        "sentences": len(sentences),
        "batch_size": 32,
        "threads": args.threads,
        "baseline": "sentence-transformers SentenceTransformer.encode (PyTorch, CPU)",
        "exact": "Pizarra MiniLMOnnx fp32: all-MiniLM-L6-v2 as an ONNX graph, ONNX Runtime ORT_ENABLE_ALL, "
        "length-sorted batches (scores, page, API)",
        "fast": "Pizarra MiniLMOnnx int8: the same graph, every linear layer dynamically quantised "
        "(int8 weights per channel) (search indexes)",
        "load_avg_before": [round(x, 2) for x in load_before],
        "load_avg_after": [round(x, 2) for x in load_after],
        "cpu_count": os.cpu_count(),
        "machine": platform.processor() or platform.machine(),
        "versions": {
            m: __import__(m).__version__ for m in ("torch", "onnxruntime", "sentence_transformers", "tokenizers")
        },
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "command": "python bench/similarity.py " + " ".join(argv if argv is not None else sys.argv[1:]),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps(report, indent=1))
    return report


if __name__ == "__main__":
    main()
