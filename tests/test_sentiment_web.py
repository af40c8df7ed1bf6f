"""Chapters 1 and 5 over HTTP: the pages show the measured table, the API classifies and explains."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from pizarra.sentiment import shipped
from pizarra.web.app import Settings, create_app


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    return TestClient(create_app(Settings(db_path=tmp_path_factory.mktemp("db") / "jobs.sqlite")))


needs_models = pytest.mark.skipif(len(shipped.available()) < 4, reason="imdb-* artifacts missing")


def test_chapter5_page_shows_the_measured_table_and_the_slide(client):
    from pizarra.sentiment.report import read_report

    html = client.get("/capitulo/imdb?lang=es").text
    rows = read_report()["models"]
    # numbers in the page's language (issue #18): 81,99 % with a decimal comma and a no-break space
    assert 'id="imdb-table"' in html and "81,99\u00a0%" in html and "94,67\u00a0%" in html
    for name, r in rows.items():
        shown = f"{r['test_acc']:.2f}".replace(".", ",") + "\u00a0%"
        assert f'data-model="{name}"' in html and shown in html
    assert "RAGTAG TEAM" in html and "Checking Out" in html
    assert "Matrices de confusión" in html
    assert "Confusion matrices" in client.get("/capitulo/imdb?lang=en").text


def test_chapter1_page_puts_both_kinds_of_model_side_by_side(client):
    html = client.get("/capitulo/discriminativa-generativa?lang=es").text
    assert "p(y | x)" in html and "IA generativa" in html and 'id="gen-form"' in html
    assert "discriminativo" in html


@needs_models
def test_predict_api_labels_explains_and_warns(client):
    r = client.post("/api/sentiment/predict", json={"text": "A superb film, I loved it!", "k": 3})
    assert r.status_code == 200
    body = r.json()
    assert set(body["models"]) == {"tfidf-lr", "nbsvm", "lstm", "transformer"}
    assert all(m["label"] == 1 and m["p_pos"] > 0.5 for m in body["models"].values())
    assert body["models"]["transformer"]["explain"]["attention"]
    r = client.post(
        "/api/sentiment/predict",
        json={"text": "Una película horrible, no la recomiendo a nadie.", "models": ["nbsvm"], "explain": False},
    )
    assert r.json()["notices"] == ["not_english"] and "explain" not in r.json()["models"]["nbsvm"]
    r = client.post(
        "/api/sentiment/predict", json={"text": "Good. " * 170_000, "models": ["tfidf-lr"], "explain": False}
    )
    assert r.status_code == 200 and r.json()["notices"] == ["truncated"] and r.json()["chars"] == 20_000


def test_predict_api_rejects_bad_input(client):
    assert client.post("/api/sentiment/predict", json={"text": "   "}).status_code == 422
    assert client.post("/api/sentiment/predict", json={"text": ""}).status_code == 422
    r = client.post("/api/sentiment/predict", json={"text": "ok", "models": ["gpt"]})
    assert r.status_code == 422


def test_llm_api_shape(client, monkeypatch):
    from pizarra.sentiment import generative

    fake = {
        "model": "gemma-base",
        "mode": "zero",
        "p_pos": 0.7,
        "p_pos_raw": 0.8,
        "label": 1,
        "p_tokens": {"positive": 0.4, "negative": 0.1},
        "prior": {"positive": 0.3, "negative": 0.2},
        "prompt": "...Sentiment:",
        "seconds": 0.1,
    }
    monkeypatch.setattr(generative, "classify", lambda text, model, mode: fake)
    r = client.post("/api/sentiment/llm", json={"text": "Loved it", "model": "gemma-base"})
    assert r.status_code == 200 and r.json()["p_pos"] == 0.7 and r.json()["notices"] == []
    assert client.post("/api/sentiment/llm", json={"text": "x" * 5001}).status_code == 422
    assert client.post("/api/sentiment/llm", json={"text": " "}).status_code == 422


def test_report_api_orders_rows_like_the_table(client):
    body = client.get("/api/sentiment/report").json()
    assert body["order"][:4] == ["tfidf-lr", "nbsvm", "lstm", "transformer"]


def test_segments_lay_the_models_tokens_on_the_review_as_written():
    """Issue #18: the models' tokenizer keeps a-z only, and the page echoed its tokens ("pel cula").
    The segments are the review itself, each token the model read placed on it, the rest marked."""
    from pizarra.sentiment.data import tokenize
    from pizarra.sentiment.display import segments

    text = "Una película <br />HORRIBLE, ¡qué pena!"
    toks = tokenize(text)
    assert toks == ["una", "pel", "cula", "horrible", "qu", "pena", "!"]
    segs = segments(text, toks, [i / 10 for i in range(len(toks))], known=lambda w: w not in {"pel", "cula"})
    assert "".join(s["text"] for s in segs) == text  # accents, case, ¡ and the <br /> as written
    assert [s["text"] for s in segs if "token" in s] == ["Una", "pel", "cula", "HORRIBLE", "qu", "pena", "!"]
    assert [s["text"] for s in segs if s.get("ignored")] == ["í", "é"]  # letters the tokenizer cannot see
    assert [s["text"] for s in segs if s.get("unknown")] == ["pel", "cula"]
    assert next(s for s in segs if s["text"] == "HORRIBLE")["score"] == 0.3
    # a network that read only the first and last tokens of a long review: the middle is "skipped"
    long = "good " * 10 + "boring " * 10 + "great " * 10
    read = ["good"] * 5 + ["boring"] * 5 + ["great"] * 10  # data.head_tail(tokens, 20): a quarter, the rest
    segs = segments(long, read, [1.0] * 20)
    assert "".join(s["text"] for s in segs) == long
    assert [s["text"] for s in segs if s.get("skipped")] == ["good"] * 5 + ["boring"] * 5
    assert segments(long, ["great"] * 20, [1.0] * 20) is None  # tokens of another text: nothing to lay


def test_predict_api_returns_the_review_as_written_for_every_model(client):
    text = "Una película horrible, no la recomiendo a nadie. ¡Qué pena de año!"
    body = client.post("/api/sentiment/predict", json={"text": text, "k": 3}).json()
    assert set(body["models"]) == {"tfidf-lr", "nbsvm", "lstm", "transformer"}
    for name, m in body["models"].items():
        segs = m["explain"]["segments"]
        assert "".join(s["text"] for s in segs) == text, name
        assert {"text": "í", "ignored": True} in segs and {"text": "ñ", "ignored": True} in segs
        cula = next(s for s in segs if s["text"] == "cula")
        assert cula["unknown"] is True and m["explain"]["tokens"][cula["token"]] == "cula"
    # the LSTM reads at most 320 tokens of a long review: what it skipped is marked, the text is whole
    long = "A fine film. " * 400
    lstm = client.post("/api/sentiment/predict", json={"text": long, "models": ["lstm"]}).json()
    segs = lstm["models"]["lstm"]["explain"]["segments"]
    assert "".join(s["text"] for s in segs) == long
    assert sum("token" in s for s in segs) == len(lstm["models"]["lstm"]["explain"]["tokens"]) == 320
    assert sum(bool(s.get("skipped")) for s in segs) == 3 * 400 - 320  # "a fine film" x 400
