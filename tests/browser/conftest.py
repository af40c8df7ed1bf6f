"""Browser tests: the real server (uvicorn, 127.0.0.1, free port) driven by Debian's Chromium.

Every request a page makes is recorded; a request to any host other than 127.0.0.1 fails the
test. Screenshots go to tests/browser/screenshots/ (git-ignored) for a human to look at.
Chromium comes from the system (``apt-get install chromium``), never from ``playwright install``;
``PIZARRA_CHROMIUM`` points elsewhere if needed.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from pizarra.web.app import Settings, create_app
from support.serving import serving

CHROMIUM = os.environ.get("PIZARRA_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).parent / "screenshots"
ALLOWED_HOSTS = {"127.0.0.1"}


def outside_requests(urls: list[str]) -> list[str]:
    """The URLs that went to a host other than 127.0.0.1 (data:, blob:, about: stay inside)."""
    return [
        u
        for u in urls
        if urlsplit(u).scheme not in ("data", "blob", "about") and urlsplit(u).hostname not in ALLOWED_HOSTS
    ]


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    """Base URL of the real app served by uvicorn in a background thread."""
    cache = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PIZARRA_CACHE", str(cache))
        app = create_app(Settings(db_path=cache / "jobs.sqlite"))
        with serving(app, "the web server") as port:
            yield f"http://127.0.0.1:{port}"


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"Chromium not found at {CHROMIUM}: apt-get install chromium (or set PIZARRA_CHROMIUM)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    """A fresh browser context (no cookies) whose every request must go to 127.0.0.1."""
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="es-ES")
    page = context.new_page()
    page.set_default_timeout(30_000)  # a loaded 2-core machine is slow
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.requests = requests
    page.outside_requests = lambda: outside_requests(requests)
    csp: list[str] = []  # the lab's Content-Security-Policy must never block what its own pages do
    page.on("console", lambda msg: csp.append(msg.text) if "Content Security Policy" in msg.text else None)
    page.csp_expected = []  # a test that provokes a violation on purpose names it here (a substring)
    yield page
    context.close()
    outside = outside_requests(requests)
    assert not outside, f"requests left 127.0.0.1: {outside}"
    unexpected = [m for m in csp if not any(e in m for e in page.csp_expected)]
    assert not unexpected, f"the page broke its own Content-Security-Policy: {unexpected[:3]}"


@pytest.fixture
def screenshot(page):
    """``screenshot("home-es")`` saves the full page to tests/browser/screenshots/home-es.png."""
    SCREENSHOTS.mkdir(exist_ok=True)

    def take(name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
