"""The two neural rows of the slide, trained here from scratch with the lab's one training loop.

    LSTM:         e_t = E[x_t] (GloVe-initialised)      h_t = [LSTM→(e)_t ; LSTM←(e)_t]   (packed)
                  z = [max_t h_t ; mean_t h_t]          p(y | x) = softmax(W z + b)
    Transformer:  h = TransformerEncoder(x) (chapter 4: tokens + positions -> N encoder blocks)
                  z = [max_t h_t ; mean_t h_t]          p(y | x) = softmax(W z + b)

Both read the shared tokenizer and a vocabulary built from the training split only; long reviews
keep their first quarter and their end (``head_tail``). Explanations are integrated gradients on
the word embeddings: how much each word's vector pushes the positive-minus-negative logit.
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from pizarra.nets.blocks import TransformerConfig, TransformerEncoder
from pizarra.sentiment.data import Vocab, head_tail, tokenize


@dataclass
class NeuralConfig:
    kind: str = "lstm"  # "lstm" or "transformer"
    vocab_size: int = 30000
    max_len: int = 320  # tokens per review (head + tail)
    d_emb: int = 50  # LSTM: embedding width (GloVe 50d)
    hidden: int = 96  # LSTM: hidden units per direction
    d_model: int = 64  # Transformer width (GloVe fills the first 50 dimensions)
    n_heads: int = 2
    n_layers: int = 2
    dropout: float = 0.3  # before the classification head
    emb_dropout: float = 0.25  # on the word vectors
    block_dropout: float = 0.0  # Transformer: inside the encoder blocks (FFN and residual branches)
    attn_dropout: float | None = None  # Transformer: on the attention weights (None = block_dropout)
    word_dropout: float = 0.0  # training only: each word becomes <unk> with this probability


def masked_pool(h: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """[max over real tokens ; mean over real tokens] of h (B, T, C) -> (B, 2C)."""
    mask = (torch.arange(h.size(1), device=h.device)[None, :] < lengths[:, None])[..., None]  # (B, T, 1)
    mx = h.masked_fill(~mask, float("-inf")).max(1).values
    mean = (h * mask).sum(1) / lengths[:, None].clamp(min=1)
    return torch.cat([mx, mean], dim=-1)


def drop_words(idx: torch.Tensor, p: float, training: bool) -> torch.Tensor:
    """Word dropout: while training, each real token becomes <unk> with probability p."""
    if not training or p <= 0:
        return idx
    hit = (torch.rand(idx.shape, device=idx.device) < p) & (idx > Vocab.UNK)
    return idx.masked_fill(hit, Vocab.UNK)


def reverse_each(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Reverse every sequence of x (B, T, ...) within its own length; padding stays at the end.
    Applying it twice gives x back."""
    T = x.size(1)
    t = torch.arange(T, device=x.device)[None, :]  # (1, T)
    idx = torch.where(t < lengths[:, None], lengths[:, None] - 1 - t, t)  # (B, T)
    return x.gather(1, idx.view(*idx.shape, *([1] * (x.dim() - 2))).expand_as(x))


