"""Row f of the table: a Hugging Face encoder fine-tuned end to end on IMDB (needs a GPU for the
full run), and row e: the same encoder frozen, its mean-pooled embeddings + logistic regression.

    python -m pizarra.sentiment.finetune --encoder PATH --out runs/ft                 # GPU: ~2-3 min
    python -m pizarra.sentiment.finetune --encoder PATH --device cpu --limit 64 --out /tmp/ft  # smoke

Recipe (MODELS.md's reference run): mean pooling + linear head, AdamW lr 5e-5, weight decay 0.01,
batch 32, 6 % warm-up then linear decay, bf16 autocast on CUDA, 3 epochs; reviews cut to their
first 128 + last 382 tokens (512 with the special tokens), ``<br />`` removed. The epoch is chosen
on the validation split; the test split is scored once, with that epoch's weights.
``--encoder`` takes any local Hugging Face encoder folder (all-MiniLM-L6-v2, roberta-base, ...).
Needs torch, transformers, numpy, scikit-learn (row e) and Pizarra's IMDB reader.

This is the one training loop outside ``pizarra.train.loop.fit`` (the shared loop's docstring says
why: the row was measured with this loop on a lent GPU, and moving it would change its data order
before anyone can re-run it there). It repeats the shared loop's recipe pieces on purpose and in the
same way: weight decay on matrices only, linear warm-up, gradient clipping at 1.0.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from pizarra.sentiment.data import clean, load_splits
from pizarra.sentiment.examples import SLIDE_REVIEWS


def encode_reviews(tok, texts, head: int = 128, max_len: int = 512) -> list[list[int]]:
    """Token ids with the special tokens; long reviews keep ``head`` tokens from the start and the
    rest from the end."""
    body = max_len - 2  # [CLS] ... [SEP] (roberta: <s> ... </s>)
    first = tok.cls_token_id if tok.cls_token_id is not None else tok.bos_token_id
    last = tok.sep_token_id if tok.sep_token_id is not None else tok.eos_token_id
    out = []
    ids_all = tok([clean(t) for t in texts], add_special_tokens=False)["input_ids"]
    for ids in ids_all:
        if len(ids) > body:
            ids = ids[:head] + ids[len(ids) - (body - head) :]
        out.append([first, *ids, last])
    return out


def pad(batch: list[list[int]], pad_id: int, device) -> tuple[torch.Tensor, torch.Tensor]:
    T = max(len(b) for b in batch)
    ids = torch.full((len(batch), T), pad_id, dtype=torch.long)
    mask = torch.zeros(len(batch), T, dtype=torch.long)
    for i, b in enumerate(batch):
        ids[i, : len(b)] = torch.tensor(b)
        mask[i, : len(b)] = 1
    return ids.to(device), mask.to(device)


class EncoderClassifier(nn.Module):
    """encoder -> mean of the token states (padding excluded) -> dropout -> linear -> 2 logits."""

    def __init__(self, encoder, dropout: float = 0.1):
        super().__init__()
        self.encoder = encoder
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(encoder.config.hidden_size, 2)

    def pooled(self, ids, mask):
        h = self.encoder(input_ids=ids, attention_mask=mask).last_hidden_state  # (B, T, C)
        m = mask[..., None].to(h.dtype)
        return (h * m).sum(1) / m.sum(1).clamp(min=1)  # (B, C)

    def forward(self, ids, mask):
        return self.head(self.drop(self.pooled(ids, mask)))


def autocast(device, enabled: bool):
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=enabled)


@torch.no_grad()
def run_batches(fn, seqs, pad_id, device, batch: int, bf16: bool) -> torch.Tensor:
    """fn(ids, mask) over all ``seqs`` in length-sorted batches; rows back in input order."""
    order = np.argsort([len(s) for s in seqs])
    outs = [None] * len(seqs)
    for s in range(0, len(seqs), batch):
        idx = order[s : s + batch]
        ids, mask = pad([seqs[i] for i in idx], pad_id, device)
        with autocast(device, bf16):
            y = fn(ids, mask).float().cpu()
        for j, i in enumerate(idx):
            outs[i] = y[j]
    return torch.stack(outs)


def _pretty(path: str) -> str:
    name = Path(path).name
    return "all-MiniLM-L6-v2" if "minilm" in name.lower() else name


def confusion(labels, pred) -> list[list[int]]:
    return [[int(((labels == t) & (pred == p)).sum()) for p in (0, 1)] for t in (0, 1)]


def hardware(device) -> str:
    if device.type == "cuda":
        return f"1× {torch.cuda.get_device_name(device)} (device tool)"
    return f"CPU, {os.cpu_count()} cores"


def frozen_lr(model, splits, seqs, pad_id, device, bf16, log) -> dict:
    """Row e: the encoder frozen; mean-pooled embeddings -> logistic regression (C chosen on val)."""
    from sklearn.linear_model import LogisticRegression

    t0 = time.perf_counter()
    emb = {
        k: F.normalize(run_batches(model.pooled, seqs[k], pad_id, device, 256, bf16), dim=-1).numpy()
        for k in ("train", "val", "test", "slide")
    }
    embed_s = time.perf_counter() - t0
    grid = []
    for C in (0.3, 1.0, 3.0, 10.0, 30.0):
        clf = LogisticRegression(C=C, max_iter=3000).fit(emb["train"], splits["train"].labels)
        grid.append({"C": C, "val_acc": float((clf.predict(emb["val"]) == splits["val"].labels).mean())})
        log(f"minilm-lr C={C}: val {grid[-1]['val_acc']:.4f}")
    best = max(grid, key=lambda g: g["val_acc"])
    X = np.concatenate([emb["train"], emb["val"]])
    y = np.concatenate([splits["train"].labels, splits["val"].labels])
    clf = LogisticRegression(C=best["C"], max_iter=3000).fit(X, y)
    p = clf.predict_proba(emb["test"])[:, 1]
    pred = (p >= 0.5).astype(int)
    acc = float((pred == splits["test"].labels).mean())
    log(f"minilm-lr: test {100 * acc:.2f} %")
    return {
        "label": "all-MiniLM-L6-v2 congelado + regresión logística",
        "test_acc": round(100 * acc, 2),
        "n_test": len(pred),
        "val_acc": round(100 * best["val_acc"], 2),
        "chosen": best,
        "grid": grid,
        "train_s": round(time.perf_counter() - t0, 1),
        "embed_s": round(embed_s, 1),
        "params": int(clf.coef_.size + 1),
        "hardware": hardware(device),
        "seed": 0,
        "confusion": confusion(splits["test"].labels, pred),
        "max_tokens": 512,
        "slide_reviews": [
            {"id": r["id"], "label": r["label"], "p_pos": round(float(q), 4)}
            for r, q in zip(SLIDE_REVIEWS, clf.predict_proba(emb["slide"])[:, 1], strict=False)
        ],
    }


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--encoder", required=True, help="local Hugging Face encoder folder")
    ap.add_argument("--out", required=True, help="folder for metrics.json and log.txt")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--limit", type=int, default=None, help="balanced subset of each split (smoke test)")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--lr", type=float, default=5e-5)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--seed", type=int, default=1337)
    ap.add_argument("--no-frozen", action="store_true", help="skip row e (frozen encoder + LR)")
    a = ap.parse_args(argv)
    from transformers import AutoModel, AutoTokenizer

    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    logf = open(out / "log.txt", "a", encoding="utf-8")

    def log(msg):
        line = f"[{time.strftime('%H:%M:%S')}] {msg}"
        print(line, flush=True)
        logf.write(line + "\n")
        logf.flush()

    device = torch.device(
        "cuda" if a.device == "auto" and torch.cuda.is_available() else ("cpu" if a.device == "auto" else a.device)
    )
    bf16 = device.type == "cuda"
    torch.manual_seed(a.seed)
    t_start = time.perf_counter()
    splits = load_splits(limit=a.limit)
    tok = AutoTokenizer.from_pretrained(a.encoder)
    seqs = {k: encode_reviews(tok, splits[k].texts) for k in ("train", "val", "test")}
    seqs["slide"] = encode_reviews(tok, [r["text"] for r in SLIDE_REVIEWS])
    log(f"tokenized {sum(len(v) for v in seqs.values())} reviews in {time.perf_counter() - t_start:.0f} s on {device}")
    model = EncoderClassifier(AutoModel.from_pretrained(a.encoder, dtype=torch.float32)).to(device)
    pad_id = tok.pad_token_id if tok.pad_token_id is not None else 0
    result = {"encoder": _pretty(a.encoder), "device": hardware(device), "limit": a.limit}
    if not a.no_frozen:
        model.eval()
        result["minilm-lr"] = frozen_lr(model, splits, seqs, pad_id, device, bf16, log)
        (out / "metrics.json").write_text(json.dumps(result, indent=2, ensure_ascii=False))

    # row f: fine-tune end to end
    ytr = torch.from_numpy(splits["train"].labels)
    steps_per_epoch = len(seqs["train"]) // a.batch
    total = steps_per_epoch * a.epochs
    warm = max(1, int(0.06 * total))
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    rest = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": rest, "weight_decay": 0.0}], lr=a.lr)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: (s + 1) / warm if s < warm else max(0.0, (total - s) / max(1, total - warm))
    )
    g = torch.Generator().manual_seed(a.seed)
    epochs, best, best_state, t_train = [], -1.0, None, time.perf_counter()
    for ep in range(a.epochs):
        model.train()
        perm = torch.randperm(len(ytr), generator=g)
        t_ep, loss_sum = time.perf_counter(), 0.0
        for s in range(steps_per_epoch):
            idx = perm[s * a.batch : (s + 1) * a.batch]
            ids, mask = pad([seqs["train"][i] for i in idx.tolist()], pad_id, device)
            with autocast(device, bf16):
                loss = F.cross_entropy(model(ids, mask).float(), ytr[idx].to(device))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            loss_sum += loss.item()
        model.eval()
        val_pred = run_batches(model, seqs["val"], pad_id, device, 128, bf16).argmax(-1).numpy()
        val_acc = float((val_pred == splits["val"].labels).mean())
        epochs.append(
            {
                "epoch": ep + 1,
                "train_loss": round(loss_sum / max(1, steps_per_epoch), 4),
                "val_acc": round(100 * val_acc, 2),
                "epoch_s": round(time.perf_counter() - t_ep, 1),
            }
        )
        log(f"finetune epoch {ep + 1}: {epochs[-1]}")
        if val_acc > best:
            best = val_acc
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    train_s = time.perf_counter() - t_train
    model.load_state_dict(best_state)
    model.eval()
    t0 = time.perf_counter()
    p = run_batches(model, seqs["test"], pad_id, device, 128, bf16).softmax(-1)[:, 1].numpy()
    pred = (p >= 0.5).astype(int)
    acc = float((pred == splits["test"].labels).mean())
    slide = run_batches(model, seqs["slide"], pad_id, device, 8, bf16).softmax(-1)[:, 1].numpy()
    log(f"finetune: test {100 * acc:.2f} % (epoch {max(epochs, key=lambda e: e['val_acc'])['epoch']} chosen on val)")
    result["finetune"] = {
        "label": f"{_pretty(a.encoder)} ajustado de extremo a extremo (fine-tuned)",
        "test_acc": round(100 * acc, 2),
        "n_test": len(pred),
        "val_acc": round(100 * best, 2),
        "epochs": epochs,
        "train_s": round(train_s, 1),
        "test_s": round(time.perf_counter() - t0, 1),
        "params": sum(q.numel() for q in model.parameters()),
        "hardware": hardware(device),
        "seed": a.seed,
        "confusion": confusion(splits["test"].labels, pred),
        "recipe": {
            "lr": a.lr,
            "batch": a.batch,
            "epochs": a.epochs,
            "weight_decay": 0.01,
            "warmup": 0.06,
            "schedule": "linear",
            "bf16": bf16,
            "max_tokens": "128 head + 382 tail",
        },
        "slide_reviews": [
            {"id": r["id"], "label": r["label"], "p_pos": round(float(q), 4)}
            for r, q in zip(SLIDE_REVIEWS, slide, strict=False)
        ],
    }
    result["total_s"] = round(time.perf_counter() - t_start, 1)
    (out / "metrics.json").write_text(json.dumps(result, indent=2, ensure_ascii=False))
    return result


if __name__ == "__main__":
    main()
