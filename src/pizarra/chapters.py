"""The table of contents: the ten chapters of the lecture "Intro a LLMs", in its order, and where each lives.

Read this file to find any chapter's code. Each entry says:

    package    the Python package with the chapter's logic (models, trainings, evaluations)
    router     its web routes (``pizarra.web.routers.<name>``: schema in, one call, schema out);
               chapters 1 and 5 share one (the same IMDB reviews, two lessons)
    cli        its ``pizarra`` commands: the module whose ``app`` (a Typer app) is mounted, and the
               group name (None: its commands sit at the top level, e.g. ``pizarra tokenize``)
    template   its page (``web/templates/``); script: its page's JavaScript
    locales    its string catalogue folder (``locales/<locales>/{es,en}.json``)
    artifacts  prefixes of its trained models in ``artifacts/``; reports: prefixes in ``reports/``

``pizarra.web.app`` includes every chapter's router and ``pizarra.cli`` mounts every chapter's CLI by
looping over ``CHAPTERS``: adding a chapter is one entry here plus its package. Titles and summaries
live in the catalogues (``chapter.<slug>.title`` / ``.summary``), translated in one place.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pizarra.config import reports_dir


@dataclass(frozen=True)
class Chapter:
    number: int
    slug: str  # the page: /capitulo/<slug>
    package: str
    router: str
    cli: tuple[str, str | None] | None
    template: str
    script: str
    locales: str
    artifacts: tuple[str, ...] = ()
    reports: tuple[str, ...] = ()

    @property
    def url(self) -> str:
        return f"/capitulo/{self.slug}"


CHAPTERS: tuple[Chapter, ...] = (
    Chapter(
        1,
        "discriminativa-generativa",
        "pizarra.sentiment",
        "pizarra.web.routers.sentiment",
        ("pizarra.sentiment.cli", None),
        "sentiment_generative.html",
        "static/js/sentiment.js",
        "sentiment",
        ("imdb-",),
        ("imdb",),
    ),
    Chapter(
        2,
        "texto-a-numeros",
        "pizarra.text",
        "pizarra.web.routers.text",
        ("pizarra.text.cli", None),
        "text.html",
        "static/js/text.js",
        "text",
        ("bpe-",),
    ),
    Chapter(
        3,
        "embeddings",
        "pizarra.embeddings",
        "pizarra.web.routers.embeddings",
        ("pizarra.embeddings.cli", "embeddings"),
        "embeddings.html",
        "static/js/embeddings.js",
        "embeddings",
        ("w2v-",),
        ("embeddings_",),
    ),
    Chapter(
        4,
        "redes-recurrentes-transformers",
        "pizarra.nets",
        "pizarra.web.routers.nets",
        ("pizarra.nets.cli", "nets"),
        "nets.html",
        "static/js/nets.js",
        "nets",
        ("nets-",),
        ("nets_",),
    ),
    Chapter(
        5,
        "imdb",
        "pizarra.sentiment",
        "pizarra.web.routers.sentiment",
        ("pizarra.sentiment.cli", None),
        "sentiment.html",
        "static/js/sentiment.js",
        "sentiment",
        ("imdb-",),
        ("imdb",),
    ),
    Chapter(
        6,
        "entender-texto",
        "pizarra.similarity",
        "pizarra.web.routers.similarity",
        ("pizarra.similarity.cli", "similarity"),
        "similarity.html",
        "static/js/similarity.js",
        "similarity",
        ("similarity-", "sim-"),
        ("similarity_",),
    ),
    Chapter(
        7,
        "generar-texto",
        "pizarra.generation",
        "pizarra.web.routers.generation",
        ("pizarra.generation.cli", None),
        "generation.html",
        "static/js/generation.js",
        "generation",
        ("gen-",),
        ("generation_",),
    ),
    Chapter(
        8,
        "instrucciones-chat-alucinaciones",
        "pizarra.chat",
        "pizarra.web.routers.chat",
        ("pizarra.chat.cli", None),
        "chat.html",
        "static/js/chat.js",
        "chat",
        (),
        ("chat_",),
    ),
    Chapter(
        9,
        "seguridad-alineamiento",
        "pizarra.gandalf",
        "pizarra.web.routers.gandalf",
        ("pizarra.gandalf.cli", "gandalf"),
        "gandalf.html",
        "static/js/gandalf.js",
        "gandalf",
        ("gandalf-",),
        ("gandalf_",),
    ),
    Chapter(
        10,
        "generar-imagenes",
        "pizarra.images",
        "pizarra.web.routers.images",
        ("pizarra.images.cli", "images"),
        "images.html",
        "static/js/images.js",
        "images",
        ("img-",),
        ("images_",),
    ),
)

BY_SLUG = {c.slug: c for c in CHAPTERS}

# Routers of the shell (not a chapter's): models, jobs, the classroom; ``pages`` last (home, health).
SHELL_ROUTERS: tuple[str, ...] = (
    "pizarra.web.routers.models",
    "pizarra.web.routers.jobs",
    "pizarra.web.routers.jobs_page",
    "pizarra.web.routers.classroom",
)
LAST_ROUTERS: tuple[str, ...] = ("pizarra.web.routers.pages",)


def routers() -> tuple[str, ...]:
    """Every router module of the lab, each once, in order."""
    names = [*SHELL_ROUTERS, *(c.router for c in CHAPTERS), *LAST_ROUTERS]
    return tuple(dict.fromkeys(names))


def clis() -> list[tuple[str, str | None]]:
    """Every chapter CLI (module, group name), each once, in the lecture's order."""
    return list(dict.fromkeys(c.cli for c in CHAPTERS if c.cli))


def report(name: str) -> Any | None:
    """``reports/<name>.json`` as measured by its bench or eval command, or None (missing or unreadable)."""
    try:
        return json.loads((reports_dir() / f"{name}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def reports(slug: str, *names: str) -> dict[str, Any | None]:
    """The chapter's reports by short name: ``reports("generar-texto", "perplexity")`` reads
    ``reports/generation_perplexity.json`` (the chapter's first report prefix + name)."""
    prefix = BY_SLUG[slug].reports[0]
    return {name: report(f"{prefix}{name}") for name in names}
