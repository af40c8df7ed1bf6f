"""The lab's real trainings as background jobs: each chapter's own training function, run with its
progress, its cancel and its loss curves, saving the model it trains in Pizarra's cache.

    kind                trains (the function it calls)                               default        at most
    nets.rung           one rung of the chapter-4 ladder on the Quijote (nets.ladder    500 steps      2,000 steps
                        .train_rung, as ``pizarra nets ladder --only RUNG``)
    lm.train            chapter 7's LSTM or mini-GPT on the Spanish corpus             200 steps      1,000 steps
                        (generation.train.train_neural, as ``pizarra lm train``)
    imdb.train          chapter 5's LSTM or Transformer on a slice of IMDB            4,000 reviews  22,500 reviews,
                        (sentiment.neural.train, as ``pizarra bench imdb``)           2 epochs       5 epochs
    images.classifier   chapter 10's judge of pictures (images.train)                 200 steps      1,500 steps
    images.autoencoder  chapter 10's autoencoder (images.train)                       100 steps      700 steps
    w2v.train           Spanish word2vec (skip-gram) on the corpus's first words      1 M words,     5 M words,
                        (embeddings.train_w2v + export)                               5 epochs       10 epochs

The defaults take a few minutes on two cores (judging by the speeds the shipped cards record); the
upper bounds are the shipped recipes or about a quarter of an hour, so nobody starts a night's work
from a form. Every kind needs the data sets (``PIZARRA_DATA``), reads them as the CLI does, trains
on one thread (word2vec: two workers), and never writes into ``artifacts/``:

    <cache>/user-artifacts/<kind>/<run>/<artifact>/     card.json + weights, the layout of artifacts/
                                                        (``load_artifact(name, root=<run folder>)``)

``<run>`` is ``job-<id>`` in the lab's worker process, ``run-<time>`` under ``pizarra jobs run``. The
card is the one the CLI writes (config, data, metrics, commit) with ``command`` set to what
reproduces it, ``pizarra jobs run KIND --params '{...}'``, and ``job`` = {kind, params, id}. A job
that is cancelled stops at the next step and leaves no artifact.

Events: those of the training loop (``start``, ``progress`` with the running train loss, ``eval``
with ``train_loss``/``val_loss``, ``done``; see ``pizarra.train.progress``), plus ``{"type": "stage",
"stage": "data" | "finish" | "test" | "save"}`` around them; word2vec sends one ``eval`` an epoch
(``"unit": "epoch"`` in its ``start``). The result: ``{"artifact", "card", "chapter", "summary"}``,
or ``{"stopped": true, "step"}`` after a cancel.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from pizarra.chapters import CHAPTERS
from pizarra.config import cache_dir
from pizarra.jobs.registry import register_job

USER_ARTIFACTS = "user-artifacts"


def seed_field(default: int = 1337):
    return Field(default, ge=0, le=2**31 - 1, description="Random seed (same seed, same run).")


_CHAPTER = {c.number: c.url for c in CHAPTERS}
CHAPTER_OF = {  # the chapter page that shows what each kind trains
    "nets.rung": _CHAPTER[4],
    "lm.train": _CHAPTER[7],
    "imdb.train": _CHAPTER[5],
    "images.classifier": _CHAPTER[10],
    "images.autoencoder": _CHAPTER[10],
    "w2v.train": _CHAPTER[3],
}


# ------------------------------------------------------------------------------------- plumbing


def current_job_id() -> int | None:
    """The id of the job this process runs (``python -m pizarra.jobs.worker JOB_ID DB``), else None."""
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    if spec is not None and spec.name == "pizarra.jobs.worker" and len(sys.argv) > 1 and sys.argv[1].isdigit():
        return int(sys.argv[1])
    return None


def run_folder(kind: str) -> Path:
    """A new folder for this run's artifact: <cache>/user-artifacts/<kind>/job-<id> (or run-<time>)."""
    job_id = current_job_id()
    stamp = time.strftime("%Y%m%d-%H%M%S")
    name = f"job-{job_id}" if job_id is not None else f"run-{stamp}-{os.getpid()}"
    folder = cache_dir() / USER_ARTIFACTS / kind / name
    if folder.exists():  # a job database started afresh counts its ids from 1 again
        folder = folder.with_name(f"{name}-{stamp}")
    return folder


