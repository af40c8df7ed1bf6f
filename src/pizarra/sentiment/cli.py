"""`pizarra bench imdb` and `pizarra sentiment ...`: the IMDB table and the shipped classifiers.

    pizarra bench imdb [--model NAME|all] [--limit N] [--epochs N] [--device cpu|cuda] [--json]
    pizarra sentiment "TEXT" [--model NAME]... [--json]      (= `pizarra sentiment predict ...`)
    pizarra sentiment eval FILE.jsonl [--json]               lines {"text", "label"} (1 = positive)
    torchrun --nproc_per_node 2 -m pizarra bench imdb --model lstm      data parallel, same loop

Mounted in ``pizarra.cli`` with one line: ``app.add_typer(<this module>.app)``.
"""

from __future__ import annotations

from typing import Optional

import typer
from typer.core import TyperGroup

from .. import cli_support as _support  # out, err, emit_json: shared by every command
from ..cli_support import json_opt as _json_opt
from ..cli_support import run as _run

app = typer.Typer(no_args_is_help=True)
bench_app = typer.Typer(no_args_is_help=True, help="Benchmarks that train and score models.")
app.add_typer(bench_app, name="bench")


class DefaultPredict(TyperGroup):
    """`pizarra sentiment TEXT` means `pizarra sentiment predict TEXT`."""

    def parse_args(self, ctx, args):
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["predict", *args]
        return super().parse_args(ctx, args)


sentiment_app = typer.Typer(
    cls=DefaultPredict,
    no_args_is_help=True,
    help="IMDB sentiment with the shipped models (TF-IDF+LR, NBSVM, LSTM, Transformer). "
    "`pizarra sentiment TEXT` is short for `predict`.",
)
app.add_typer(sentiment_app, name="sentiment")


@bench_app.command("imdb")
def bench_imdb(
    model: str = typer.Option(
        "all", "--model", "-m", help="tfidf-lr, nbsvm, lstm, transformer, llm, or all (the four shipped)."
    ),
    limit: Optional[int] = typer.Option(None, min=8, help="Smoke run on a balanced subset: writes nothing."),
    epochs: Optional[int] = typer.Option(None, min=1, help="Neural models: epochs (default: the recipe's)."),
    device: str = typer.Option("cpu", help="Neural models: cpu, cuda or auto."),
    glove: Optional[str] = typer.Option(None, help="GloVe subset .npz (machines without the GloVe package)."),
    threads: Optional[int] = typer.Option(None, min=1, help="torch threads."),
    as_json: bool = _json_opt(),
):
    """Train on IMDB (choices on a validation split carved from train), score the test split once,
    write reports/imdb.json and the artifact. Needs PIZARRA_DATA."""
    import os

    from .bench import BENCH_MODELS, SHIPPED, run

    def go():
        names = list(SHIPPED) if model == "all" else [model]
        log = (lambda *_: None) if as_json else (lambda msg: _support.err.print(msg, highlight=False))
        neural_opts = {
            k: v for k, v in dict(epochs=epochs, device=device, glove=glove, threads=threads).items() if v is not None
        }
        rows = {}
        for n in names:
            if n not in BENCH_MODELS:
                from pizarra.errors import BadInput

                raise BadInput(
                    f"Unknown model {n!r}; choose {', '.join(BENCH_MODELS)} or all.",
                    key="err.unknown_model",
                    value=n,
                    allowed=[*BENCH_MODELS, "all"],
                )
            kw = neural_opts if n in ("lstm", "transformer") else {}
            rows[n] = run(n, limit=limit, log=log, **kw)
        if int(os.environ.get("RANK", "0")) != 0:
            return
        if as_json:
            _support.emit_json(
                {
                    "models": {
                        n: {k: v for k, v in r.items() if k not in ("history", "grid")} for n, r in rows.items()
                    },
                    "limit": limit,
                }
            )
            return
        from rich.table import Table

        t = Table(title="IMDB test accuracy" + (f" (smoke run, {limit} reviews a split)" if limit else ""))
        for col in ("model", "test %", "slide %", "train s", "params", "hardware"):
            t.add_column(col)
        for n, r in rows.items():
            if "test_acc" not in r:
                continue
            t.add_row(
                n,
                f"{r['test_acc']:.2f}",
                str(r.get("slide_acc") or "-"),
                str(r.get("train_s")),
                str(r.get("params") or "-"),
                str(r.get("hardware", ""))[:48],
            )
        _support.out.print(t)

    _run(go, as_json)


@sentiment_app.command("predict")
def predict_cmd(
    text: str = typer.Argument(..., help="A movie review (English)."),
    model: Optional[list[str]] = typer.Option(
        None, "--model", "-m", help="tfidf-lr, nbsvm, lstm, transformer (repeatable; default all)."
    ),
    as_json: bool = _json_opt(),
):
    """Each shipped model's label, probability and the words that pushed it."""
    from .predict import predict

    def go():
        r = predict(text, model or None, explain=True, k=5)
        if as_json:
            _support.emit_json(r)
            return
        from rich.table import Table

        t = Table()
        for col in ("model", "label", "p(positive)", "pushed up", "pushed down"):
            t.add_column(col)
        for n, m in r["models"].items():
            ex = m["explain"]
            t.add_row(
                n,
                "positive" if m["label"] else "negative",
                f"{m['p_pos']:.3f}",
                ", ".join(w for w, _ in ex["positive"][:4]),
                ", ".join(w for w, _ in ex["negative"][:4]),
            )
        _support.out.print(t)
        for notice in r["notices"]:
            _support.err.print(f"[yellow]{_NOTICES.get(notice, notice)}[/]", highlight=False)

    _run(go, as_json)


_NOTICES = {
    "truncated": "The review was cut to its first 20,000 characters.",
    "not_english": "This does not look like English: the models were trained on English IMDB reviews.",
}


@sentiment_app.command("eval")
def eval_cmd(
    file: str = typer.Argument(..., help='JSONL file, one {"text", "label"} a line (1 = positive).'),
    as_json: bool = _json_opt(),
):
    """Accuracy of every shipped model on a labelled file."""
    from .predict import evaluate_file

    def go():
        r = evaluate_file(file)
        if as_json:
            _support.emit_json(r)
            return
        for n, m in r["models"].items():
            _support.out.print(f"{n:12s} {100 * m['accuracy']:6.2f} %  ({m['n']} reviews)")

    _run(go, as_json)
