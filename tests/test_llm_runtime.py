"""The shared llama.cpp runtime: real probabilities, deterministic sampling, stops, chat, queueing."""

from __future__ import annotations

import math
import threading

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from pizarra.assets import models
from pizarra.errors import BadInput
from pizarra.llm import runtime as rt
from pizarra.web.sse import sse_response

LECTURE_PREFIX = "¡Qué día más bonito! Me voy a la"


def test_lecture_prefix_next_token_is_a_place_with_real_probabilities():
    top = rt.next_token_probs("gemma-base", LECTURE_PREFIX, k=10)
    words = [text.strip() for _, text, _ in top]
    probs = [p for _, _, p in top]
    assert "playa" in words[:3]
    assert probs == sorted(probs, reverse=True)
    assert 0 < sum(probs) <= 1 + 1e-9
    # the same numbers through the candidate interface
    ids = [i for i, _, _ in top[:3]]
    logps = rt.next_token_logprobs("gemma-base", LECTURE_PREFIX, ids)
    assert logps == pytest.approx([math.log(p) for p in probs[:3]], abs=1e-9)


def test_empty_prompt_means_start_of_text():
    top = rt.next_token_probs("smollm2", "", k=5)
    assert len(top) == 5 and all(0 < p <= 1 for _, _, p in top)


def test_greedy_first_token_is_the_argmax():
    prompt = "The capital of France is"
    best = rt.next_token_probs("smollm2", prompt, k=1)[0]
    out = list(rt.stream("smollm2", prompt, rt.Sampling(max_tokens=1, temperature=0.0)))
    assert out[0].token_id == best[0]


def test_same_seed_same_text_other_seed_differs():
    s = rt.Sampling(max_tokens=24, temperature=1.0, top_k=0, top_p=1.0, seed=7)
    a = rt.complete("smollm2", "Once upon a time", s)
    b = rt.complete("smollm2", "Once upon a time", s)
    texts = {rt.complete("smollm2", "Once upon a time", rt.with_overrides(s, seed=k)).text for k in range(3)}
    assert a.text == b.text and a.n_tokens == b.n_tokens
    assert len(texts) > 1
    assert a.stats["seed"] == 7 and a.n_prompt_tokens > 0


def test_max_tokens_stop_strings_and_cancel():
    c = rt.complete("smollm2", "1, 2, 3,", rt.Sampling(max_tokens=5, temperature=0.0))
    assert c.n_tokens == 5 and c.finish_reason == "length"
    c = rt.complete("smollm2", "1, 2, 3,", rt.Sampling(max_tokens=40, temperature=0.0), stop=[" 6"])
    assert c.finish_reason == "stop" and " 6" not in c.text and "5" in c.text
    cancel = threading.Event()
    stats: dict = {}
    pieces = []
    for piece in rt.stream("smollm2", "Once upon a time", rt.Sampling(max_tokens=100), cancel=cancel, stats=stats):
        pieces.append(piece)
        cancel.set()
    assert len(pieces) <= 2 and stats["finish_reason"] == "cancelled"


def test_chat_template_is_the_models_own_and_base_model_has_none():
    msgs = [{"role": "user", "content": "Hola"}]
    text = rt.render_chat("smollm2", msgs)
    assert text.endswith("<|im_start|>user\nHola<|im_end|>\n<|im_start|>assistant\n")
    assert text.startswith("<|im_start|>system\n")  # the template adds SmolLM's default system prompt
    with pytest.raises(BadInput):
        rt.render_chat("gemma-base", msgs)
    with pytest.raises(BadInput):
        rt.render_chat("smollm2", [{"role": "robot", "content": "x"}])
    question = [{"role": "user", "content": "What is the capital of France?"}]
    reply = rt.chat("smollm2", question, rt.Sampling(max_tokens=30, temperature=0.0))
    assert 0 < reply.n_tokens <= 30 and reply.text.strip()
    # What the template buys: the model answers as an assistant. Its greedy string is one CPU's rounding
    # (on an Intel Xeon with AVX-512 SmolLM2 answers "L'Étoile, la Cité…", on an AMD EPYC "Paris"), so
    # check a property that holds on any x86-64 CPU: inside the chat, once the answer has begun, Paris
    # is among the model's three likeliest next words.
    ids = rt.tokenize("smollm2", rt.render_chat("smollm2", question) + "The capital of France is", special=True)
    assert "Paris" in [text.strip() for _, text, _ in rt.next_token_probs("smollm2", ids, k=3)]


def test_long_conversations_drop_oldest_turns():
    msgs = [{"role": "system", "content": "Be brief."}]
    for i in range(6):
        msgs += [
            {"role": "user", "content": f"pregunta {i} " + "palabra " * 300},
            {"role": "assistant", "content": "respuesta " * 50},
        ]
    msgs.append({"role": "user", "content": "¿Y ahora?"})
    kept, dropped = rt.fit_chat("smollm2", msgs, reserve=256)
    assert dropped > 0 and kept[0]["role"] == "system" and kept[-1]["content"] == "¿Y ahora?"
    assert len(rt.tokenize("smollm2", rt.render_chat("smollm2", kept), special=True)) <= rt.DEFAULT_N_CTX - 256
    with pytest.raises(BadInput):
        rt.fit_chat("smollm2", [{"role": "user", "content": "palabra " * 3000}])