def command(kind: str, params: BaseModel) -> str:
    """The command that trains this again: ``pizarra jobs run KIND --params '{...}'``."""
    return f"pizarra jobs run {kind} --params '{json.dumps(params.model_dump(mode='json'), ensure_ascii=False)}'"


class Watch:
    """The job's ``emit`` and ``should_stop`` as a training function gets them, remembering whether
    the run was cancelled (the loop says so with a ``cancelled`` event: a SIGTERM reaches it first)."""

    def __init__(self, emit, should_stop):
        self._emit, self._should_stop = emit, should_stop
        self.cancelled = False
        self.step = 0
        self.last_eval: dict = {}  # the metrics of the latest evaluation

    def emit(self, event: dict) -> None:
        kind = event.get("type")
        self.step = event.get("step", self.step)
        if kind == "cancelled":
            self.cancelled = True
        elif kind == "eval":
            self.last_eval = event.get("metrics") or {}
        self._emit(event)
        if kind == "done" and not self.cancelled:
            self.stage("finish")  # the training function measures and saves its model now

    def should_stop(self) -> bool:
        self.cancelled = self.cancelled or bool(self._should_stop())
        return self.cancelled

    def stage(self, name: str) -> None:
        self._emit({"type": "stage", "stage": name})

    def stopped(self, folder: Path | None = None) -> dict:
        """What a cancelled job returns; whatever it had begun to write goes."""
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
        return {"stopped": True, "step": self.step}


@contextlib.contextmanager
def one_thread():
    """Torch on one thread, as the CLI trains (the lab's pages keep the other core)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def finish(kind: str, params: BaseModel, artifact: Path, summary: dict, data: dict | None = None) -> dict:
    """Write into the artifact's card how to reproduce it (and what it was trained on, when the
    training function's own words describe the full data set); the job's result."""
    card_path = artifact / "card.json"
    card = json.loads(card_path.read_text(encoding="utf-8"))
    card["command"] = command(kind, params)
    card["job"] = {"kind": kind, "params": params.model_dump(mode="json"), "id": current_job_id()}
    if data is not None:
        card["data"] = data
    fd, tmp = tempfile.mkstemp(dir=artifact, prefix=".card.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(json.dumps(card, indent=2, ensure_ascii=False) + "\n")
    os.chmod(tmp, 0o644)
    os.replace(tmp, card_path)
    return {
        "artifact": str(artifact),
        "card": str(card_path),
        "chapter": CHAPTER_OF[kind],
        "summary": {k: v for k, v in summary.items() if v is not None},
    }


# ------------------------------------------------------------------------------ chapter 4: nets


class NetsRungParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rung: Literal["bigram", "mlp", "elman", "gru", "lstm", "transformer"] = Field(
        "lstm", description="Which model of the ladder."
    )
    steps: int = Field(
        500, ge=10, le=2000, description="Optimiser steps of 32 windows of 64 characters (the shipped: 1,000-2,000)."
    )
    seed: int = seed_field()


def train_nets_rung(params: NetsRungParams, emit, should_stop) -> dict:
    """Train one rung of the chapter-4 ladder (bigram … Transformer) on the Quijote's characters."""
    from pizarra.assets.datasets import load_quijote
    from pizarra.nets.ladder import RUNGS, artifact_name, char_data, train_rung

    watch = Watch(emit, should_stop)
    watch.stage("data")
    data = char_data(load_quijote())
    folder = run_folder("nets.rung")
    with one_thread():
        row = train_rung(
            RUNGS[params.rung],
            data,
            progress=False,
            on_event=watch.emit,
            should_stop=watch.should_stop,
            seed=params.seed,
            root=folder,
            steps=params.steps,
        )
    if watch.cancelled or row["status"] != "done":
        return watch.stopped(folder)
    summary = {
        "val_loss": row["val_loss_nats"],
        **{k: row[k] for k in ("val_bits_per_char", "params", "steps", "train_seconds")},
    }
    return finish("nets.rung", params, folder / artifact_name(params.rung), summary)


