"""Chapters 1 and 5 (IMDB): data, the linear baselines, the neural models, the shipped artifacts,
the LLM-as-classifier arithmetic, the bench on a tiny synthetic IMDB, and data-parallel training."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from pizarra.errors import BadInput
from pizarra.sentiment import data, linear, neural
from pizarra.sentiment.examples import SLIDE_REVIEWS

REPO = Path(__file__).resolve().parents[1]
FIXTURE = Path(__file__).parent / "fixtures" / "sentiment" / "reviews.jsonl"

POS = ["wonderful", "brilliant", "great", "loved", "moving", "perfect", "funny", "superb"]
NEG = ["awful", "boring", "terrible", "waste", "dull", "stupid", "worst", "junk"]
FILL = "the movie film plot actor story scene director was is and it a of this".split()


def synthetic_imdb(root: Path, n_train: int = 240, n_test: int = 80, seed: int = 0) -> Path:
    """A tiny IMDB look-alike in the official layout: sentiment words among filler words."""
    rng = np.random.default_rng(seed)
    (root / "imdb").mkdir(parents=True)
    for split, n in (("train", n_train), ("test", n_test)):
        rows = []
        for i in range(n):
            label = i % 2
            words = list(rng.choice(FILL, 12)) + list(rng.choice(POS if label else NEG, 3))
            rng.shuffle(words)
            rows.append(
                {
                    "id": f"{split}/{'pos' if label else 'neg'}/{i}_7",
                    "text": " ".join(words) + " !",
                    "label": label,
                    "rating": 8 if label else 2,
                }
            )
        (root / "imdb" / f"imdb_{split}_00.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return root


@pytest.fixture(scope="module")
def tiny_splits(tmp_path_factory):
    root = synthetic_imdb(tmp_path_factory.mktemp("imdb"))
    return data.load_splits(data=root, val_size=40)


# ----------------------------------------------------------------------------------- data


def test_tokenizer_splits_contractions_like_glove_and_drops_html():
    assert data.tokenize("I didn't LOVE it!<br /><br />Can't, it's ok?") == [
        "i",
        "did",
        "n't",
        "love",
        "it",
        "!",
        "ca",
        "n't",
        "it",
        "'s",
        "ok",
        "?",
    ]


def test_head_tail_keeps_start_and_end():
    assert data.head_tail(list(range(10)), 4) == [0, 7, 8, 9]
    assert data.head_tail(list(range(10)), 4, head=2) == [0, 1, 8, 9]
    assert data.head_tail([1, 2], 4) == [1, 2]


def test_check_review_rejects_empty_cuts_long_and_flags_non_english():
    with pytest.raises(BadInput):
        data.check_review("   \n")
    text, notices = data.check_review("Bad movie. " * 5000)
    assert len(text) == data.MAX_CHARS and notices == ["truncated"]
    assert "not_english" in data.check_review("Esta película es maravillosa y me encantó de principio a fin")[1]
    assert "not_english" in data.check_review("это очень хороший фильм, мне понравилось")[1]
    assert data.check_review(SLIDE_REVIEWS[1]["text"])[1] == []


def test_splits_are_disjoint_balanced_and_seeded(tiny_splits):
    tr, va = tiny_splits["train"], tiny_splits["val"]
    assert len(tr) + len(va) == len(tiny_splits["train_full"]) == 240
    assert not set(tr.ids) & set(va.ids)
    assert va.labels.sum() == len(va) // 2


def test_split_is_the_same_every_time(tmp_path):
    root = synthetic_imdb(tmp_path / "d")
    a, b = data.load_splits(data=root, val_size=40), data.load_splits(data=root, val_size=40)
    assert a["val"].ids == b["val"].ids
    assert data.load_splits(data=root, val_size=40, seed=1)["val"].ids != a["val"].ids


def test_vocab_reserves_pad_and_unk():
    v = data.Vocab.build([["a", "b", "a"], ["a", "c"]], max_size=10, min_count=1)
    assert v.itos[:3] == ["<pad>", "<unk>", "a"]
    assert v.encode(["a", "zzz"]) == [2, data.Vocab.UNK]


# --------------------------------------------------------------------------------- linear


def test_nb_ratio_is_the_log_count_ratio():
    import scipy.sparse as sp

    F = sp.csr_matrix(np.array([[1, 0], [1, 1], [0, 1]], dtype=np.float32))
    y = np.array([1, 1, 0])
    r = linear.nb_ratio(F, y, alpha=1.0)
    p, q = np.array([3.0, 2.0]), np.array([1.0, 2.0])  # alpha + counts per class
    assert np.allclose(r, np.log(p / p.sum()) - np.log(q / q.sum()))


@pytest.mark.parametrize("train", [linear.train_tfidf_lr, linear.train_nbsvm])
def test_linear_models_learn_explain_and_survive_storage(tiny_splits, train):
    model, rec = train(tiny_splits, ngram_grid=(1, 2), log=lambda *_: None)
    assert rec["chosen"]["val_acc"] >= 0.9
    test = tiny_splits["test"]
    assert linear.accuracy(model, test.texts, test.labels) >= 0.9
    # explanation: n-gram contributions + bias = the model's score
    text = test.texts[0]
    ex = model.explain(text, k=1000)
    total = sum(v for _, v in ex["positive"]) + sum(v for _, v in ex["negative"]) + ex["bias"]
    assert total == pytest.approx(float(model.scores([text])[0]), abs=1e-3)
    assert len(ex["tokens"]) == len(ex["token_scores"])
    # storage: float16 weights + xz vocabulary give the same probabilities
    back = linear.LinearModel.from_files(model.kind, model.ngram_max, model.tensors(), model.vocab_bytes())
    assert np.allclose(back.predict_proba(test.texts), model.predict_proba(test.texts), atol=2e-3)


def test_tfidf_rows_are_unit_length():
    X, vocab = linear.fit_counts(["good good movie", "bad movie"], 2, 1, binary=False)
    T = linear.tfidf(X, linear.smooth_idf(X))
    assert np.allclose(np.sqrt(T.multiply(T).sum(1)).A.ravel(), 1.0)


# --------------------------------------------------------------------------------- neural


def test_reverse_each_flips_within_length_and_is_an_involution():
    x = torch.arange(10.0).view(2, 5, 1)
    L = torch.tensor([3, 5])
    r = neural.reverse_each(x, L)
    assert r[0, :, 0].tolist() == [2, 1, 0, 3, 4] and r[1, :, 0].tolist() == [9, 8, 7, 6, 5]
    assert torch.equal(neural.reverse_each(r, L), x)


def test_word_dropout_only_while_training_and_never_on_padding():
    torch.manual_seed(0)
    idx = torch.randint(2, 50, (64, 40))
    idx[:, 30:] = data.Vocab.PAD
    assert torch.equal(neural.drop_words(idx, 0.25, training=False), idx)
    out = neural.drop_words(idx, 0.25, training=True)
    hit = out != idx
    assert torch.all(out[hit] == data.Vocab.UNK) and not hit[:, 30:].any()  # padding stays padding
    assert 0.2 < hit[:, :30].float().mean().item() < 0.3
    cfg = neural.NeuralConfig(
        kind="transformer", vocab_size=50, max_len=40, d_model=8, n_heads=2, n_layers=1, word_dropout=0.5
    )
    m = neural.build(cfg).eval()
    L = torch.full((64,), 30)
    assert torch.equal(m(idx, L)[0], m(idx, L)[0])  # evaluation is deterministic: no words dropped


def test_bilstm_equals_pytorch_packed_bidirectional_lstm(one_thread):
    """Glass box = black box: our two LSTMs (backward one on reversed sequences) give exactly
    the hidden states of nn.LSTM(bidirectional=True) run on packed sequences."""
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    torch.manual_seed(0)
    cfg = neural.NeuralConfig(kind="lstm", vocab_size=50, d_emb=6, hidden=5)
    m = neural.LSTMClassifier(cfg).eval()
    ref = torch.nn.LSTM(6, 5, batch_first=True, bidirectional=True)
    with torch.no_grad():
        for name in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"):
            getattr(ref, name).copy_(getattr(m.fwd, name))
            getattr(ref, name + "_reverse").copy_(getattr(m.bwd, name))
    e = torch.randn(3, 7, 6)
    L = torch.tensor([7, 4, 2])
    out, _ = ref(pack_padded_sequence(e, L, batch_first=True, enforce_sorted=False))
    h_ref, _ = pad_packed_sequence(out, batch_first=True, total_length=7)
    h_fwd, _ = m.fwd(e)
    h_bwd = neural.reverse_each(m.bwd(neural.reverse_each(e, L))[0], L)
    mask = (torch.arange(7)[None] < L[:, None])[..., None]
    assert torch.allclose(torch.cat([h_fwd, h_bwd], -1) * mask, h_ref, atol=1e-6)


@pytest.mark.parametrize("kind", ["lstm", "transformer"])
def test_padding_never_changes_the_prediction(kind, one_thread):
    torch.manual_seed(0)
    cfg = neural.NeuralConfig(kind=kind, vocab_size=40, max_len=16, d_model=16, hidden=8, n_heads=2, n_layers=1)
    m = neural.build(cfg).eval()
    idx = torch.randint(2, 40, (1, 16))
    short, _ = m(idx[:, :9], torch.tensor([9]))
    padded = idx.clone()
    padded[:, 9:] = 0
    long_, _ = m(padded, torch.tensor([9]))
    assert torch.allclose(short, long_, atol=1e-5)


def test_masked_pool_ignores_padding():
    h = torch.tensor([[[1.0], [3.0], [100.0]]])
    assert neural.masked_pool(h, torch.tensor([2])).tolist() == [[3.0, 2.0]]


def test_neural_bench_smoke_on_tiny_imdb(tiny_splits, one_thread, tmp_path):
    """The real training path (shared loop, early stopping on val, test once) on tiny data;
    nothing is written without write=True."""
    glove = tmp_path / "g.npz"
    np.savez(glove, words=np.array(["wonderful", "awful"]), vectors=np.ones((2, 50), dtype=np.float16))
    rows = []
    row = neural.bench(
        "lstm",
        tiny_splits,
        limit=240,
        write=False,
        log=lambda *_: None,
        epochs=3,
        glove=str(glove),
        finish=lambda name, fn, splits, r, write, log: rows.append((r, fn(splits["test"].texts))) or r,
    )
    assert row["val_acc"] >= 60 and row["params"] > 0
    p = rows[0][1]
    assert p.shape == (80,) and ((p >= 0.5) == tiny_splits["test"].labels).mean() >= 0.6


# ------------------------------------------------------------------------ shipped models


@pytest.fixture(scope="module")
def shipped_models():
    from pizarra.sentiment import shipped

    if len(shipped.available()) < 4:
        pytest.skip("the imdb-* artifacts are not in artifacts/")
    return {n: shipped.load(n) for n in shipped.SHIPPED}


def test_shipped_models_reproduce_the_reported_slide_predictions(shipped_models):
    """What ships is what was measured: each artifact gives the p(positive) that the bench run
    recorded in reports/imdb.json for the two reviews of the slide."""
    from pizarra.sentiment.report import read_report

    rows = read_report()["models"]
    texts = [r["text"] for r in SLIDE_REVIEWS]
    for name, model in shipped_models.items():
        got = model.predict_proba(texts)
        want = [s["p_pos"] for s in rows[name]["slide_reviews"]]
        assert np.allclose(got, want, atol=2e-3), name
        assert (got >= 0.5).tolist() == [False, True]


def test_shipped_models_on_a_labelled_file(shipped_models):
    from pizarra.sentiment.predict import evaluate_file

    r = evaluate_file(FIXTURE)
    assert set(r["models"]) == {"tfidf-lr", "nbsvm", "lstm", "transformer"}
    for m in r["models"].values():
        assert m["n"] == 6 and m["accuracy"] >= 5 / 6


def test_predict_explains_with_words_of_the_review(shipped_models):
    from pizarra.sentiment.predict import predict

    r = predict("An awful, boring film. A total waste of time.", k=3)
    for name, m in r["models"].items():
        assert m["label"] == 0, name
        assert m["explain"]["negative"], name
        words = set(m["explain"]["tokens"])
        assert all(set(g.split()) <= words for g, _ in m["explain"]["negative"]), name


def test_eval_file_errors_name_the_line(tmp_path):
    from pizarra.sentiment.predict import read_jsonl

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "fine", "label": 1}\n{"text": "x", "label": 3}\n')
    with pytest.raises(BadInput, match="line 2"):
        read_jsonl(bad)
    with pytest.raises(BadInput, match="No file"):
        read_jsonl(tmp_path / "missing.jsonl")


def test_artifacts_stay_within_their_share():
    from pizarra.config import artifacts_dir

    total = sum(p.stat().st_size for p in artifacts_dir().glob("imdb-*/*"))
    assert 0 < total <= 15_000_000


def test_report_has_every_row_with_its_facts():
    from pizarra.sentiment.report import read_report

    rows = read_report()["models"]
    for name in ("tfidf-lr", "nbsvm", "lstm", "transformer", "minilm-lr", "finetune"):
        r = rows[name]
        assert 50 < r["test_acc"] <= 100 and r["hardware"] and "seed" in r
        assert sum(map(sum, r["confusion"])) == r["n_test"]
        assert r["test_acc"] == pytest.approx(
            100 * (r["confusion"][0][0] + r["confusion"][1][1]) / r["n_test"], abs=0.01
        )


def test_the_gpu_rows_are_written_by_code_from_the_runs_metrics(tmp_path):
    """Rows e and f come from finetune's metrics.json (reports/imdb_finetune.json) through gpu_rows():
    the committed rows are exactly what the code writes (no number pasted by hand)."""
    from pizarra.config import reports_dir
    from pizarra.sentiment import bench
    from pizarra.sentiment.report import read_report

    committed = read_report()["models"]
    metrics = reports_dir() / "imdb_finetune.json"
    for name, row in bench.gpu_rows(json.loads(metrics.read_text(encoding="utf-8"))).items():
        assert row == {k: v for k, v in committed[name].items() if k != "date"}, name
    out = tmp_path / "imdb.json"
    bench.record_gpu_rows(metrics, out, date="2026-11-26T15:09:36+00:00")
    assert json.loads(out.read_text())["models"] == {k: committed[k] for k in bench.GPU_ROWS}


# --------------------------------------------------------------------------- generative


def test_prompt_ends_where_the_label_word_comes():
    from pizarra.sentiment import generative as g

    p = g.prompt_text("Nice film.", "zero")
    assert p.endswith("Review: Nice film.\nSentiment:") and "negative" in p
    few = g.prompt_text("Nice film.", "few")
    assert few.count("Sentiment:") == 3 and few.index(g.FEW_SHOT[0][0]) < few.index("Nice film.")
    assert len(g.shorten("word " * 1000).split()) == g.MAX_REVIEW_WORDS


def test_calibration_divides_by_the_content_free_probabilities(monkeypatch):
    from pizarra.sentiment import generative as g

    probs = {"N/A": (0.6, 0.2), "meh": (0.3, 0.1)}
    monkeypatch.setattr(g, "label_probs", lambda review, model, mode: (*probs[review], "PROMPT"))
    monkeypatch.setattr(g, "_content_free", {})
    r = g.classify("meh", "gemma-base", "zero")
    assert r["p_pos_raw"] == pytest.approx(0.75)
    assert r["p_pos"] == pytest.approx(0.5)  # (0.3/0.6) / (0.3/0.6 + 0.1/0.2)
    with pytest.raises(BadInput):
        g.classify("meh", "gpt-5", "zero")


@pytest.mark.slow
def test_a_real_llm_reads_the_label_word_probabilities():
    from pizarra.sentiment import generative as g

    r = g.classify("A wonderful, moving film. I loved it. A masterpiece.", "gemma-base", "zero")
    assert 0 < r["p_tokens"]["positive"] < 1 and 0 < r["p_tokens"]["negative"] < 1
    assert r["prompt"].endswith("Sentiment:")
    assert r["p_pos"] > 0.5


# ------------------------------------------------------------------------ bench and DDP


def test_linear_bench_smoke_writes_nothing_unless_asked(tmp_path, monkeypatch):
    from pizarra.sentiment import bench

    root = synthetic_imdb(tmp_path / "d", n_train=2600, n_test=60)
    monkeypatch.setenv("PIZARRA_DATA", str(root))
    monkeypatch.setenv("PIZARRA_ARTIFACTS", str(tmp_path / "art"))
    rep = tmp_path / "rep.json"
    row = bench.run("tfidf-lr", limit=200, report_file=rep, log=lambda *_: None)
    assert row["test_acc"] >= 90 and row["confusion"] and len(row["slide_reviews"]) == 2
    assert not rep.exists() and not (tmp_path / "art").exists()
    with pytest.raises(BadInput):
        bench.run("gpt-5")


@pytest.mark.slow
def test_data_parallel_training_runs_through_the_shared_loop(tmp_path):
    """torchrun, 2 CPU processes, gloo: the LSTM trains on a tiny subset and rank 0 reports."""
    root = synthetic_imdb(tmp_path / "d", n_train=2600, n_test=60)
    env = {**os.environ, "PIZARRA_DATA": str(root), "PIZARRA_ARTIFACTS": str(tmp_path / "art"), "OMP_NUM_THREADS": "1"}
    torchrun = Path(sys.executable).with_name("torchrun")
    done = subprocess.run(
        [
            str(torchrun),
            "--nproc_per_node",
            "2",
            "-m",
            "pizarra.sentiment.bench",
            "--model",
            "lstm",
            "--limit",
            "64",
            "--epochs",
            "1",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    row = json.loads(done.stdout.strip().splitlines()[-1])
    assert row["processes"] == 2 and row["n_test"] == 60


def test_cli_predict_eval_and_errors(shipped_models):
    from typer.testing import CliRunner

    from pizarra.cli import app

    runner = CliRunner()
    r = runner.invoke(app, ["sentiment", "A wonderful film, I loved it.", "--model", "nbsvm", "--json"])
    assert r.exit_code == 0, r.output
    body = json.loads(r.stdout)
    assert list(body["models"]) == ["nbsvm"] and body["models"]["nbsvm"]["label"] == 1
    r = runner.invoke(app, ["sentiment", "eval", str(FIXTURE), "--json"])
    assert r.exit_code == 0 and json.loads(r.stdout)["models"]["lstm"]["n"] == 6
    r = runner.invoke(app, ["sentiment", "  ", "--json"])
    assert r.exit_code == 2 and json.loads(r.stdout)["error"]["type"] == "BadInput"
    r = runner.invoke(app, ["bench", "imdb", "--model", "gpt-5", "--json"])
    assert r.exit_code == 2
