"""Chapter 3 in a real browser: the lecture's prompts answer on load, the projector draws and
lists a clicked word's neighbours, bad input shows a readable error. Screenshots in screenshots/."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

URL = "/capitulo/embeddings"


def test_lecture_prompts_answer_on_load(page, live_server, screenshot):
    page.goto(live_server + URL)
    page.wait_for_selector("#neighbors-table:not([hidden]) tbody tr", timeout=60_000)
    assert page.locator("#neighbors-table tbody tr").count() == 10
    page.wait_for_selector("#analogy-results li", timeout=30_000)
    assert "reina" in page.locator("#analogy-results").inner_text()
    page.wait_for_selector("#formula-results li", timeout=30_000)
    assert "tarde" in page.locator("#formula-results").inner_text()
    page.wait_for_selector("#projector-plot .main-svg", timeout=60_000)
    assert page.locator("#quiz-tray .quiz-chip").count() >= 10
    screenshot("embeddings-es")


def test_formula_examples_and_errors(page, live_server):
    page.goto(live_server + URL)
    page.wait_for_selector("#formula-results li", timeout=60_000)
    page.locator("#formula-lab .chip", has_text="DIST(perro, gato)").click()
    page.wait_for_function("() => document.querySelector('#formula-value').textContent.startsWith('=')")
    page.fill("#formula-input", "LERP(mañana, noche")
    page.click("#formula-form button[type=submit]")
    err = page.locator("#formula-lab .error-box")
    err.wait_for(state="visible")
    assert "19" in err.inner_text()
    page.fill("#neighbors-word", "reyy")
    page.click("#neighbors-form button[type=submit]")
    page.locator("#neighbors-lab .error-box").wait_for(state="visible")
    assert "reyy" in page.locator("#neighbors-lab .error-box").inner_text()


def test_projector_click_lists_neighbours_and_quiz_reveal(page, live_server, screenshot):
    page.goto(live_server + URL + "?lang=en")
    page.wait_for_selector("#projector-plot .main-svg", timeout=60_000)
    page.fill("#projector-word", "rey")
    page.select_option("#projector-form select[name=dims]", "3")
    page.click("#projector-form button[type=submit]")
    page.wait_for_selector('#projector-plot[data-dims="3"][data-points="41"]', timeout=30_000)
    page.fill("#projector-word", "")
    page.select_option("#projector-form select[name=dims]", "2")
    page.click("#projector-form button[type=submit]")
    page.wait_for_selector('#projector-plot[data-dims="2"] .scatterlayer .point')
    page.locator("#projector-plot .scatterlayer .point").first.click(force=True)
    page.wait_for_selector("#projector-picked li", timeout=30_000)
    # quiz: drag a word onto the board, then reveal
    chip = page.locator("#quiz-tray .quiz-chip").first
    box = page.locator("#quiz-board").bounding_box()
    chip.hover()
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.8, box["y"] + box["height"] * 0.2, steps=5)
    page.mouse.up()
    assert page.locator("#quiz-board .quiz-chip:not(.truth)").count() == 1
    page.click("#quiz-reveal")
    assert page.locator("#quiz-board .quiz-chip.truth").count() >= 10
    assert page.locator("#quiz-explain").is_visible()
    screenshot("embeddings-en-projector-quiz")
