"""The `pizarra` command: thin commands over the chapter packages.

Every command prints tables and bars for people, and with ``--json`` exactly one JSON object on
stdout (nothing else there). Errors are one readable sentence (on stderr, or as
``{"error": {...}}`` with ``--json``) and a non-zero exit code, never a traceback.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from . import __version__, chapters
from .cli_support import JsonOpt, emit_json, err, friendly, out  # noqa: F401  (used by the commands below)
from .errors import PizarraError

app = typer.Typer(
    help="Pizarra — laboratorio local de LLMs / local LLM lab.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
data_app = typer.Typer(help="Data sets: list, verify, download.", no_args_is_help=True)
models_app = typer.Typer(help="Pretrained models shipped in packages.", no_args_is_help=True)
train_app = typer.Typer(help="Training with Pizarra's one training loop.", no_args_is_help=True)
artifacts_app = typer.Typer(help="Models trained by Pizarra and shipped in artifacts/.", no_args_is_help=True)
app.add_typer(data_app, name="data")
app.add_typer(models_app, name="models")
app.add_typer(train_app, name="train")
app.add_typer(artifacts_app, name="artifacts")
jobs_app = typer.Typer(help="Background jobs (trainings, benchmarks) shared with the web lab.", no_args_is_help=True)
app.add_typer(jobs_app, name="jobs")
# Every chapter's commands, from the table of contents (pizarra.chapters): a group (pizarra nets ...) or
# top-level commands (pizarra tokenize, pizarra next-token, pizarra chat ...).
for _module, _group in chapters.clis():
    _chapter_app = importlib.import_module(_module).app
    app.add_typer(_chapter_app, name=_group) if _group else app.add_typer(_chapter_app)
app.add_typer(importlib.import_module("pizarra.embeddings.cli").top)  # pizarra neighbors | analogy | formula


def _size(n: int | None) -> str:
    if not n:
        return "-"
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


# ---------------------------------------------------------------------------------------------


@app.command()
def serve(
    host: Optional[str] = typer.Option(None, help="Address to bind: 127.0.0.1 (default), or 0.0.0.0 with --classroom."),
    port: int = typer.Option(8000, min=1, max=65535),
    classroom: bool = typer.Option(
        False, "--classroom", help="Serve a class on the local network: class code, QR, teacher's link. / Modo clase."
    ),
    new_code: bool = typer.Option(
        False, "--new-code", help="With --classroom: a new class code and teacher link (default: reuse the last ones)."
    ),
    reload: bool = typer.Option(False, help="Reload on code changes (development)."),
):
    """Start the lab: http://HOST:PORT. With --classroom, students join from their own devices."""
    import uvicorn

    from .web import security

    host = host or ("0.0.0.0" if classroom else "127.0.0.1")
    if classroom:
        _start_classroom(host, port, new_code)
    security.announce_hosts([host])  # the lab answers to the name it is served as (Host check)
    if not classroom:
        out.print(f"Pizarra {__version__} → http://{host}:{port}")
    uvicorn.run("pizarra.web.app:create_app", factory=True, host=host, port=port, reload=reload, log_level="info")


def _start_classroom(host: str, port: int, new_code: bool) -> None:
    """classroom.json (owner-only), the LAN addresses allowed as Host, and the teacher's instructions."""
    import os

    from .classroom import ENV_FILE, net
    from .classroom.room import Room
    from .config import cache_dir
    from .web import security

    path = cache_dir() / "classroom.json"
    room = Room.create() if new_code else Room.load_or_create(path)
    urls = net.student_urls(host, port)
    hosts = [u.split("//", 1)[1].rsplit(":", 1)[0].strip("[]") for u in urls]
    security.announce_hosts(hosts)  # Host/Origin checks accept the addresses students are given
    first = urls[0]
    teacher_url = f"http://127.0.0.1:{port}/profesor?token={room.teacher_token}"
    room.save(path, student_url=first, teacher_url=teacher_url, student_urls=urls)
    os.environ[ENV_FILE] = str(path)
    out.print("\n[bold]Modo clase[/] — los alumnos abren en su móvil o portátil (misma red wifi):", highlight=False)
    for u in urls:
        out.print(f"    [bold cyan]{u}[/]", highlight=False)
    out.print(f"  Código de la clase: [bold]{room.code}[/]", highlight=False)
    out.print(net.qr_terminal(f"{first}?code={room.code}"), highlight=False)
    out.print(f"  Tu enlace de profesor (no lo proyectes): {teacher_url}", highlight=False)
    out.print(f"  Guardado en {path} (solo lo puede leer tu usuario).\n", highlight=False)


