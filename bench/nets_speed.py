"""How much does the glass box cost? Our Elman/LSTM/GRU/attention/block vs torch.nn, same weights.

    PYTHONPATH=src python bench/nets_speed.py [--repeats 20] [--json]

Forward + backward on a batch (B=32, T=64, float32, one thread), median of ``repeats`` runs,
each measured against its torch.nn reference in the same run; writes reports/nets_speed.json.
The ratio ours / torch is the price of writing the time loop in Python (the references run
theirs in C++).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch
from torch import nn

from pizarra.nets.attention import causal_mask
from pizarra.nets.convert import block_from_torch, mha_from_torch, rnn_from_torch

B, T, C, H = 32, 64, 32, 128
REPORT = Path(__file__).resolve().parents[1] / "reports" / "nets_speed.json"


def timed(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def fwd_bwd(module, x, call):
    def run():
        module.zero_grad(set_to_none=True)
        call(module, x).sum().backward()

    return run


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=20)
    p.add_argument("--json", action="store_true")
    a = p.parse_args(argv)
    torch.set_num_threads(1)
    torch.manual_seed(0)
    rows = []
    x_seq = torch.randn(B, T, C)
    for kind, ref in (
        ("elman", nn.RNN(C, H, batch_first=True)),
        ("lstm", nn.LSTM(C, H, batch_first=True)),
        ("gru", nn.GRU(C, H, batch_first=True)),
    ):
        ours = rnn_from_torch(ref)
        t_ref = timed(fwd_bwd(ref, x_seq, lambda m, x: m(x)[0]), a.repeats)
        t_ours = timed(fwd_bwd(ours, x_seq, lambda m, x: m(x)[0]), a.repeats)
        rows.append({"name": kind, "torch_ms": t_ref * 1e3, "ours_ms": t_ours * 1e3, "ratio": t_ours / t_ref})
    x = torch.randn(B, T, H)
    mha = nn.MultiheadAttention(H, 4, batch_first=True)
    ours = mha_from_torch(mha)
    mask = causal_mask(T)
    t_ref = timed(fwd_bwd(mha, x, lambda m, x: m(x, x, x, attn_mask=~mask, need_weights=False)[0]), a.repeats)
    t_ours = timed(fwd_bwd(ours, x, lambda m, x: m(x, mask=mask)[0]), a.repeats)
    rows.append({"name": "multihead-causal", "torch_ms": t_ref * 1e3, "ours_ms": t_ours * 1e3, "ratio": t_ours / t_ref})
    layer = nn.TransformerEncoderLayer(H, 4, 4 * H, dropout=0.0, batch_first=True, norm_first=True, activation="gelu")
    block = block_from_torch(layer, causal=True)
    t_ref = timed(fwd_bwd(layer, x, lambda m, x: m(x, src_mask=~mask, is_causal=True)), a.repeats)
    t_ours = timed(fwd_bwd(block, x, lambda m, x: m(x)[0]), a.repeats)
    rows.append({"name": "decoder-block", "torch_ms": t_ref * 1e3, "ours_ms": t_ours * 1e3, "ratio": t_ours / t_ref})
    for r in rows:
        for k in ("torch_ms", "ours_ms", "ratio"):
            r[k] = round(r[k], 2)
    result = {
        "rows": rows,
        "shape": {"B": B, "T": T, "C": C, "H": H},
        "threads": 1,
        "repeats": a.repeats,
        "what": "median forward+backward time, float32",
        "torch": torch.__version__,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(json.dumps(result, indent=2) + "\n")
    if a.json:
        print(json.dumps(result))
    else:
        for r in rows:
            print(
                f"{r['name']:>18}: ours {r['ours_ms']:8.2f} ms   torch {r['torch_ms']:8.2f} ms   ratio {r['ratio']:.2f}"
            )
    return result


if __name__ == "__main__":
    main()
