"""Numbers in the reader's locale (issue #18): Babel on the server, Intl.NumberFormat in the pages.

Spanish writes a decimal comma and groups thousands with a point from five digits on (CLDR's
minimumGroupingDigits, as the browser's Intl does): 1,556 · 1000 · 16.000 · 90,88 %. English:
1.556 · 1,000 · 16,000 · 90.88%.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from pizarra import i18n
from pizarra.web.app import create_app
from pizarra.web.templating import TEMPLATES_DIR, templates

NBSP = "\u00a0"
STATIC_JS = Path(TEMPLATES_DIR).parent / "static" / "js"


@pytest.mark.parametrize(
    "x, lang, decimals, text",
    [
        (1.556, "es", None, "1,556"),  # "tokens por palabra": not one thousand five hundred
        (1.556, "en", None, "1.556"),
        (1000, "es", None, "1000"),
        (1000, "en", None, "1,000"),
        (16000, "es", None, "16.000"),
        (16000, "en", None, "16,000"),
        (1234.5, "es", 2, "1234,50"),
        (12345.5, "es", 2, "12.345,50"),
        (12345.5, "en", 2, "12,345.50"),
        (9999.96, "es", 1, "10.000,0"),  # grouped as shown, after rounding
        (0.655, "es", 3, "0,655"),
        (-16000, "es", 0, "-16.000"),
        (None, "es", 2, "–"),
        (float("inf"), "es", None, "∞"),
    ],
)
def test_number(x, lang, decimals, text):
    assert i18n.number(x, lang, decimals) == text


@pytest.mark.parametrize(
    "x, lang, decimals, text",
    [
        (0.9088, "es", 2, f"90,88{NBSP}%"),
        (0.9088, "en", 2, "90.88%"),
        (0.8199, "es", 2, f"81,99{NBSP}%"),
        (0.5, "es", 0, f"50{NBSP}%"),
        (0.125, "en", 1, "12.5%"),
        (None, "es", 1, "–"),
    ],
)
def test_percent(x, lang, decimals, text):
    assert i18n.percent(x, lang, decimals) == text


def test_jinja_filters_use_the_pages_language():
    tpl = templates.env.from_string("{{ x|num(2) }} · {{ p|percent(1) }} · {{ n|num }}")
    assert tpl.render(lang="es", x=1.556, p=0.9088, n=16000) == f"1,56 · 90,9{NBSP}% · 16.000"
    assert tpl.render(lang="en", x=1.556, p=0.9088, n=16000) == "1.56 · 90.9% · 16,000"


def test_templates_and_scripts_format_numbers_through_the_locale():
    """No template formats a number by hand ("%.2f"|format, "{:,}".format), no page script with
    toFixed or toLocaleString() without a language, except where the text is code or CSS."""
    for path in TEMPLATES_DIR.rglob("*.html"):
        text = path.read_text()
        assert not re.search(r'"%[-\d.]*[df]( %%)?"\|format', text), path.name
        assert '"{:,}".format' not in text, path.name
    for path in [*TEMPLATES_DIR.rglob("*_script.html"), *STATIC_JS.glob("*.js")]:
        for line in path.read_text().splitlines():
            if "toFixed" in line:
                assert "rgba(" in line or "SLIDER(" in line, f"{path.name}: {line.strip()}"
            assert "toLocaleString()" not in line, f"{path.name}: {line.strip()}"
    assert "Intl.NumberFormat" in (STATIC_JS / "pizarra.js").read_text()


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app()) as c:
        yield c


def percents(html: str) -> list[str]:
    """Every percentage written in the page's text."""
    return re.findall(r"\d[\d.,]*(?:\s|&nbsp;| )?%", html)


@pytest.mark.parametrize(
    "lang, slide, wrong",
    [
        ("es", f"81,99{NBSP}%", re.compile(r"\d\.\d+[\s ]?%")),  # Spanish: never a decimal point
        ("en", "81.99%", re.compile(r"\d,\d+[\s ]?%")),  # English: never a decimal comma
    ],
)
def test_home_and_chapter_5_write_percentages_alike(client, lang, slide, wrong):
    """The lecture's table (LSTM 81.99 %) on the home page (a catalogue text) and in chapter 5's
    table (a number through the percent filter) look the same, and so do the measured rows."""
    home = client.get(f"/?lang={lang}").text
    chapter = client.get(f"/capitulo/imdb?lang={lang}").text
    assert slide in home
    table = chapter[chapter.index("<table") :]
    assert slide in table  # the slide's row of the table, formatted by Babel
    for page in (home, table):
        found = [p for p in percents(page) if wrong.search(p)]
        assert not found, found[:5]
