"""The jobs page in a real browser: start a background job, watch SSE progress, cancel one."""

from __future__ import annotations

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
