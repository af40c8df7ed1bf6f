"""The lab in a real browser: home, language switch, chapter pages, 404, API docs, Plotly.

Each test's ``page`` fixture fails it if any request leaves 127.0.0.1.
"""

from __future__ import annotations

import pytest

from pizarra.chapters import CHAPTERS

pytestmark = pytest.mark.browser


def test_home_in_spanish_lists_the_ten_chapters(page, live_server, screenshot):
    page.goto(live_server + "/")
    assert page.locator("html").get_attribute("lang") == "es"
    assert page.locator("h2#chapters-heading").inner_text() == "Los diez capítulos"
    cards = page.locator("ol.cards > li")
    assert cards.count() == 10
    assert [cards.nth(i).get_attribute("data-slug") for i in range(10)] == [c.slug for c in CHAPTERS]
    assert page.locator("nav.chapter-menu li").count() == 10
    screenshot("home-es")
    assert any(u.endswith("/static/css/pizarra.css") for u in page.requests)  # the layout loaded
    assert not any("plotly" in u for u in page.requests)  # only pages with charts load Plotly


def test_language_switch_changes_texts_and_persists(page, live_server, screenshot):
    page.goto(live_server + "/")
    page.locator('nav.lang-switch a[data-lang="en"]').click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("h2#chapters-heading").inner_text() == "The ten chapters"
    assert "Word embeddings" in page.locator("nav.chapter-menu").inner_text()
    screenshot("home-en")
    # A plain link, no ?lang: the cookie keeps English.
    page.locator("nav.chapter-menu a.menu-home").click()
    page.wait_for_load_state()
    assert page.url == live_server + "/"
    assert page.locator("html").get_attribute("lang") == "en"
    page.locator('nav.lang-switch a[data-lang="es"]').click()
    page.wait_for_load_state()
    assert page.locator("h2#chapters-heading").inner_text() == "Los diez capítulos"


def test_following_a_chapter_link_opens_that_chapter(page, live_server, screenshot):
    """A card on the home page opens the chapter's own page, marked in the menu."""
    chapter = CHAPTERS[-1]
    page.goto(live_server + "/")
    page.locator(f'ol.cards li[data-slug="{chapter.slug}"] h3 a').click()
    page.wait_for_load_state()
    assert page.url == f"{live_server}/capitulo/{chapter.slug}"
    assert f"CAPÍTULO {chapter.number}" in page.locator("main").inner_text().upper()
    current = page.locator('nav.chapter-menu a[aria-current="page"]')
    assert current.get_attribute("href") == f"/capitulo/{chapter.slug}"
    screenshot("chapter-link-es")


def test_unknown_page_is_a_404_page_in_the_chosen_language(page, live_server, screenshot):
    page.goto(live_server + "/?lang=en")
    response = page.goto(live_server + "/no/such/page")
    assert response.status == 404
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("main h1").inner_text() == "Page not found"
    assert page.locator("nav.chapter-menu li").count() == 10  # still inside the layout
    screenshot("404-en")


def test_api_docs_load_offline(page, live_server, screenshot):
    page.goto(live_server + "/docs")
    page.locator(".swagger-ui .info .title").wait_for()
    assert "Pizarra" in page.locator(".swagger-ui .info .title").inner_text()
    page.locator(".opblock-summary-path", has_text="/api/health").first.wait_for()
    screenshot("docs")


def test_vendored_plotly_draws_in_the_browser(page, live_server):
    page.goto(live_server + "/")
    page.add_script_tag(url="/static/vendor/plotly.min.js")
    drawn = page.evaluate(
        "async () => { const div = document.createElement('div'); document.body.append(div);"
        " await Plotly.newPlot(div, [{x: [1, 2], y: [3, 4]}]);"
        " return div.querySelectorAll('.main-svg').length; }"
    )
    assert drawn > 0
    assert any(u.endswith("/static/vendor/plotly.min.js") for u in page.requests)


@pytest.mark.parametrize("width, height", [(1024, 768), (800, 600)])
def test_pages_fit_a_classroom_projector(page, live_server, screenshot, width, height):
    page.set_viewport_size({"width": width, "height": height})
    for path in ("/", *(f"/capitulo/{c.slug}" for c in CHAPTERS)):
        page.goto(live_server + path)
        page.wait_for_load_state("networkidle")  # chapter pages fill their tables and plots
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{path} scrolls sideways by {overflow}px at {width}x{height}"
        assert page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)") >= 18
    screenshot(f"chapter-{width}x{height}")


def test_the_outside_request_guard_sees_what_chromium_requests(page, live_server):
    page.route("**/*", lambda route: route.abort() if "invalid" in route.request.url else route.continue_())
    page.goto(live_server + "/")
    page.evaluate(
        "() => { const img = new Image(); img.src = 'http://cdn.example.invalid/x.png'; document.body.append(img); }"
    )
    page.wait_for_timeout(300)
    assert page.outside_requests() == ["http://cdn.example.invalid/x.png"]
    page.requests.clear()  # the guard worked; let the fixture's own check pass
    page.csp_expected.append("cdn.example.invalid")  # and the CSP refused it too, as it should


@pytest.mark.parametrize("lang, words", [("es", "No se ha podido hablar con el servidor"), ("en", "Could not reach")])
def test_a_request_that_never_reaches_the_server_says_so_in_the_pages_language(page, live_server, lang, words):
    """The browser's own message for a dropped connection is English ("Failed to fetch"): Pizarra.api says
    it in the page's language, and says what to check."""
    page.route("**/api/images/search**", lambda route: route.abort("connectionreset"))
    page.goto(live_server + f"/capitulo/generar-imagenes?lang={lang}")
    page.click("#search-button")
    page.locator("#search-error").filter(has_text=words).wait_for(timeout=10_000)
    assert "Failed to fetch" not in page.locator("#search-error").inner_text()
