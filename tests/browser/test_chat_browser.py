"""Chapter 8 in a real browser: instruction data, the sandbox (the slide's program and an abuse),
a streamed chat turn kept in the browser, the stop button, and the English page."""

from __future__ import annotations

URL = "/capitulo/instrucciones-chat-alucinaciones"


def test_data_and_sandbox(page, live_server, screenshot):
    page.goto(live_server + URL)
    rows = page.locator("#data-table tbody tr")
    rows.first.wait_for(timeout=30_000)
    assert rows.count() >= 1 and page.locator("#data-where").inner_text()
    assert "Tu índice de masa corporal es" in page.locator("#code-prompt").input_value()
    page.click("#code-run")  # the slide's program, as preloaded, on 70 kg and 1.75 m
    page.locator("#code-result").wait_for(state="visible", timeout=30_000)
    assert "22.86" in page.locator("#code-stdout").inner_text()
    assert "22.86" in page.locator("#code-status").inner_text()  # the check says it is right
    page.fill("#code-code", "print(open('/etc/passwd').read())")
    page.click("#code-run")
    page.wait_for_function(
        "() => document.querySelector('#code-status').textContent.includes('rechazado')", timeout=30_000
    )
    assert page.locator("#code-status").get_attribute("class") == "error-box"
    screenshot("chat-es-sandbox")


def test_chat_streams_keeps_the_conversation_and_stops(page, live_server, screenshot):
    page.goto(live_server + URL)
    page.fill("#chat-max", "4")
    page.fill("#chat-temp", "0")
    page.fill("#chat-input", "Hello!")
    page.click("#chat-send")
    page.wait_for_function("() => document.querySelector('#chat-stats').textContent.includes('tokens')", timeout=90_000)
    assert page.locator("#chat-msgs .msg.user").inner_text().endswith("Hello!")
    assert page.locator("#chat-msgs .msg.assistant .text").inner_text().strip()
    stored = page.evaluate("JSON.parse(localStorage.getItem('pizarra.chat8.conversation'))")
    assert [m["role"] for m in stored] == ["user", "assistant"]
    page.reload()  # the conversation lives in the browser
    page.locator("#chat-msgs .msg.assistant").wait_for()
    assert page.locator("#chat-msgs .msg").count() == 2
    with page.expect_download() as download:
        page.click("#chat-export")
    assert download.value.suggested_filename == "conversacion.json"
    page.click("#chat-scenario")
    assert "Jesús y José Ignacio" in page.locator("#chat-input").input_value()
    assert page.locator("#chat-msgs .msg").count() == 0
    page.fill("#chat-max", "200")
    page.fill("#chat-temp", "0.7")
    page.click("#chat-send")
    page.locator("#chat-stop").wait_for(state="visible")
    page.wait_for_function("() => !document.querySelector('#chat-stop').disabled", timeout=30_000)
    page.click("#chat-stop")
    page.wait_for_function("() => document.querySelector('#chat-send').disabled === false", timeout=60_000)
    screenshot("chat-es-chat")


def test_english_page_and_the_detector(page, live_server, screenshot):
    page.goto(live_server + URL + "?lang=en")
    assert "Hallucinations" in page.locator("#halluc-lab h2").inner_text()
    from pizarra.chat.hallucination import EXAMPLE_QUESTIONS

    assert page.locator(".halluc-example").count() == len(EXAMPLE_QUESTIONS["en"])
    assert page.locator(".halluc-example").first.inner_text() == EXAMPLE_QUESTIONS["en"][0]
    page.fill("#halluc-n", "2")
    page.fill("#halluc-max", "6")
    page.click("#halluc-button")
    page.wait_for_function(  # the result, or an error: then the test fails with its words
        "() => !document.querySelector('#halluc-result').hidden"
        " || document.querySelector('#halluc-error').textContent.trim() !== ''",
        timeout=120_000,
    )
    assert page.locator("#halluc-error").inner_text() == ""
    assert page.locator("#halluc-result").is_visible()
    assert page.locator("#halluc-answers li").count() == 2
    assert page.locator("#halluc-answers li .cluster").first.inner_text().startswith("C")
    assert "Semantic entropy" in page.locator("#halluc-se").inner_text()
    assert page.locator("#halluc-flag").inner_text()
    screenshot("chat-en-detector")


