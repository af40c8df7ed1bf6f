"""Chapters 1 and 5 in a real browser: the table, a review classified and explained, errors."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


def test_imdb_table_and_a_review_classified(page, live_server, screenshot):
    page.goto(live_server + "/capitulo/imdb")
    assert page.locator("#imdb-table tbody tr").count() >= 6
    assert "81,99\u00a0%" in page.locator("#imdb-table").inner_text()  # Spanish numbers (issue #18)
    page.fill("#review", "An awful, boring film. A total waste of time and money.")
    page.click("#predict-button")
    cards = page.locator("#predict-results .model-result")
    cards.first.wait_for(timeout=120_000)  # the first call loads the four models
    assert cards.count() == 4
    for i in range(4):
        assert "negativa" in cards.nth(i).locator("h3").inner_text()
    assert "waste" in page.locator("#predict-results").inner_text()
    screenshot("sentiment-imdb-es")


def test_slide_review_and_empty_review(page, live_server, screenshot):
    page.goto(live_server + "/capitulo/imdb?lang=en")
    page.locator(".try-slide").nth(1).click()
    page.locator("#predict-results .model-result").first.wait_for(timeout=120_000)
    assert "positive" in page.locator("#predict-results .model-result h3").first.inner_text()
    page.fill("#review", "   ")
    page.evaluate("document.getElementById('predict-form').requestSubmit()")
    page.locator("#predict-error").wait_for(state="visible")
    assert "empty" in page.locator("#predict-error").inner_text()
    screenshot("sentiment-imdb-en")


@pytest.mark.slow
def test_chapter1_classifier_next_to_the_llm(page, live_server, screenshot):
    page.goto(live_server + "/capitulo/discriminativa-generativa")
    assert page.locator("#gen-table tbody tr").count() >= 4
    page.fill("#gen-review", "A wonderful film. I loved it.")
    page.click("#gen-button")
    page.locator("#gen-llm .model-result").wait_for(timeout=180_000)  # loads the LLM on a busy CPU
    assert page.locator("#gen-disc .model-result").count() == 2
    assert "Sentiment:" in page.locator("#gen-llm pre.prompt").text_content()
    screenshot("sentiment-generative-es")