@app.command()
@friendly
def doctor(as_json: bool = JsonOpt, lang: str = typer.Option("es", help="es | en")):
    """What to run when something is wrong: CPU, llama.cpp build, each model, sandbox, data, cache.
    Lo que hay que ejecutar cuando algo falla."""
    from . import doctor as doc

    result = doc.run("en" if lang == "en" else "es")
    if as_json:
        emit_json(result)
    else:
        marks = {"ok": "[green]✔[/]", "warn": "[yellow]![/]", "fail": "[bold red]✘[/]"}
        for c in result["checks"]:
            out.print(f"{marks[c['status']]} [bold]{c['name']}[/]: {c['detail']}", highlight=False)
            if c.get("fix"):
                out.print(f"    → {c['fix']}", highlight=False)
    if not result["ok"]:
        raise typer.Exit(1)


@app.command()
@friendly
def info(as_json: bool = JsonOpt):
    """Every data set and pretrained model: found or missing, size, licence."""
    from .assets import artifacts, datasets, models
    from .config import artifacts_dir, cache_dir, data_dir

    result = {
        "version": __version__,
        "data_dir": str(data_dir()) if data_dir() else None,
        "cache_dir": str(cache_dir()),
        "artifacts_dir": str(artifacts_dir()),
        "datasets": [datasets.status(s.name) for s in datasets.catalogue()],
        "models": [models.status(name) for name in models.MODELS],
        "artifacts": artifacts.list_artifacts(),
    }
    if as_json:
        emit_json(result)
        return
    out.print(
        f"Pizarra {__version__}   data: {result['data_dir'] or '[yellow]PIZARRA_DATA not set[/]'}"
        f"   cache: {result['cache_dir']}"
    )
    t = Table(title="Data sets / Datos")
    for col in ("name", "found", "size", "licence", "problems"):
        t.add_column(col)
    for d in result["datasets"]:
        t.add_row(
            d["name"],
            "✔" if d["found"] else "✘",
            _size(d.get("size_bytes")),
            d.get("licence", ""),
            "; ".join(d.get("problems", []))[:80],
        )
    out.print(t)
    t = Table(title="Pretrained models / Modelos preentrenados")
    for col in ("name", "found", "size", "package", "licence"):
        t.add_column(col)
    for m in result["models"]:
        t.add_row(m["name"], "✔" if m["found"] else "✘", _size(m["size_bytes"]), m["package"], m["licence"])
    out.print(t)
    for m in result["models"]:
        if "unknown uploader" in m["package"]:
            out.print(f"[yellow]![/] {m['name']}: {m['description']}. Packages: {m['package']}.", highlight=False)
    t = Table(title="Artifacts / Artefactos")
    for col in ("name", "size", "created"):
        t.add_column(col)
    for a in result["artifacts"]:
        t.add_row(a.get("name", "?"), _size(a.get("bytes")), str(a.get("created", "")))
    out.print(t)


# --------------------------------------------------------------------------------------------- data


@data_app.command("list")
@friendly
def data_list(as_json: bool = JsonOpt):
    """The catalogue of data sets and where each comes from."""
    from .assets import datasets

    specs = [s.to_dict() for s in datasets.catalogue()]
    if as_json:
        emit_json({"datasets": specs})
        return
    t = Table()
    for col in ("name", "description", "licence", "source"):
        t.add_column(col)
    for s in specs:
        t.add_row(s["name"], s["description"], s["licence"], s["source"])
    out.print(t)


