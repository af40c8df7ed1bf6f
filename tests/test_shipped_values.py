"""Shipped numbers, measured again: every test here loads a shipped artifact (or the code a report
was made with), recomputes a number of its card or report on the real data, and compares.

Reading the committed JSON only proves the JSON is there; these notice drift: a tokenizer, a loader,
a defense or a detector that changed after the number was measured, or an artifact swapped for
another. Each re-measure takes seconds, deterministically:

    exact (up to SIMD rounding)       generation held-out NLL, character ladder val loss, the injection
                                      judge on the deepset test split, Gandalf's input defenses
    on a fixed random subsample       IMDB accuracy (2,000 of 25,000 reviews), image classifier and tiny
                                      CLIP accuracy (1,500 + 1,500 of 20,000 pictures): the tolerance is z = 4
                                      standard errors of a proportion on n of N items drawn without
                                      replacement (see ``sampling_tolerance``)

The end of this file checks that every ``bench/*.py`` script parses its arguments from a fresh clone.
Tests that read the data sets need ``PIZARRA_DATA`` (``make test`` sets it to ../shared/data).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from pizarra.assets.artifacts import load_artifact
from pizarra.config import REPO_ROOT, reports_dir

real_data = pytest.mark.skipif(not os.environ.get("PIZARRA_DATA", "").strip(), reason="PIZARRA_DATA is not set")
SEED = 0
Z = 4.0  # a fixed subsample outside 4 standard errors happens with probability 6e-5


def sampling_tolerance(p: float, n: int, N: int, z: float = Z) -> float:
    """z standard errors of a proportion p measured on n of N items drawn without replacement."""
    return z * math.sqrt(p * (1 - p) / n * (N - n) / (N - 1))


def test_sampling_tolerance():
    assert sampling_tolerance(0.9, 2000, 25000) == pytest.approx(4 * 0.00671 * 0.959, rel=1e-3)
    assert sampling_tolerance(0.9, 100, 100) == 0  # the whole set: no sampling error


# ---------------------------------------------------------------------------------- chapter 4


@pytest.mark.shared_data
@real_data
def test_character_ladder_val_losses_reproduce(one_thread):
    """Each nets-* artifact scores the Quijote validation chunks exactly as its card says."""
    from pizarra.assets.datasets import load_quijote
    from pizarra.nets.ladder import LADDER, char_data, load_lm

    data = char_data(load_quijote())
    X, Y = data.val  # (1024, 64): the card's "first 1024 non-overlapping 64-char chunks"
    for rung in LADDER:
        model, vocab, card = load_lm(rung.name)
        assert vocab.chars == data.vocab.chars, rung.name
        assert card["data"]["val_chars_scored"] == X.numel(), rung.name
        with torch.no_grad():
            loss = model(X, Y)[1].item()
        assert loss == pytest.approx(card["metrics"]["val_loss_nats"], abs=2e-4), rung.name


# ---------------------------------------------------------------------------------- chapter 5


@pytest.fixture(scope="module")
def imdb_sample():
    """2,000 reviews of the official test split, drawn once with a fixed seed: (texts, labels (n,))."""
    from pizarra.assets.datasets import load_imdb

    test = load_imdb("test")
    rows = [test[i] for i in sorted(random.Random(SEED).sample(range(len(test)), 2000))]
    return [r["text"] for r in rows], np.array([r["label"] for r in rows]), len(test)


@pytest.mark.shared_data
@real_data
@pytest.mark.parametrize("name", ["tfidf-lr", "nbsvm", "lstm", "transformer"])
def test_imdb_accuracy_on_a_fixed_subsample_matches_the_card(name, imdb_sample, one_thread):
    from pizarra.sentiment import shipped
    from pizarra.sentiment.report import read_report

    texts, labels, N = imdb_sample
    card = load_artifact(shipped.artifact_name(name)).metrics
    assert card["test_acc"] == read_report()["models"][name]["test_acc"]  # the page shows the card's number
    p = card["test_acc"] / 100
    acc = float(((shipped.load(name).predict_proba(texts) >= 0.5) == labels).mean())
    tol = sampling_tolerance(p, len(labels), N)
    assert abs(acc - p) <= tol, f"{name}: {acc:.4f} on {len(labels)} test reviews, card {p:.4f} ± {tol:.4f}"


# ---------------------------------------------------------------------------------- chapter 7


@pytest.mark.shared_data
@real_data
def test_generation_heldout_perplexity_reproduces(one_thread):
    """The gen-* models score the fixed held-out text (~2,000 words) as their cards and the report say."""
    from pizarra.generation.corpus import heldout_text
    from pizarra.generation.generate import score
    from pizarra.generation.lm import get_model

    text = heldout_text()
    report = {r["model"]: r for r in json.loads((reports_dir() / "generation_perplexity.json").read_text())["rows"]}
    for name in ("ngram", "lstm", "gpt"):
        card = load_artifact(f"gen-{name}").metrics["heldout"]
        assert (card["words"], card["chars"]) == (len(text.split()), len(text)), name
        r = score(get_model(name), text)
        assert r["tokens"] == card["tokens"], name
        assert r["nll_nats"] == pytest.approx(card["nll_nats"], rel=1e-5), name
        assert r["ppl_word"] == pytest.approx(card["ppl_word"], rel=1e-4), name
        assert report[name]["nll_nats"] == pytest.approx(r["nll_nats"], rel=1e-5), name


# ---------------------------------------------------------------------------------- chapter 9


class NeverLeaks:
    """A stand-in for the LLM that answers every question with one harmless word: with it, whatever a
    level refuses was refused by an INPUT defense (blocklist, judge), which does not depend on the model."""

    model, max_tokens, temperature, calls, hits, seconds = "never-leaks", 0, 0.0, 0, 0, 0.0

    def __call__(self, system, user, seed, history=(), prefill=""):
        self.calls += 1
        return "Hola."


GANDALF_REPORTS = ["gandalf_eval.json", "gandalf_eval_seed1.json"]
INPUT_DEFENSES = ("input_blocklist", "input_judge")


@pytest.fixture(scope="module")
def gandalf_input_side():
    """The red-team evaluation of levels 5-8 run again with today's defenses and a model that never leaks."""
    from pizarra.gandalf import evaluate as ev

    attacks, benign, topic = (ev.read_prompts(p) for p in (ev.ATTACKS, ev.BENIGN, ev.TOPIC))
    return ev.evaluate(attacks, benign, seed=0, levels=[5, 6, 7, 8], assistant=NeverLeaks(), topic=topic)["levels"]


