"""The web shell: pages, language, catalogues, error handling, vendored assets, offline docs."""

from __future__ import annotations

import json
import logging
import re
import string
import textwrap
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from pizarra import __version__, i18n
from pizarra.chapters import CHAPTERS
from pizarra.web.app import ROUTERS, ErrorBody, Settings, create_app
from pizarra.web.templating import TEMPLATES_DIR


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app()) as c:
        yield c


@pytest.fixture
def fresh():
    """A client with no cookie yet."""
    with TestClient(create_app()) as c:
        yield c


# A router written to a temp folder, to exercise the factory and every error path.
FAKE_ROUTER = """
from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse
from pizarra.errors import AssetMissing, BadInput

router = APIRouter()
attached = []

def attach_runner(app, db_path=None):
    attached.append(db_path)

@router.get("/api/fake/missing")
def api_missing():
    raise AssetMissing("glove", "GloVe vectors are not installed: run pizarra assets install glove.")

@router.get("/fake/missing", response_class=HTMLResponse)
def page_missing():
    raise AssetMissing("glove", "GloVe vectors are not installed: run pizarra assets install glove.")

@router.get("/api/fake/bad")
def api_bad():
    raise BadInput("k must be between 1 and 50.")

@router.get("/api/fake/boom")
def api_boom():
    raise ZeroDivisionError("secret internals")

@router.get("/fake/boom", response_class=HTMLResponse)
def page_boom():
    raise ZeroDivisionError("secret internals")

@router.get("/api/fake/count")
def api_count(k: int = Query(..., ge=1, le=50), word: str = Query(...)):
    return {"k": k, "word": word}

@router.get("/fake/count", response_class=HTMLResponse)
def page_count(k: int = Query(..., ge=1, le=50)):
    return "<p>ok</p>"
"""


@pytest.fixture
def fake(tmp_path, monkeypatch):
    """An app whose ROUTERS include the fake router above (and a module that does not exist)."""
    (tmp_path / "pizarra_fake_router.py").write_text(textwrap.dedent(FAKE_ROUTER))
    monkeypatch.syspath_prepend(str(tmp_path))
    settings = Settings(
        db_path=tmp_path / "jobs.sqlite",
        routers=("pizarra_fake_router", "pizarra_no_such_router", "pizarra.web.routers.pages"),
    )
    app = create_app(settings)
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c
    import sys

    sys.modules.pop("pizarra_fake_router", None)


# --------------------------------------------------------------------------------- catalogues


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_catalogues_have_the_same_keys_and_placeholders():
    es, en = i18n.catalogue("es"), i18n.catalogue("en")
    assert set(es) == set(en), set(es) ^ set(en)
    for key in es:
        assert placeholders(es[key]) == placeholders(en[key]), key
        assert es[key].strip() and en[key].strip(), key


def test_every_chapter_has_a_title_and_summary_in_both_languages():
    for lang in i18n.LANGS:
        for c in CHAPTERS:
            assert f"chapter.{c.slug}.title" in i18n.catalogue(lang)
            assert len(i18n.catalogue(lang)[f"chapter.{c.slug}.summary"]) > 80


def test_every_key_used_in_templates_exists():
    used = set()
    for path in TEMPLATES_DIR.rglob("*.html"):
        used |= set(re.findall(r"""\bt\(\s*["']([\w.\-]+)["']\s*[,)]""", path.read_text()))
    assert "home.title" in used and "classroom.join.title" in used  # the regex finds them
    missing = used - set(i18n.catalogue("es"))
    assert not missing, missing


def test_t_fills_placeholders_and_falls_back_to_the_key():
    assert i18n.t("chapter.number", "en", number=3) == "Chapter 3"
    assert i18n.t("chapter.number", "es", number=3) == "Capítulo 3"
    assert i18n.t("no.such.key", "en") == "no.such.key"