# ----------------------------------------------------------------------- chapter 7: neural LMs


class LMParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: Literal["lstm", "gpt"] = Field("gpt", description="The LSTM or the mini-GPT of chapter 7.")
    steps: int = Field(
        200, ge=10, le=1000, description="Optimiser steps of 32 sequences (the shipped models: 4,000-11,000)."
    )
    seed: int = seed_field()


def train_lm(params: LMParams, emit, should_stop) -> dict:
    """Train chapter 7's LSTM or mini-GPT on the Spanish corpus (BPE tokens, the shared loop).

    The first run encodes the corpus into tokens (cached in PIZARRA_CACHE for the next ones)."""
    from pizarra.generation.neural import ARTIFACTS
    from pizarra.generation.train import train_neural

    watch = Watch(emit, should_stop)
    watch.stage("data")
    folder = run_folder("lm.train")
    metrics = train_neural(
        params.model,
        max_steps=params.steps,
        seed=params.seed,
        progress=False,
        threads=1,
        on_event=watch.emit,
        should_stop=watch.should_stop,
        root=folder,
    )
    if watch.cancelled or metrics.get("status") != "done":
        return watch.stopped(folder)
    summary = {
        "val_loss": metrics["val_loss_nats"],
        **{k: metrics.get(k) for k in ("params", "steps", "train_seconds")},
    }
    return finish("lm.train", params, folder / ARTIFACTS[params.model], summary)


# ---------------------------------------------------------------------- chapter 5: IMDB, neural


class IMDBParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: Literal["lstm", "transformer"] = Field("lstm", description="The slide's LSTM or simple Transformer.")
    train_reviews: int = Field(4000, ge=100, le=22_500, description="Training reviews (balanced; all: 22,500).")
    val_reviews: int = Field(
        500, ge=20, le=2_500, description="Validation reviews carved from train (early stopping on them)."
    )
    test_reviews: int = Field(2000, ge=20, le=25_000, description="Test reviews scored once at the end (all: 25,000).")
    epochs: int = Field(2, ge=1, le=5, description="Passes over the training reviews (the shipped: 4-5).")
    seed: int = seed_field()


TEST_CHUNK = 500  # test reviews scored between two looks at the cancel button


def train_imdb(params: IMDBParams, emit, should_stop) -> dict:
    """Train chapter 5's LSTM or Transformer on a slice of IMDB, keep the best epoch, score the test slice."""
    import numpy as np
    import torch

    from pizarra.sentiment import neural, report
    from pizarra.sentiment.data import load_splits

    watch = Watch(emit, should_stop)
    watch.stage("data")
    full = load_splits(val_size=params.val_reviews)
    splits = {
        "train": full["train"].subset(params.train_reviews),
        "val": full["val"],
        "test": full["test"].subset(params.test_reviews),
    }
    folder = run_folder("imdb.train")
    with one_thread():
        try:
            model, vocab, tc, row = neural.train(
                params.model,
                splits,
                log=lambda *_: None,
                epochs=params.epochs,
                threads=1,
                seed=params.seed,
                on_event=watch.emit,
                should_stop=watch.should_stop,
            )
        except Exception:
            if watch.cancelled:  # stopped before its first evaluation: nothing to keep
                return watch.stopped(folder)
            raise
        if watch.cancelled:
            return watch.stopped(folder)
        watch.stage("test")
        model.eval()  # score what is saved: the float16-rounded weights (as pizarra bench imdb does)
        model.load_state_dict(
            {k: (v.half().float() if v.is_floating_point() else v) for k, v in model.state_dict().items()}
        )
        clf = neural.NeuralSentiment(model, vocab)
        test = splits["test"]
        p = []
        for i in range(0, len(test), TEST_CHUNK):
            if watch.should_stop():
                return watch.stopped(folder)
            p.append(clf.predict_proba(test.texts[i : i + TEST_CHUNK]))
            emit({"type": "progress", "step": min(i + TEST_CHUNK, len(test)), "total": len(test), "stage": "test"})
        pred = (np.concatenate(p) >= 0.5).astype(int)
        acc = float((pred == test.labels).mean())
        row.update(
            test_acc=round(100 * acc, 2),
            n_test=len(test),
            confusion=report.confusion(test.labels, pred),
            hardware=report.hardware(),
            threads=torch.get_num_threads(),
        )
        watch.stage("save")
        neural.save_neural(params.model, model, vocab, tc, row, root=folder)
    data = {
        "train": f"{len(splits['train'])} reviews of the IMDB train split (class-balanced, seed 0), "
        f"the validation reviews left out",
        "val": f"{len(splits['val'])} reviews carved from the train split (seed 0): early stopping, best weights kept",
        "test": f"{len(test)} reviews of the IMDB test split (class-balanced, seed 0)",
    }
    summary = {
        "test_acc": round(acc, 4),
        "val_acc": round(row["val_acc"] / 100, 4),
        "val_loss": watch.last_eval.get("val_loss"),
        "params": row["params"],
        "steps": row["steps"],
        "train_seconds": row["train_s"],
    }
    return finish("imdb.train", params, folder / f"imdb-{params.model}", summary, data=data)


