"""Errors Pizarra shows to people: each one says what is wrong and how to fix it.

The web layer maps them to HTTP status codes (see ``pizarra.web.app``), the CLI prints
their message without a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Phrase:
    """A piece of an error's message that is a catalogue text of its own, e.g. what a syntax error
    found, or each unknown word with its suggestions: ``Phrase("err.formula.unexpected_char",
    {"char": "$"})``. Pass it (or a list of them) as a parameter of a ``PizarraError``."""

    key: str
    params: dict = field(default_factory=dict)


@dataclass(frozen=True)
class FieldProblem:
    """One bad field found by pydantic (an item of ``ValidationError.errors()``, reduced to data that
    travels), shown as «field»: what was expected, in the reader's language."""

    loc: tuple
    type: str
    msg: str
    ctx: dict = field(default_factory=dict)

    @classmethod
    def from_pydantic(cls, errors: list[dict]) -> list["FieldProblem"]:
        simple = (str, int, float, bool, type(None))
        return [
            cls(
                tuple(e.get("loc", ())),
                str(e.get("type", "")),
                str(e.get("msg", "")),
                {k: v if isinstance(v, simple) else str(v) for k, v in (e.get("ctx") or {}).items()},
            )
            for e in errors
        ]


class PizarraError(Exception):
    """Base class: ``str(err)`` is a complete, human sentence (for logs, and the CLI's fallback).

    What a person reads comes from the string catalogues (``pizarra/locales``) in their
    language: an error names its catalogue text with ``i18n_key`` (a class attribute, or ``key=``
    at the raise site) and fills its ``{placeholders}`` from ``i18n_params``::

        raise BadInput(f"Unknown tokenizer '{kind}': choose {', '.join(KINDS)}.",
                       key="err.text.unknown_tokenizer", kind=kind, allowed=KINDS)

    Parameters stay data: numbers are written in the reader's locale and lists joined there
    (see ``pizarra.i18n.error_text``). An error with no key is shown as ``str(err)``.
    """

    status_code = 500
    i18n_key: str | None = None
    i18n_params: dict = {}

    def __init__(self, *args, key: str | None = None, **params):
        super().__init__(*args)
        if key is not None:
            self.i18n_key = key
        if params:
            self.i18n_params = params


class AssetMissing(PizarraError):
    """A data set, pretrained model or artifact is not where Pizarra looks for it."""

    status_code = 503

    def __init__(self, name: str, message: str, *, key: str | None = None, **params):
        super().__init__(message, key=key, **params)
        self.name = name


class ChecksumMismatch(PizarraError):
    """A file exists but its content is not the one expected (corrupt or replaced)."""

    status_code = 503

    def __init__(self, path, expected: str, actual: str):
        super().__init__(
            f"Checksum mismatch for {path}: expected sha256 {expected}, got {actual}. "
            "The file is corrupt or was replaced; delete it and install or rebuild it again.",
            key="err.checksum",
            path=str(path),
        )
        self.path = path
        self.expected = expected
        self.actual = actual


class BadInput(PizarraError):
    """Input that is well-formed but not allowed (too long, unknown name, …)."""

    status_code = 422


class SandboxUnavailable(PizarraError):
    """Untrusted code cannot be isolated on this machine (no bubblewrap, or the kernel refuses its
    namespaces), so it is not run at all. The message says so in Spanish, then in English."""

    status_code = 503

    def __init__(self, message: str, reason: str | None = None, *, key: str | None = None, **params):
        super().__init__(message, key=key, **params)
        self.reason = reason
