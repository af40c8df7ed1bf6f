"""Chapters 1 and 5 in a real browser: the table, a review classified and explained (as written:
accents kept, long reviews previewed), errors."""

from __future__ import annotations

import re
from pathlib import Path

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


SHOTS = Path(__file__).parent / "screenshots"
SPANISH = "Una película horrible, no la recomiendo a nadie. ¡Qué pena de año para el cine español!"


def test_a_spanish_review_keeps_its_accents_and_shows_what_the_model_cannot_read(page, live_server):
    """Issue #18: the explanation echoed the models' ASCII tokens ("pel cula" for "película"). It shows
    the review as written, and marks the letters the English tokenizer skips and the unknown words."""
    page.set_viewport_size({"width": 1366, "height": 768})
    page.goto(live_server + "/capitulo/imdb")
    page.fill("#review", SPANISH)
    page.click("#predict-button")
    cards = page.locator("#predict-results .model-result")
    cards.first.wait_for(timeout=120_000)
    for i in range(cards.count()):
        shown = cards.nth(i).locator(".tokens").inner_text()
        assert shown.strip() == SPANISH  # the student's own words, accents and ¡ included
        assert "pel cula" not in cards.nth(i).inner_text()
        assert cards.nth(i).locator(".tokens .ign").first.inner_text() == "í"
        assert cards.nth(i).locator(".tokens .unk", has_text="cula").count() == 1
    assert "a–z" in cards.first.inner_text()  # the legend says why
    assert "no ve esta letra" in cards.first.locator(".tokens .ign").first.get_attribute("title")
    page.locator("#try-lab").screenshot(path=str(SHOTS / "sentiment-accents-es.png"))
    page.set_viewport_size({"width": 390, "height": 844})
    cards.first.screenshot(path=str(SHOTS / "sentiment-accents-390.png"))


def test_a_long_review_is_previewed_not_echoed_in_full(page, live_server):
    """Issue #18: a 5,000-character review was echoed by every model (an 8,700-px page). Each card
    shows about 600 characters, says how many more there are, and expands on request."""
    from pizarra.sentiment.examples import SLIDE_REVIEWS

    review = " ".join([SLIDE_REVIEWS[1]["text"]] * 8)[:5000]
    page.set_viewport_size({"width": 1366, "height": 768})
    page.goto(live_server + "/capitulo/imdb")
    page.fill("#review", review)
    page.click("#predict-button")
    cards = page.locator("#predict-results .model-result")
    cards.first.wait_for(timeout=120_000)
    assert cards.count() == 4
    for i in range(4):
        visible = cards.nth(i).locator(".tokens .shown").inner_text()
        assert 500 <= len(visible) <= 700 and review.startswith(visible)
        assert not cards.nth(i).locator(".tokens .rest").is_visible()
        more = cards.nth(i).locator(".tokens .more").inner_text()
        assert "caracteres más" in more and re.sub(r"\D", "", more) == str(len(review) - len(visible))
    assert page.locator("#predict-results").bounding_box()["height"] < 2500  # 4,635 px when echoed
    # the LSTM reads the first and the last tokens of a long review: the middle is marked as unread
    lstm = page.locator('#predict-results .model-result[data-model="lstm"]')
    button = lstm.locator("button.expand")
    button.click()
    assert lstm.locator(".tokens").inner_text().replace("\n", "").startswith(review[:600])
    assert review[-40:] in lstm.locator(".tokens").inner_text()
    assert lstm.locator(".tokens .unread").count() > 0 and button.get_attribute("aria-expanded") == "true"
    assert "no leyó" in lstm.inner_text()
    page.locator("#try-lab").screenshot(path=str(SHOTS / "sentiment-long-expanded-es.png"))
    button.click()
    assert not lstm.locator(".tokens .rest").is_visible()
    page.locator("#try-lab").screenshot(path=str(SHOTS / "sentiment-long-es.png"))
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    lstm.screenshot(path=str(SHOTS / "sentiment-long-390.png"))


def test_chapter1_classifiers_show_a_long_spanish_review_as_written_and_bounded(page, live_server):
    """Chapter 1 uses the same cards: accents kept, the 5,000-character review previewed."""
    review = (SPANISH + " ") * 60
    review = review[:5000]
    page.route("**/api/sentiment/llm*", lambda route: route.abort())  # only the classifiers matter here
    page.set_viewport_size({"width": 1366, "height": 768})
    page.goto(live_server + "/capitulo/discriminativa-generativa")
    page.fill("#gen-review", review)
    page.click("#gen-button")
    cards = page.locator("#gen-disc .model-result")
    cards.first.wait_for(timeout=120_000)
    assert cards.count() == 2
    for i in range(2):
        visible = cards.nth(i).locator(".tokens .shown").inner_text()
        assert visible.startswith(SPANISH) and len(visible) <= 700 and "pel cula" not in visible
        assert "caracteres más" in cards.nth(i).locator(".tokens .more").inner_text()
    page.locator("#live-lab").screenshot(path=str(SHOTS / "sentiment-gen-long-es.png"))
    assert page.locator("#gen-disc").bounding_box()["height"] < 2800  # 3,850 px when echoed (400 tokens each)
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    cards.first.screenshot(path=str(SHOTS / "sentiment-gen-long-390.png"))
