"""Chapter 2 in a real browser: tokenizers, the tokens-per-word table, one-hot/BoW/TF-IDF, and the
bytes of a character that a byte-level tokenizer cut in two (never shown as "�")."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

URL = "/capitulo/texto-a-numeros"


def test_tokenize_compare_vectorize(page, live_server, screenshot):
    page.goto(live_server + URL)
    page.wait_for_selector("#tokens .tok", timeout=60_000)
    n_16k = page.locator("#tokens .tok").count()
    # fewer BPE merges -> more pieces
    page.locator("#tokenize-form input[name=vocab_size]").fill("300")
    page.locator("#tokenize-form input[name=vocab_size]").dispatch_event("change")
    page.wait_for_function(f"() => document.querySelectorAll('#tokens .tok').length > {n_16k}")
    page.select_option("#tokenize-form select[name=kind]", "gemma")
    page.wait_for_function("() => document.querySelector('#token-ids').textContent.length > 3")
    page.click("#compare-go")
    page.wait_for_selector("#compare-table:not([hidden]) tbody tr", timeout=60_000)
    assert "gemma" in page.locator("#compare-table").inner_text()
    # one-hot of the slide's sentence: one row per token, a single 1 per row
    page.select_option("#vectorize-form select[name=method]", "onehot")
    page.wait_for_selector("#matrix tbody tr")
    page.locator("#vectorize-form textarea").fill("the cat sat on the mat")
    page.click("#vectorize-form button[type=submit]")
    page.wait_for_function("() => document.querySelectorAll('#matrix tbody tr').length === 6")
    assert page.locator("#matrix td.one").count() == 6
    screenshot("text-es")


def test_bad_input_shows_error(page, live_server, screenshot):
    page.goto(live_server + URL + "?lang=en")
    page.wait_for_selector("#matrix tbody tr", timeout=60_000)
    page.locator("#vectorize-form textarea").fill("¡¿?!")
    page.click("#vectorize-form button[type=submit]")
    page.locator("#vectorize-lab .error-box").wait_for(state="visible")
    page.locator("#vectorize-form button[data-example]").nth(1).click()
    page.wait_for_selector("#matrix th.vocab")
    screenshot("text-en")


def test_a_character_cut_between_tokens_shows_its_bytes_never_a_replacement_mark(page, live_server, screenshot):
    """Issue #18: byte-level BPE splits "é" (C3 A9) or "🐧" (4 bytes) between tokens; each piece alone
    decoded to "�". The page shows the lone bytes as ‹C3›, boxes the tokens that make one character
    with that character, and explains it in Spanish."""
    shots = Path(__file__).parent / "screenshots"
    page.set_viewport_size({"width": 1366, "height": 768})
    page.goto(live_server + URL)
    page.wait_for_selector("#tokens .tok", timeout=60_000)
    page.locator("#tokenize-form textarea[name=text]").fill("Un café con un pingüino 🐧")
    page.locator("#tokenize-form input[name=vocab_size]").fill("300")  # the fewest merges (the slider's 260)
    page.locator("#tokenize-form input[name=vocab_size]").dispatch_event("change")
    page.wait_for_function("() => document.querySelectorAll('#tokens .tok').length > 20")  # é is cut in two
    shown = page.locator("#tokens").inner_text()
    assert "\ufffd" not in shown and "‹C3›" in shown and "‹A9›" in shown
    cafe = page.locator("#tokens .tok-group", has_text="= é")
    assert cafe.first.locator(".tok").count() == 2
    assert "C3 A9" in cafe.first.locator(".tok.partial").first.get_attribute("title")
    legend = page.locator("#bytes-legend")
    assert legend.is_visible() and "bytes" in legend.inner_text() and "C3 A9" in legend.inner_text()
    page.locator("#tokenize-lab").screenshot(path=str(shots / "text-bytes-bpe-es.png"))
    # SmolLM2's byte-level BPE cuts the emoji (4 bytes) into three tokens
    page.select_option("#tokenize-form select[name=kind]", "smollm2")
    penguin = page.locator("#tokens .tok-group", has_text="= 🐧")
    penguin.wait_for(timeout=60_000)
    assert "\ufffd" not in page.locator("#tokens").inner_text()
    assert penguin.locator(".byte").first.inner_text() == "‹F0›"
    assert "F0 9F 90 A7" in page.locator("#bytes-legend").inner_text()
    page.locator("#tokenize-lab").screenshot(path=str(shots / "text-bytes-smollm2-es.png"))
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    page.locator("#tokenize-lab").screenshot(path=str(shots / "text-bytes-smollm2-390.png"))
