"""The job kinds this server can run: a name, a function and a pydantic model of its parameters.

A job function looks like::

    def count(params: CountParams, emit, should_stop) -> dict:
        for i in range(params.n):
            if should_stop():          # cancel pressed: stop early, return what you have
                return {"count": i}
            emit({"type": "progress", "step": i + 1, "total": params.n})
        return {"count": params.n}

It runs in a worker process (``pizarra.jobs.worker``), which imports the module the function
was defined in to find it again; so define job functions at module level, not in ``__main__``.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass
from typing import Any, Callable

from pydantic import BaseModel, ValidationError

from pizarra.errors import BadInput, FieldProblem

KIND_NAME = re.compile(r"^[a-z][a-z0-9_.-]{0,63}$")


class NoParams(BaseModel):
    """Parameters of a job kind that takes none."""

    model_config = {"extra": "forbid"}


@dataclass(frozen=True)
class JobKind:
    name: str
    func: Callable[..., Any]
    params_model: type[BaseModel]
    title: str
    description: str
    module: str  # where the worker process finds ``func`` again
    file: str | None

    def parse(self, params: dict | None) -> BaseModel:
        """Validate ``params``; raise ``BadInput`` with a readable sentence when they are wrong."""
        if params is None:
            params = {}
        if not isinstance(params, dict):
            raise BadInput(
                f"Parameters of job kind '{self.name}' must be a JSON object.",
                key="err.jobs.params_object",
                kind=self.name,
            )
        try:
            return self.params_model.model_validate(params)
        except ValidationError as err:
            raise BadInput(
                f"Invalid parameters for job kind '{self.name}': {describe_validation(err)}",
                key="err.jobs.invalid_params",
                kind=self.name,
                problems=FieldProblem.from_pydantic(err.errors()[:5]),
            ) from None

    def to_dict(self) -> dict:
        return {
            "kind": self.name,
            "title": self.title,
            "description": self.description,
            "params_schema": self.params_model.model_json_schema(),
        }


_KINDS: dict[str, JobKind] = {}


def register_job(
    kind: str,
    func: Callable[..., Any],
    params_model: type[BaseModel] | None = None,
    *,
    title: str | None = None,
    description: str | None = None,
) -> JobKind:
    """Make ``kind`` runnable. Registering the same name again replaces the previous entry."""
    if not KIND_NAME.match(kind):
        raise ValueError(f"Job kind name {kind!r} must match {KIND_NAME.pattern}")
    if params_model is None:
        params_model = NoParams
    if not (isinstance(params_model, type) and issubclass(params_model, BaseModel)):
        raise TypeError("params_model must be a pydantic BaseModel subclass")
    doc = inspect.getdoc(func) or ""
    try:
        file = inspect.getsourcefile(func)
    except TypeError:
        file = None
    entry = JobKind(
        name=kind,
        func=func,
        params_model=params_model,
        title=title or kind,
        description=description if description is not None else doc.split("\n\n")[0],
        module=func.__module__,
        file=file,
    )
    _KINDS[kind] = entry
    return entry


def unregister_job(kind: str) -> None:
    _KINDS.pop(kind, None)


def kind_names() -> list[str]:
    _load_builtins()
    return sorted(_KINDS)


def list_kinds() -> list[JobKind]:
    _load_builtins()
    return [_KINDS[name] for name in sorted(_KINDS)]


def get_kind(kind: str) -> JobKind:
    """The registered kind, or ``BadInput`` naming the allowed kinds."""
    _load_builtins()
    try:
        return _KINDS[kind]
    except (KeyError, TypeError):
        allowed = ", ".join(sorted(_KINDS)) or "(none)"
        shown = kind if isinstance(kind, str) and len(kind) <= 80 else "…"
        raise BadInput(
            f"Unknown job kind '{shown}'. Allowed kinds: {allowed}.",
            key="err.jobs.unknown_kind",
            value=shown,
            allowed=sorted(_KINDS),
        ) from None


def run_job(kind: str, params: dict | None = None, emit=None, should_stop=None):
    """Run a job here, in this process and thread (the CLI's foreground mode): validate the
    params, call the function, return its result. No database, no queue."""
    job_kind = get_kind(kind)
    parsed = job_kind.parse(params)
    return job_kind.func(parsed, emit or (lambda event: None), should_stop or (lambda: False))


def describe_validation(err: ValidationError) -> str:
    """pydantic errors as one short sentence: ``n: Input should be less than or equal to 1000``."""
    parts = []
    for e in err.errors()[:5]:
        where = ".".join(str(x) for x in e.get("loc", ())) or "params"
        parts.append(f"{where}: {e.get('msg', 'invalid')}")
    more = len(err.errors()) - 5
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "") + "."


_builtins_loaded = False


def _load_builtins() -> None:
    global _builtins_loaded
    if not _builtins_loaded:
        _builtins_loaded = True
        import pizarra.jobs.builtin  # noqa: F401  (registers demo.* kinds)
        import pizarra.jobs.trainings  # noqa: F401  (registers the real trainings: nets.rung, lm.train, …)
