"""The ten chapters of the lecture "Intro a LLMs", in its order.

A chapter is ``ready`` only when its issue has landed; until then its page says honestly that it
is under construction. Titles and summaries live in the web string catalogues
(``chapter.<slug>.title`` / ``chapter.<slug>.summary``) so that they are translated in one place.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Chapter:
    number: int
    slug: str
    issue: int  # the issue that builds it
    ready: bool = False


CHAPTERS: tuple[Chapter, ...] = (
    Chapter(1, "discriminativa-generativa", issue=10, ready=True),
    Chapter(2, "texto-a-numeros", issue=3, ready=True),
    Chapter(3, "embeddings", issue=3, ready=True),
    Chapter(4, "redes-recurrentes-transformers", issue=4, ready=True),
    Chapter(5, "imdb", issue=10, ready=True),
    Chapter(6, "entender-texto", issue=5, ready=True),
    Chapter(7, "generar-texto", issue=6, ready=True),
    Chapter(8, "instrucciones-chat-alucinaciones", issue=7, ready=True),
    Chapter(9, "seguridad-alineamiento", issue=8, ready=True),
    Chapter(10, "generar-imagenes", issue=9, ready=True),
)

BY_SLUG = {c.slug: c for c in CHAPTERS}