@data_app.command("verify")
@friendly
def data_verify(
    names: Optional[list[str]] = typer.Argument(None, help="Sets to check (default: all)."),
    quick: bool = typer.Option(False, help="Only files and sizes, do not count records."),
    as_json: bool = JsonOpt,
):
    """Check data sets against their expected files and record counts."""
    from .assets import datasets

    for n in names or []:
        datasets.get_spec(n)  # unknown names are bad input
    results = datasets.verify_all(deep=not quick, names=names or None)
    ok = all(r["found"] and not r["problems"] for r in results)
    if as_json:
        emit_json({"ok": ok, "datasets": results})
    else:
        t = Table()
        for col in ("name", "found", "records", "problems"):
            t.add_column(col)
        for r in results:
            recs = ", ".join(f"{k}={v:,}" for k, v in (r.get("records") or {}).items())
            t.add_row(r["name"], "✔" if r["found"] else "✘", recs[:70], "; ".join(r["problems"])[:90])
        out.print(t)
    if not ok:
        raise typer.Exit(1)


@data_app.command("download")
@friendly
def data_download(
    name: str = typer.Argument(..., help="Data set with an official download (imdb)."),
    dest: Optional[Path] = typer.Option(None, help="Data folder (default: PIZARRA_DATA)."),
    archive: Optional[Path] = typer.Option(None, help="Use an already downloaded archive."),
    force: bool = typer.Option(False, help="Replace an existing copy."),
    as_json: bool = JsonOpt,
):
    """Download a data set from its official source (needs internet), check its sha256."""
    from tqdm import tqdm

    from .assets.download import DOWNLOADS
    from .config import data_dir
    from .errors import BadInput

    if name not in DOWNLOADS:
        raise BadInput(f"No official download for '{name}'. Downloadable: {', '.join(DOWNLOADS)}.")
    target = dest or data_dir()
    if target is None:
        raise BadInput("Say where to put the data: --dest DIR, or set PIZARRA_DATA.")
    bar = tqdm(unit="B", unit_scale=True, desc=name, disable=as_json, file=sys.stderr)

    def progress(done, total):
        bar.total = total
        bar.n = done
        bar.refresh()

    path = DOWNLOADS[name](target, archive=archive, overwrite=force, progress=progress)
    bar.close()
    if as_json:
        emit_json({"name": name, "path": str(path)})
    else:
        out.print(f"{name} → {path}")


# ------------------------------------------------------------------------------------------- models


@models_app.command("list")
@friendly
def models_list(as_json: bool = JsonOpt):
    """Pretrained models: installed or not, size, licence (no hashing, instant)."""
    from .assets import models

    result = {"models": [models.status(n) for n in models.MODELS]}
    if as_json:
        emit_json(result)
        return
    t = Table()
    for col in ("name", "found", "kind", "size", "description"):
        t.add_column(col)
    for m in result["models"]:
        t.add_row(m["name"], "✔" if m["found"] else "✘", m["kind"], _size(m["size_bytes"]), m["description"])
    out.print(t)


@models_app.command("check")
@friendly
def models_check(
    names: Optional[list[str]] = typer.Argument(None, help="Models (default: all)."), as_json: bool = JsonOpt
):
    """Verify checksums, load each model and run one tiny inference with it."""
    from .assets import models

    results = [models.smoke_test(n) for n in (names or list(models.MODELS))]
    ok = all(r["ok"] for r in results)
    if as_json:
        emit_json({"ok": ok, "models": results})
    else:
        t = Table()
        for col in ("name", "ok", "load s", "run s", "result"):
            t.add_column(col)
        for r in results:
            t.add_row(
                r["name"],
                "✔" if r["ok"] else "✘",
                f"{r.get('load_s', 0):.2f}",
                f"{r.get('run_s', 0):.2f}",
                str(r.get("result") or r.get("error"))[:80],
            )
        out.print(t)
    if not ok:
        raise typer.Exit(1)


# -------------------------------------------------------------------------------------------- train