class LSTMClassifier(nn.Module):
    """Embedding -> bidirectional LSTM -> max+mean pooling over the real tokens -> 2 logits.

    The backward LSTM reads each review reversed within its own length, so neither direction
    ever reads padding: what packed sequences do, written so that PyTorch's fast fused LSTM
    kernel runs (on CPU the packed backward pass is several times slower).
    """

    def __init__(self, cfg: NeuralConfig):
        super().__init__()
        self.cfg = cfg
        self.emb = nn.Embedding(cfg.vocab_size, cfg.d_emb, padding_idx=0)
        self.emb_drop = nn.Dropout(cfg.emb_dropout)
        self.fwd = nn.LSTM(cfg.d_emb, cfg.hidden, batch_first=True)
        self.bwd = nn.LSTM(cfg.d_emb, cfg.hidden, batch_first=True)
        self.drop = nn.Dropout(cfg.dropout)
        self.head = nn.Linear(4 * cfg.hidden, 2)

    def embed(self, idx: torch.Tensor) -> torch.Tensor:
        return self.emb(idx)  # (B, T, E)

    def classify(self, e: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Embeddings e (B, T, E) -> logits (B, 2)."""
        e = self.emb_drop(e)
        h_fwd, _ = self.fwd(e)  # (B, T, H): h_t sees tokens 0..t
        h_bwd = reverse_each(self.bwd(reverse_each(e, lengths))[0], lengths)  # (B, T, H): tokens t..end
        h = torch.cat([h_fwd, h_bwd], dim=-1)  # (B, T, 2H)
        return self.head(self.drop(masked_pool(h, lengths)))

    def forward(self, idx, lengths, targets=None):
        T = int(lengths.max())
        idx = drop_words(idx[:, :T], self.cfg.word_dropout, self.training)
        logits = self.classify(self.embed(idx), lengths)
        return logits, (None if targets is None else F.cross_entropy(logits, targets))


class TransformerClassifier(nn.Module):
    """The chapter-4 ``TransformerEncoder`` (tokens + learned positions + encoder blocks) with a
    max+mean pooling head. Padding is masked in attention and in the pooling."""

    def __init__(self, cfg: NeuralConfig):
        super().__init__()
        self.cfg = cfg
        tcfg = TransformerConfig(
            vocab_size=cfg.vocab_size,
            block_size=cfg.max_len,
            d_model=cfg.d_model,
            n_heads=cfg.n_heads,
            n_layers=cfg.n_layers,
            dropout=cfg.block_dropout,
            attn_dropout=cfg.attn_dropout,
        )
        self.encoder = TransformerEncoder(tcfg)
        self.emb_drop = nn.Dropout(cfg.emb_dropout)
        self.drop = nn.Dropout(cfg.dropout)
        self.head = nn.Linear(2 * cfg.d_model, 2)

    def embed(self, idx: torch.Tensor) -> torch.Tensor:
        return self.encoder.tok(idx)  # (B, T, C)

    def classify(self, e: torch.Tensor, lengths: torch.Tensor, with_attention: bool = False):
        enc = self.encoder
        T = e.size(1)
        mask = (torch.arange(T, device=e.device)[None, :] < lengths[:, None])[:, None, None, :]  # (B,1,1,T)
        x = enc.drop(enc.pos(self.emb_drop(e)))
        maps = []
        for block in enc.blocks:
            x, w = block(x, mask, need_weights=with_attention)
            maps.append(w)
        logits = self.head(self.drop(masked_pool(enc.norm(x), lengths)))
        return (logits, maps) if with_attention else logits

    def forward(self, idx, lengths, targets=None):
        T = int(lengths.max())
        idx = drop_words(idx[:, :T], self.cfg.word_dropout, self.training)
        logits = self.classify(self.embed(idx), lengths)
        return logits, (None if targets is None else F.cross_entropy(logits, targets))


MODELS = {"lstm": LSTMClassifier, "transformer": TransformerClassifier}


def build(cfg: NeuralConfig) -> nn.Module:
    return MODELS[cfg.kind](cfg)


def encode(texts, vocab: Vocab, max_len: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Texts -> (ids (N, max_len) padded with 0, lengths (N,) ≥ 1)."""
    X = torch.zeros(len(texts), max_len, dtype=torch.long)
    L = torch.ones(len(texts), dtype=torch.long)
    for i, t in enumerate(texts):
        ids = head_tail(vocab.encode(tokenize(t)), max_len) or [Vocab.UNK]
        X[i, : len(ids)] = torch.tensor(ids)
        L[i] = len(ids)
    return X, L


def load_glove(path: str | None = None) -> dict:
    """word -> GloVe 50d vector: the packaged GloVe, or an .npz (``words``, ``vectors``) subset of it
    (for a machine without the package, e.g. a GPU box; see ``export_glove``)."""
    if path:
        z = np.load(path, allow_pickle=False)
        return dict(zip(z["words"].tolist(), z["vectors"].astype(np.float32), strict=False))
    from pizarra.assets.models import word_vectors

    wv = word_vectors("glove50")
    return {w: wv.vectors[i] for w, i in wv.index.items()}


def export_glove(path: str, words) -> int:
    """Save the GloVe vectors of ``words`` (those GloVe knows) as an .npz for ``load_glove``."""
    from pizarra.assets.models import word_vectors

    wv = word_vectors("glove50")
    keep = [w for w in dict.fromkeys(words) if w in wv.index]
    np.savez_compressed(path, words=np.array(keep), vectors=np.stack([wv[w] for w in keep]).astype(np.float16))
    return len(keep)


def glove_init(weight: torch.Tensor, vocab: Vocab, glove: dict, log=print) -> int:
    """Copy GloVe 50d vectors into the first 50 columns of an embedding table; -> words found."""
    found = 0
    with torch.no_grad():
        for i, w in enumerate(vocab.itos[2:], start=2):
            v = glove.get(w)
            if v is not None:
                weight[i, :50] = torch.from_numpy(np.asarray(v, dtype=np.float32))
                found += 1
        weight[0].zero_()
    log(f"GloVe 50d: {found} of {len(vocab)} words initialised")
    return found


@torch.no_grad()
def predict_logits(model: nn.Module, X: torch.Tensor, L: torch.Tensor, batch: int = 128) -> torch.Tensor:
    """Logits (N, 2), in batches sorted by length (less padding), returned in the input order."""
    model.eval()
    dev = next(model.parameters()).device
    order = torch.argsort(L, descending=True)
    out = torch.empty(len(L), 2)
    for s in range(0, len(L), batch):
        i = order[s : s + batch]
        out[i] = model(X[i].to(dev), L[i].to(dev))[0].float().cpu()
    return out


class NeuralSentiment:
    """A trained neural classifier with its vocabulary: predict_proba and explain on raw text."""

    def __init__(self, model: nn.Module, vocab: Vocab):
        self.model, self.vocab, self.cfg = model.eval(), vocab, model.cfg
        self.kind = self.cfg.kind

    def predict_proba(self, texts) -> np.ndarray:
        X, L = encode(list(texts), self.vocab, self.cfg.max_len)
        return predict_logits(self.model, X, L).softmax(-1)[:, 1].numpy()

    def explain(self, text: str, k: int = 8, steps: int = 16) -> dict:
        """Integrated gradients on the word vectors (Sundararajan et al. 2017): for the score
        d = logit_pos − logit_neg and the baseline b = the vector of an unknown word at every
        position, word t gets  (e_t − b) · mean_α ∂d/∂e_t (b + α (e − b)),  α = 1/steps … 1,
        so the words' shares add up to d(review) − d(a review of unknown words).
        Plain gradient × input misleads once the model is sure (its gradients vanish)."""
        toks = head_tail(tokenize(text), self.cfg.max_len) or ["<unk>"]
        X, L = encode([" ".join(toks)], self.vocab, self.cfg.max_len)
        T = int(L[0])
        X = X[:, :T]
        self.model.eval()
        dev = next(self.model.parameters()).device
        e = self.model.embed(X.to(dev)).detach()  # (1, T, E)
        base = self.model.embed(torch.full_like(X, Vocab.UNK).to(dev)).detach()  # an unknown word everywhere
        alphas = torch.arange(1, steps + 1, device=dev, dtype=e.dtype)[:, None, None] / steps  # (S, 1, 1)
        path = (base + alphas * (e - base)).requires_grad_(True)  # (S, T, E)
        with torch.enable_grad():
            logits = self.model.classify(path, L.to(dev).expand(steps))
            (logits[:, 1] - logits[:, 0]).sum().backward()
        scores = (path.grad.mean(0) * (e - base)[0]).sum(-1).tolist()  # (T,)
        toks = toks[: len(scores)]
        ranked = sorted(zip(toks, scores, strict=False), key=lambda kv: kv[1])
        res = {
            "tokens": toks,
            "token_scores": [round(s, 4) for s in scores],
            "positive": [[w, round(s, 4)] for w, s in ranked[::-1][:k] if s > 0],
            "negative": [[w, round(s, 4)] for w, s in ranked[:k] if s < 0],
            "method": "integrated gradients",
        }
        if self.kind == "transformer":  # attention of the last layer, averaged over heads and queries
            with torch.no_grad():
                _, maps = self.model.classify(e, L.to(dev), with_attention=True)
            res["attention"] = [round(float(a), 5) for a in maps[-1][0].mean(0).mean(0)]
        return res

    @classmethod
    def from_artifact(cls, art) -> "NeuralSentiment":
        cfg = NeuralConfig(**art.config["model"])
        model = build(cfg)
        sd = {k: v.float() for k, v in art.state_dict().items()}
        model.load_state_dict(sd)
        from pizarra.sentiment.linear import unpack_words

        vocab = Vocab(unpack_words(art.file("vocab.txt.xz").read_bytes()))
        return cls(model, vocab)


# ------------------------------------------------------------------------------------------------
# Training (pizarra.train.fit: the same code on one process or under torchrun)

RECIPES = {
    "lstm": dict(model=dict(kind="lstm"), epochs=4, batch_size=64, lr=3e-3, weight_decay=0.0, warmup_steps=50),
    # one encoder block over 480 tokens, regularised by word dropout (a quarter of the words become
    # <unk>) instead of dropout inside the block: the best validation accuracy per unit of CPU time in
    # bench/imdb_sweep.py (reports/imdb_sweep_round*.jsonl; dropout on the attention weights made a
    # CPU step 3x slower, dropout in the FFN/residuals 1.55x, for no gain on validation)
    "transformer": dict(
        model=dict(kind="transformer", max_len=480, n_layers=1, word_dropout=0.25),
        epochs=5,
        batch_size=64,
        lr=1e-3,
        weight_decay=0.01,
        warmup_steps=100,
    ),
}


def train(
    name: str,
    splits,
    limit=None,
    log=print,
    epochs: int | None = None,
    threads: int | None = None,
    seed: int = 1337,
    device: str = "cpu",
    glove: str | None = None,
    model_overrides: dict | None = None,
    recipe_overrides: dict | None = None,
    on_event=None,
    should_stop=None,
):
    """Train ``name`` (lstm | transformer) on train, early-stop on val accuracy (best weights kept).
    -> (model, vocab, TrainConfig, row). The overrides change the recipe (a sweep on val uses them).
    ``on_event``/``should_stop``: the loop's events and cancel question too (a background job's)."""
    from pizarra.train import TrainConfig, fit

    rank = int(os.environ.get("RANK", "0"))
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if threads:
        torch.set_num_threads(threads)
    recipe = {**RECIPES[name], **(recipe_overrides or {})}
    cfg = NeuralConfig(**{**recipe["model"], **(model_overrides or {})})
    t0 = time.perf_counter()
    vocab = Vocab.build((tokenize(t) for t in splits["train"].texts), max_size=cfg.vocab_size)
    cfg.vocab_size = len(vocab)
    Xtr, Ltr = encode(splits["train"].texts, vocab, cfg.max_len)
    Xva, Lva = encode(splits["val"].texts, vocab, cfg.max_len)
    ytr, yva = torch.from_numpy(splits["train"].labels), torch.from_numpy(splits["val"].labels)
    torch.manual_seed(seed)
    model = build(cfg)
    glove_init(
        model.emb.weight if name == "lstm" else model.encoder.tok.weight,
        vocab,
        load_glove(glove),
        log=log if rank == 0 else (lambda *_: None),
    )
    bs = (
        recipe["batch_size"]
        if limit is None
        else min(recipe["batch_size"], max(2 * world, len(Xtr) // 4 // world * world))
    )
    steps_per_epoch = len(Xtr) // bs
    n_epochs = epochs or recipe["epochs"]

    def val_metrics(m, _val):
        p = predict_logits(m, Xva, Lva).argmax(-1)
        m.train()
        return {"val_acc": float((p == yva).double().mean())}

    tc = TrainConfig(
        epochs=n_epochs,
        max_steps=None,
        batch_size=bs,
        lr=recipe["lr"],
        weight_decay=recipe["weight_decay"],
        schedule="cosine",
        warmup_steps=min(recipe["warmup_steps"], steps_per_epoch),
        eval_every=max(1, steps_per_epoch // 2),
        eval_batches=4,
        metric="val_acc",
        mode="max",
        restore_best=True,
        checkpoint_every=None,
        seed=seed,
        device=device,
        grad_clip=1.0,
    )

    def report(ev):
        if ev["type"] == "eval":
            log(f"{name} step {ev['step']}: {ev['metrics']}")
        if on_event is not None:
            on_event(ev)

    res = fit(
        model,
        (Xtr, Ltr, ytr),
        (Xva, Lva, yva),
        tc,
        metrics_fn=val_metrics,
        on_event=report,
        should_stop=should_stop,
    )
    train_s = time.perf_counter() - t0
    hw = torch.cuda.get_device_name() if device != "cpu" and torch.cuda.is_available() else None
    row = {
        "train_s": round(train_s, 1),
        "params": sum(p.numel() for p in model.parameters()),
        **({"hardware": f"1× {hw} (device tool)"} if hw else {}),
        "val_acc": round(100 * res.best, 2),
        "best_step": res.best_step,
        "steps": res.step,
        "epochs": n_epochs,
        "seed": seed,
        "threads": torch.get_num_threads(),
        "processes": world,
        "config": asdict(cfg),
        "recipe": {k: v for k, v in recipe.items() if k != "model"},
        "history": res.history,
    }
    return model, vocab, tc, row


def bench(name: str, splits, limit=None, write=True, log=print, finish=None, **opts) -> dict:
    """Train ``name`` (lstm | transformer) on train, early-stop on val accuracy, test once."""
    model, vocab, tc, row = train(name, splits, limit=limit, log=log, **opts)
    if int(os.environ.get("RANK", "0")) != 0:
        return {"rank": int(os.environ["RANK"])}
    model.eval()  # score exactly what ships: the float16-rounded weights
    model.load_state_dict(
        {k: (v.half().float() if v.is_floating_point() else v) for k, v in model.state_dict().items()}
    )
    clf = NeuralSentiment(model, vocab)
    row = finish(name, clf.predict_proba, splits, row, write, log)
    if write:
        save_neural(name, model, vocab, tc, row)
    return row


def save_neural(name: str, model: nn.Module, vocab: Vocab, tc, row: dict, root=None):
    from pizarra.assets.artifacts import save_artifact
    from pizarra.sentiment.linear import pack_words

    weights = {k: (v.half() if v.is_floating_point() else v).cpu() for k, v in model.state_dict().items()}
    return save_artifact(
        f"imdb-{name}",
        weights,
        files={"vocab.txt.xz": pack_words(vocab.itos)},
        config={
            "model": asdict(model.cfg),
            "train": tc.to_dict(),
            "glove_init": True,
            "tokenizer": "pizarra.sentiment.data.tokenize",
            "weights_dtype": "float16",
        },
        data={
            "train": "IMDB official train split minus the 2,500-review validation split (22,500)",
            "val": "2,500 reviews carved from train (seed 0): early stopping, best weights kept",
            "test": "IMDB official test split, 25,000",
        },
        metrics={
            k: row[k]
            for k in ("test_acc", "val_acc", "train_s", "params", "confusion", "hardware", "threads", "processes")
        },
        command=f"pizarra bench imdb --model {name}",
        root=root,
    )