@pytest.mark.parametrize(
    "header, lang",
    [
        ("en-US,en;q=0.9", "en"),
        ("fr-FR, es;q=0.5, en;q=0.4", "es"),
        ("fr, en;q=0.3, es;q=0.8", "es"),
        ("de", None),
        ("en;q=0", None),
        ("", None),
        ("es;q=bad, en;q=0.2", "en"),
        ("es;level=1;q=0.1, en; q=0.5", "en"),
        ("es;q=nan, en;q=2, *", None),
    ],
)
def test_accept_language(header, lang):
    assert i18n.from_accept_language(header) == lang


# -------------------------------------------------------------------------------------- pages


def test_home_is_spanish_by_default_and_lists_the_ten_chapters(fresh):
    r = fresh.get("/")
    assert r.status_code == 200
    assert '<html lang="es">' in r.text
    assert "Los diez capítulos" in r.text
    for c in CHAPTERS:
        assert f'href="/capitulo/{c.slug}"' in r.text
        assert i18n.t(f"chapter.{c.slug}.title", "es") in r.text
    assert r.text.count('class="card"') == len(CHAPTERS) == 10


def test_lang_switch_sets_a_cookie_that_persists(fresh):
    r = fresh.get("/?lang=en")
    assert '<html lang="en">' in r.text and "The ten chapters" in r.text
    assert "lang=en" in r.headers["set-cookie"]
    r = fresh.get("/")  # no query: the cookie remembers
    assert '<html lang="en">' in r.text and "Word embeddings" in r.text
    r = fresh.get("/?lang=es")
    assert '<html lang="es">' in r.text
    assert '<html lang="es">' in fresh.get("/").text


def test_unknown_lang_value_is_ignored_on_pages(fresh):
    r = fresh.get("/?lang=fr")
    assert r.status_code == 200 and '<html lang="es">' in r.text
    assert "set-cookie" not in r.headers


def test_accept_language_is_honoured_without_cookie(fresh):
    r = fresh.get("/", headers={"accept-language": "en-GB,en;q=0.9"})
    assert '<html lang="en">' in r.text


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda c: c.slug)
def test_chapter_pages(client, chapter):
    r = client.get(f"/capitulo/{chapter.slug}?lang=es")
    assert r.status_code == 200
    assert i18n.t(f"chapter.{chapter.slug}.title", "es") in r.text
    assert i18n.t(f"chapter.{chapter.slug}.summary", "es") in r.text
    assert re.search(rf'href="{chapter.url}"[^>]*aria-current="page"', r.text)
    assert client.get(f"/capitulo/{chapter.slug}?lang=en").status_code == 200


def test_the_table_of_contents_is_where_each_chapter_lives():
    """chapters.py names each chapter's package, router, CLI, template, script and catalogue: all real."""
    import importlib
    import importlib.util

    from pizarra.chapters import clis, routers
    from pizarra.web import templating

    web = templating.TEMPLATES_DIR.parent
    for c in CHAPTERS:
        assert importlib.util.find_spec(c.package) is not None, c.package
        assert c.router in routers() and importlib.util.find_spec(c.router) is not None, c.router
        assert (templating.TEMPLATES_DIR / c.template).is_file(), c.template
        assert (web / c.script).is_file(), c.script
        assert (i18n.LOCALES_DIR / c.locales / "es.json").is_file(), c.locales
    for module, _ in clis():
        assert hasattr(importlib.import_module(module), "app"), module
    assert len(routers()) == len(set(routers())) and routers()[-1] == "pizarra.web.routers.pages"


def test_one_front_end_convention():
    """Every page's script is static/js/<page>.js (no JavaScript inline in a template), its data and words
    come from one JSON block read with Pizarra.data(), and Pizarra.api / Pizarra.sse are the only fetch."""
    import re

    from pizarra.web import templating

    web = templating.TEMPLATES_DIR.parent
    for c in CHAPTERS:
        assert c.script.startswith("static/js/") and c.script.endswith(".js"), c.script
    for template in templating.TEMPLATES_DIR.glob("*.html"):
        html = template.read_text(encoding="utf-8")
        inline = [b for b in re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>(.*?)</script>", html, re.S)
                  if "application/json" not in b[0] and b[1].strip()]  # fmt: skip
        assert not inline, f"{template.name}: inline JavaScript (move it to static/js/)"
    for script in (web / "static" / "js").glob("*.js"):
        if script.name == "pizarra.js":
            continue
        code = re.sub(r"^\s*//.*$", "", script.read_text(encoding="utf-8"), flags=re.M)  # not the comments
        assert not re.search(r"\bfetch\(", code.replace("window.fetch", "")), f"{script.name}: use Pizarra.api/sse"
        assert not re.search(r"window\.[A-Z][A-Z0-9_]*\b", code), f"{script.name}: words through Pizarra.data()"


