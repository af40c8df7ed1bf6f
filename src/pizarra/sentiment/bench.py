"""`pizarra bench imdb`: train each model with choices made on validation, score the test split
once, write its row of ``reports/imdb.json`` and (for the shipped models) its artifact.

    run("tfidf-lr")            # ~2-4 min on 2 cores
    run("lstm", limit=400)     # a smoke run on a small balanced subset: no artifact, no report
"""

from __future__ import annotations

import time

import numpy as np

from pizarra.errors import BadInput
from pizarra.sentiment import report
from pizarra.sentiment.examples import SLIDE_REVIEWS, SLIDE_TABLE

BENCH_MODELS = ("tfidf-lr", "nbsvm", "lstm", "transformer", "minilm-lr", "finetune", "llm")
SHIPPED = ("tfidf-lr", "nbsvm", "lstm", "transformer")
LABELS = {
    "tfidf-lr": "TF-IDF (1-3 gramas) + regresión logística",
    "nbsvm": "NBSVM (Wang & Manning 2012)",
    "lstm": "LSTM bidireccional (desde cero)",
    "transformer": "Transformer simple (desde cero)",
    "minilm-lr": "all-MiniLM-L6-v2 congelado + regresión logística",
    "finetune": "all-MiniLM-L6-v2 ajustado (fine-tuned)",
    "llm": "LLM generativo, zero/few-shot",
}


# The GPU rows (e, f): measured by ``python -m pizarra.sentiment.finetune`` on a lent GPU, which writes
# metrics.json (kept as reports/imdb_finetune.json); gpu_rows() turns it into the table's rows, so that no
# number is copied by hand.
GPU_ROWS = ("minilm-lr", "finetune")
GPU_COMMAND = (
    "bash bench/imdb_gpu_1.sh; bash bench/imdb_gpu_2.sh  (python -m pizarra.sentiment.finetune --encoder MINILM_DIR)"
)
GPU_NOTES = {
    "finetune": "the slide's third row is RoBERTa (94.67 %); `python -m pizarra.sentiment.finetune --encoder "
    "ROBERTA_DIR` runs it with the same code (no roberta weights ship in any package here)",
}


def gpu_rows(metrics: dict) -> dict[str, dict]:
    """The rows ``minilm-lr`` and ``finetune`` of reports/imdb.json from finetune's metrics.json."""
    rows = {}
    for name in GPU_ROWS:
        if name in metrics:
            note = {"note": GPU_NOTES[name]} if name in GPU_NOTES else {}
            rows[name] = {**metrics[name], "slide_acc": SLIDE_TABLE.get(name), "command": GPU_COMMAND, **note}
    return rows


def record_gpu_rows(metrics_path, report_file=None, date: str | None = None) -> dict[str, dict]:
    """Write the GPU rows of ``metrics_path`` (finetune's metrics.json) into the report."""
    import json
    from pathlib import Path

    rows = gpu_rows(json.loads(Path(metrics_path).read_text(encoding="utf-8")))
    for name, row in rows.items():
        report.write_row(name, row, report_file, date=date)
    return rows


def _finish(name: str, proba_fn, splits, row: dict, write: bool, log, report_file=None) -> dict:
    """Score the test split once, add confusion matrix and the slide reviews, write the row."""
    test = splits["test"]
    t0 = time.perf_counter()
    p = np.asarray(proba_fn(test.texts))
    pred = (p >= 0.5).astype(int)
    acc = float((pred == test.labels).mean())
    slide = [
        {"id": r["id"], "label": r["label"], "p_pos": round(float(q), 4)}
        for r, q in zip(SLIDE_REVIEWS, proba_fn([r["text"] for r in SLIDE_REVIEWS]), strict=False)
    ]
    row = {
        "label": row.pop("label", None) or LABELS.get(name, name),
        "test_acc": round(100 * acc, 2),
        "n_test": len(test),
        "slide_acc": SLIDE_TABLE.get(name),
        **row,
        "test_s": round(time.perf_counter() - t0, 1),
        "confusion": report.confusion(test.labels, pred),
        "slide_reviews": slide,
    }
    row.setdefault("hardware", report.hardware())
    log(f"{name}: test accuracy {100 * acc:.2f} % on {len(test)} reviews")
    if write:
        report.write_row(name, row, report_file)
    return row