@pytest.mark.parametrize("name", GANDALF_REPORTS)
def test_gandalf_input_defenses_refuse_what_the_report_counted(name, gandalf_input_side):
    """Levels 7 and 8 meet their leak floors mostly because the blocklist and the injection judge refuse the
    attack before the model reads it. That part needs no LLM: re-measured, it must equal the report's counts."""
    report = json.loads((REPO_ROOT / "reports" / name).read_text())["levels"]
    for lv, now in gandalf_input_side.items():
        then = report[lv]
        assert set(now["blocked_by"]) <= set(INPUT_DEFENSES), lv  # the stand-in never trips an output guard
        for d in INPUT_DEFENSES:
            assert now["blocked_by"].get(d, 0) == then["blocked_by"].get(d, 0), (name, lv, d)
        # the report's refusals are these input refusals plus those of the output guards
        assert now["false_refusals"] <= then["false_refusals"], (name, lv)
        assert now["false_refusals_topic"] <= then["false_refusals_topic"], (name, lv)
        assert now["leaks"] == 0
        refused_attacks = sum(now["blocked_by"].values()) - now["false_refusals"] - now["false_refusals_topic"]
        assert then["leaks"] <= now["n_attacks"] - refused_attacks, (name, lv)  # only what the model read leaks


@pytest.mark.parametrize("name", GANDALF_REPORTS)
def test_gandalf_report_examples_rejudged_by_todays_code(name):
    """Every recorded leak is still a leak of the same kind for today's detector, every password is the one
    the seed draws today, and every refusal by the judge or the blocklist still happens, with the same score."""
    from pizarra.gandalf import evaluate as ev
    from pizarra.gandalf.blocklist import blocked_word
    from pizarra.gandalf.classifier import load_classifier
    from pizarra.gandalf.game import words
    from pizarra.gandalf.leak import find_leak
    from pizarra.gandalf.levels import get_level, prepare_prompt

    report = json.loads((REPO_ROOT / "reports" / name).read_text())
    rows = [ev.read_prompts(p) for p in (ev.ATTACKS, ev.BENIGN, ev.TOPIC)]
    rows = rows[0] + rows[1] + rows[2]
    rng = random.Random(report["seed"])
    password = {r["id"]: rng.choice(words(ev._lang(r))) for r in rows}  # evaluate()'s draws, in its order
    clf = load_classifier()
    n_leaks = n_refusals = 0
    for lv, level in report["levels"].items():
        for ex in level["examples"]:
            assert ex["password"] == password[ex["id"]], (name, lv, ex["id"])
            leak = find_leak(ex["password"], ex["answer"], fuzzy=True)
            assert leak is not None and leak.method == ex["method"], (name, lv, ex["id"])
            n_leaks += 1
        for ex in level["false_refusal_examples"] + level["false_refusal_examples_topic"]:
            assert ex["password"] == password[ex["id"]], (name, lv, ex["id"])
            text = prepare_prompt(ex["prompt"])[0]
            if ex["defense"] == "input_judge":
                assert clf.score(text) == pytest.approx(ex["detail"]["score"], abs=2e-3), (name, lv, ex["id"])
                assert ex["detail"]["threshold"] == get_level(int(lv)).input_judge
                n_refusals += 1
            elif ex["defense"] == "input_blocklist":
                assert blocked_word(text, wide=get_level(int(lv)).blocklist == "wide") == ex["detail"]["word"]
                n_refusals += 1
    assert n_leaks >= 5 and n_refusals >= 3  # the reports do record examples of both