PASSTHROUGH = {"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []}


@train_app.command("demo", context_settings=PASSTHROUGH)
def train_demo(ctx: typer.Context):
    """Two-spirals MLP through the shared loop: progress, checkpoints, --resume, torchrun.
    Options: see `pizarra train demo --help`."""
    from .train import demo

    demo.main(list(ctx.args))


# ---------------------------------------------------------------------------------------- artifacts


@artifacts_app.command("list")
@friendly
def artifacts_list(as_json: bool = JsonOpt):
    """Shipped artifacts and their cards (no checksum check: instant)."""
    from .assets import artifacts

    items = artifacts.list_artifacts()
    if as_json:
        emit_json({"artifacts": items})
        return
    t = Table()
    for col in ("name", "size", "created", "command"):
        t.add_column(col)
    for a in items:
        t.add_row(a.get("name", "?"), _size(a.get("bytes")), str(a.get("created", "")), str(a.get("command", ""))[:60])
    out.print(t)


@artifacts_app.command("verify")
@friendly
def artifacts_verify(
    names: Optional[list[str]] = typer.Argument(None, help="Artifacts (default: all)."), as_json: bool = JsonOpt
):
    """Check every file of each artifact against the sha256 in its card."""
    from .assets import artifacts

    names = names or [a["name"] for a in artifacts.list_artifacts()]
    results = []
    for name in names:
        try:
            artifacts.load_artifact(name)
            results.append({"name": name, "ok": True})
        except PizarraError as e:
            results.append({"name": name, "ok": False, "error": str(e)})
    ok = all(r["ok"] for r in results)
    if as_json:
        emit_json({"ok": ok, "artifacts": results})
    else:
        for r in results:
            out.print(("✔ " if r["ok"] else "✘ ") + r["name"] + ("" if r["ok"] else f": {r['error']}"))
    if not ok:
        raise typer.Exit(1)


# --------------------------------------------------------------------------------------------- jobs


def _params(params: str) -> dict:
    from .errors import BadInput

    try:
        value = json.loads(params)
    except ValueError as e:
        raise BadInput(f"--params must be a JSON object, e.g. '{{\"n\": 10}}' ({e}).") from None
    if not isinstance(value, dict):
        raise BadInput("--params must be a JSON object, e.g. '{\"n\": 10}'.")
    return value


@jobs_app.command("kinds")
@friendly
def jobs_kinds(as_json: bool = JsonOpt):
    """Kinds of job the lab can run."""
    from .jobs import list_kinds

    kinds = [k.to_dict() for k in list_kinds()]
    if as_json:
        emit_json({"kinds": kinds})
        return
    for k in kinds:
        out.print(f"[bold]{k['kind']}[/]  {k.get('description') or k.get('title') or ''}")


@jobs_app.command("list")
@friendly
def jobs_list(limit: int = typer.Option(20, min=1, max=500), status: Optional[str] = None, as_json: bool = JsonOpt):
    """Jobs in the lab's database, newest first (also those started from the web)."""
    from .jobs import JobRunner

    jobs = JobRunner().list(limit=limit, status=status)
    if as_json:
        emit_json({"jobs": jobs})
        return
    t = Table()
    for col in ("id", "kind", "status", "created", "error"):
        t.add_column(col)
    for j in jobs:
        t.add_row(str(j["id"]), j["kind"], j["status"], str(j.get("created", "")), str(j.get("error") or "")[:60])
    out.print(t)


@jobs_app.command("submit")
@friendly
def jobs_submit(
    kind: str, params: str = typer.Option("{}", help="Parameters as a JSON object."), as_json: bool = JsonOpt
):
    """Queue a job; a running lab (`pizarra serve`) picks it up."""
    from .jobs import JobRunner

    job = JobRunner().submit(kind, _params(params))
    emit_json(job) if as_json else out.print(f"job {job['id']} queued ({kind})")


@jobs_app.command("cancel")
@friendly
def jobs_cancel(job_id: int = typer.Argument(..., min=1), as_json: bool = JsonOpt):
    """Cancel a queued or running job."""
    from .jobs import JobRunner

    job = JobRunner().cancel(job_id)
    emit_json(job) if as_json else out.print(f"job {job_id}: {job['status']}")


@jobs_app.command("run")
@friendly
def jobs_run(kind: str, params: str = typer.Option("{}", help="Parameters as a JSON object."), as_json: bool = JsonOpt):
    """Run a job here in the foreground, with a progress bar (no queue, no database)."""
    from tqdm import tqdm

    from .jobs import get_kind, run_job

    values = _params(params)
    get_kind(kind)  # unknown kinds fail before any bar is drawn
    bar = tqdm(desc=kind, disable=as_json, file=sys.stderr)

    def emit(event: dict) -> None:
        if event.get("type") == "progress" and event.get("total"):
            bar.total = event["total"]
            bar.n = event.get("step", 0)
            bar.refresh()

    result = run_job(kind, values, emit=emit)
    bar.close()
    emit_json({"kind": kind, "result": result}) if as_json else out.print(result)


def main() -> None:  # console-script entry point
    app()


if __name__ == "__main__":
    main()
