"""The lab speaks Spanish first and English second: string catalogues and language choice.

Every string a page shows lives in ``locales/<lang>.json``, a flat ``{"key": "text"}`` map with
the same keys in every language (a test checks it). Texts may hold ``{name}`` placeholders,
filled by ``t(key, lang, name=...)``.

The language of a request is, in order: ``?lang=es|en`` (which also sets a cookie, see
``pizarra.web.app``), the ``lang`` cookie, the browser's ``Accept-Language``, then Spanish.
"""

from __future__ import annotations

import json
import logging
from functools import lru_cache
from pathlib import Path

from starlette.requests import HTTPConnection

LANGS: tuple[str, ...] = ("es", "en")
DEFAULT_LANG = "es"
COOKIE = "lang"
LOCALES_DIR = Path(__file__).parent / "locales"

log = logging.getLogger(__name__)


@lru_cache(maxsize=None)
def catalogue(lang: str) -> dict[str, str]:
    """The string catalogue of one language (read once per process): ``locales/<lang>.json``
    merged with each chapter's own ``locales/<chapter>/<lang>.json``. A key defined twice is a
    bug, reported at once."""
    if lang not in LANGS:
        raise ValueError(f"Unknown language {lang!r}; the lab speaks {', '.join(LANGS)}.")
    merged: dict[str, str] = {}
    for path in [LOCALES_DIR / f"{lang}.json", *sorted(LOCALES_DIR.glob(f"*/{lang}.json"))]:
        strings = json.loads(path.read_text(encoding="utf-8"))
        if clash := merged.keys() & strings.keys():
            raise ValueError(f"{path} redefines {sorted(clash)[:5]}")
        merged.update(strings)
    return merged


def t(key: str, lang: str = DEFAULT_LANG, **values) -> str:
    """The text of ``key`` in ``lang``, with ``{placeholders}`` filled from ``values``.

    A key missing from the catalogue falls back to Spanish, then to the key itself, so a page
    never crashes over a string; the test suite makes sure that never happens.
    """
    text = catalogue(lang if lang in LANGS else DEFAULT_LANG).get(key)
    if text is None:
        log.warning("missing string %r in catalogue %r", key, lang)
        text = catalogue(DEFAULT_LANG).get(key, key)
    return text.format(**values) if values else text


def error_text(exc: Exception, lang: str = DEFAULT_LANG) -> str:
    """What to tell a person about ``exc``: its catalogue text when it has an ``i18n_key``, else str(exc)."""
    key = getattr(exc, "i18n_key", None)
    return t(key, lang) if key and key in catalogue(DEFAULT_LANG) else str(exc)


def normalize(lang: str | None) -> str | None:
    """``'EN'``, ``'en-GB'`` → ``'en'``; anything the lab does not speak → None."""
    if not lang:
        return None
    code = lang.strip().lower().replace("_", "-").split("-")[0]
    return code if code in LANGS else None


def from_accept_language(header: str | None) -> str | None:
    """The first language the lab speaks in an ``Accept-Language`` header, by preference."""
    if not header:
        return None
    ranked = []
    for i, part in enumerate(header.split(",")):
        code, *params = part.split(";")
        quality = 1.0
        for param in params:
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if 0.0 < quality <= 1.0:  # also drops nan
            ranked.append((-quality, i, code))
    for _, _, code in sorted(ranked):
        if normalize(code):
            return normalize(code)
    return None


def request_lang(conn: HTTPConnection) -> str:
    """The language to answer ``conn`` in: query, then cookie, then Accept-Language, then es."""
    return (
        normalize(conn.query_params.get("lang"))
        or normalize(conn.cookies.get(COOKIE))
        or from_accept_language(conn.headers.get("accept-language"))
        or DEFAULT_LANG
    )
