"""The lab speaks Spanish first and English second: string catalogues and language choice.

Every string a page shows lives in ``locales/<lang>.json``, a flat ``{"key": "text"}`` map with
the same keys in every language (a test checks it). Texts may hold ``{name}`` placeholders,
filled by ``t(key, lang, name=...)``.

The language of a request is, in order: ``?lang=es|en`` (which also sets a cookie, see
``pizarra.web.app``), the ``lang`` cookie, the browser's ``Accept-Language``, then Spanish. The
CLI's is ``$PIZARRA_LANG``, else the locale (``LC_ALL``, ``LC_MESSAGES``, ``LANG``): Spanish when
it is Spanish, English otherwise (see ``env_lang``).

Errors: ``error_text(exc, lang)`` shows a ``PizarraError`` through its ``i18n_key`` and
``i18n_params``; ``validation_text(err, lang)`` shows one pydantic error through the key
``validation.<type>`` filled from its ``ctx``; ``http_detail_text`` the known sentences of
Starlette. Numbers: ``number`` and ``percent`` write them in the reader's locale with Babel
(``90,88 %`` in Spanish, ``90.88%`` in English); the templates have them as the filters ``num``
and ``percent``, the pages' JavaScript uses ``Intl.NumberFormat`` with the page's language.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import string
from collections.abc import Mapping
from copy import copy
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from babel import Locale

from pizarra.errors import FieldProblem, Phrase

if TYPE_CHECKING:
    from starlette.requests import HTTPConnection

LANGS: tuple[str, ...] = ("es", "en")
DEFAULT_LANG = "es"
COOKIE = "lang"
LOCALES_DIR = Path(__file__).parent / "locales"
BABEL_LOCALES = {"es": "es_ES", "en": "en_US"}  # how each language writes its numbers (CLDR)
# CLDR's minimumGroupingDigits, which Babel does not apply and the browser's Intl does: Spanish
# groups thousands from five digits on (1000, but 16.000), English from four (1,000).
MIN_GROUPING_DIGITS = {"es": 2, "en": 1}

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


# ----------------------------------------------------------------------------------------------
# Numbers in the reader's locale (Babel, from CLDR: the same rules as the browser's Intl).


@lru_cache(maxsize=None)
def _locale(lang: str) -> Locale:
    return Locale.parse(BABEL_LOCALES.get(lang, BABEL_LOCALES[DEFAULT_LANG]))


def _apply(pattern, x, lang: str, decimals: int | None, scale: int = 1) -> str:
    """``x`` through ``pattern`` (a Babel NumberPattern), with exactly ``decimals`` digits after
    the point when given, and thousands grouped as CLDR's minimumGroupingDigits says."""
    if decimals is not None:
        pattern = copy(pattern)
        pattern.frac_prec = (decimals, decimals)
    digits = len(str(int(abs(round(x * scale, 3 if decimals is None else decimals)))))
    group = digits >= 3 + MIN_GROUPING_DIGITS.get(lang, 1)
    return pattern.apply(x, _locale(lang), group_separator=group)


def number(x, lang: str = DEFAULT_LANG, decimals: int | None = None) -> str:
    """``x`` as the reader writes it: ``number(1234.5, "es", 2)`` → ``1234,50``, ``number(16000, "es")``
    → ``16.000``, ``number(1.556, "en")`` → ``1.556``. ``decimals``: exactly that many digits after
    the point; None: an integer as it is, a float with up to 3 decimals. None and non-numbers are
    returned as text ("–" for None), so a template never breaks over a missing value."""
    if x is None:
        return "–"
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        try:
            x = float(x)
        except (TypeError, ValueError):
            return str(x)
    if isinstance(x, float) and not math.isfinite(x):
        return "∞" if x > 0 else "−∞" if x < 0 else "NaN"
    return _apply(_locale(lang).decimal_formats.get(None), x, lang, decimals)


def percent(x, lang: str = DEFAULT_LANG, decimals: int = 1) -> str:
    """The fraction ``x`` as a percentage: ``percent(0.9088, "es", 2)`` → ``90,88 %`` (with a no-break
    space, as CLDR writes Spanish), ``percent(0.9088, "en", 2)`` → ``90.88%``."""
    if x is None:
        return "–"
    try:
        x = float(x)
    except (TypeError, ValueError):
        return str(x)
    if not math.isfinite(x):
        return number(x, lang)
    return _apply(_locale(lang).percent_formats.get(None), x, lang, decimals, scale=100)


# ----------------------------------------------------------------------------------------------
# Errors: every message a person reads comes from the catalogue, parameters stay data.


def show(value, lang: str = DEFAULT_LANG) -> str:
    """A parameter of a message as the reader writes it: a ``Phrase`` as its catalogue text,
    numbers in the reader's locale, a list or the keys of a mapping joined with commas (phrases
    with semicolons), anything else as text."""
    if isinstance(value, Phrase):
        return fill(value.key, lang, value.params)
    if isinstance(value, FieldProblem):
        problem = {"type": value.type, "msg": value.msg, "ctx": value.ctx}
        return f"{field_label(value.loc, lang)}: {validation_text(problem, lang)}"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return number(value, lang)
    if isinstance(value, float):
        if value and math.isfinite(value) and abs(value) < 1e-3:
            return f"{value:g}"  # 1e-05: too small for three decimals
        return number(value, lang)
    if isinstance(value, Mapping):
        value = list(value)
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value, key=str) if isinstance(value, (set, frozenset)) else list(value)
        sep = "; " if any(isinstance(v, (Phrase, FieldProblem)) for v in items) else ", "
        return sep.join(show(v, lang) for v in items)
    return str(value)


