"""Chapter 4 over HTTP: the page, and the API's answers to good and bad input (shipped artifacts)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from pizarra.web.app import create_app

URL = "/capitulo/redes-recurrentes-transformers"


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app()) as c:
        yield c


@pytest.mark.parametrize("lang,heading", [("es", "Caja de cristal = caja negra"), ("en", "Glass box = black box")])
def test_page_in_both_languages(client, lang, heading):
    r = client.get(URL, params={"lang": lang})
    assert r.status_code == 200
    html = r.text
    assert heading in html and "h_t = tanh(W_hh h_{t−1} + W_xh x_t + b)" in html
    for section in ("parity", "ladder", "elman", "lstm", "attention", "positions", "vanishing"):
        assert f'id="{section}"' in html
    assert 'id="ladder-table"' in html and 'data-model="transformer"' in html  # measured rows
    assert "/static/js/nets.js" in html and "/static/vendor/plotly.min.js" in html


def test_elman_api(client):
    r = client.get("/api/nets/elman", params={"text": "Las nubes"})
    assert r.status_code == 200
    d = r.json()
    assert d["chars"] == list("Las nubes") and d["notices"] == []
    assert len(d["states"][0]) == 9 and len(d["next"]) == 9
    assert d["model"]["artifact"] == "nets-elman" and d["model"]["params"] > 0


def test_lstm_api_on_the_slide_sentence(client):
    d = client.get("/api/nets/lstm", params={"text": "Las nubes están en el"}).json()
    assert set(d["gates"]) == {"i", "f", "o"} and len(d["mean"]["f"]) == len("Las nubes están en el")


def test_attention_api_truncates_and_maps_unknown(client):
    d = client.get("/api/nets/attention", params={"text": "☃" + "a" * 80}).json()
    codes = {n["code"]: n for n in d["notices"]}
    assert codes["truncated"]["kept"] == 64 and codes["truncated"]["length"] == 81
    assert codes["unknown"]["chars"] == ["☃"]
    assert len(d["weights"]) == d["layers"] and len(d["weights"][0]) == d["heads"]
    assert len(d["weights"][0][0]) == 64


@pytest.mark.parametrize("path", ["/api/nets/elman", "/api/nets/lstm", "/api/nets/attention"])
def test_empty_sentence_is_a_clear_422(client, path):
    r = client.get(path, params={"text": "  "})
    assert r.status_code == 422
    assert "empty" in r.json()["error"]["message"]


def test_limits_are_422(client):
    assert client.get("/api/nets/elman", params={"text": "a" * 1001}).status_code == 422
    assert client.get("/api/nets/positional", params={"positions": 0}).status_code == 422
    assert client.get("/api/nets/vanishing", params={"max_len": 121}).status_code == 422


def test_positional_and_vanishing(client):
    p = client.get("/api/nets/positional", params={"positions": 3, "d_model": 4}).json()
    assert p["matrix"][0] == [0.0, 1.0, 0.0, 1.0]
    v = client.get("/api/nets/vanishing", params={"max_len": 30}).json()
    assert v["lengths"] == list(range(1, 31)) and len(v["elman"]) == 30 and len(v["lstm"]) == 30
    assert all(x >= 0 for x in v["elman"] + v["lstm"])


def test_ladder_api_has_every_rung(client):
    rows = client.get("/api/nets/ladder").json()["rows"]
    assert [r["name"] for r in rows] == ["bigram", "mlp", "elman", "gru", "lstm", "transformer"]
    assert all(r["val_loss_nats"] < 4.6 for r in rows)  # all better than uniform over ~93 characters
