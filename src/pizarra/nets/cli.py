"""``pizarra nets``: the chapter-4 commands (mounted in ``pizarra.cli``).

pizarra nets check [--only NAME] [--json]      glass box = black box, every parity check
pizarra nets ladder [--quick] [--only NAME]    train bigram -> ... -> Transformer on the Quijote
"""

from __future__ import annotations

from typing import Optional

import typer

from pizarra.cli_support import JsonOpt, emit_json, friendly

app = typer.Typer(help="Chapter 4: RNNs and Transformers from their equations.", no_args_is_help=True)


@app.command("check")
def check(
    only: Optional[list[str]] = typer.Option(None, "--only", help="Run only these checks (repeatable)."),
    as_json: bool = JsonOpt,
):
    """Every parity check: our Elman/LSTM/GRU/attention/blocks vs torch.nn, float64, outputs and gradients."""

    @friendly
    def run(as_json: bool = False):
        from rich.console import Console
        from rich.table import Table

        from pizarra.errors import BadInput
        from pizarra.nets.parity import CHECKS, TOL, run_checks

        for name in only or []:
            if name not in CHECKS:
                raise BadInput(
                    f"Unknown check {name!r}; the checks are {', '.join(CHECKS)}.",
                    key="err.nets.unknown_check",
                    value=name,
                    allowed=CHECKS,
                )
        result = run_checks(only or None)
        if as_json:
            emit_json(result)
        else:
            t = Table(title=f"Glass box = black box (float64, tolerance {TOL:g})")
            for col in ("check", "max |ours − torch|", "ok", "compares"):
                t.add_column(col)
            for c in result["checks"]:
                t.add_row(c["name"], f"{c['max_abs_diff']:.2e}", "✔" if c["ok"] else "✘", c["compares"])
            Console().print(t)
        if not result["ok"]:
            raise typer.Exit(1)

    run(as_json=as_json)


@app.command("ladder")
def ladder(
    quick: bool = typer.Option(
        False, "--quick", help="60 steps per model, a minute or two; saves nothing (the shipped models stay)."
    ),
    only: Optional[list[str]] = typer.Option(None, "--only", help="Train only these rungs (repeatable)."),
    no_save: bool = typer.Option(False, "--no-save", help="Do not write artifacts nor the report."),
    as_json: bool = JsonOpt,
):
    """Train the ladder bigram → MLP → Elman → GRU → LSTM → Transformer (needs PIZARRA_DATA)."""

    @friendly
    def run(as_json: bool = False):
        import sys

        from rich.console import Console
        from rich.table import Table

        from pizarra.nets.ladder import run_ladder

        err = Console(stderr=True)
        result = run_ladder(
            only or None,
            quick=quick,
            progress=not as_json,
            save=not (no_save or quick),
            log=None if as_json else lambda m: err.print(f"[bold]{m}[/]"),
        )
        if as_json:
            emit_json(result)
            return
        t = Table(title="Quijote, characters: validation loss" + (" (--quick)" if quick else ""))
        for col in ("model", "params", "steps", "val nats/char", "val bits/char", "train s"):
            t.add_column(col, justify="right" if col != "model" else "left")
        for r in result["rows"]:
            t.add_row(
                r["name"],
                f"{r['params']:,}",
                str(r["steps"]),
                f"{r['val_loss_nats']:.3f}",
                f"{r['val_bits_per_char']:.3f}",
                f"{r['train_seconds']:.0f}",
            )
        Console().print(t)
        sys.stderr.flush()

    run(as_json=as_json)
