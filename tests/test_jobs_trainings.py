"""The real trainings as job kinds (``pizarra.jobs.trainings``): bounded parameters, loss curves in
their events, a cancel that stops them and leaves nothing, artifacts in the cache and never in
artifacts/.

Each kind runs for seconds, in this process with a fake ``emit`` (the worker process runs at nice
15: on a busy machine its start alone takes minutes), on a data folder made from the test fixtures
(a longer Quijote, a few hundred made-up IMDB reviews and pictures). The real runner, its worker
and the job's own folder are exercised by tests/browser/test_jobs_browser.py.
"""

from __future__ import annotations

import gzip
import json
import math
import random
import shutil
import struct
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from pizarra.errors import BadInput
from pizarra.jobs import JobRunner, get_kind, kind_names, run_job

FIXTURES = Path(__file__).parent / "fixtures"
KINDS = ("nets.rung", "lm.train", "imdb.train", "images.classifier", "images.autoencoder", "w2v.train")

# the smallest runs the bounds allow, a few seconds each
TINY = {
    "nets.rung": {"rung": "bigram", "steps": 10},
    "lm.train": {"model": "lstm", "steps": 10},
    "imdb.train": {"model": "lstm", "train_reviews": 100, "val_reviews": 20, "test_reviews": 20, "epochs": 1},
    "images.classifier": {"steps": 10},
    "images.autoencoder": {"steps": 10},
    "w2v.train": {"words": 3000, "epochs": 2, "dim": 16, "min_count": 1},
}
# one value past each documented upper bound: a form cannot start a night's work
TOO_MUCH = {
    "nets.rung": {"steps": 2001},
    "lm.train": {"steps": 1001},
    "imdb.train": {"epochs": 6},
    "images.classifier": {"steps": 1501},
    "images.autoencoder": {"steps": 701},
    "w2v.train": {"words": 5_000_001},
}
GOOD = "a wonderful moving film great acting loved it superb brilliant".split()
BAD = "a dull boring film awful acting hated it terrible waste".split()


