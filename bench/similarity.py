"""Benchmark: plain sentence-transformers `encode` vs Pizarra's fast path (ONNX Runtime, fp32).

Both encode the distinct sentences of STS-B test (batch 32, 2 threads each), in the same run,
chunk by chunk and alternating which goes first, so that a busy machine slows both alike.
Then: Spearman of each on STS-B test, the lecture's two cosines, the largest cosine difference
between the two paths, and the p50 latency of a single-pair POST /api/similarity/compare
(distinct pairs, so the LRU cache never answers).

    PIZARRA_DATA=/path/to/data python bench/similarity.py [--threads 2] [--chunk 256] [--out reports/similarity_bench.json]
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
    base, fast = MiniLMTorch(), MiniLMOnnx(n_threads=args.threads)
    for enc in (base, fast):  # warm-up
        enc.encode(sentences[:64])

    load_before = os.getloadavg()
    t = {"baseline": 0.0, "fast": 0.0}
    vec = {"baseline": {}, "fast": {}}
    chunks = [sentences[i:i + args.chunk] for i in range(0, len(sentences), args.chunk)]
    for n, chunk in enumerate(chunks):
        order = [("baseline", base), ("fast", fast)]
        for name, enc in (order if n % 2 == 0 else order[::-1]):
            t0 = time.perf_counter()
            v = enc.encode(chunk, batch_size=32).vectors
            t[name] += time.perf_counter() - t0
            vec[name].update(zip(chunk, v))
        print(f"chunk {n + 1}/{len(chunks)}: baseline {t['baseline']:.1f}s fast {t['fast']:.1f}s", file=sys.stderr)
    load_after = os.getloadavg()

    rho, cos = {}, {}
    for name in t:
        cos[name], gold = pair_scores(lambda s, name=name: np.stack([vec[name][x] for x in s]), pairs)
        rho[name] = spearman(cos[name], gold)
    lecture = {}
    for name, enc in (("baseline", base), ("fast", fast)):
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
        "lecture_baseline": lecture["baseline"],
        "lecture_fast": lecture["fast"],
        "api_pair_latency_ms": {"p50": round(statistics.median(lat), 2),
                                "p90": round(float(np.percentile(lat, 90)), 2), "n": len(lat),
                                "cpu_p50": round(statistics.median(cpu), 2)},
        "sentences": len(sentences),
        "batch_size": 32,
        "threads": args.threads,
        "baseline": "sentence-transformers SentenceTransformer.encode (PyTorch, CPU)",
        "fast": "Pizarra MiniLMOnnx: all-MiniLM-L6-v2 as an fp32 ONNX graph, ONNX Runtime ORT_ENABLE_ALL, length-sorted batches",
        "load_avg_before": [round(x, 2) for x in load_before],
        "load_avg_after": [round(x, 2) for x in load_after],
        "cpu_count": os.cpu_count(),
        "machine": platform.processor() or platform.machine(),
        "versions": {m: __import__(m).__version__ for m in ("torch", "onnxruntime", "sentence_transformers", "tokenizers")},
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "command": "python bench/similarity.py " + " ".join(argv if argv is not None else sys.argv[1:]),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps(report, indent=1))
    return report


if __name__ == "__main__":
    main()
