"""Chapter 6 in a real browser: the lecture's scores on load, both models, the map, errors."""

from __future__ import annotations

URL = "/capitulo/entender-texto"


def test_lecture_scores_and_map_on_load(page, live_server, screenshot):
    page.goto(live_server + URL)
    table = page.locator("#compare-table")
    table.wait_for(state="visible", timeout=90_000)  # first call builds the ONNX encoder
    rows = table.locator("tbody tr")
    assert rows.count() == 2
    first = rows.nth(0)
    assert "Nada me gusta más que el baloncesto" in first.inner_text()
    assert "0,838" in first.locator(".score-minilm").inner_text()
    assert "0,655" in rows.nth(1).locator(".score-minilm").inner_text()
    assert "0,778" in first.locator(".score-use").inner_text()  # the multilingual model's view (Spanish numbers)
    page.locator("#map-plot .scatterlayer .point").first.wait_for(timeout=60_000)
    assert page.locator("#map-plot .scatterlayer .point").count() >= 10
    screenshot("similarity-es")


def test_bad_input_and_missing_index_are_explained(page, live_server, screenshot):
    page.goto(live_server + URL + "?lang=en")
    page.locator("#compare-table").wait_for(state="visible", timeout=90_000)
    page.fill("#candidates", "\n".join(f"sentence {i}" for i in range(101)))
    page.click("#compare-button")
    page.locator("#compare-error").wait_for(state="visible")
    assert "100" in page.locator("#compare-error").inner_text()
    page.select_option("#search-collection", "cuentos")
    page.click("#search-button")
    page.locator("#search-error").wait_for(state="visible")
    assert "pizarra similarity index cuentos" in page.locator("#search-error").inner_text()
    screenshot("similarity-en-errors")