@pytest.mark.shared_data
@real_data
def test_injection_judge_card_reproduces_on_the_deepset_test_split():
    from pizarra.assets.datasets import load_prompt_injections
    from pizarra.gandalf.classifier import ARTIFACT, load_classifier, precision_recall

    test = load_prompt_injections("test")
    clf = load_classifier()
    p = clf.scores([r["text"] for r in test])  # (116,)
    y = np.array([int(r["label"]) for r in test])
    card = load_artifact(ARTIFACT).metrics["deepset_test"]
    assert (card["n"], card["injections"]) == (len(y), int(y.sum()))
    for key, threshold in (("threshold", clf.threshold), ("threshold_strict", clf.threshold_strict)):
        got = precision_recall(y, (p >= threshold).astype(int))
        assert {k: got[k] for k in ("tp", "fp", "fn", "tn")} == {k: card[key][k] for k in ("tp", "fp", "fn", "tn")}
        assert got == card[key]


# --------------------------------------------------------------------------------- chapter 10


@pytest.fixture(scope="module")
def picture_sample():
    """1,500 Fashion-MNIST and 1,500 MNIST test pictures (fixed seed): (images, labels, {part: slice})."""
    from pizarra.images.data import load_images

    images, labels = load_images("test")  # Fashion-MNIST (labels 0-9) then MNIST (10-19), 10,000 each
    rng = np.random.default_rng(SEED)
    idx = np.concatenate([np.sort(rng.choice(10_000, 1_500, replace=False)) + lo for lo in (0, 10_000)])
    return images[idx], labels[idx], {"fashion": slice(0, 1_500), "digits": slice(1_500, 3_000)}