def write_idx(path: Path, array: np.ndarray) -> None:
    """A gzipped IDX file of uint8, as MNIST ships: 0, 0, 0x08, ndim, the dimensions, the bytes."""
    header = bytes([0, 0, 8, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    path.write_bytes(gzip.compress(header + array.tobytes(), mtime=0))


def snapshot(folder: Path) -> dict:
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*")}


@pytest.fixture
def lab(tmp_path, monkeypatch, one_thread):
    """PIZARRA_DATA: the fixtures' data folder with a longer Quijote and 360 IMDB reviews;
    PIZARRA_CACHE: empty; PIZARRA_ARTIFACTS: a copy of the one shipped artifact a training reads
    (the BPE), watched: no training may write there."""
    from pizarra.config import artifacts_dir

    data = tmp_path / "data"
    shutil.copytree(FIXTURES / "data", data)
    quijote = (FIXTURES / "nets" / "quijote_sample.txt").read_text(encoding="utf-8")
    (data / "quijote" / "pg2000.txt").write_text(
        "The Project Gutenberg eBook of Don Quijote\n\n*** START OF THE PROJECT GUTENBERG EBOOK DON QUIJOTE ***\n\n"
        + quijote
        + "\n\n*** END OF THE PROJECT GUTENBERG EBOOK DON QUIJOTE ***\n",
        encoding="utf-8",
    )
    rng = random.Random(0)
    for split, n in (("train", 300), ("test", 60)):
        rows = []
        for i in range(n):
            label = i % 2
            words = rng.choices(GOOD if label else BAD, k=12) + rng.choices(GOOD + BAD, k=4)
            rows.append(
                {"id": f"{split}/{i}", "text": " ".join(words) + ".", "label": label, "rating": 9 if label else 2}
            )
        for old in (data / "imdb").glob(f"imdb_{split}_*.jsonl"):
            old.unlink()
        (data / "imdb" / f"imdb_{split}_00.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    pictures = np.random.default_rng(0)
    for kind in ("mnist", "fashion_mnist"):
        for prefix, n in (("train", 160), ("t10k", 40)):  # more than one batch of 128
            for old in (data / kind).glob(f"{prefix}-*.gz"):
                old.unlink()
            labels = np.arange(n, dtype=np.uint8) % 10
            images = pictures.integers(0, 64, (n, 28, 28), dtype=np.uint8)
            images[np.arange(n), 2 * labels + 4, :] = 255  # a bright row says the class
            write_idx(data / kind / f"{prefix}-images-idx3-ubyte.part00.gz", images)
            write_idx(data / kind / f"{prefix}-labels-idx1-ubyte.part00.gz", labels)
    artifacts = tmp_path / "artifacts"
    shutil.copytree(artifacts_dir() / "bpe-es", artifacts / "bpe-es")
    cache = tmp_path / "cache"
    monkeypatch.setenv("PIZARRA_DATA", str(data))
    monkeypatch.setenv("PIZARRA_CACHE", str(cache))
    monkeypatch.setenv("PIZARRA_ARTIFACTS", str(artifacts))
    before = snapshot(artifacts)
    yield SimpleNamespace(data=data, cache=cache, artifacts=artifacts)
    assert snapshot(artifacts) == before, "a training wrote into the artifacts folder"


@pytest.fixture
def small_inputs(monkeypatch):
    """What the fixtures cannot give in seconds: chapter 7's token arrays (its held-out text needs
    51 CLiGS novels), 16 validation chunks instead of 256, and no 400k-word GloVe to read."""
    from pizarra.generation import corpus
    from pizarra.generation import train as gen_train
    from pizarra.sentiment import neural

    rng = np.random.default_rng(0)
    monkeypatch.setattr(
        gen_train, "tokens", lambda data=None: (rng.integers(0, 4096, 20_000), rng.integers(0, 4096, 4_000))
    )
    monkeypatch.setattr(corpus, "describe", lambda data=None: {"corpus": "random tokens (test)"})
    val_chunks = gen_train.val_chunks
    monkeypatch.setattr(gen_train, "val_chunks", lambda val: val_chunks(val, n=16))
    monkeypatch.setattr(neural, "load_glove", lambda path=None: {})


class Recorder:
    """A fake ``emit``/``should_stop`` pair: records events; says stop after ``stop_after`` progress events."""

    def __init__(self, stop_after: int | None = None):
        self.events: list[dict] = []
        self.stop_after = stop_after

    def emit(self, event: dict) -> None:
        json.dumps(event, allow_nan=False)  # the worker stores events as JSON
        self.events.append(event)

    def should_stop(self) -> bool:
        progress = sum(e["type"] == "progress" for e in self.events)
        return self.stop_after is not None and progress >= self.stop_after

    def of(self, kind: str) -> list[dict]:
        return [e for e in self.events if e["type"] == kind]


# --------------------------------------------------------------------------------------- params


def test_every_training_is_a_job_kind_with_bounded_documented_parameters():
    assert set(KINDS) <= set(kind_names())
    for kind in KINDS:
        job = get_kind(kind)
        assert job.func.__module__ == "pizarra.jobs.trainings"  # the worker imports it again by name
        defaults = job.parse({})
        assert job.parse(TINY[kind]) != defaults
        schema = job.to_dict()["params_schema"]
        ((name, value),) = TOO_MUCH[kind].items()
        assert schema["properties"][name]["maximum"] == value - 1  # the bound is in the form's schema
        with pytest.raises(BadInput) as err:
            job.parse({**TINY[kind], **TOO_MUCH[kind]})
        assert err.value.i18n_key == "err.jobs.invalid_params" and name in str(err.value)
        with pytest.raises(BadInput):
            job.parse({"no_such_param": 1})
    with pytest.raises(BadInput, match="rung"):
        get_kind("nets.rung").parse({"rung": "gpt-5"})
    with pytest.raises(BadInput, match="words"):
        get_kind("w2v.train").parse({"words": 10})


def test_out_of_bounds_params_never_reach_the_queue(tmp_path):
    runner = JobRunner(tmp_path / "jobs.sqlite")
    with pytest.raises(BadInput):
        runner.submit("lm.train", {"steps": 100_000})
    assert runner.list() == []


# ---------------------------------------------------------------------------------- each kind


def check_curves(rec: Recorder) -> None:
    """The loss curve a page draws: train loss in progress events, train and val loss in evals."""
    train = [e["metrics"]["loss"] for e in rec.of("progress") if "loss" in (e.get("metrics") or {})]
    evals = rec.of("eval")
    assert train and evals, [e["type"] for e in rec.events]
    for e in evals:
        for key in ("train_loss", "val_loss"):
            assert isinstance(e["metrics"][key], float) and math.isfinite(e["metrics"][key]) and e["metrics"][key] > 0
    steps = [e["step"] for e in evals]
    assert steps == sorted(steps)


@pytest.mark.parametrize("kind", KINDS)
def test_a_tiny_training_saves_its_artifact_and_card_in_the_cache(kind, lab, small_inputs):
    rec = Recorder()
    result = run_job(kind, TINY[kind], emit=rec.emit, should_stop=rec.should_stop)
    check_curves(rec)
    assert {"type": "stage", "stage": "data"} in rec.events
    artifact = Path(result["artifact"])
    assert artifact.is_relative_to(lab.cache / "user-artifacts" / kind)
    card = json.loads((artifact / "card.json").read_text())
    params = get_kind(kind).parse(TINY[kind]).model_dump(mode="json")
    assert card["job"] == {"kind": kind, "params": params, "id": None}
    assert card["command"] == f"pizarra jobs run {kind} --params '{json.dumps(params)}'"
    assert card["config"] and card["metrics"] and card["data"]
    assert set(card["files"]) - {"card.json"} and all((artifact / f).is_file() for f in card["files"])
    assert result["chapter"].startswith("/capitulo/")
    assert result["summary"]["val_loss"] > 0
    from pizarra.assets.artifacts import load_artifact

    assert load_artifact(artifact.name, root=artifact.parent).card["job"]["kind"] == kind  # checksums hold
    assert not list((lab.cache / "user-artifacts" / kind).glob("*/gensim"))  # only the artifact stays


@pytest.mark.parametrize("kind", KINDS)
def test_cancel_stops_a_training_early_and_leaves_nothing(kind, lab, small_inputs):
    params = {**TINY[kind], **{"nets.rung": {"steps": 2000}, "lm.train": {"steps": 1000}}.get(kind, {})}
    params |= {"images.classifier": {"steps": 1500}, "images.autoencoder": {"steps": 700}}.get(kind, {})
    params |= {"w2v.train": {"epochs": 10}, "imdb.train": {"epochs": 5}}.get(kind, {})
    rec = Recorder(stop_after=1)
    result = run_job(kind, params, emit=rec.emit, should_stop=rec.should_stop)
    assert result["stopped"] is True
    total = next(e["total"] for e in rec.of("start"))
    assert 0 < result["step"] < total
    assert not list((lab.cache / "user-artifacts" / kind).rglob("card.json"))