@pytest.mark.parametrize(
    "field,value",
    [
        ("max_tokens", 0),
        ("max_tokens", 5000),
        ("temperature", -0.1),
        ("temperature", 2.5),
        ("top_p", 0.0),
        ("top_p", 1.5),
        ("top_k", -1),
        ("repeat_penalty", 0.5),
        ("seed", -3),
    ],
)
def test_out_of_range_sampling_names_the_range(field, value):
    with pytest.raises(BadInput, match=field):
        rt.Sampling(**{field: value}).validated()


def test_models_by_name_or_gguf_path(tmp_path):
    with pytest.raises(BadInput):
        rt.resolve("gpt-5")
    with pytest.raises(BadInput):
        rt.resolve(str(tmp_path / "missing.gguf"))
    ref = rt.resolve(str(models.gguf_path("smollm2")))
    assert ref.path == models.gguf_path("smollm2").resolve() and ref.label.startswith("SmolLM2")
    assert rt.resolve("smollm2").name == "smollm2"


def test_concurrent_streams_queue_instead_of_clashing():
    s = rt.Sampling(max_tokens=12, temperature=0.0)
    expected = rt.complete("smollm2", "Colours: red, green,", s).text
    results, errors = [], []

    def run():
        try:
            results.append(rt.complete("smollm2", "Colours: red, green,", s).text)
        except Exception as e:  # pragma: no cover - reported by the assert
            errors.append(e)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors and results == [expected] * 3


def _sse_app(make):
    app = FastAPI()

    @app.get("/s")
    def s(request: Request):
        return sse_response(request, make)

    return app


def test_sse_sends_events_and_reports_errors_in_words():
    seen = {}

    def events(cancel):
        seen["cancel"] = cancel
        yield {"type": "token", "text": "hola"}
        yield {"type": "done"}

    with TestClient(_sse_app(events)) as client:
        r = client.get("/s")
    assert r.headers["content-type"].startswith("text/event-stream")
    assert [line for line in r.text.splitlines() if line] == [
        'data: {"type": "token", "text": "hola"}',
        'data: {"type": "done"}',
    ]
    assert seen["cancel"].is_set()  # stream over: the generator is told to stop

    def failing(cancel):
        yield {"type": "token", "text": "a"}
        raise BadInput("top_p must be more than 0")

    with TestClient(_sse_app(failing)) as client:
        body = client.get("/s").text
    assert '"type": "error", "message": "top_p must be more than 0"' in body


def test_first_call_after_a_different_prompt_gives_the_same_seeded_text():
    """No KV-cache reuse between calls: a shared prefix must not change a seeded sample."""
    msgs = [{"role": "user", "content": "Tell me a short story about a cat."}]
    s = rt.Sampling(max_tokens=24, temperature=1.0, seed=3)
    rt.complete("smollm2", "Unrelated text first.", rt.Sampling(max_tokens=2))
    first = rt.chat("smollm2", msgs, s).text
    second = rt.chat("smollm2", msgs, s).text
    longer = rt.chat(
        "smollm2", msgs + [{"role": "assistant", "content": "Once"}, {"role": "user", "content": "Go on."}], s
    )  # shares a prefix
    assert first == second == rt.chat("smollm2", msgs, s).text
    assert longer.n_tokens > 0


def _chunks_with_times(make, poll_s, monkeypatch):
    """Drive sse_response's body directly (TestClient waits for the whole body): [(seconds, chunk)]."""
    import asyncio
    import time

    from pizarra.web import sse

    monkeypatch.setattr(sse, "POLL_S", poll_s)

    class Req:  # only asked when nothing was written for KEEPALIVE_S
        async def is_disconnected(self):
            return False

    async def read():
        response = sse.sse_response(Req(), make)
        t0, out = time.monotonic(), []
        async for chunk in response.body_iterator:
            out.append((time.monotonic() - t0, chunk))
        return out

    # In a thread of its own: after the browser tests, Playwright's sync API leaves an event loop
    # running in this one, and asyncio.run() refuses to start inside it.
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, read()).result(timeout=60)


def test_sse_first_event_and_end_are_not_held_back_by_the_poll(monkeypatch):
    import time

    def events(cancel):
        yield {"type": "start"}
        time.sleep(0.05)
        yield {"type": "token", "text": "a"}
        yield {"type": "done"}

    out = _chunks_with_times(events, 1.0, monkeypatch)  # a poll far longer than the stream
    assert out[0][0] < 0.5 and '"start"' in out[0][1]  # the first event at once
    assert out[-1][0] < 0.5 and '"done"' in out[-1][1]  # and the end: no 1 s wait
    assert "".join(c for _, c in out).count("data: ") == 3


def test_sse_batches_the_events_between_polls(monkeypatch):
    import time

    def events(cancel):
        for i in range(30):
            yield {"type": "token", "text": str(i)}
            time.sleep(0.01)

    out = _chunks_with_times(events, 0.1, monkeypatch)
    body = "".join(c for _, c in out)
    assert [f'"text": "{i}"' in body for i in range(30)] == [True] * 30
    assert body.index('"text": "29"') > body.index('"text": "0"')
    assert len(out) <= 8  # ~0.3 s of events in ~4 writes, not one per event
