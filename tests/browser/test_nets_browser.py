"""Chapter 4 in a real browser: every plot of the page is drawn from the trained models, and bad
input gets a notice or an error, never a broken page. Screenshots in tests/browser/screenshots/."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

URL = "/capitulo/redes-recurrentes-transformers"
PLOTS = ["elman-plot", "lstm-plot", "attention-plot", "positional-plot", "vanishing-plot"]


def wait_drawn(page, plot_id: str, timeout: int = 60_000):
    page.wait_for_selector(f'#{plot_id}[data-drawn="1"] .main-svg', timeout=timeout)


def test_page_draws_every_plot_es(page, live_server, screenshot):
    page.goto(live_server + URL)
    for plot in PLOTS:
        wait_drawn(page, plot)
    page.wait_for_selector("#parity-table:not([hidden]) tbody tr", timeout=90_000)
    rows = page.locator("#parity-table tbody tr")
    assert rows.count() >= 10
    assert page.locator('#parity-table tbody tr[data-ok="false"]').count() == 0
    assert "pasan" in page.locator("#parity-status").inner_text()
    assert page.locator("#ladder-table tbody tr").count() == 6
    # attention: 2 layers x 4 heads = 8 heatmaps; LSTM: 3 gate heatmaps
    assert page.locator("#attention-plot .heatmaplayer .hm").count() >= 8
    assert page.locator("#lstm-plot .heatmaplayer .hm").count() == 3
    assert "→" in page.locator("#elman-guess").inner_text()
    # every chart has its title and axis titles (Plotly 4 draws none given as a bare string)
    titles = page.evaluate(
        "(ids) => Object.fromEntries(ids.map((id) => [id, document.querySelector(`#${id} .gtitle`)?.textContent]))",
        [*PLOTS, "lstm-mean"],
    )
    assert None not in titles.values(), f"charts without a title: {titles}"
    assert titles["elman-plot"].startswith("h_t de la red de Elman entrenada (24 de 192")
    assert titles["lstm-mean"] == "Valor medio de cada puerta por carácter"
    assert titles["lstm-plot"].startswith("Puertas de la LSTM entrenada")
    assert titles["attention-plot"].startswith("Pesos de atención (2 capas × 4 cabezas)")
    assert titles["positional-plot"] == "PE: 64 posiciones × 64 dimensiones"
    assert titles["vanishing-plot"].startswith("‖∂h_T/∂h_0‖ con las redes entrenadas")
    assert page.locator("#elman-plot .g-xtitle text").text_content() == "paso t: carácter"
    assert page.locator("#positional-plot .g-ytitle text").text_content() == "posición"
    # numbers in Spanish on the charts too: "0,5", not "0.5"
    assert "0,5" in page.locator("#elman-plot .colorbar").text_content()
    screenshot("nets-es")
    for section in ("ladder", "elman", "lstm", "attention", "vanishing"):  # close-ups for a human eye
        page.locator(f"#{section}").screenshot(path=str(screenshot("nets-es").parent / f"nets-es-{section}.png"))


def test_slide_sentences_and_bad_input(page, live_server, screenshot):
    page.goto(live_server + URL + "?lang=en")
    wait_drawn(page, "lstm-plot")
    page.locator(".nets-example").nth(1).click()  # "Crecí en Francia…"
    page.wait_for_selector('#lstm-plot[data-text^="Crecí en Francia"]')
    assert page.locator("#lstm-text").input_value().startswith("Crecí en Francia")
    screenshot("nets-en-lstm-francia")
    # unknown characters and a sentence past the context: notices, the plot still drawn
    page.fill("#attention-text", "☃ " + "En un lugar de la Mancha " * 4)
    page.locator("#attention-form button[type=submit]").click()
    page.wait_for_function("() => document.querySelector('#attention-notice').textContent.length > 0")
    notice = page.locator("#attention-notice").inner_text()
    assert "first 64" in notice and "«☃»" in notice
    wait_drawn(page, "attention-plot")
    # empty sentence: a clear error instead of a plot
    page.fill("#elman-text", "")
    page.locator("#elman-form button[type=submit]").click()
    page.wait_for_function("() => document.querySelector('#elman-error').textContent.length > 0")
    assert "empty" in page.locator("#elman-error").inner_text()
    assert page.locator("#elman-plot").get_attribute("data-drawn") == ""
    assert page.locator("#elman-guess").inner_text() == ""
    screenshot("nets-en-bad-input")
