"""Chapter 7 in a real browser: the lecture's table from Gemma, SnapGPT on the student's own
beginning (key presses and picks), the tree of samples, streaming with a stop button, and a bad
value explained."""

from __future__ import annotations

from pathlib import Path

SHOTS = Path(__file__).parent / "screenshots"
URL = "/capitulo/generar-texto"


def test_lecture_table_from_gemma_on_load(page, live_server, screenshot):
    page.goto(live_server + URL)
    page.locator("#next-plot .bars .point").first.wait_for(timeout=90_000)  # Gemma answers on load
    labels = page.eval_on_selector_all("#next-plot .ytick text", "els => els.map((e) => e.textContent)")
    assert "␣playa" in labels  # real probabilities: "playa" is in Gemma's top 10, as on the slide
    assert "bits" in page.locator("#next-meta").inner_text()
    assert page.locator("#temp-plot .bars .point").count() >= 10  # one bar per token and temperature
    screenshot("generation-es")


def test_snapgpt_continues_the_students_own_beginning(page, live_server):
    """Issue #18: «escribe el comienzo de una fábula», but the story box was fixed. Now the student
    writes (and keeps editing) the beginning, and each step continues from exactly that text."""
    page.set_viewport_size({"width": 1366, "height": 768})
    page.goto(live_server + URL)
    page.select_option("#snap-model", "ngram")
    story = page.locator("#snap-story")
    assert story.is_editable()
    mine = "Un ratón muy pequeño vivía en el granero y"
    story.fill(mine)
    story.press("Enter")  # Enter: one more word from the model, right after the student's text
    page.locator("#snap-chips button").first.wait_for()
    one = story.input_value()
    assert one.startswith(mine) and len(one) > len(mine) and "\n" not in one
    assert page.locator("#snap-added .new").inner_text().replace("␣", " ") == one[len(mine) :]
    # the student writes on by hand after the model's word, then asks for the next one with the button
    story.press("End")
    story.type(" la gata")
    edited = story.input_value()
    assert edited == one + " la gata" and page.locator("#snap-chips button").count() == 0
    page.click("#snap-next")
    page.wait_for_function("(n) => document.getElementById('snap-story').value.length > n", arg=len(edited))
    assert story.input_value().startswith(edited)
    # a candidate word replaces the model's last word; the box stays editable
    chip = page.locator("#snap-chips button").nth(3)
    token = chip.locator(".tok").inner_text().replace("␣", " ").replace("⏎", "\n")
    chip.click()
    page.locator("#snap-added .picked").wait_for()
    picked = story.input_value()
    assert picked.startswith(edited) and picked[len(edited) :].startswith(token)
    assert story.is_editable()
    page.locator("#snap-lab").screenshot(path=str(SHOTS / "generation-snap-es.png"))
    page.click("#snap-undo")
    assert story.input_value() == edited
    # the lecture's mode: every key press is one more word (and Backspace undoes it)
    page.check("#snap-anykey")
    story.press("End")
    story.press("q")
    page.wait_for_function("(n) => document.getElementById('snap-story').value.length > n", arg=len(edited))
    assert story.input_value().startswith(edited) and "q" not in story.input_value()[len(edited) :].split()
    story.press("Backspace")
    page.wait_for_function("(t) => document.getElementById('snap-story').value === t", arg=edited)
    page.set_viewport_size({"width": 390, "height": 844})  # a phone: the story box fits the screen
    box = story.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390
    page.locator("#snap-lab").screenshot(path=str(SHOTS / "generation-snap-390.png"))


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