def test_an_unknown_chapter_is_a_404_page(client):
    r = client.get("/capitulo/no-existe?lang=es", headers={"accept": "text/html"})
    assert r.status_code == 404 and '<html lang="es">' in r.text


def test_layout_has_menu_current_chapter_and_no_outside_urls(client):
    r = client.get("/capitulo/embeddings?lang=es")
    assert r.text.count('<li><a href="/capitulo/') == 10
    assert re.search(r'href="/capitulo/embeddings"[^>]*aria-current="page"', r.text)
    pages = ["/", "/nope", "//evil.example/x", "/capitulo/%2F%2Fevil.example"]
    for html in [r.text] + [client.get(p).text for p in pages]:
        assert not re.search(r"""(src|href)=["']?(https?:)?//""", html), "page loads from outside"


# ------------------------------------------------------------------------------------- errors


@pytest.mark.parametrize("lang, words", [("es", "Página no encontrada"), ("en", "Page not found")])
def test_unknown_page_is_a_404_page_in_the_users_language(fresh, lang, words):
    r = fresh.get(f"/no/such/page?lang={lang}")
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("text/html")
    assert f'<html lang="{lang}">' in r.text and words in r.text and "/no/such/page" in r.text


def test_unknown_chapter_is_a_404_page(client):
    r = client.get("/capitulo/no-such-chapter?lang=en")
    assert r.status_code == 404 and "Page not found" in r.text


def test_unknown_api_route_is_json_404(client):
    r = client.get("/api/nothing-here?lang=en")
    assert r.status_code == 404
    error = r.json()["error"]
    assert error["status"] == 404 and "/api/nothing-here" in error["message"]


def test_wrong_method_is_405_with_allow_header(client):
    r = client.post("/api/health")
    assert r.status_code == 405
    assert r.json()["error"]["status"] == 405 and r.headers["allow"] == "GET"


def test_validation_error_is_422_naming_the_fields(fake):
    r = fake.get("/api/fake/count?k=0&lang=en")
    assert r.status_code == 422
    error = r.json()["error"]
    assert error["status"] == 422
    fields = {f["field"] for f in error["fields"]}
    assert fields == {"query.k", "query.word"}
    assert "«k» (query parameter)" in error["message"] and "greater than or equal to 1" in error["message"]
    assert "«word» (query parameter)" in error["message"] and "required" in error["message"]
    es = fake.get("/api/fake/count?k=0&lang=es").json()["error"]  # the same, in Spanish (issue #18)
    assert "«k» (parámetro de la dirección): debe ser mayor o igual que 1" in es["message"]
    assert {f["message"] for f in es["fields"]} == {"debe ser mayor o igual que 1", "falta, y es obligatorio"}


def test_validation_error_on_a_page_is_a_styled_422_page(fake):
    r = fake.get("/fake/count?k=abc&lang=es")
    assert r.status_code == 422 and r.headers["content-type"].startswith("text/html")
    assert "Datos no válidos" in r.text and "«k» (parámetro de la dirección): debe ser un número entero" in r.text


def test_api_chapters_rejects_unknown_language(client):
    r = client.get("/api/chapters?lang=fr")
    assert r.status_code == 422
    assert r.json()["error"]["fields"][0]["field"] == "query.lang"


def test_asset_missing_is_503_with_the_catalogue_message(fake):
    r = fake.get("/api/fake/missing")
    assert r.status_code == 503
    assert r.json()["error"] == {
        "status": 503,
        "message": "GloVe vectors are not installed: run pizarra assets install glove.",
        "kind": "AssetMissing",
        "name": "glove",
    }
    r = fake.get("/fake/missing?lang=en")
    assert r.status_code == 503 and "Resource unavailable" in r.text
    assert "pizarra assets install glove" in r.text