# ----------------------------------------------------------------------------- chapter 10: images


class ImageClassifierParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    steps: int = Field(200, ge=10, le=1500, description="Optimiser steps of 128 pictures (the shipped: 600).")
    lr: float = Field(2e-3, gt=0.0, le=0.05, description="Learning rate (AdamW, cosine schedule).")
    seed: int = seed_field(0)


class AutoencoderParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    steps: int = Field(100, ge=10, le=700, description="Optimiser steps of 128 pictures (the shipped: 700).")
    lr: float = Field(2e-3, gt=0.0, le=0.05, description="Learning rate (AdamW, cosine schedule).")
    seed: int = seed_field(0)


def _train_images(kind: str, artifact: str, params, emit, should_stop) -> dict:
    from pizarra.images import train as images_train

    trainer = images_train.train_classifier if artifact == "img-classifier" else images_train.train_autoencoder
    watch = Watch(emit, should_stop)
    watch.stage("data")
    folder = run_folder(kind)
    with one_thread():
        metrics = trainer(
            steps=params.steps,
            lr=params.lr,
            seed=params.seed,
            eval_every=max(10, params.steps // 10),
            on_event=watch.emit,
            should_stop=watch.should_stop,
            root=folder,
        )
    if watch.cancelled or metrics.get("status") != "done":
        return watch.stopped(folder)
    summary = {
        "val_loss": watch.last_eval.get("val_loss"),
        "test_acc": metrics.get("test_acc"),
        "val_acc": metrics.get("best_val_acc"),
        "val_psnr_db": metrics.get("val_psnr_db"),
        "steps": metrics.get("steps"),
        "train_seconds": metrics.get("train_seconds"),
    }
    return finish(kind, params, folder / artifact, summary)


def train_image_classifier(params: ImageClassifierParams, emit, should_stop) -> dict:
    """Train chapter 10's classifier of pictures (Fashion-MNIST + MNIST, 20 classes)."""
    return _train_images("images.classifier", "img-classifier", params, emit, should_stop)


def train_autoencoder(params: AutoencoderParams, emit, should_stop) -> dict:
    """Train chapter 10's autoencoder (pictures <-> 4×7×7 latents)."""
    return _train_images("images.autoencoder", "img-autoencoder", params, emit, should_stop)


# ---------------------------------------------------------------------------- chapter 3: word2vec


class W2VParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    words: int = Field(
        1_000_000,
        ge=1_000,
        le=5_000_000,
        description="Train on the corpus's first this many words (the shipped vectors: all 21 million).",
    )
    epochs: int = Field(5, ge=1, le=10, description="Passes over those words.")
    dim: int = Field(100, ge=10, le=300, description="Dimensions of each word vector.")
    window: int = Field(5, ge=1, le=10, description="Context: words on each side.")
    min_count: int = Field(5, ge=1, le=100, description="Ignore words seen fewer times.")


W2V = {"negative": 5, "sample": 1e-4, "workers": 2}  # the shipped recipe's other settings
W2V_LOSS_PAIRS = 20_000  # (word, context) pairs each loss is measured on
W2V_VAL_FRACTION = 0.05  # the slice's last lines are never trained on: they give the validation loss
W2V_KEEP = 80_000  # most frequent words kept in the artifact (as the shipped one)


class Stopped(Exception):
    """Raised from a gensim callback to end its training early (a job's cancel)."""


def sgns_pairs(lines: list[str], index: dict, window: int, n: int, negatives: int, cum_table, seed: int = 0):
    """``n`` (word, context) pairs sampled from ``lines`` (a context up to ``window`` words away,
    out-of-vocabulary words dropped first, as gensim does) and ``negatives`` noise words for each,
    drawn like gensim's from its unigram^0.75 table. -> (pairs (P, 2), noise (P, k)) word ids."""
    import numpy as np

    rng = np.random.default_rng(seed)
    seqs = [ids for ids in ([index[w] for w in line.split() if w in index] for line in lines) if len(ids) > 1]
    if not seqs:
        return np.zeros((0, 2), dtype=np.int64), np.zeros((0, negatives), dtype=np.int64)
    lengths = np.array([len(s) for s in seqs])
    which = rng.choice(len(seqs), size=n, p=lengths / lengths.sum())  # a position uniformly over all words
    pairs = np.empty((n, 2), dtype=np.int64)
    for row, s in enumerate(which):
        ids = seqs[s]
        i = int(rng.integers(len(ids)))
        d = int(rng.integers(1, window + 1)) * (1 if rng.random() < 0.5 else -1)
        j = min(max(i + d, 0), len(ids) - 1)
        if j == i:
            j = i - d if 0 <= i - d < len(ids) else (i + 1 if i + 1 < len(ids) else i - 1)
        pairs[row] = ids[i], ids[j]
    noise = np.searchsorted(cum_table, rng.integers(0, int(cum_table[-1]), size=(n, negatives)))
    return pairs, noise.astype(np.int64)


def sgns_loss(vectors, out_vectors, pairs, noise) -> float:
    """Mean skip-gram negative-sampling loss of the pairs:
    −log σ(v_w · u_c) − Σ_k log σ(−v_w · u_k)   (v: input vectors, u: gensim's syn1neg)."""
    import numpy as np

    if len(pairs) == 0:
        return float("nan")
    v = vectors[pairs[:, 0]].astype(np.float64)  # (P, d)
    pos = np.sum(v * out_vectors[pairs[:, 1]], axis=-1)  # (P,)
    neg = np.einsum("pd,pkd->pk", v, out_vectors[noise])  # (P, k)
    return float(np.mean(np.logaddexp(0, -pos) + np.logaddexp(0, neg).sum(-1)))


def _w2v_losses(watch: Watch, train_lines: list[str], val_lines: list[str], params: W2VParams):
    """A gensim callback that measures the train and validation loss before the first epoch and
    after each one (the same pairs every time), sends them as events, and stops on a cancel."""
    from gensim.models.callbacks import CallbackAny2Vec

    class EpochLosses(CallbackAny2Vec):
        def __init__(self):
            self.epoch = 0
            self.sets = None

        def measure(self, model) -> dict:
            return {
                name: sgns_loss(model.wv.vectors, model.syn1neg, pairs, noise)
                for name, (pairs, noise) in self.sets.items()
            }

        def report(self, model) -> None:
            losses = self.measure(model)
            metrics = {"train_loss": losses["train"], "val_loss": losses["val"]}
            watch.emit(
                {"type": "progress", "step": self.epoch, "total": params.epochs, "metrics": {"loss": losses["train"]}}
            )
            watch.emit({"type": "eval", "step": self.epoch, "metrics": {"step": self.epoch, **metrics}})

        def on_train_begin(self, model):
            index, k = model.wv.key_to_index, W2V["negative"]
            self.sets = {
                "train": sgns_pairs(train_lines, index, params.window, W2V_LOSS_PAIRS, k, model.cum_table, seed=1),
                "val": sgns_pairs(val_lines, index, params.window, W2V_LOSS_PAIRS, k, model.cum_table, seed=2),
            }
            watch.emit({"type": "start", "step": 0, "total": params.epochs, "unit": "epoch"})
            self.report(model)

        def on_epoch_end(self, model):
            self.epoch += 1
            self.report(model)
            if watch.should_stop():
                raise Stopped()

    return EpochLosses()


def train_w2v(params: W2VParams, emit, should_stop) -> dict:
    """Train Spanish word2vec (skip-gram, gensim) on the first words of the Spanish corpus."""
    from pizarra.embeddings import export
    from pizarra.embeddings import train_w2v as w2v

    watch = Watch(emit, should_stop)
    watch.stage("data")
    path, stats = w2v.corpus_file(cache_dir() / "w2v" / f"corpus_es-{params.words}.txt", max_words=params.words)
    lines = path.read_text(encoding="utf-8").splitlines()
    cut = len(lines) - max(1, int(len(lines) * W2V_VAL_FRACTION))
    train_lines, val_lines = lines[:cut], lines[cut:]
    folder = run_folder("w2v.train")
    work = folder / "gensim"  # the full gensim model: only the artifact stays
    work.mkdir(parents=True)
    corpus = work / "train.txt"
    corpus.write_text("".join(line + "\n" for line in train_lines), encoding="utf-8")
    train_words = sum(len(line.split()) for line in train_lines)
    corpus.with_suffix(".json").write_text(
        json.dumps({**stats, "lines": len(train_lines), "words": train_words, "val_lines": len(val_lines)})
    )
    try:
        info = w2v.train(
            work / "sg.model",
            1,
            params.dim,
            params.window,
            W2V["negative"],
            params.min_count,
            params.epochs,
            W2V["sample"],
            W2V["workers"],
            corpus=corpus,
            callbacks=[_w2v_losses(watch, train_lines, val_lines, params)],
        )
    except Stopped:
        return watch.stopped(folder)
    if watch.should_stop():
        return watch.stopped(folder)
    watch.stage("save")
    card = export.export(work / "sg.model", "w2v-es-sg", min(W2V_KEEP, info["vocab_trained"]), root=folder)
    shutil.rmtree(work, ignore_errors=True)
    scores = card["metrics"]["eval"]
    data = {
        "corpus": "pizarra.assets.datasets.spanish_corpus_texts(), its first "
        f"{stats['words']:,} words (quijote first, then conha19, cligs, news)",
        "train": f"the first {len(train_lines):,} lines ({train_words:,} words)",
        "val": f"the last {len(val_lines):,} lines: never trained on, the validation loss",
        "docs": stats["docs"],
        "words": stats["words"],
        "words_by_source": stats["by_source"],
    }
    summary = {
        "val_loss": watch.last_eval.get("val_loss"),
        "analogy_acc": scores["analogies"].get("accuracy"),
        "ws353_spearman": scores["similarity"].get("ws353", {}).get("spearman"),
        "vocab": card["config"]["words_kept"],
        "train_seconds": info["train_seconds"],
    }
    return finish("w2v.train", params, folder / "w2v-es-sg", summary, data=data)


# ------------------------------------------------------------------------------------ registry

register_job("nets.rung", train_nets_rung, NetsRungParams, title="Train one rung of the chapter-4 ladder")
register_job("lm.train", train_lm, LMParams, title="Train a chapter-7 language model (LSTM or mini-GPT)")
register_job("imdb.train", train_imdb, IMDBParams, title="Train an IMDB sentiment model (LSTM or Transformer)")
register_job(
    "images.classifier", train_image_classifier, ImageClassifierParams, title="Train the chapter-10 classifier"
)
register_job("images.autoencoder", train_autoencoder, AutoencoderParams, title="Train the chapter-10 autoencoder")
register_job("w2v.train", train_w2v, W2VParams, title="Train Spanish word2vec on a slice of the corpus")