@pytest.mark.shared_data
@real_data
def test_image_classifier_accuracy_on_a_fixed_subsample_matches_the_card(picture_sample, one_thread):
    """Each half against its card number (10,000 pictures each), and both together (20,000)."""
    from pizarra.images.data import to_float
    from pizarra.images.models import load_classifier

    images, labels, parts = picture_sample
    card = load_artifact("img-classifier").metrics
    with torch.no_grad():
        right = load_classifier()(to_float(images))[0].argmax(-1).numpy() == labels
    for part, where in parts.items():
        p, n = card[f"test_acc_{part}"], len(labels[where])
        tol = sampling_tolerance(p, n, 10_000)
        assert abs(right[where].mean() - p) <= tol, f"{part}: {right[where].mean():.4f}, card {p:.4f} ± {tol:.4f}"
    tol = sampling_tolerance(card["test_acc"], len(right), 20_000)
    assert abs(right.mean() - card["test_acc"]) <= tol, f"{right.mean():.4f}, card {card['test_acc']:.4f} ± {tol:.4f}"


@pytest.mark.shared_data
@real_data
def test_clip_image_to_text_accuracy_on_a_fixed_subsample_matches_the_card(picture_sample, one_thread):
    """The tiny CLIP names the class of each picture (top 1, top 5 of 20 caption prototypes) as its card says."""
    from pizarra.images.evaluate import clip_retrieval
    from pizarra.images.models import load_clip

    images, labels, _ = picture_sample
    card = load_artifact("img-clip").metrics
    clip, vocab = load_clip()
    got = clip_retrieval(clip, vocab, images, labels)
    for key in ("image_to_text_acc@1", "image_to_text_acc@5"):
        tol = sampling_tolerance(card[key], len(labels), card["test_pictures"])
        assert abs(got[key] - card[key]) <= tol + 1e-4, f"{key}: {got[key]:.4f}, card {card[key]:.4f} ± {tol:.4f}"


# ------------------------------------------------------------------------------ bench scripts

BENCH = sorted((REPO_ROOT / "bench").glob("*.py"))