def test_bad_input_is_422(fake):
    r = fake.get("/api/fake/bad")
    assert r.status_code == 422 and r.json()["error"]["message"] == "k must be between 1 and 50."


def test_unexpected_exception_is_a_generic_500_logged_never_shown(fake, caplog):
    with caplog.at_level(logging.ERROR, logger="pizarra.web.app"):
        r = fake.get("/api/fake/boom?lang=en")
    assert r.status_code == 500
    assert r.json()["error"]["message"].startswith("Something went wrong on the server")
    assert "secret internals" not in r.text and "Traceback" not in r.text
    assert "ZeroDivisionError" in caplog.text  # the traceback goes to the log
    r = fake.get("/fake/boom?lang=es")
    assert r.status_code == 500 and "Error interno" in r.text
    assert "secret internals" not in r.text and "Traceback" not in r.text


def test_every_listed_router_exists():
    """The factory skips a missing router so the shell always builds; a typo must still fail here."""
    import importlib.util

    for name in ROUTERS:
        assert importlib.util.find_spec(name) is not None, name
    assert ROUTERS[-1] == "pizarra.web.routers.pages"


def test_factory_skips_missing_routers_and_attaches_runners(fake, tmp_path):
    import pizarra_fake_router

    assert pizarra_fake_router.attached == [tmp_path / "jobs.sqlite"]
    assert fake.get("/api/health").status_code == 200  # pages.py, listed after the missing one


# ---------------------------------------------------------------------------------------- API


def test_health(client):
    r = client.get("/api/health")
    assert r.status_code == 200 and r.json() == {"status": "ok", "version": __version__}


@pytest.mark.parametrize("lang, title", [("es", "Embeddings de palabras"), ("en", "Word embeddings")])
def test_api_chapters(client, lang, title):
    rows = client.get(f"/api/chapters?lang={lang}").json()
    assert [r["slug"] for r in rows] == [c.slug for c in CHAPTERS]
    assert all(set(r) == {"number", "slug", "title", "summary", "url"} for r in rows)
    assert rows[2]["title"] == title and rows[2]["url"] == "/capitulo/embeddings"


def test_openapi_lists_the_shell_endpoints_and_the_real_error_shape(client):
    schema = client.get("/openapi.json").json()
    assert {"/", "/api/health", "/api/chapters"} <= set(schema["paths"])
    documented = schema["paths"]["/api/chapters"]["get"]["responses"]["422"]
    assert documented["content"]["application/json"]["schema"]["$ref"] == "#/components/schemas/ErrorBody"
    assert "HTTPValidationError" not in json.dumps(schema)
    body = client.get("/api/chapters?lang=xx").json()
    assert ErrorBody.model_validate(body).error.fields[0].field == "query.lang"


# ------------------------------------------------------------------------- vendored / offline


def test_plotly_js_is_served_from_the_installed_package_with_cache_headers(client):
    import plotly

    r = client.get("/static/vendor/plotly.min.js")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/javascript")
    assert "max-age" in r.headers["cache-control"] and r.headers.get("etag")
    path = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    assert r.content == path.read_bytes()
    again = client.get("/static/vendor/plotly.min.js", headers={"if-none-match": r.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    assert client.head("/static/vendor/plotly.min.js").status_code == 200


def test_static_css_and_missing_static_file(client):
    assert client.get("/static/css/pizarra.css").status_code == 200
    assert client.get("/static/nope.css").status_code == 404


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_are_served_without_any_cdn(client, page):
    r = client.get(page)
    assert r.status_code == 200
    assert "cdn" not in r.text.lower() and "fastapi.tiangolo.com" not in r.text
    assert "fonts.googleapis" not in r.text
    urls = re.findall(r"""(?:src|href)=["']([^"']+)""", r.text)
    assert len(urls) >= 2 and all(u.startswith("/") for u in urls), urls
    for url in urls:
        assert client.get(url).status_code == 200, url
