"""Chapter 6 in a real browser: the lecture's scores on load, both models, the map, errors, and a
semantic search that works at the first click of a fresh install (issue #18)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from pizarra.config import REPO_ROOT

URL = "/capitulo/entender-texto"
SCREENSHOTS = Path(__file__).parent / "screenshots"
MODEL_NAMES = ("Universal Sentence Encoder", "all-MiniLM-L6-v2")
# Words that give a line away as English; none of them is Spanish (not even in Don Quijote).
ENGLISH = {
    "the", "is", "are", "of", "and", "with", "not", "yet", "this", "that", "must", "first", "out",
    "index", "build", "built", "search", "searching", "results", "passages", "paragraphs", "closest",
    "cluster", "cache", "command", "run", "missing", "loading", "found", "model", "models",
}  # fmt: skip


def english_words(text: str) -> list[str]:
    for name in MODEL_NAMES:
        text = text.replace(name, " ")
    return sorted({w for w in re.findall(r"[a-záéíóúüñ]+", text.lower()) if w in ENGLISH})


def shipped_passages() -> dict:
    card = json.loads((REPO_ROOT / "artifacts" / "sim-index" / "card.json").read_text(encoding="utf-8"))
    return {name: c["passages"] for name, c in card["data"]["collections"].items()}


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
    legend = page.locator("#map-plot .legend").text_content()  # SVG text
    assert "grupo 1" in legend and not english_words(legend)  # was "cluster 1"
    assert not english_words(page.locator("#compare-time").inner_text())  # was "USE: cache"
    screenshot("similarity-es")


def test_a_fresh_cache_searches_at_the_first_click_all_in_spanish(page, live_server, screenshot):
    """No index in Pizarra's cache, no data folder, no command: the first search shows passages,
    for both collections and both models, and the search lab never shows an English word."""
    cache = Path(os.environ["PIZARRA_CACHE"])  # the live server's own, fresh for this session
    assert not list(cache.glob("similarity/index/*.npz")), "the cache must start without any index"
    counts = shipped_passages()
    page.set_viewport_size({"width": 1366, "height": 768})
    page.goto(live_server + URL)
    lab = page.locator("#search-lab")
    assert "pizarra similarity" not in lab.inner_text()  # nobody is sent to the command line
    page.click("#search-button")  # the example query, Don Quijote, the multilingual model
    page.locator("#search-results .passage").first.wait_for(timeout=60_000)
    passages = page.locator("#search-results .passage")
    assert passages.count() == 5
    assert any("molinos" in passages.nth(i).inner_text() for i in range(5))
    status = page.locator("#search-status").inner_text()
    assert status.startswith("Los 5 párrafos más parecidos de ") and str(counts["quijote"]) in status
    assert page.locator("#search-error").inner_text() == ""
    assert not english_words(lab.inner_text()), english_words(lab.inner_text())
    lab.screenshot(path=str(SCREENSHOTS / "similarity-search-es-1366.png"))

    page.fill("#search-query", "una tormenta en el mar")
    page.select_option("#search-collection", "cuentos")
    page.select_option("#search-model", "minilm")  # the int8 encoder loads on this first use
    page.evaluate(
        """() => { window.seen = []; new MutationObserver(() => seen.push(document.getElementById('search-status')
            .textContent)).observe(document.getElementById('search-status'), {childList: true}); }"""
    )
    page.click("#search-button")
    page.locator("#search-results .passage").first.wait_for(timeout=90_000)
    assert page.locator("#search-results .passage").count() == 5
    status = page.locator("#search-status").inner_text()
    assert f"{counts['cuentos']:,}".replace(",", ".") in status  # 12.818: Spanish thousands
    assert page.locator("#search-error").inner_text() == ""
    assert not english_words(lab.inner_text()), english_words(lab.inner_text())
    assert page.evaluate("seen")[0].startswith("Buscando…")  # the wait is said while it lasts
    assert not list(cache.glob("similarity/index/*.npz"))  # searched the shipped index, built nothing

    page.set_viewport_size({"width": 390, "height": 844})
    lab.scroll_into_view_if_needed()
    lab.screenshot(path=str(SCREENSHOTS / "similarity-search-es-390.png"))
    width = page.evaluate("document.querySelector('#search-lab').scrollWidth")
    assert width <= page.evaluate("document.querySelector('#search-lab').clientWidth") + 1  # no sideways scroll
    screenshot("similarity-search-es-390-page")


def test_bad_input_and_an_english_search(page, live_server, screenshot):
    page.goto(live_server + URL + "?lang=en")
    page.locator("#compare-table").wait_for(state="visible", timeout=90_000)
    page.fill("#candidates", "\n".join(f"sentence {i}" for i in range(101)))
    page.click("#compare-button")
    page.locator("#compare-error").wait_for(state="visible")
    assert "100" in page.locator("#compare-error").inner_text()
    page.select_option("#search-collection", "cuentos")
    page.click("#search-button")
    page.locator("#search-results .passage").first.wait_for(timeout=60_000)
    status = page.locator("#search-status").inner_text()
    assert status.startswith("The 5 closest paragraphs out of ") and f"{shipped_passages()['cuentos']:,}" in status
    assert page.locator("#search-error").inner_text() == ""
    screenshot("similarity-en-errors")