def _fresh_clone_env(tmp_path: Path) -> dict:
    """No data folder, an empty cache and home: what a fresh clone has."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIZARRA_")}
    env.update(HOME=str(tmp_path), PIZARRA_CACHE=str(tmp_path / "cache"), PYTHONPATH=str(REPO_ROOT / "src"))
    return env


def test_every_bench_script_parses_its_arguments_from_a_fresh_clone(tmp_path):
    """``python bench/X.py --help`` works for every script with no data, no cache and nothing trained
    (all at once: most of the time is importing torch)."""
    assert len(BENCH) >= 10
    reports = {p.name: p.stat().st_mtime_ns for p in (REPO_ROOT / "reports").iterdir()}
    procs = {
        script.name: subprocess.Popen(
            [sys.executable, str(script), "--help"],
            cwd=REPO_ROOT,
            env=_fresh_clone_env(tmp_path),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for script in BENCH
    }
    failed = {}
    for name, proc in procs.items():
        out, err = proc.communicate(timeout=180)
        if proc.returncode != 0 or not out.startswith("usage:"):
            failed[name] = (proc.returncode, (out + err)[-800:])
    assert not failed, failed
    assert {p.name: p.stat().st_mtime_ns for p in (REPO_ROOT / "reports").iterdir()} == reports  # --help wrote nothing


def _embeddings_bench():
    sys.path.insert(0, str(REPO_ROOT / "bench"))
    try:
        import embeddings_bench
    finally:
        sys.path.remove(str(REPO_ROOT / "bench"))
    return embeddings_bench


def test_embeddings_bench_without_data_says_what_to_set_before_measuring_anything(tmp_path):
    """It used to read a corpus file only ``train_w2v`` writes, and crash after the neighbour bench."""
    r = subprocess.run(
        [sys.executable, str(REPO_ROOT / "bench" / "embeddings_bench.py"), "--words", "1000"],
        cwd=REPO_ROOT,
        env=_fresh_clone_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 2 and r.stdout == "", (r.stdout, r.stderr)
    assert "Traceback" not in r.stderr
    assert "Falta PIZARRA_DATA" in r.stderr and "PIZARRA_DATA is missing" in r.stderr
    assert "python -m pizarra.embeddings.train_w2v" in r.stderr and "--skip-training" in r.stderr


def test_embeddings_bench_tokenises_the_same_words_train_w2v_writes(tmp_path, monkeypatch):
    """Without the cached corpus the bench makes the first lines of it itself: the same words in the same lines."""
    from pizarra.embeddings.train_w2v import corpus_file

    data = Path(__file__).parent / "fixtures" / "data"
    monkeypatch.setenv("PIZARRA_DATA", str(data))
    written, stats = corpus_file(tmp_path / "corpus_es.txt", data=data)
    lines = [line.split() for line in written.read_text(encoding="utf-8").splitlines()]
    bench = _embeddings_bench()
    made, source = bench.training_sentences(40, cache=tmp_path / "absent.txt")
    assert source.startswith("PIZARRA_DATA") and sum(map(len, made)) >= 40
    assert made == lines[: len(made)]
    read, source = bench.training_sentences(40, cache=written)
    assert read == made and source == str(written)
    everything, _ = bench.training_sentences(10**9, cache=tmp_path / "absent.txt")
    assert sum(map(len, everything)) == stats["words"]


def _run_gpu_2(tmp_path: Path, good_checksum: bool) -> tuple[subprocess.CompletedProcess, Path]:
    """bench/imdb_gpu_2.sh in a temp folder, with ``python3`` replaced by a stub that notes it ran."""
    repo, minilm, work, out, stub = (tmp_path / d for d in ("repo", "minilm", "work", "out", "bin"))
    (repo / ".gpu" / "minilm").mkdir(parents=True)
    for d in (out, stub, work / "art", work / "rep", work / "out"):
        d.mkdir(parents=True)
    (work / "out" / "bg.done").touch()  # call 1's detached jobs are done
    (repo / ".gpu" / "minilm" / "model.part0").write_bytes(b"first half ")
    (repo / ".gpu" / "minilm" / "model.part1").write_bytes(b"second half")
    digest = hashlib.sha256(b"first half second half").hexdigest() if good_checksum else "0" * 64
    (repo / ".gpu" / "minilm" / "minilm.sha256").write_text(f"{digest}  model.safetensors\n")
    (stub / "python3").write_text('#!/bin/sh\necho "$@" >> "$OUT/python3-ran"\n')
    (stub / "python3").chmod(0o755)
    env = {"PATH": f"{stub}:{os.environ['PATH']}", "OUT": str(out), "MINILM": str(minilm), "WORK": str(work)}
    r = subprocess.run(
        ["bash", str(REPO_ROOT / "bench" / "imdb_gpu_2.sh")], cwd=repo, env=env, capture_output=True, text=True
    )
    return r, out


def test_imdb_gpu_script_stops_on_a_checksum_mismatch(tmp_path):
    """It used to print WEIGHTS DO NOT MATCH and fine-tune on them anyway."""
    r, out = _run_gpu_2(tmp_path, good_checksum=False)
    assert r.returncode == 1, r.stdout + r.stderr
    assert not (out / "python3-ran").exists(), "it trained on weights that failed their checksum"
    assert "checksum mismatch" in r.stderr and not (out / "imdb_gpu.tar").exists()


def test_imdb_gpu_script_runs_on_matching_weights(tmp_path):
    r, out = _run_gpu_2(tmp_path, good_checksum=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "-m pizarra.sentiment.finetune --encoder" in (out / "python3-ran").read_text()
    assert (out / "imdb_gpu.tar").is_file()
