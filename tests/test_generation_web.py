"""Chapter 7 over HTTP: the page, the JSON API, the SSE stream, bad input, concurrent requests."""

from __future__ import annotations

import json
import re
import threading

import pytest
from fastapi.testclient import TestClient

from pizarra.generation.generate import FABLE_START, LECTURE_PREFIX


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    from pizarra.web.app import Settings, create_app

    return TestClient(create_app(Settings(db_path=tmp_path_factory.mktemp("db") / "jobs.sqlite")))


def events(response) -> list[dict]:
    return [json.loads(line[6:]) for line in response.text.splitlines() if line.startswith("data: ")]


def test_page_has_the_lecture_example(client):
    for lang in ("es", "en"):
        r = client.get(f"/capitulo/generar-texto?lang={lang}")
        assert r.status_code == 200
        assert LECTURE_PREFIX in r.text and FABLE_START in r.text
        assert "playa" in r.text and "/static/vendor/plotly.min.js" in r.text


def test_next_token_api(client):
    r = client.post("/api/generation/next", json={"prefix": LECTURE_PREFIX, "model": "ngram", "k": 5})
    assert r.status_code == 200
    body = r.json()
    probs = [t["prob"] for t in body["tokens"]]
    assert len(probs) == 5 and probs == sorted(probs, reverse=True) and body["temperature"]["1"] == probs
    assert set(body["temperature"]) == {"0.5", "1", "1.5", "2"}


@pytest.mark.parametrize(
    "path,body,field",
    [
        ("/api/generation/next", {"model": "gpt-9"}, "body.model"),
        ("/api/generation/next", {"model": "ngram", "k": 0}, "body.k"),
        ("/api/generation/next", {"model": "ngram", "prefix": "x" * 2001}, "body.prefix"),
        ("/api/generation/step", {"model": "ngram", "temperature": 2.5}, "body.temperature"),
        ("/api/generation/step", {"model": "ngram", "top_p": 0}, "body.top_p"),
        ("/api/generation/tree", {"model": "ngram", "n": 17}, "body.n"),
        ("/api/generation/score", {"model": "ngram", "text": ""}, "body.text"),
    ],
)
def test_bad_input_is_422_naming_the_field(client, path, body, field):
    r = client.post(path, json=body)
    assert r.status_code == 422
    assert field in [f["field"] for f in r.json()["error"]["fields"]]


def test_stream_out_of_range_is_422_with_the_range(client):
    r = client.get("/api/generation/stream", params={"model": "ngram", "max_tokens": 5000})
    assert r.status_code == 422 and re.search(r"1[,.]?024", r.json()["error"]["message"])  # 1024 / 1,024
    r = client.get("/api/generation/stream", params={"model": "ngram", "temperature": -1})
    assert r.status_code == 422 and "temperature" in r.json()["error"]["message"]


def test_stream_sends_tokens_then_done(client):
    params = {"prefix": "Había una vez", "model": "ngram", "max_tokens": 8, "seed": 4}
    r = client.get("/api/generation/stream", params=params)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    ev = events(r)
    assert ev[0]["type"] == "start" and ev[-1]["type"] == "done"
    tokens = [e for e in ev if e["type"] == "token"]
    assert 1 <= len(tokens) <= 8 and ev[-1]["n_tokens"] == len(tokens)
    again = events(client.get("/api/generation/stream", params=params))
    assert [e["text"] for e in again if e["type"] == "token"] == [e["text"] for e in tokens]  # same seed


def test_generate_gives_the_stream_text_at_once(client):
    params = {"prefix": "Había una vez", "model": "ngram", "max_tokens": 8, "seed": 4}
    streamed = "".join(
        e["text"] for e in events(client.get("/api/generation/stream", params=params)) if e["type"] == "token"
    )
    r = client.post("/api/generation/generate", json=params)
    assert r.status_code == 200
    out = r.json()
    assert out["text"] == streamed and 1 <= out["n_tokens"] <= 8 and out["sampling"]["seed"] == 4
    bad = client.post("/api/generation/generate", json={**params, "top_p": 0})
    assert bad.status_code == 422 and "top_p" in bad.json()["error"]["message"]


def test_step_tree_score(client):
    r = client.post("/api/generation/step", json={"model": "ngram", "text": FABLE_START, "seed": 2}).json()
    assert r["text"].startswith(FABLE_START) and r["distribution"]
    pick = r["distribution"][1]["id"]
    r2 = client.post("/api/generation/step", json={"model": "ngram", "text": FABLE_START, "choice": pick}).json()
    assert r2["chosen"]["id"] == pick
    t = client.post("/api/generation/tree", json={"model": "ngram", "n": 4, "depth": 3}).json()
    assert sum(n["count"] for n in t["nodes"] if n["parent"] == 0) == 4
    s = client.post("/api/generation/score", json={"model": "ngram", "text": "Había una vez un rey."}).json()
    assert s["ppl_word"] > 1 and s["words"] == 5


def test_info(client):
    r = client.get("/api/generation/info").json()
    assert "gemma-base" in r["models"] and r["ranges"]["max_tokens"] == [1, 1024]
    assert r["lecture"]["slide"][0] == {"word": "playa", "prob": 0.14}


def test_concurrent_requests_on_one_gguf_model_queue(client):
    """Four requests at once on Gemma: llama.cpp is not thread-safe; the runtime's lock queues them."""
    results = []

    def ask(i):
        if i % 2:
            r = client.post("/api/generation/next", json={"prefix": LECTURE_PREFIX, "model": "gemma-base", "k": 3})
        else:
            r = client.get(
                "/api/generation/stream", params={"prefix": "Hola", "model": "gemma-base", "max_tokens": 4, "seed": i}
            )
        results.append(r)

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r.status_code for r in results] == [200] * 4
    nexts = [r.json() for r in results if r.headers["content-type"].startswith("application/json")]
    assert all(n["tokens"][0]["token"] == " playa" for n in nexts)
    streams = [events(r) for r in results if r.headers["content-type"].startswith("text/event-stream")]
    assert all(ev[-1]["type"] == "done" for ev in streams)


@pytest.mark.parametrize("model", ["ngram", "gpt"])
def test_step_continues_exactly_the_students_own_beginning(client, model):
    """SnapGPT's box is the student's (issue #18): the step appends to their text, byte for byte
    (accents, a trailing space, a new line), never to the page's default fable."""
    mine = "Un ratón muy pequeño\nvivía en el granero y "
    r = client.post("/api/generation/step", json={"model": model, "text": mine, "seed": 4}).json()
    assert r["added"] and r["text"] == mine + r["added"] and FABLE_START not in r["text"]
    pick = r["distribution"][2]["id"]
    again = client.post("/api/generation/step", json={"model": model, "text": r["text"], "choice": pick}).json()
    assert again["text"].startswith(r["text"]) and again["chosen"]["id"] == pick