def run(name: str, limit: int | None = None, write: bool | None = None, log=print, report_file=None, **opts) -> dict:
    """Train, choose on val, test once; write the report row and the artifact. ``limit``: a smoke
    run on a small subset (nothing written unless ``write`` says so). ``opts``: the neural models
    take epochs, threads, seed, device ("cpu", "cuda") and glove (an .npz of GloVe vectors)."""
    import functools

    if name not in BENCH_MODELS:
        raise BadInput(
            f"Unknown model {name!r}; choose one of {', '.join(BENCH_MODELS)}.",
            key="err.unknown_model",
            value=name,
            allowed=list(BENCH_MODELS),
        )
    from pizarra.sentiment.data import load_splits

    write = (limit is None) if write is None else write
    splits = load_splits(limit=limit)
    if name in ("tfidf-lr", "nbsvm"):
        from pizarra.sentiment import linear, shipped

        fn = linear.train_tfidf_lr if name == "tfidf-lr" else linear.train_nbsvm
        model, rec = fn(splits, log=log)
        row = {
            "train_s": rec["train_s"],
            "params": int(model.coef.size + 1),
            "val_acc": round(100 * max(g["val_acc"] for g in rec["grid"]), 2),
            "seed": 0,
            "chosen": rec["chosen"],
            "threads": 1,
            "grid": rec["grid"],
        }
        row = _finish(name, model.predict_proba, splits, row, write, log, report_file)
        if write:
            shipped.save_linear(name, model, rec, row)
        return row
    if name in ("lstm", "transformer"):
        from pizarra.sentiment import neural

        return neural.bench(
            name,
            splits,
            limit=limit,
            write=write,
            log=log,
            finish=functools.partial(_finish, report_file=report_file),
            **opts,
        )
    if name == "llm":
        from pizarra.sentiment import generative

        return generative.bench(
            splits, write=write, log=log, finish=functools.partial(_finish, report_file=report_file), **opts
        )
    raise BadInput(
        f"The {name} row needs a GPU: run `python -m pizarra.sentiment.finetune` there "
        f"(see the chapter's README), then `python -m pizarra.sentiment.bench --model {name} --from-metrics "
        "METRICS.json` writes its rows into reports/imdb.json.",
        key="err.sentiment.needs_gpu",
        name=name,
    )


def main(argv=None) -> None:
    """``python -m pizarra.sentiment.bench --model lstm [--limit N]`` (also under torchrun)."""
    import argparse
    import json
    import os

    ap = argparse.ArgumentParser(description="pizarra bench imdb, without the CLI")
    ap.add_argument("--model", required=True, choices=BENCH_MODELS)
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--epochs", type=int, default=None)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--report", default=None, help="write the row here (default: reports/imdb.json)")
    ap.add_argument("--from-metrics", default=None, help="minilm-lr / finetune: the GPU run's metrics.json")
    a = ap.parse_args(argv)
    if a.from_metrics:  # the GPU rows: written from what the run measured, never by hand
        rows = record_gpu_rows(a.from_metrics, a.report)
        print(json.dumps({k: v.get("test_acc") for k, v in rows.items()}))
        return
    opts = {"epochs": a.epochs, "device": a.device} if a.model in ("lstm", "transformer") else {}
    row = run(a.model, limit=a.limit, report_file=a.report, **{k: v for k, v in opts.items() if v is not None})
    if int(os.environ.get("RANK", "0")) == 0:
        print(json.dumps({k: v for k, v in row.items() if k not in ("history", "grid")}, default=str))


if __name__ == "__main__":
    main()
