"""Chapter 2 over HTTP: page, tokenize (ours and the LLMs' tokenizers), compare, vectorize."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from pizarra.web.app import create_app


@pytest.fixture(scope="module")
def client():
    return TestClient(create_app())


@pytest.mark.parametrize("lang, word", [("es", "Tokenizar"), ("en", "Tokenize")])
def test_page(client, lang, word):
    r = client.get(f"/capitulo/texto-a-numeros?lang={lang}")
    assert r.status_code == 200 and word in r.text and "/static/js/text.js" in r.text


def test_tokenize_bpe_sizes(client):
    text = "El ingenioso hidalgo don Quijote de la Mancha"
    big = client.post("/api/text/tokenize", json={"text": text, "kind": "bpe"}).json()
    small = client.post("/api/text/tokenize", json={"text": text, "kind": "bpe", "vocab_size": 300}).json()
    assert big["vocab_size"] == 16000 and small["vocab_size"] == 300
    assert big["n_tokens"] < small["n_tokens"] <= len(text.encode())
    assert "".join(big["tokens"]).replace("▁", " ") == text


@pytest.mark.parametrize("kind", ["gemma", "smollm2"])
def test_llm_tokenizers(client, kind):
    r = client.post("/api/text/tokenize", json={"text": "¿Qué hora es?", "kind": kind})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["tokens"][0] == "¿" and len(body["ids"]) == body["n_tokens"] >= 4


def test_compare_table(client):
    body = client.post("/api/text/compare", json={}).json()
    rows = {r["tokenizer"]: r for r in body["rows"]}
    assert set(rows) >= {"chars", "words", "bpe", "bpe-1k", "gemma", "smollm2"}
    assert rows["words"]["es"] >= 1.0 and rows["chars"]["es"] > rows["bpe"]["es"] > rows["words"]["es"] * 0.99
    assert rows["bpe-1k"]["es"] > rows["bpe"]["es"]
    assert rows["gemma"]["vocab_size"] > 200_000


def test_vectorize_and_errors(client):
    r = client.post("/api/text/vectorize", json={"sentences": ["the cat sat on the mat"], "method": "bow"})
    assert r.json()["vectors"] == [[1, 1, 1, 1, 2]]
    assert client.post("/api/text/vectorize", json={"sentences": ["?!"], "method": "bow"}).status_code == 422
    assert client.post("/api/text/tokenize", json={"text": "", "kind": "words"}).status_code == 422
    assert client.post("/api/text/tokenize", json={"text": "a", "kind": "bpe", "vocab_size": 10}).status_code == 422
