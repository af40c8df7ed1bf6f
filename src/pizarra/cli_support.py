"""What every chapter's CLI module shares (chat, sentiment, images, gandalf...).

``pizarra.cli`` mounts the chapter CLIs when it is imported, so they cannot import it at module
level; these helpers reach its ``friendly`` error handling and ``emit_json`` lazily.
"""

from __future__ import annotations

from typing import Any, Callable

import typer


def cli():
    """The ``pizarra.cli`` module (shared helpers: friendly, emit_json, consoles)."""
    from pizarra import cli as module

    return module


def json_opt():
    return typer.Option(False, "--json", help="Print one JSON object on stdout.")


def run(fn: Callable[[], Any], as_json: bool):
    """Run ``fn`` with the CLI's error handling: a PizarraError becomes one sentence and exit code 2."""
    return cli().friendly(lambda as_json: fn())(as_json=as_json)
