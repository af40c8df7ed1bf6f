"""Pages: the Jinja templates, the chapter menu, and one call a chapter router makes to show its page.

    render(request, "home.html", **context)             any page, in the request's language
    chapter_page(request, slug, **context)              a chapter's page: its template (``chapters.py``),
                                                        its title and summary, the menu marking it
    chapter_views(lang)                                 the ten chapters' titles, summaries and addresses

Every page gets ``lang``, ``t`` (the translator), the chapter menu, the version, the number filters
``num`` and ``percent``, and ``classroom`` (the reader's role in a class: "student", "teacher" or None).
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context

from pizarra import __version__, i18n
from pizarra.chapters import BY_SLUG, CHAPTERS

TEMPLATES_DIR = Path(__file__).parent / "templates"
PLOTLY_JS = "/static/vendor/plotly.min.js"  # templates: <script src="{{ plotly_js }}"></script>

templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
templates.env.globals.update(version=__version__, langs=i18n.LANGS, plotly_js=PLOTLY_JS)
# Numbers in the page's language: {{ x|num(2) }} → 1,56 (es) / 1.56 (en); {{ 0.9088|percent(2) }}.


@pass_context
def num_filter(context, x, decimals: int | None = None) -> str:
    """Jinja: ``{{ r.tokens_per_word|num(2) }}`` in the page's language (``lang`` in the context)."""
    return i18n.number(x, context.get("lang", i18n.DEFAULT_LANG), decimals)


@pass_context
def percent_filter(context, x, decimals: int = 1) -> str:
    """Jinja: ``{{ r.test_acc|percent(2) }}`` (``x`` a fraction: 0.9088 → 90,88 %)."""
    return i18n.percent(x, context.get("lang", i18n.DEFAULT_LANG), decimals)


templates.env.filters.update({"num": num_filter, "percent": percent_filter})


def chapter_view(slug: str, lang: str) -> dict:
    c = BY_SLUG[slug]
    return {
        "number": c.number,
        "slug": c.slug,
        "url": c.url,
        "title": i18n.t(f"chapter.{c.slug}.title", lang),
        "summary": i18n.t(f"chapter.{c.slug}.summary", lang),
    }


def chapter_views(lang: str) -> list[dict]:
    """The ten chapters with their title, summary and page address in ``lang``."""
    return [chapter_view(c.slug, lang) for c in CHAPTERS]


def render(request: Request, name: str, status_code: int = 200, **context) -> HTMLResponse:
    """Render template ``name`` in the request's language."""
    lang = i18n.request_lang(request)
    context = {
        "lang": lang,
        "t": partial(i18n.t, lang=lang),
        "chapters": chapter_views(lang),
        "current_slug": None,
        "classroom": request.scope.get("state", {}).get("classroom_role"),  # "student" | "teacher" | None
        **context,
    }
    return templates.TemplateResponse(request, name, context, status_code=status_code)


def chapter_page(request: Request, slug: str, template: str | None = None, **context) -> HTMLResponse:
    """Chapter ``slug``'s page: its template from ``chapters.py`` (or ``template``), with ``chapter``
    (number, title, summary) and the menu marking it."""
    view = chapter_view(slug, i18n.request_lang(request))
    return render(request, template or BY_SLUG[slug].template, chapter=view, current_slug=slug, **context)
