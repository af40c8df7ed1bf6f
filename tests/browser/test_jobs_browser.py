"""The jobs page in a real browser: start a background job, watch SSE progress, cancel one, train
a real model and see its loss curve and where it was saved."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser


def test_job_progress_arrives_over_sse_until_done(page, live_server, screenshot):
    page.goto(live_server + "/trabajos")
    page.select_option("#job-kind", "demo.count")
    page.click("#job-start")
    # the states in the page's language (issue #18): "terminado", not "done"
    page.wait_for_function("() => document.getElementById('job-status').textContent === 'terminado'", timeout=60_000)
    assert page.evaluate("document.getElementById('job-progress').value") == 20
    assert page.locator("#job-step").inner_text() == "20 / 20"
    page.wait_for_function("() => document.querySelector('#job-table tbody').textContent.includes('terminado')")
    assert any("/events" in u for u in page.requests)  # the progress came over SSE
    screenshot("jobs-es")


def test_a_running_job_can_be_cancelled_from_the_page(page, live_server):
    page.goto(live_server + "/trabajos?lang=en")
    assert page.locator("h1").inner_text() == "Background jobs"
    page.select_option("#job-kind", "demo.count")
    page.click("#job-start")
    page.wait_for_function("() => document.getElementById('job-progress').value >= 2", timeout=60_000)
    page.click("#job-cancel")
    page.wait_for_function(
        "() => document.getElementById('job-status').textContent === 'cancelled: Cancelled.'", timeout=60_000
    )
    assert page.evaluate("document.getElementById('job-progress').value") < 20


FIXTURES = Path(__file__).parents[1] / "fixtures"
WORKER_S = 300_000  # ms: the worker runs at nice 15 and imports torch; on a busy 2-core machine that takes minutes


def test_a_training_started_from_the_page_draws_its_loss_curve_and_shows_its_model(
    page, live_server, screenshot, tmp_path, monkeypatch
):
    """A real training kind (chapter 4's bigram on a Quijote of 12,000 characters) through the page,
    the runner and its worker: the form comes from the kind's schema, the loss curve gets train and
    validation points, and the page says where the model went (the cache, the job's own folder)."""
    quijote = (FIXTURES / "nets" / "quijote_sample.txt").read_text(encoding="utf-8")
    (tmp_path / "quijote").mkdir()
    (tmp_path / "quijote" / "pg2000.txt").write_text(
        "*** START OF THE PROJECT GUTENBERG EBOOK DON QUIJOTE ***\n\n"
        + quijote
        + "\n\n*** END OF THE PROJECT GUTENBERG EBOOK DON QUIJOTE ***\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("PIZARRA_DATA", str(tmp_path))  # the worker the runner starts inherits it
    page.set_viewport_size({"width": 1366, "height": 768})
    page.goto(live_server + "/trabajos")
    page.select_option("#job-kind", "nets.rung")
    assert "Quijote" in page.locator("#job-help").inner_text()
    assert page.locator("#job-needs-data").is_hidden()
    labels = page.locator("#job-fields label.job-field > span").all_inner_texts()
    assert labels == ["Modelo", "Pasos de entrenamiento", "Semilla"]  # the model's order, in Spanish
    steps = page.locator("#job-param-steps")
    assert steps.get_attribute("max") == "2000" and steps.input_value() == "500"  # bounds and default from the schema
    assert "de 10 a 2000" in page.locator("label.job-field", has=steps).inner_text()
    page.select_option("#job-param-rung", "bigram")
    steps.fill("60")
    page.click("#job-start")
    page.wait_for_function(
        "() => { const d = document.getElementById('job-chart').data;"
        " return d && d[0].x.length >= 2 && d[1].x.length >= 1; }",
        timeout=WORKER_S,
    )
    page.wait_for_function("() => document.getElementById('job-status').textContent === 'terminado'", timeout=WORKER_S)
    chart = page.evaluate("document.getElementById('job-chart').data.map((t) => [t.name, t.x, t.y])")
    (train_name, train_x, train_y), (val_name, val_x, val_y) = chart
    assert (train_name, val_name) == ("entrenamiento", "validación")
    assert train_x[-1] == 60 and val_x == [50, 60] and all(y > 0 for y in train_y + val_y)
    drawn = page.evaluate(  # what Plotly drew, not only what it was given: both validation points
        "Array.from(document.querySelectorAll('#job-chart .scatterlayer .trace'))"
        ".map((t) => t.querySelectorAll('.point').length)"
    )
    assert drawn[-1] == 2, drawn
    job_id = int(page.locator("#job-id").inner_text().lstrip("#"))
    artifact = Path(page.locator("#job-artifact").inner_text())
    assert artifact.parts[-4:] == ("user-artifacts", "nets.rung", f"job-{job_id}", "nets-bigram")
    card = json.loads((artifact / "card.json").read_text())
    assert card["job"] == {"kind": "nets.rung", "params": {"rung": "bigram", "steps": 60, "seed": 1337}, "id": job_id}
    assert page.locator("#job-chapter").get_attribute("href") == "/capitulo/redes-recurrentes-transformers"
    summary = page.locator("#job-summary").inner_text()
    assert "pérdida de validación (nats)" in summary and re.search(
        r"\d,\d{3}", summary
    )  # 3,886: a Spanish decimal comma
    page.wait_for_function(
        f"() => document.querySelector('#job-table tbody').textContent.includes('nets.rung/job-{job_id}/nets-bigram')"
    )
    screenshot("jobs-training-es")
    page.set_viewport_size({"width": 390, "height": 844})
    page.wait_for_timeout(300)  # Plotly redraws for the new width
    screenshot("jobs-training-es-390")
    page.select_option("#job-kind", "imdb.train")  # another kind, another form
    labels = page.locator("#job-fields label.job-field > span").all_inner_texts()
    assert labels[:2] == ["Modelo", "Críticas de entrenamiento"] and len(labels) == 6
    assert page.locator("#job-param-epochs").get_attribute("max") == "5"
    screenshot("jobs-form-imdb-es-390")
