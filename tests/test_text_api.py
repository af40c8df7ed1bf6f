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


@pytest.mark.parametrize("kind, extra, cut", [("bpe", {"vocab_size": 260}, {"é", "ü", "🐧"}), ("smollm2", {}, {"🐧"})])
def test_a_character_cut_between_tokens_is_named_by_its_bytes(client, kind, extra, cut):
    """Issue #18: byte-level tokenizers split a multi-byte character; each piece decoded alone was "�".
    Now a lone byte reads ‹C3›, and ``pieces`` says which character each piece belongs to."""
    text = "Un café con un pingüino 🐧"
    body = client.post("/api/text/tokenize", json={"text": text, "kind": kind, **extra}).json()
    assert not any("\ufffd" in t for t in body["tokens"])
    pieces = body["pieces"]
    assert len(pieces) == body["n_tokens"] and [p["text"] for p in pieces] == body["tokens"]
    assert bytes.fromhex(" ".join(p["hex"] for p in pieces)) == text.encode("utf-8")  # every byte, in order
    assert {c["char"] for p in pieces for c in p["cut"]} == cut
    for char in cut:  # the tokens that hold a piece of one character: partial, one group, all of its bytes
        holders = [p for p in pieces if any(c["char"] == char for c in p["cut"])]
        assert len(holders) >= 2 and all(p["partial"] for p in holders)
        assert len({p["group"] for p in holders}) == 1
        assert holders[0]["cut"][0]["hex"] == char.encode("utf-8").hex(" ").upper()
        assert holders[0]["cut"][0]["tokens"] == len(holders)
    penguin = [p for p in pieces if any(c["char"] == "🐧" for c in p["cut"])]
    assert {"byte": "F0"} in penguin[0]["parts"] and "‹F0›" in penguin[0]["text"]


def test_whole_characters_stay_text_in_every_subword_tokenizer(client):
    text = "¿Qué hora es? El pingüino desayunó."
    body = client.post("/api/text/tokenize", json={"text": text, "kind": "bpe"}).json()
    assert "".join(body["tokens"]).replace("▁", " ") == text and not any(p["partial"] for p in body["pieces"])
    assert client.post("/api/text/tokenize", json={"text": text, "kind": "words"}).json()["pieces"] is None