def test_size_ladder_four_models_answer_and_the_table(page, live_server, screenshot):
    page.goto(live_server + URL)
    assert page.locator("#ladder-lab h2").inner_text() == "¿Importa el tamaño?"
    cols = page.locator(".ladder-col")
    assert cols.count() == 4
    assert [cols.nth(i).locator(".size").inner_text() for i in range(4)] == ["135M", "270M", "0.5B", "1.5B"]
    assert "millones de parámetros" in cols.nth(0).locator(".ladder-params").inner_text()
    page.fill("#ladder-question", "¿Cuál es la capital de Italia?")
    page.click("#ladder-button")
    page.wait_for_function("() => document.querySelector('#ladder-button').disabled === true")
    page.wait_for_function(
        "() => [...document.querySelectorAll('.ladder-col')].every((c) => c.dataset.state === 'answered')"
        " && document.querySelector('#ladder-button').disabled === false",
        timeout=180_000,
    )
    for i in range(4):
        assert cols.nth(i).locator(".ladder-answer").inner_text().strip()
        assert "tokens/s" in cols.nth(i).locator(".ladder-meta").inner_text()
    assert "Correcta" in cols.nth(3).locator(".ladder-meta").inner_text()  # Qwen 1.5B knows it
    assert "Roma / Rome" in page.locator("#ladder-status").inner_text()
    assert not page.locator("#ladder-error").inner_text()
    note = page.locator("#ladder-report-note")
    page.wait_for_function("() => document.querySelector('#ladder-report-note').textContent.length > 0")
    if page.locator("#ladder-table").is_visible():  # reports/chat_ladder.json is there: the measured table
        rows = page.locator("#ladder-table tbody tr")
        assert rows.count() == 4
        cells = rows.nth(3).locator("td.num")
        assert "%" in cells.nth(1).inner_text() and "." in cells.nth(0).inner_text()  # 1.543.714.304 in Spanish
        assert "preguntas en español" in note.inner_text()
    else:
        assert "ladder-eval" in note.inner_text()
    screenshot("chat-es-ladder")


def test_base_vs_instruct_streams_both_columns(page, live_server, monkeypatch):
    """The base column fills word by word while the instruct column says it waits for its turn; then the
    instruct column streams. (The models are replaced by a slow fake: the page is what is tested.)"""
    import time

    import pizarra.chat.core as core

    def fake_events(prompt, max_tokens=96, temperature=0.7, seed=0, base="gemma-base", instruct="smollm2", cancel=None):
        for side, words in (
            ("base", [" y", " sigue", " escribiendo", " FINBASE"]),
            ("instruct", ["Don", " Quijote", " FININST"]),
        ):
            yield {
                "type": "start",
                "side": side,
                "model": side,
                "received": prompt,
                **({"tokens": [{"id": 1, "text": "<|im_start|>"}]} if side == "instruct" else {}),
            }
            for w in words:
                time.sleep(0.4)
                yield {"type": "token", "side": side, "text": w}
            yield {
                "type": "done",
                "side": side,
                "model": side,
                "n_tokens": len(words),
                "seconds": 1.6,
                "tokens_per_s": 2.5,
                "finish_reason": "stop",
            }

    monkeypatch.setattr(core, "base_vs_instruct_events", fake_events)
    page.goto(live_server + URL)
    page.click("#compare-button")
    page.locator("#compare-base").filter(has_text="sigue").wait_for(timeout=10_000)
    assert "FINBASE" not in page.locator("#compare-base").inner_text()
    assert "turno" in page.locator("#compare-instruct").inner_text()
    page.locator("#compare-instruct").filter(has_text="Quijote").wait_for(timeout=10_000)
    page.locator("#compare-instruct").filter(has_text="FININST").wait_for(timeout=10_000)
    assert "tokens/s" in page.locator("#compare-instruct-stats").inner_text()
    assert page.locator("#compare-stop").is_hidden()
