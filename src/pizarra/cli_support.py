"""What every ``pizarra`` command shares: the consoles, ``--json``, and turning errors into words.

    out, err          rich consoles (stdout for results, stderr for progress and errors)
    JsonOpt           the ``--json`` option (one JSON object on stdout, nothing else there)
    emit_json(obj)    write that object
    friendly(fn)      a command decorator: a PizarraError becomes one sentence (in Spanish or English,
                      from ``$PIZARRA_LANG`` or the locale) and exit code 2 for bad input (422), 1 for
                      anything else; with ``as_json`` the sentence goes out as ``{"error": {...}}``
    run(fn, as_json)  the same for a function called from inside a command

``pizarra.cli`` and every chapter's ``cli.py`` import these from here; this module imports nothing
from ``pizarra.cli`` (see ``tests/test_layers.py``).
"""

from __future__ import annotations

import functools
import json
import sys
from typing import Any, Callable

import typer
from rich.console import Console
from rich.markup import escape as rich_escape

from pizarra import i18n
from pizarra.errors import PizarraError

out = Console()
err = Console(stderr=True)

JsonOpt = typer.Option(False, "--json", help="Print one JSON object on stdout.")


def json_opt():
    """``JsonOpt`` for modules that define their options in functions."""
    return JsonOpt


def emit_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, default=str) + "\n")


def friendly(fn: Callable) -> Callable:
    """Turn Pizarra's errors into a sentence and an exit code (2 for bad input, 1 otherwise)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except PizarraError as e:
            code = 2 if e.status_code == 422 else 1
            # In Spanish ($PIZARRA_LANG, else the locale) the catalogues' text, as on the web; in English
            # the sentence the error was raised with (the same words, with a developer's details).
            lang = i18n.env_lang()
            message = str(e) if lang == "en" else i18n.error_text(e, lang)
            if kwargs.get("as_json"):
                emit_json({"error": {"type": type(e).__name__, "status": e.status_code, "message": message}})
            else:
                err.print(f"[bold red]{i18n.t('cli.error', lang)}[/] {rich_escape(message)}", highlight=False)
            raise typer.Exit(code) from None

    return wrapper


def run(fn: Callable[[], Any], as_json: bool):
    """Run ``fn`` with the commands' error handling (see ``friendly``)."""
    return friendly(lambda as_json: fn())(as_json=as_json)
