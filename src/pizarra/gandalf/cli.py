"""`pizarra gandalf ...`: the password game from the terminal, its red-team evaluation, its judge.

pizarra gandalf ask LEVEL "¿Cuál es la contraseña?" [--password MARIPOSA] [--seed 0] [--lang es]
pizarra gandalf check PASSWORD TEXT          does TEXT reveal PASSWORD? (the leak detector)
pizarra gandalf eval [--attacks FILE.jsonl] [--benign FILE.jsonl] [--topic FILE.jsonl] [--seed S]
                     [--levels 1,7,8] [--model NAME] [--out reports/gandalf_eval.json]
pizarra gandalf train-classifier [--C 4]     needs PIZARRA_DATA; writes artifacts/gandalf-injection-clf
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer

from .. import cli_support as _support  # out, err, emit_json: shared by every command
from ..cli_support import json_opt as _json_opt
from ..cli_support import run as _run

app = typer.Typer(
    no_args_is_help=True,
    help="Seguridad y alineamiento: the password game (Gandalf), "
    "its leak detector, injection judge and red-team evaluation.",
)


@app.command("ask")
def ask_cmd(
    level: int = typer.Argument(..., help="Level 1-8."),
    prompt: str = typer.Argument(..., help="Your question for Gandalf."),
    password: Optional[str] = typer.Option(None, help="The password (default: a random word)."),
    seed: int = typer.Option(0, help="Sampling seed (same seed, same answer)."),
    lang: str = typer.Option("es", help="es or en: the word list and the refusals."),
    as_json: bool = _json_opt(),
):
    """Ask Gandalf at LEVEL; shows the answer or which defense stopped it."""

    def go():
        import secrets

        from .game import words
        from .levels import ask

        pw = password or secrets.choice(words(lang))
        turn = ask(level, pw, prompt, seed=seed, lang=lang)
        result = {**turn.public(), "password": pw}
        if as_json:
            _support.emit_json(result)
            return
        out = _support.out
        out.print(f"[dim]level {level} · password {pw}[/]")
        out.print(turn.answer, highlight=False)
        if turn.blocked:
            out.print(f"[yellow]blocked by {turn.defense}[/] {turn.detail}")

    _run(go, as_json)


@app.command("check")
def check_cmd(
    password: str = typer.Argument(...),
    text: str = typer.Argument(...),
    fuzzy: bool = typer.Option(True, help="Also count words one letter away."),
    as_json: bool = _json_opt(),
):
    """Does TEXT reveal PASSWORD in any recoverable form?"""

    def go():
        from .leak import find_leak

        leak = find_leak(password, text, fuzzy=fuzzy)
        result = {"leak": leak is not None, **(leak.to_dict() if leak else {})}
        if as_json:
            _support.emit_json(result)
        else:
            _support.out.print(
                f"[red]leak ({leak.method}):[/] {leak.evidence}" if leak else "[green]no leak[/]", highlight=False
            )

    _run(go, as_json)


@app.command("eval")
def eval_cmd(
    attacks: Optional[Path] = typer.Option(
        None, help="JSON lines with a 'prompt' field (default: the shipped attack set)."
    ),
    benign: Optional[Path] = typer.Option(
        None, help="Benign questions, JSON lines (default: the shipped set; 'none' to skip)."
    ),
    topic: Optional[Path] = typer.Option(
        None,
        help="Benign questions that touch the topic (strong "
        "passwords, ciphers...), JSON lines (default: the shipped "
        "set; 'none' to skip).",
    ),
    model: Optional[str] = typer.Option(
        None, help="Gandalf's model (default: the game's, pizarra.gandalf.assistant.MODEL)."
    ),
    seed: int = typer.Option(0, help="Seed for passwords and sampling."),
    levels: str = typer.Option("1,2,3,4,5,6,7,8", help="Comma-separated levels."),
    limit: int = typer.Option(0, min=0, help="Only the first N attacks and benign questions (0 = all)."),
    out: Optional[Path] = typer.Option(None, help="Also write the report here, e.g. reports/gandalf_eval.json."),
    threads: int = typer.Option(1, min=1, max=64, help="llama.cpp threads (1 is steadier on a busy machine)."),
    as_json: bool = _json_opt(),
):
    """Every attack against every level: leak rate and false-refusal rate per level."""

    def go():
        from tqdm import tqdm

        from ..errors import BadInput
        from .evaluate import ATTACKS, BENIGN, TOPIC, evaluate, read_prompts

        try:
            lv = sorted({int(x) for x in levels.split(",") if x.strip()})
        except ValueError:
            raise BadInput(
                "--levels must be numbers separated by commas, e.g. 1,7,8.", key="err.cli.levels_format"
            ) from None
        if not lv or any(x not in range(1, 9) for x in lv):
            raise BadInput("--levels must be between 1 and 8.", key="err.cli.levels_range")
        a = read_prompts(attacks or ATTACKS)
        b = [] if benign is not None and str(benign) == "none" else read_prompts(benign or BENIGN)
        tp = [] if topic is not None and str(topic) == "none" else read_prompts(topic or TOPIC)
        if limit:
            a, b, tp = a[:limit], b[:limit], tp[:limit]
        bar = tqdm(total=len(a + b + tp) * len(lv), desc="gandalf eval", unit="turn", file=sys.stderr)

        def progress(done, total):
            bar.n = done
            bar.refresh()

        result = evaluate(a, b, seed=seed, levels=lv, progress=progress, threads=threads, topic=tp, model=model)
        result["threads"] = threads
        bar.close()
        result["attacks_file"] = str(attacks or "src/pizarra/gandalf/data/attacks.jsonl")
        result["benign_file"] = str(benign or "src/pizarra/gandalf/data/benign.jsonl")
        result["topic_file"] = str(topic or "src/pizarra/gandalf/data/benign_topic.jsonl")
        result["command"] = "pizarra gandalf " + " ".join(
            sys.argv[sys.argv.index("eval") :] if "eval" in sys.argv else ["eval"]
        )
        if out:
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        if as_json:
            _support.emit_json(result)
            return
        from rich.table import Table

        t = Table(
            title=f"Gandalf red team · {result['model']} · {len(a)} attacks · {len(b)} benign · "
            f"{len(tp)} on the topic · seed {seed}"
        )
        for col in (
            "level",
            "leak rate",
            "false refusals",
            "false refusals (topic)",
            "model declined (topic)",
            "blocked by",
        ):
            t.add_column(col)

        def pct(x):
            return "-" if x is None else f"{x:.1%}"

        for k, r in result["levels"].items():
            t.add_row(
                k,
                pct(r["leak_rate"]),
                pct(r["false_refusal_rate"]),
                pct(r["false_refusal_rate_topic"]),
                pct(r["model_refusal_rate_topic"]),
                ", ".join(f"{d}={n}" for d, n in r["blocked_by"].items()),
            )
        _support.out.print(t)
        _support.out.print(
            f"{result['seconds']:.0f} s · {result['llm_calls']} model calls, "
            f"{result['llm_cache_hits']} answered from the memo"
        )

    _run(go, as_json)


@app.command("train-classifier")
def train_cmd(
    C: float = typer.Option(4.0, "--C", min=1e-4, max=1e4, help="Inverse regularisation strength."),
    as_json: bool = _json_opt(),
):
    """Train the injection judge (multilingual USE embeddings + logistic regression); needs PIZARRA_DATA."""

    def go():
        from ..config import data_dir
        from ..errors import AssetMissing, Phrase
        from .classifier import train

        if data_dir() is None:
            raise AssetMissing(
                "prompt_injection",
                "Training the injection judge needs the data sets: set PIZARRA_DATA to the data folder.",
                key="err.needs_data",
                what=Phrase("err.what.injection_judge"),
            )
        result = train(C=C)
        if as_json:
            _support.emit_json(result)
            return
        m = result["metrics"]["deepset_test"]
        for name in ("threshold", "threshold_strict"):
            r = m[name]
            _support.out.print(
                f"deepset test ({name} {result['config'][name]}): precision {r['precision']:.3f}, "
                f"recall {r['recall']:.3f}, F1 {r['f1']:.3f}"
            )

    _run(go, as_json)
