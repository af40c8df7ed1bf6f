"""Chapter 3 over HTTP, on the shipped Spanish vectors (artifact fasttext-es) and packaged GloVe."""

from __future__ import annotations

import numpy as np
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


def test_a_typo_gets_a_vector_from_its_pieces_and_the_words_it_looks_like(client):
    r = client.get("/api/embeddings/neighbors", params={"word": "reyy"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["oov"] == ["reyy"] and "rey" in body["close"]["reyy"]
    assert "reyy" not in [x["word"] for x in body["neighbors"]]
    known = client.get("/api/embeddings/neighbors", params={"word": "rey"}).json()
    assert known["oov"] == [] and known["close"] == {}
    r = client.get("/api/embeddings/analogy", params={"a": "hombre", "b": "mujeres", "c": "baloncestista"})
    assert r.status_code == 200 and "baloncestista" in r.json()["oov"]
    assert r.json()["close"]["baloncestista"] == []  # a new word, not a typo: no far-fetched spellings
    r = client.post("/api/embeddings/formula", json={"formula": "baloncestista - hombre + mujer"})
    assert r.status_code == 200 and r.json()["oov"] == ["baloncestista"]
    r = client.post("/api/embeddings/project", json={"words": ["rey", "reina", "baloncestista"]})
    assert r.status_code == 200 and r.json()["oov"] == ["baloncestista"]


def test_bad_input_is_422_with_words(client):
    r = client.get("/api/embeddings/neighbors", params={"word": "rey2"})  # not letters: no pieces to build from
    assert r.status_code == 422 and "'rey2'" in r.json()["error"]["message"]
    r = client.get("/api/embeddings/neighbors", params={"word": "kingg", "vectors": "glove"})  # GloVe: no pieces
    assert r.status_code == 422 and "king" in r.json()["error"]["message"]
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


# ------------------------------------------------------------------------ the quizzes (issue #18)
def test_quiz_1_is_the_lectures_apple_in_the_maps_own_plane(client):
    """Quiz 1 asks «manzana» on a PCA map of nine words; the answer is its vector projected on the
    map's own two directions (not a PCA recomputed with it), drawn in the same frame."""
    from pizarra.embeddings.projector import pca
    from pizarra.embeddings.vectors import load_vectors

    body = client.get("/api/embeddings/quiz", params={"round": 1}).json()
    assert body["kind"] == "pca" and body["question"] == "manzana"
    ref = [p for p in body["points"] if p["role"] == "reference"]
    asked = [p for p in body["points"] if p["role"] == "asked"]
    assert [p["word"] for p in asked] == ["manzana"] and len(ref) == 9
    emb = load_vectors("es")
    x = emb.unit[emb.ids([p["word"] for p in ref])]
    coords, explained = pca(x, 2)  # the map: PCA of the nine words alone
    got = np.array([[p["x"], p["y"]] for p in ref])
    sign = np.sign((coords * got).sum(0))  # an axis may come out flipped; the plane is the same
    np.testing.assert_allclose(coords * sign, got, atol=1e-4)
    np.testing.assert_allclose(explained, body["explained_variance"], atol=1e-5)
    _, _, vt = np.linalg.svd(x - x.mean(0), full_matrices=False)
    apple = (emb.unit[emb.ids(["manzana"])] - x.mean(0)) @ vt[:2].T * sign  # (1, 2) in the map's plane
    np.testing.assert_allclose(apple[0], [asked[0]["x"], asked[0]["y"]], atol=1e-4)
    f = body["frame"]
    for p in body["points"]:
        assert f["x0"] < p["x"] < f["x1"] and f["y0"] < p["y"] < f["y1"]
    assert f["x1"] - f["x0"] == pytest.approx(f["y1"] - f["y0"])  # one scale across and up


def test_quiz_2_is_the_lectures_cow_on_size_and_age(client):
    """Quiz 2: cachorro, perro, ternero on the map, «vaca» to place; the axes come from animals that
    are not in the quiz, and on the shipped vectors they order the slide's words as the slide does."""
    from pizarra.embeddings.projector import QUIZ, axis
    from pizarra.embeddings.vectors import load_vectors

    body = client.get("/api/embeddings/quiz", params={"round": 2}).json()
    assert body["kind"] == "axes" and body["question"] == "vaca"
    at = {p["word"]: p for p in body["points"]}
    assert {w for w, p in at.items() if p["role"] == "reference"} == {"cachorro", "perro", "ternero"}
    spec = QUIZ["es"][2]
    in_axes = {w for ends in (spec["x"], spec["y"]) for e in ends for w in e.split()}
    assert not in_axes & set(at)  # the map is not told the answer
    emb = load_vectors("es")
    dx, dy = axis(emb, *(e.split() for e in spec["x"])), axis(emb, *(e.split() for e in spec["y"]))
    for w, p in at.items():
        u = emb.unit[emb.ids([w])[0]]
        assert p["x"] == pytest.approx(float(u @ dx), abs=1e-5) and p["y"] == pytest.approx(float(u @ dy), abs=1e-5)
    assert at["perro"]["y"] > at["cachorro"]["y"] and at["vaca"]["y"] > at["ternero"]["y"]  # adults above
    assert at["elefante"]["x"] > at["ratón"]["x"]  # big to the right
    assert client.get("/api/embeddings/quiz", params={"round": 3}).status_code == 422


def test_quiz_in_english_asks_apple(client):
    body = client.get("/api/embeddings/quiz", params={"round": 1, "vectors": "glove"}).json()
    assert body["question"] == "apple"
    assert client.get("/api/embeddings/quiz", params={"round": 2, "vectors": "glove"}).json()["question"] == "cow"


# ----------------------------------------------------------------------------- waits (issue #18)
def test_slow_projections_compute_once_and_one_at_a_time(tmp_path):
    """The same t-SNE/UMAP asked twice computes once; two different ones never run together."""
    import threading
    import time

    from pizarra.embeddings.projector import Waits

    waits = Waits(tmp_path / "w.json")
    running, most, calls = [0], [0], []
    lock = threading.Lock()

    def compute(tag):
        def run():
            with lock:
                running[0] += 1
                most[0] = max(most[0], running[0])
                calls.append(tag)
            time.sleep(0.3)
            with lock:
                running[0] -= 1
            return {"tag": tag}

        return run

    keys = ["a", "a", "a", "b"]
    out = [None] * len(keys)

    def ask(i):
        out[i] = waits.once(("es", keys[i]), "umap", 10, compute(keys[i]))

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(keys))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert sorted(calls) == ["a", "b"] and most[0] == 1
    assert [o["tag"] for o in out] == keys
    assert waits.once(("es", "a"), "umap", 10, compute("again")) == {"tag": "a"}  # kept: no third run
    assert waits.computations == 2 and (tmp_path / "w.json").is_file()  # measured, for the next estimate


def test_estimates_say_what_the_wait_is_made_of(tmp_path):
    """Load first, UMAP's compilation on its first call, a queue behind a running one, joining the
    same one, ready when kept; measured here once it has run, a labelled default before."""
    import threading

    from pizarra.embeddings.projector import DEFAULT_SECONDS, Waits

    waits = Waits(tmp_path / "w.json")
    steps = lambda est: [s["step"] for s in est["steps"]]  # noqa: E731
    est = waits.estimate("es", "umap", 25, ("es", "k"))
    assert steps(est) == ["load", "compile"] and not est["measured"]
    assert est["seconds"] >= DEFAULT_SECONDS["umap:first"]
    waits.load("es", lambda: "vectors")
    assert steps(waits.estimate("es")) == [] and waits.measured()["load:es"] >= 0
    release, started = threading.Event(), threading.Event()

    def slow():
        started.set()
        release.wait(10)
        return {"done": True}

    t = threading.Thread(target=lambda: waits.once(("es", "k"), "umap", 25, slow))
    t.start()
    started.wait(5)
    assert steps(waits.estimate("es", "umap", 25, ("es", "k"))) == ["joins"]
    assert steps(waits.estimate("es", "umap", 40, ("es", "other"))) == ["queue", "compile"]
    assert steps(waits.estimate("es", "pca", 40, ("es", "pca"))) == ["compute"]  # PCA never queues
    assert steps(waits.estimate("es", "tsne", 40, ("es", "t"))) == ["queue", "compute"]  # nothing to compile
    release.set()
    t.join(5)
    assert steps(waits.estimate("es", "umap", 25, ("es", "k"))) == ["ready"]
    waits.warmed("umap")
    waits.record("umap", 50, 0.5, first=False)
    est = waits.estimate("es", "umap", 100, ("es", "new"))
    assert steps(est) == ["compute"] and est["measured"] and est["seconds"] == pytest.approx(1.0)
    assert Waits(tmp_path / "w.json").measured()["umap"]["runs"] == {"50": 0.5}  # kept across restarts


def test_estimate_endpoint_is_instant_and_speaks_of_steps(client):
    r = client.post(
        "/api/embeddings/estimate", json={"vectors": "es", "method": "umap", "words": ["rey", "reina", "perro"]}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["seconds"] >= 0 and {s["step"] for s in body["steps"]} <= {
        "load",
        "compile",
        "compute",
        "queue",
        "joins",
        "ready",
    }
    assert client.post("/api/embeddings/estimate", json={"vectors": "es"}).status_code == 200
    assert client.post("/api/embeddings/estimate", json={"vectors": "xx"}).status_code == 422
