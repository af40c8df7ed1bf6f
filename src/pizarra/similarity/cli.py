"""`pizarra similarity ...`: sentence similarity, semantic map, semantic search, evaluation.

pizarra similarity SOURCE CANDIDATE... [--model minilm|use] [--json]   (= `... compare ...`)
pizarra similarity map [SENTENCE...] [--method pca|tsne] [--k 4]
pizarra similarity index quijote|cuentos [--model use]      re-embed a collection (the lab ships both)
pizarra similarity search QUERY [--collection quijote] [-k 5]
pizarra similarity eval [--json]                            Spearman on STS-B en/es, STS2017 es-es
pizarra similarity build                                    build the fast ONNX encoder now
"""

from __future__ import annotations

import sys
from typing import Optional

import typer
from typer.core import TyperGroup

from pizarra import cli_support


class DefaultCompare(TyperGroup):
    """`pizarra similarity A B C` means `pizarra similarity compare A B C`."""

    def parse_args(self, ctx, args):
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["compare", *args]
        return super().parse_args(ctx, args)


app = typer.Typer(
    cls=DefaultCompare,
    no_args_is_help=True,
    help="Entender texto: sentence similarity, semantic map and search, STS evaluation. "
    "`pizarra similarity SOURCE CANDIDATE...` is short for `compare`.",
)
ModelOpt = typer.Option("minilm", "--model", "-m", help="minilm (all-MiniLM-L6-v2, English) or use (multilingual USE).")


def _cli():
    return cli_support


def _json_opt():
    return cli_support.JsonOpt


def _run(fn, as_json: bool):
    """Run ``fn`` with the lab's error handling (one sentence, exit code 2 for bad input)."""
    cli = _cli()
    return cli.friendly(lambda as_json: fn())(as_json=as_json)


@app.command("compare")
def compare_cmd(
    source: str = typer.Argument(..., help="The source sentence."),
    candidates: list[str] = typer.Argument(..., help="Sentences to compare with it (1-100)."),
    model: str = ModelOpt,
    as_json: bool = _json_opt(),
):
    """Cosine similarity of SOURCE with each CANDIDATE (3 decimals), ranked."""
    from .core import compare

    def go():
        r = compare(source, candidates, model)
        if as_json:
            _cli().emit_json(
                {"model": r["model"], "scores": r["scores"], "ranking": r["ranking"], "notices": r["notices"]}
            )
            return
        from rich.table import Table

        t = Table(title=f"«{r['source']}» · {model}")
        for col in ("#", "score", "sentence"):
            t.add_column(col)
        for row in r["ranking"]:
            t.add_row(str(row["rank"]), f"{row['score']:.3f}", row["text"])
        _cli().out.print(t)
        for n in r["notices"]:
            _cli().err.print(f"[yellow]{n}[/]", highlight=False)

    _run(go, as_json)


@app.command("map")
def map_cmd(
    sentences: Optional[list[str]] = typer.Argument(None, help="Sentences (default: the lecture's)."),
    model: str = ModelOpt,
    method: str = typer.Option("pca", help="pca or tsne."),
    k: int = typer.Option(4, help="Number of clusters."),
    as_json: bool = _json_opt(),
):
    """2D map of sentence embeddings, clustered."""
    from .core import MAP_EXAMPLES, semantic_map

    def go():
        r = semantic_map(sentences or MAP_EXAMPLES, model, method, k)
        if as_json:
            _cli().emit_json(r)
            return
        for p in sorted(r["points"], key=lambda p: p["cluster"]):
            _cli().out.print(
                f"[{p['cluster']}] ({p['x']:+.3f}, {p['y']:+.3f})  {p['text']}   "
                f"→ {p['nearest']} ({p['nearest_score']:.3f})",
                highlight=False,
            )

    _run(go, as_json)


@app.command("index")
def index_cmd(
    collection: str = typer.Argument("quijote", help="quijote or cuentos."),
    model: str = typer.Option("use", "--model", "-m", help="use (default, multilingual) or minilm."),
    as_json: bool = _json_opt(),
):
    """Re-embed a collection into the cache, used before the shipped index (needs PIZARRA_DATA)."""
    from tqdm import tqdm

    from .search import build_index

    def go():
        bar = tqdm(desc=f"{collection}/{model}", unit="passage", disable=as_json, file=sys.stderr)

        def progress(done, total):
            bar.total, bar.n = total, done
            bar.refresh()

        r = build_index(collection, model, progress=progress)
        bar.close()
        _cli().emit_json(r) if as_json else _cli().out.print(
            f"{r['passages']} passages → {r['path']} ({r['bytes'] / 1e6:.1f} MB)"
        )

    _run(go, as_json)


@app.command("search")
def search_cmd(
    query: str = typer.Argument(..., help="What to look for."),
    collection: str = typer.Option("quijote", help="quijote or cuentos."),
    model: str = typer.Option("use", "--model", "-m", help="use (default) or minilm."),
    k: int = typer.Option(5, "-k", help="How many passages (1-50)."),
    as_json: bool = _json_opt(),
):
    """The K passages of a collection closest in meaning to QUERY."""
    from .search import search

    def go():
        r = search(query, collection, model, k)
        if as_json:
            _cli().emit_json(r)
            return
        for row in r["results"]:
            _cli().out.print(
                f"[bold]{row['rank']}. {row['score']:.3f}[/] [dim]{row['doc']}[/]\n   {row['text'][:300]}",
                highlight=False,
            )

    _run(go, as_json)


@app.command("eval")
def eval_cmd(
    models: Optional[list[str]] = typer.Option(None, "--model", "-m", help="Models (default: both)."),
    as_json: bool = _json_opt(),
    report: Optional[str] = typer.Option(None, help="Also write the JSON to this file."),
):
    """Spearman on STS-B test (en), its Spanish translation and STS2017 es-es (needs PIZARRA_DATA)."""
    from .encoders import MODELS
    from .evaluate import evaluate

    def go():
        import json
        from pathlib import Path

        for m in models or []:
            from .core import _check_model

            _check_model(m)
        r = evaluate(tuple(models or MODELS), progress=None if as_json else lambda s: _cli().err.print(s))
        if report:
            r["command"] = "pizarra similarity eval " + " ".join(sys.argv[3:] if len(sys.argv) > 3 else [])
            Path(report).write_text(json.dumps(r, indent=1) + "\n")
        if as_json:
            _cli().emit_json(r)
            return
        from rich.table import Table

        t = Table(title="Spearman (cosine vs. human scores)")
        for col in ("model", "set", "pairs", "spearman", "reference"):
            t.add_column(col)
        for row in r["results"]:
            t.add_row(
                row["model"],
                row["set"],
                str(row["pairs"]),
                f"{row['spearman']:.4f}" if row["spearman"] is not None else "-",
                f"{row['reference']:.4f}" if row["reference"] else "",
            )
        _cli().out.print(t)

    _run(go, as_json)


@app.command("build")
def build_cmd(as_json: bool = _json_opt()):
    """Build (or find) the fast ONNX encoder of all-MiniLM-L6-v2 in the cache folder."""

    def go():
        import time

        from ..assets.models import model_files
        from .encoders import ensure_minilm_onnx

        t0 = time.perf_counter()
        path = ensure_minilm_onnx(model_files("minilm")["model/model.safetensors"])
        r = {"path": str(path), "bytes": path.stat().st_size, "seconds": round(time.perf_counter() - t0, 2)}
        _cli().emit_json(r) if as_json else _cli().out.print(f"{path} ({r['bytes'] / 1e6:.1f} MB)")

    _run(go, as_json)
