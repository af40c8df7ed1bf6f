"""Through the real server (uvicorn on 127.0.0.1): a client that leaves frees the model within a
second, a crashed model answers 503 in words while the rest of the lab keeps answering, and no
request holds the model past its budget."""

from __future__ import annotations

import json
import os
import signal
import socket
import threading
import time

import httpx
import pytest

from pizarra.llm import runtime as rt
from pizarra.web import disconnect
from pizarra.web.app import Settings, create_app
from support.serving import serving

LONG = {"model": "gemma-base", "prefix": "Había una vez", "max_tokens": 512, "seed": 1, "temperature": 1.0}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    cache = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PIZARRA_CACHE", str(cache))
        app = create_app(Settings(db_path=cache / "jobs.sqlite"))
        with serving(app) as port:
            yield "127.0.0.1", port


def _post_and_leave(host: str, port: int, path: str, body: dict, after_s: float) -> None:
    """Send a request, read nothing, close the connection after ``after_s`` (a closed tab)."""
    data = json.dumps(body).encode()
    with socket.create_connection((host, port)) as s:
        s.sendall(
            f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(data)}\r\n\r\n".encode()
            + data
        )
        time.sleep(after_s)


def test_an_abandoned_whole_answer_frees_the_model_within_a_second(server):
    host, port = server
    base = f"http://{host}:{port}"
    with httpx.Client(base_url=base, timeout=60) as client:
        assert client.post("/api/generation/next", json={"model": "gemma-base"}).status_code == 200  # loaded
        _post_and_leave(host, port, "/api/generation/generate", LONG, after_s=1.0)  # ~14 s of work left
        left = time.monotonic()
        r = client.post("/api/generation/next", json={"model": "gemma-base"})
        waited = time.monotonic() - left
    assert r.status_code == 200 and r.json()["tokens"], r.text
    assert waited < 1.5, f"the next request waited {waited:.1f} s behind an abandoned one"


def test_a_crashed_model_answers_503_in_words_and_the_lab_keeps_answering(server):
    host, port = server
    base = f"http://{host}:{port}"
    with httpx.Client(base_url=base, timeout=60, headers={"Accept-Language": "es-ES"}) as client:
        client.post("/api/generation/next", json={"model": "gemma-base"})
        result = {}
        t = threading.Thread(target=lambda: result.update(r=client.post("/api/generation/generate", json=LONG)))
        t.start()
        time.sleep(1.0)
        os.kill(rt.worker("gemma-base").pid, signal.SIGSEGV)
        t.join(30)
        r = result["r"]
        assert r.status_code == 503
        assert r.json()["error"]["message"] == "El modelo se ha reiniciado, vuelve a intentarlo."
        assert client.get("/api/health").status_code == 200  # the server itself never went down
        assert client.post("/api/text/tokenize", json={"text": "Hola mundo", "kind": "words"}).status_code == 200
        en = client.post("/api/generation/next", json={"model": "gemma-base"}, headers={"Accept-Language": "en"})
        assert en.status_code == 200  # asking again works: a fresh worker


def test_no_request_holds_the_model_past_its_budget(server, monkeypatch):
    monkeypatch.setattr(disconnect, "BUDGET_S", 1.0)
    host, port = server
    with httpx.Client(base_url=f"http://{host}:{port}", timeout=60) as client:
        client.post("/api/generation/next", json={"model": "gemma-base"})
        t0 = time.monotonic()
        r = client.post("/api/generation/generate", json=LONG)
        took = time.monotonic() - t0
    assert r.status_code == 200 and r.json()["finish_reason"] == "time"
    assert took < 2.5 and 0 < r.json()["n_tokens"] < 512
