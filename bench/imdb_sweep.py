"""A recipe sweep for the from-scratch IMDB models, judged on the validation split only (the test
split is never read here): which dropout, length, width and schedule to ship in ``RECIPES``.

    python bench/imdb_sweep.py --model transformer --device cuda --glove G.npz --only 0,4,8 --out rows.jsonl
    python bench/imdb_sweep.py --list

Each line of ``--out`` is one run: its overrides, best validation accuracy, step and time. The
grid is small and explicit (below); the runs for reports/imdb_sweep.json were made on the lent GPU
machine (several processes at once), then the chosen recipe was trained and timed on the 2-core CPU.
"""

from __future__ import annotations

import argparse
import json
import time

REG = dict(block_dropout=0.1, word_dropout=0.1)
ONE = {**REG, "max_len": 480, "n_layers": 1}
GRID = {
    "transformer": [
        ({}, {}),
        (dict(block_dropout=0.1), {}),
        (dict(word_dropout=0.1), {}),
        (REG, {}),
        ({**REG, "max_len": 400}, {}),
        ({**REG, "max_len": 480}, {}),
        ({**REG, "max_len": 480, "n_layers": 1}, {}),
        ({**REG, "n_layers": 1}, {}),
        ({**REG, "d_model": 96}, {}),
        ({**REG, "n_heads": 4}, {}),
        (REG, dict(lr=5e-4)),
        (REG, dict(weight_decay=0.1)),
        (REG, dict(epochs=3)),
        ({**REG, "emb_dropout": 0.4, "word_dropout": 0.2}, {}),
        ({**REG, "word_dropout": 0.2}, {}),
        ({**REG, "dropout": 0.5}, {}),
        ({**REG, "max_len": 400, "word_dropout": 0.2}, dict(epochs=4)),
        ({**REG, "vocab_size": 20000}, {}),
        ({**REG, "block_dropout": 0.2}, {}),
        ({**REG, "max_len": 480, "word_dropout": 0.2, "emb_dropout": 0.4}, dict(epochs=4)),
        # round 2: one layer over longer reviews (the best of round 1 per unit of CPU time)
        (ONE, {}),
        ({**ONE, "max_len": 512}, {}),
        (ONE, dict(lr=2e-3)),
        (ONE, dict(epochs=6)),
        ({**ONE, "max_len": 640}, {}),
        ({**ONE, "d_model": 96}, {}),
        ({**ONE, "word_dropout": 0.15}, {}),
        ({**REG, "max_len": 480}, {}),
        # round 3: no dropout on the attention weights (it makes a CPU step 3x slower), and none at
        # all inside the block (1.55x): which regularisation pays for its CPU time
        ({**ONE, "word_dropout": 0.15, "attn_dropout": 0.0}, {}),
        ({**ONE, "word_dropout": 0.15, "block_dropout": 0.0}, {}),
        ({**ONE, "word_dropout": 0.25, "block_dropout": 0.0}, {}),
        ({**ONE, "word_dropout": 0.15, "attn_dropout": 0.0}, dict(epochs=4)),
    ],
    "lstm": [
        ({}, {}),
        (dict(word_dropout=0.1), {}),
        (dict(max_len=400), {}),
    ],
}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="transformer", choices=sorted(GRID))
    ap.add_argument("--only", default=None, help="comma-separated grid indices (default: all)")
    ap.add_argument("--seeds", default="1337")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--glove", default=None)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--out", default="imdb_sweep.jsonl")
    ap.add_argument("--list", action="store_true")
    a = ap.parse_args(argv)
    grid = GRID[a.model]
    if a.list:
        for i, g in enumerate(grid):
            print(i, json.dumps(g))
        return
    from pizarra.sentiment.data import load_splits
    from pizarra.sentiment.neural import train

    splits = load_splits(with_test=False)  # the sweep never sees the test split
    idx = range(len(grid)) if a.only is None else [int(i) for i in a.only.split(",")]
    for i in idx:
        mo, ro = grid[i]
        for seed in (int(s) for s in a.seeds.split(",")):
            t0 = time.perf_counter()
            _, _, _, row = train(
                a.model,
                splits,
                log=lambda *_: None,
                seed=seed,
                device=a.device,
                glove=a.glove,
                threads=a.threads,
                model_overrides=mo,
                recipe_overrides=ro,
            )
            out = {
                "model": a.model,
                "i": i,
                "model_overrides": mo,
                "recipe_overrides": ro,
                "seed": seed,
                "val_acc": row["val_acc"],
                "best_step": row["best_step"],
                "steps": row["steps"],
                "train_s": round(time.perf_counter() - t0, 1),
                "hardware": row.get("hardware", "cpu"),
                "curve": [round(100 * h["val_acc"], 2) for h in row["history"]],
            }
            print(json.dumps(out), flush=True)
            with open(a.out, "a") as f:
                f.write(json.dumps(out) + "\n")


if __name__ == "__main__":
    main()
