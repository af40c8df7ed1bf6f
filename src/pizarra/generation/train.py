"""Train the chapter-7 language models on the Spanish corpus and save them as artifacts.

    python -m pizarra.generation.train ngram            # counting, about a minute
    python -m pizarra.generation.train lstm --minutes 12
    python -m pizarra.generation.train gpt --minutes 15

(also ``pizarra lm train NAME``). Data: ``corpus.split_corpus()`` encoded with the BPE cut to
4,096 tokens, documents separated by ``<|endoftext|>``; the token arrays are cached in
``PIZARRA_CACHE``. The neural models use the shared loop (``pizarra.train.fit``) on one thread,
AdamW, cosine schedule; the number of steps is set from a short speed probe so that a run lasts
about ``--minutes``. Validation loss: mean cross-entropy on 256 non-overlapping 128-token chunks
spread over the validation part. Per-word perplexity on the held-out text is added by
``pizarra lm eval`` (see ``evaluate.py``).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time

import numpy as np

from pizarra.generation.neural import ARTIFACTS, CONFIGS, VOCAB_SIZE

VAL_CHUNKS, VAL_BLOCK = 256, 128
TRAIN = {
    "lstm": {"lr": 5e-3, "batch_size": 32, "block_size": 64},
    "gpt": {"lr": 3e-3, "batch_size": 32, "block_size": 128},
}


def tokens(data=None) -> tuple[np.ndarray, np.ndarray]:
    """(train ids, validation ids) as int32 arrays, documents joined by <|endoftext|> (cached)."""
    from pizarra.config import cache_dir
    from pizarra.generation.corpus import split_corpus
    from pizarra.text.bpe import load_bpe

    path = cache_dir() / "generation" / f"tokens-v{VOCAB_SIZE}.npz"
    if path.is_file():
        z = np.load(path)
        return z["train"], z["val"]
    tok = load_bpe(VOCAB_SIZE)
    eot = tok.token_to_id("<|endoftext|>")
    out = []
    for texts in split_corpus(data):
        ids = [eot]
        for enc in tok.encode_batch(texts):
            ids.extend(enc.ids)
            ids.append(eot)
        out.append(np.asarray(ids, dtype=np.int32))
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, train=out[0], val=out[1])
    return out[0], out[1]


def val_chunks(val: np.ndarray, n: int = VAL_CHUNKS, T: int = VAL_BLOCK):
    """(X, Y) (n, T): n non-overlapping chunks spread evenly over the validation tokens."""
    import torch

    starts = np.linspace(0, len(val) - T - 2, n).astype(np.int64)
    X = np.stack([val[s : s + T] for s in starts]).astype(np.int64)
    Y = np.stack([val[s + 1 : s + T + 1] for s in starts]).astype(np.int64)
    return torch.from_numpy(X), torch.from_numpy(Y)


def train_ngram(min_count: int = 2, data=None, save: bool = True) -> dict:
    from pizarra.generation.corpus import describe
    from pizarra.generation.ngram import KneserNeyTrigram

    train, val = tokens(data)
    t0 = time.perf_counter()
    model = KneserNeyTrigram.fit(train, VOCAB_SIZE, min_count=min_count)
    secs = time.perf_counter() - t0
    X, Y = val_chunks(val)
    nll = [
        -math.log(model.probs(x[: i + 1].tolist())[y[i]])
        for x, y in zip(X.numpy()[:32], Y.numpy()[:32], strict=False)
        for i in range(len(x))
    ]
    metrics = {
        "val_loss_nats": round(float(np.mean(nll)), 4),
        "val_tokens_scored": len(nll),
        "train_seconds": round(secs, 1),
        "trigrams": int(len(model.keys3)),
        "bigrams": int(len(model.keys2)),
        "d3": round(model.d3, 4),
        "d2": round(model.d2, 4),
        "train_tokens": int(len(train)),
    }
    if save:
        import io

        from pizarra.assets.artifacts import save_artifact

        buf = io.BytesIO()
        np.savez_compressed(buf, **model.arrays())
        save_artifact(
            ARTIFACTS["ngram"],
            files={"ngram.npz": buf.getvalue()},
            config={
                "model": {
                    "kind": "ngram",
                    "order": 3,
                    "smoothing": "interpolated Kneser-Ney",
                    "vocab_size": VOCAB_SIZE,
                    "min_count": min_count,
                },
                "tokenizer": f"bpe-es cut to {VOCAB_SIZE} tokens",
            },
            data=describe(data),
            metrics=metrics,
            command=f"pizarra lm train ngram --min-count {min_count}",
        )
    return metrics


def make_model(name: str, seed: int = 1337):
    import torch

    from pizarra.generation.neural import build

    torch.manual_seed(seed)
    return build(CONFIGS[name])


def steps_per_second(model, windows, batch_size: int, n: int = 5) -> float:
    """A short probe: how many optimiser steps a second this machine does now."""
    import copy

    import torch

    probe = copy.deepcopy(model)  # the probe's steps must not touch the model that trains
    opt = torch.optim.AdamW(probe.parameters(), lr=1e-4)
    idx = torch.arange(batch_size)
    x, y = windows.get_batch(idx)
    t0 = None
    for i in range(n + 1):
        if i == 1:
            t0 = time.perf_counter()
        _, loss = probe(x, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return n / (time.perf_counter() - t0)


def train_neural(
    name: str,
    minutes: float = 12.0,
    max_steps: int | None = None,
    data=None,
    save: bool = True,
    seed: int = 1337,
    progress: bool | None = None,
    deadline_minutes: float | None = None,
    threads: int = 1,
    on_event=None,
    should_stop=None,
    root=None,
) -> dict:
    """Train ``name`` (lstm | gpt) for ``max_steps`` (or about ``minutes``), measure the stored
    float16 weights, save the artifact ``gen-<name>`` (in ``root``, default ``artifacts/``).

    ``on_event``/``should_stop``: the training loop's events and cancel question (a background job's);
    a run that ``should_stop`` ends returns ``{"status": "cancelled", ...}`` at once and saves nothing.
    """
    import torch

    from pizarra.generation.corpus import describe
    from pizarra.generation.neural import to_storage
    from pizarra.train import TokenWindows, TrainConfig, evaluate, fit
    from pizarra.train.distributed import setup

    torch.set_num_threads(max(1, int(threads)))
    hp = TRAIN[name]
    # Read the corpus description for the card now: the tokens may come from the cache, and a run
    # without the data set must fail here, not after an hour of training, with its weights unsaved.
    described = describe(data) if save else None
    train, val = tokens(data)
    windows = TokenWindows(torch.from_numpy(train.astype(np.int64)), hp["block_size"])
    X, Y = val_chunks(val)
    model = make_model(name, seed)
    if max_steps is None:
        sps = steps_per_second(model, windows, hp["batch_size"])
        max_steps = max(50, int(minutes * 60 * sps * 0.9))
    cfg = TrainConfig(
        max_steps=max_steps,
        batch_size=hp["batch_size"],
        lr=hp["lr"],
        weight_decay=0.01,
        schedule="cosine",
        warmup_steps=min(200, max_steps // 10),
        eval_every=max(50, max_steps // 10),
        eval_batches=4,
        checkpoint_every=None,
        seed=seed,
        device="cpu",
        progress=progress,
    )
    t0 = time.perf_counter()
    deadline = t0 + 60 * (deadline_minutes or 1e9)  # a busy machine must not stretch a run for ever
    result = fit(
        model,
        windows,
        (X, Y),
        cfg,
        on_event=on_event,
        should_stop=lambda: time.perf_counter() > deadline or bool(should_stop and should_stop()),
    )
    secs = time.perf_counter() - t0
    if should_stop is not None and result.status == "cancelled" and time.perf_counter() <= deadline:
        return {"status": "cancelled", "steps": result.step, "history": result.history}
    # the stored weights are float16: measure those
    stored = to_storage(model)
    from pizarra.generation.neural import from_storage

    model = from_storage(CONFIGS[name], stored)
    ctx = setup("cpu")
    try:
        val_loss = evaluate(model, (X, Y), TrainConfig(batch_size=32, device="cpu"), ctx)["val_loss"]
    finally:
        ctx.close()
    n_params = sum(p.numel() for p in model.parameters())
    metrics = {
        "val_loss_nats": round(val_loss, 4),
        "val_tokens_scored": int(X.numel()),
        "params": n_params,
        "steps": result.step,
        "status": result.status,
        "train_seconds": round(secs, 1),
        "train_tokens_seen": result.step * hp["batch_size"] * hp["block_size"],
        "tokens_per_second": round(result.step * hp["batch_size"] * hp["block_size"] / secs, 1),
        "threads": torch.get_num_threads(),
        "history": result.history,
    }
    if save:
        from pizarra.assets.artifacts import save_artifact

        save_artifact(
            ARTIFACTS[name],
            stored,
            config={
                "model": CONFIGS[name],
                "tokenizer": f"bpe-es cut to {VOCAB_SIZE} tokens",
                "train": cfg.to_dict(),
                "block_size": hp["block_size"],
                "weights_dtype": "float16",
            },
            data=described,
            metrics=metrics,
            command=f"pizarra lm train {name} --steps {max_steps}"
            + (f" --deadline {deadline_minutes:g}" if deadline_minutes else "")
            + (f" --threads {torch.get_num_threads()}" if torch.get_num_threads() != 1 else ""),
            root=root,
        )
    return metrics


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description="Train a chapter-7 language model on the Spanish corpus.")
    p.add_argument("model", choices=["ngram", "lstm", "gpt"])
    p.add_argument("--minutes", type=float, default=12.0, help="target wall time (neural models)")
    p.add_argument("--steps", type=int, default=None, help="exact number of steps (overrides --minutes)")
    p.add_argument("--deadline", type=float, default=None, help="stop (and save) after this many minutes anyway")
    p.add_argument("--min-count", type=int, default=2, help="n-gram: drop trigrams seen fewer times")
    p.add_argument("--threads", type=int, default=1, help="torch threads (neural models)")
    p.add_argument("--no-save", action="store_true")
    a = p.parse_args(argv)
    if a.model == "ngram":
        out = train_ngram(a.min_count, save=not a.no_save)
    else:
        out = train_neural(
            a.model,
            a.minutes,
            a.steps,
            save=not a.no_save,
            deadline_minutes=a.deadline,
            progress=True,
            threads=a.threads,
        )
    print(json.dumps({k: v for k, v in out.items() if k != "history"}))
    return out


if __name__ == "__main__":
    main(sys.argv[1:])
