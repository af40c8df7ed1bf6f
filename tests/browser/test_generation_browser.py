"""Chapter 7 in a real browser: the lecture's table from Gemma, SnapGPT key presses and picks,
the tree of samples, streaming with a stop button, and a bad value explained."""

from __future__ import annotations

URL = "/capitulo/generar-texto"


def test_lecture_table_from_gemma_on_load(page, live_server, screenshot):
    page.goto(live_server + URL)
    page.locator("#next-plot .bars .point").first.wait_for(timeout=90_000)  # Gemma answers on load
    labels = page.eval_on_selector_all("#next-plot .ytick text", "els => els.map((e) => e.textContent)")
    assert "␣playa" in labels  # real probabilities: "playa" is in Gemma's top 10, as on the slide
    assert "bits" in page.locator("#next-meta").inner_text()
    assert page.locator("#temp-plot .bars .point").count() >= 10  # one bar per token and temperature
    screenshot("generation-es")


def test_snapgpt_one_word_per_key_and_pick(page, live_server, screenshot):
    page.goto(live_server + URL + "?lang=en")
    page.select_option("#snap-model", "ngram")
    story = page.locator("#snap-story")
    start = story.inner_text()
    story.click()
    page.keyboard.press("a")
    page.locator("#snap-chips button").first.wait_for()
    after_one = story.inner_text()
    assert after_one.startswith(start) and len(after_one) > len(start)
    page.keyboard.press("b")
    page.wait_for_function("(n) => document.getElementById('snap-story').innerText.length > n", arg=len(after_one))
    chip = page.locator("#snap-chips button").nth(3)
    token = chip.locator(".tok").inner_text().replace("␣", " ").replace("⏎", "\n")
    chip.click()
    page.locator("#snap-story .picked").wait_for()
    assert page.locator("#snap-story .picked").inner_text().strip().startswith(token.strip())
    page.click("#snap-undo")
    assert story.inner_text() == after_one
    screenshot("generation-snap-en")


def test_tree_and_stream(page, live_server, screenshot):
    page.goto(live_server + URL)
    page.select_option("#tree-model", "ngram")
    page.fill("#tree-n", "6")
    page.click("#tree-button")
    page.locator("#tree-view li[data-node]").first.wait_for()
    top = page.locator("#tree-view ul.tree > li > ul > li > .node .meta").all_inner_texts()
    assert sum(int(m.split("·")[1].split("/")[0]) for m in top) == 6  # every sample starts at the root
    page.locator("#stream-lab").scroll_into_view_if_needed()
    page.select_option("#stream-model", "ngram")
    page.fill("#stream-max", "30")
    page.fill("#stream-seed", "3")
    page.click("#stream-button")
    page.wait_for_function("() => document.getElementById('stream-meta').innerText.includes('tokens/s')")
    assert len(page.locator("#stream-generated").inner_text()) > 10
    screenshot("generation-tree-stream")
    page.fill("#stream-max", "5000")  # out of range: the server's 422 sentence is shown
    page.evaluate("document.getElementById('stream-max').removeAttribute('max')")
    page.click("#stream-button")
    page.locator("#stream-error").wait_for(state="visible")
    assert "1024" in page.locator("#stream-error").inner_text()


def test_a_gguf_stream_writes_on_the_page_what_the_api_generates(page, live_server, screenshot):
    """llama.cpp through EventSource (SSE batches, the compute thread): the page shows exactly the text
    that POST /api/generation/generate returns for the same prefix, model and seed."""
    import httpx

    page.goto(live_server + URL)
    prefix = "Había una vez un zorro muy astuto que"
    page.fill("#stream-prefix", prefix)
    page.select_option("#stream-model", "smollm2")
    page.fill("#stream-max", "16")
    page.fill("#stream-seed", "5")
    page.click("#stream-button")
    page.wait_for_function(
        "() => document.getElementById('stream-meta').innerText.includes('tokens/s')", timeout=90_000
    )
    assert page.locator("#stream-error").inner_text() == ""
    streamed = page.locator("#stream-generated").text_content()
    body = {
        "prefix": prefix,
        "model": "smollm2",
        "max_tokens": 16,
        "seed": 5,
        "temperature": 0.8,
        "top_k": 40,
        "top_p": 0.95,
    }
    r = httpx.post(live_server + "/api/generation/generate", json=body, timeout=90)
    assert r.status_code == 200
    assert streamed and streamed == r.json()["text"]
    screenshot("generation-stream-gguf")