def fill(key: str, lang: str = DEFAULT_LANG, params: Mapping | None = None) -> str:
    """The catalogue text of ``key`` with its placeholders filled from ``params`` shown in ``lang``
    (see ``show``)."""
    values = {name: show(v, lang) for name, v in (params or {}).items()}
    return t(key, lang, **values) if values else t(key, lang)


def error_text(exc: BaseException, lang: str = DEFAULT_LANG) -> str:
    """What to tell a person about ``exc``: the catalogue text of its ``i18n_key``, filled from its
    ``i18n_params`` in ``lang``; ``str(exc)`` when it has no key (or the key's parameters are not
    all there, e.g. an error rebuilt from another process)."""
    key = getattr(exc, "i18n_key", None)
    if key and key in catalogue(DEFAULT_LANG):
        params = getattr(exc, "i18n_params", None) or {}
        try:
            if placeholders(t(key, lang)) <= set(params):
                return fill(key, lang, params)
        except (KeyError, IndexError, ValueError, AttributeError):
            pass
        log.warning("error %r lacks parameters for its text %r", type(exc).__name__, key)
    return str(exc)


def placeholders(text: str) -> set[str]:
    """The ``{names}`` a catalogue text fills."""
    return {name.split(".")[0].split("[")[0] for _, name, _, _ in string.Formatter().parse(text) if name}


def _expected_items(expected: str) -> list[str]:
    """pydantic's ``"'a', 'b' or 'c'"`` (a Literal's or an Enum's choices) → ``['a', 'b', 'c']``."""
    parts = re.split(r",\s*|\s+or\s+", expected.strip())
    return [p.strip().strip("'\"") for p in parts if p.strip()]


def _ctx_params(ctx: Mapping | None) -> dict:
    params: dict[str, object] = {}
    for name, value in (ctx or {}).items():
        if name == "expected" and isinstance(value, str):
            params[name] = ", ".join(f"«{v}»" for v in _expected_items(value))
        elif isinstance(value, (int, float, str, list, tuple)) and not isinstance(value, bool):
            params[name] = value
        else:
            params[name] = str(value)
    return params


def validation_text(err: Mapping, lang: str = DEFAULT_LANG) -> str:
    """One pydantic error (an item of ``ValidationError.errors()``) in ``lang``: the catalogue's
    ``validation.<type>`` filled from its ``ctx``; a PizarraError raised by a validator as its own
    text; any other type a generic sentence (in English, pydantic's own ``msg``)."""
    kind = str(err.get("type", ""))
    ctx = err.get("ctx") or {}
    cause = ctx.get("error") if isinstance(ctx, Mapping) else None
    if isinstance(cause, BaseException) and getattr(cause, "i18n_key", None):
        return error_text(cause, lang)
    key = f"validation.{kind}"
    counts = [v for name, v in (ctx or {}).items() if name in ("min_length", "max_length")]
    if counts and counts[0] == 1 and f"{key}.one" in catalogue(DEFAULT_LANG):
        key = f"{key}.one"  # "must not be empty", not "at least 1 characters"
    if key in catalogue(DEFAULT_LANG):
        try:
            return fill(key, lang, _ctx_params(ctx))
        except (KeyError, IndexError, ValueError):
            pass
    if lang == "en" and err.get("msg"):
        return str(err["msg"])
    return t("validation.generic", lang)


def field_label(loc, lang: str = DEFAULT_LANG) -> str:
    """Where a bad value was, for people: ``("body", "params", "n")`` → ``«params.n»``, ``("query",
    "k")`` → ``«k» (parámetro de la dirección)``, ``("body",)`` → ``el cuerpo de la petición``."""
    parts = [str(p) for p in loc]
    where = parts[0] if parts and parts[0] in ("body", "query", "path", "header", "cookie") else None
    name = ".".join(parts[1:] if where else parts)
    if not name:
        return t(f"validation.where.{where or 'body'}.whole", lang)
    if where in (None, "body"):
        return f"«{name}»"
    return t(f"validation.where.{where}", lang, name=f"«{name}»")


# Sentences Starlette and FastAPI write themselves (HTTPException.detail), and their catalogue keys.
HTTP_DETAILS = {
    "There was an error parsing the body": "error.400.body",
}


def http_detail_text(detail: str, lang: str = DEFAULT_LANG) -> str | None:
    """A framework's own English ``detail`` in ``lang``; None when it is not one we know."""
    key = HTTP_DETAILS.get(detail.strip().rstrip("."))
    return t(key, lang) if key else None


def env_lang(environ: Mapping[str, str] | None = None) -> str:
    """The language of the command line: ``$PIZARRA_LANG`` (es|en), else the locale's (the first
    set of ``LC_ALL``, ``LC_MESSAGES``, ``LANG``): Spanish for ``es_*``, English for anything else."""
    environ = os.environ if environ is None else environ
    chosen = normalize(environ.get("PIZARRA_LANG"))
    if chosen:
        return chosen
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = environ.get(var)
        if value:
            return "es" if normalize(value.split(".")[0]) == "es" else "en"
    return "en"


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
