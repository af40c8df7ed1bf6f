"""Chapter 3 over HTTP, on the shipped Spanish vectors (artifact w2v-es-sg) and packaged GloVe."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from pizarra.web.app import create_app


@pytest.fixture(scope="module")
def client():
    return TestClient(create_app())


@pytest.mark.parametrize("lang", ["es", "en"])
def test_page_renders_with_prompts(client, lang):
    r = client.get(f"/capitulo/embeddings?lang={lang}")
    assert r.status_code == 200
    assert 'value="hombre"' in r.text and "LERP(mañana, noche, 0.5)" in r.text
    assert "/static/js/embeddings.js" in r.text


def test_neighbors_both_metrics(client):
    r = client.get("/api/embeddings/neighbors", params={"word": "Madrid", "k": 5})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["word"] == "madrid" and len(body["neighbors"]) == 5 and len(body["table"]) == 5
    scores = [n["score"] for n in body["neighbors"]]
    assert scores == sorted(scores, reverse=True)
    dists = [n["score"] for n in body["by_euclidean"]]
    assert dists == sorted(dists)


def test_lecture_analogy_and_formula(client):
    r = client.get("/api/embeddings/analogy", params={"a": "hombre", "b": "mujer", "c": "rey", "k": 10})
    assert r.status_code == 200, r.text
    words = [x["word"] for x in r.json()["results"]]
    assert "reina" in words, words
    r = client.post("/api/embeddings/formula", json={"formula": "LERP(mañana, noche, 0.5)", "k": 10})
    assert r.status_code == 200, r.text
    assert r.json()["kind"] == "vector" and "tarde" in [x["word"] for x in r.json()["results"]]


def test_glove_is_selectable(client):
    r = client.get("/api/embeddings/analogy", params={"a": "man", "b": "woman", "c": "king", "vectors": "glove"})
    assert r.json()["results"][0]["word"] == "queen"


def test_bad_input_is_422_with_words(client):
    r = client.get("/api/embeddings/neighbors", params={"word": "reyy"})
    assert r.status_code == 422 and "'reyy'" in r.json()["error"]["message"]
    r = client.post("/api/embeddings/formula", json={"formula": "LERP(mañana, noche"})
    assert r.status_code == 422 and "position 19" in r.json()["error"]["message"]
    assert client.get("/api/embeddings/neighbors", params={"word": "rey", "k": 500}).status_code == 422
    r = client.post("/api/embeddings/project", json={"words": ["rey"]})
    assert r.status_code == 422


def test_projector_and_quiz(client):
    r = client.post("/api/embeddings/project", json={"word": "rey", "n": 20, "method": "pca", "dims": 3})
    assert r.status_code == 200, r.text
    pts = r.json()["points"]
    assert len(pts) == 21 and pts[0]["word"] == "rey" and pts[0]["z"] is not None
    r = client.get("/api/embeddings/quiz")
    assert r.status_code == 200 and len(r.json()["points"]) >= 10
