"""Chapter 2 in a real browser: tokenizers, the tokens-per-word table, one-hot/BoW/TF-IDF."""

from __future__ import annotations

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
