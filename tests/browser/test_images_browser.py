"""Chapter 10 in a real browser, on the shipped models: search, image -> text, generation with the
classifier's verdict, the slide's steps viewer, LERP and SUM, a notice for unknown words, errors."""

from __future__ import annotations

import pytest

URL = "/capitulo/generar-imagenes"


def _shipped() -> bool:
    from pizarra.config import artifacts_dir

    return all(
        (artifacts_dir() / n / "card.json").is_file()
        for n in ("img-autoencoder", "img-clip", "img-diffusion", "img-classifier")
    )


pytestmark = pytest.mark.skipif(not _shipped(), reason="artifacts/img-* not built yet (pizarra images train all)")


def test_search_generate_and_steps(page, live_server, screenshot):
    page.goto(live_server + URL)
    assert page.locator("#gallery img").count() == 20  # one picture per class
    page.click("#search-button")
    page.locator("#search-results img").first.wait_for(timeout=60_000)
    assert page.locator("#search-results img").count() == 8
    assert "zapatilla" in page.locator("#search-results").inner_text()
    page.locator("#gallery button.pick").nth(8).click()  # the bag
    page.locator("#describe-out .chip").nth(1).wait_for()
    assert "bolso" in page.locator("#describe-out").inner_text()

    page.click("#gen-button")
    page.locator("#gen-out img").nth(15).wait_for(timeout=60_000)
    assert page.locator("#gen-out img").count() == 16
    assert "clasificador: un siete" in page.locator("#gen-out").inner_text()
    assert "16 × 40" in page.locator("#gen-time").inner_text()

    page.click("#steps-button")
    page.locator("#steps-out img").nth(9).wait_for(timeout=60_000)
    labels = page.locator("#steps-out figcaption").all_inner_texts()
    assert labels == [f"{s} pasos" for s in (1, 2, 3, 5, 8, 10, 15, 20, 30, 40)]  # Spanish page, Spanish words
    screenshot("images-es")


def test_space_arithmetic_unknown_words_and_errors(page, live_server, screenshot):
    page.goto(live_server + URL + "?lang=en")
    page.click("#lerp-button")
    page.locator("#lerp-out img").nth(13).wait_for(timeout=60_000)  # 7 generated + 7 nearest
    page.click("#sum-button")
    page.locator("#sum-near img").nth(7).wait_for(timeout=60_000)
    page.locator("#gallery button.pick").nth(7).click()
    page.locator("#gallery button.pick").nth(9).click()
    page.click("#lerpimg-button")
    page.locator("#lerpimg-out img").nth(13).wait_for(timeout=60_000)

    page.fill("#search-q", "a snaeker")  # misspelt
    page.click("#search-button")
    page.locator("#search-notice").wait_for(state="visible")
    assert "snaeker" in page.locator("#search-notice").inner_text()
    page.fill("#gen-caption", "¿?")
    page.click("#gen-button")
    page.locator("#gen-error").wait_for(state="visible")
    assert "no words" in page.locator("#gen-error").inner_text()
    screenshot("images-en")
