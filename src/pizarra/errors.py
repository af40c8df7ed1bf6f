"""Errors Pizarra shows to people: each one says what is wrong and how to fix it.

The web layer maps them to HTTP status codes (see ``pizarra.web.app``), the CLI prints
their message without a traceback.
"""


class PizarraError(Exception):
    """Base class: ``str(err)`` is a complete, human sentence. A class with ``i18n_key`` is shown on
    the web in the reader's language (the catalogue's text for that key)."""

    status_code = 500
    i18n_key: str | None = None


class AssetMissing(PizarraError):
    """A data set, pretrained model or artifact is not where Pizarra looks for it."""

    status_code = 503

    def __init__(self, name: str, message: str):
        super().__init__(message)
        self.name = name


class ChecksumMismatch(PizarraError):
    """A file exists but its content is not the one expected (corrupt or replaced)."""

    status_code = 503

    def __init__(self, path, expected: str, actual: str):
        super().__init__(
            f"Checksum mismatch for {path}: expected sha256 {expected}, got {actual}. "
            "The file is corrupt or was replaced; delete it and install or rebuild it again."
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

    def __init__(self, message: str, reason: str | None = None):
        super().__init__(message)
        self.reason = reason
