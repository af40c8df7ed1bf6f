"""Chapter 8 commands (mounted at the top level: `app.add_typer(pizarra.chat.cli.app)`).

pizarra chat [--model NAME|PATH] [--system TEXT]           interactive chat (/reset, /export F, /exit)
pizarra chat --prompt TEXT [--json]                        one turn -> {"model", "reply"}
pizarra chat ladder "QUESTION" [--json]                    the same question to 4 models, 135M -> 1.5B
pizarra chat ladder-eval [--lang es|en|all] [--limit N]    their accuracy -> reports/chat_ladder.json
pizarra hallucination check "QUESTION" [--lang es] [--json]  -> {"answers", "clusters", "semantic_entropy", "flag"}
pizarra hallucination eval [--dataset halueval|truthfulqa] [--questions 150] [--report F] [--resume]
pizarra code run FILE [--stdin "70\\n1.75\\n"] [--json]     run a Python file in the sandbox
pizarra code eval [--samples 20] [--lang es] [--report F]  the BMI program's success rate
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

app = typer.Typer(no_args_is_help=True, help="Instrucciones, chat y alucinaciones (chapter 8).")
hallucination_app = typer.Typer(
    no_args_is_help=True, help="Hallucinations: semantic-entropy detector and its evaluation."
)
code_app = typer.Typer(no_args_is_help=True, help="Run Python in the sandbox; measure the BMI program of the lecture.")
chat_app = typer.Typer(help="Chat with a local instruction model; `ladder`: one question to models of four sizes.")
app.add_typer(chat_app, name="chat")  # `pizarra chat [OPTIONS]` chats; `pizarra chat ladder ...` is a subcommand
app.add_typer(hallucination_app, name="hallucination")
app.add_typer(code_app, name="code")


from .core import CHAT_MODEL, CODE_MODEL, DEFAULT_SYSTEM  # noqa: E402


def _unescape(text: str) -> str:
    """`--stdin "70\\n1.75\\n"` typed in a shell arrives with a literal backslash-n."""
    return text.encode("utf-8").decode("unicode_escape") if "\\" in text else text


# ------------------------------------------------------------------------------------- chat


@chat_app.callback(invoke_without_command=True)
def chat_cmd(
    ctx: typer.Context,
    model: str = typer.Option(
        CHAT_MODEL,
        "--model",
        "-m",
        help="qwen-coder-1.5b, qwen-coder-0.5b, smollm2, or the path of any GGUF chat model.",
    ),
    system: Optional[str] = typer.Option(
        DEFAULT_SYSTEM["es"], "--system", "-s", help="System prompt ('' for none: the model's own default)."
    ),
    prompt: Optional[str] = typer.Option(None, "--prompt", "-p", help="One turn: answer this and exit."),
    max_tokens: int = typer.Option(256, help="Tokens per reply (1-1024)."),
    temperature: float = typer.Option(0.7, help="0 = greedy, up to 2."),
    seed: Optional[int] = typer.Option(None, help="Sampling seed (repeatable replies)."),
    as_json: bool = _json_opt(),
):
    """Chat with a local instruction model (interactive), or answer one --prompt."""
    if ctx.invoked_subcommand is not None:  # `pizarra chat ladder ...`
        return
    from .core import reply

    def one():
        r = reply([{"role": "user", "content": prompt}], model, system, max_tokens, temperature, seed=seed)
        if as_json:
            _support.emit_json(r)
        else:
            _support.out.print(r["reply"], highlight=False, markup=False)

    if prompt is not None:
        return _run(one, as_json)
    if as_json:
        _support.err.print("--json needs --prompt (one turn).")
        raise typer.Exit(2)
    _run(lambda: _interactive(model, system, max_tokens, temperature, seed), False)


def _interactive(model: str, system: str | None, max_tokens: int, temperature: float, seed: int | None) -> None:
    from pizarra.llm import runtime as rt

    from .core import check_messages

    cli = _support
    ref = rt.resolve(model)
    sampling = rt.Sampling(max_tokens=max_tokens, temperature=temperature, seed=seed).validated()
    messages: list[dict] = []
    cli.err.print(f"[bold]{ref.label}[/] · /reset /export FILE /exit", highlight=False)
    while True:
        try:
            text = input("› ").strip()
        except (EOFError, KeyboardInterrupt):
            print()
            return
        if not text:
            continue
        if text in ("/exit", "/salir", "/quit"):
            return
        if text == "/reset":
            messages = []
            continue
        if text.startswith("/export"):
            path = Path(text.split(maxsplit=1)[1] if " " in text else "conversacion.json")
            path.write_text(
                json.dumps({"model": ref.label, "system": system, "messages": messages}, ensure_ascii=False, indent=2)
            )
            cli.err.print(f"→ {path}")
            continue
        messages.append({"role": "user", "content": text})
        msgs = check_messages(messages, system)
        stats: dict = {}
        answer = ""
        try:
            for piece in rt.stream_chat(ref, msgs, sampling, stats=stats):
                if not answer and stats.get("dropped_turns"):
                    cli.err.print(f"[yellow]({stats['dropped_turns']} old messages dropped to fit the context)[/]")
                answer += piece.text
                sys.stdout.write(piece.text)
                sys.stdout.flush()
        except KeyboardInterrupt:
            cli.err.print("\n[dim](stopped)[/]")
        print()
        messages.append({"role": "assistant", "content": answer.strip()})


# ------------------------------------------------------------------------------- size ladder


def _ladder_models(models: Optional[str]) -> list[str]:
    from .ladder import LADDER_MODELS, check_models

    return check_models([m.strip() for m in models.split(",") if m.strip()] if models else LADDER_MODELS)


@chat_app.command("ladder")
def ladder_cmd(
    question: str = typer.Argument(..., help="A short question (at most 300 characters)."),
    models: Optional[str] = typer.Option(None, help="Comma-separated (default: all four, smallest first)."),
    lang: Optional[str] = typer.Option(None, help="es or en: the prompt's language (default: the set's, else es)."),
    max_tokens: int = typer.Option(48, help="Tokens per answer (1-1024)."),
    as_json: bool = _json_opt(),
):
    """The same question to SmolLM2 135M, Gemma 270M (base), Qwen 0.5B and 1.5B: does size matter?"""
    from .ladder import ask_iter

    def go():
        cli = _support
        rows = []
        for r in ask_iter(question, _ladder_models(models), lang, max_tokens=max_tokens):
            rows.append(r)
            if not as_json:
                cli.err.print(f"[dim]{r['size']} {r['label']}: {r['seconds']:.1f} s[/]", highlight=False)
        if as_json:
            cli.emit_json({"question": question.strip(), "answers": rows})
            return
        from rich.table import Table

        table = Table(show_lines=True)
        for r in rows:
            table.add_column(f"{r['label']}\n{r['size']} · {r['kind']}", ratio=1)
        table.add_row(*[r["answer"] or "∅" for r in rows])
        mark = {True: "[green]✔[/] ", False: "[red]✘[/] ", None: ""}
        table.add_row(*[f"{mark[r['correct']]}{r['seconds']:.1f} s · {r['tokens_per_s']:.0f} tokens/s" for r in rows])
        cli.out.print(table)

    _run(go, as_json)


@chat_app.command("ladder-eval")
def ladder_eval(
    lang: str = typer.Option("all", help="es, en or all."),
    limit: Optional[int] = typer.Option(None, help="Ask only the first N questions of each language."),
    models: Optional[str] = typer.Option(None, help="Comma-separated (default: all four)."),
    threads: Optional[int] = typer.Option(None, help="llama.cpp threads per model (default: the free cores)."),
    report: Optional[Path] = typer.Option(None, help="Where to write it (default reports/chat_ladder.json)."),
    as_json: bool = _json_opt(),
):
    """Accuracy of each model of the ladder on Pizarra's fixed question set (46 es + 27 en), greedy."""
    from pizarra.config import reports_dir

    from .evaluate import write_report
    from .ladder import evaluate

    def go():
        cli = _support
        chosen = _ladder_models(models)
        if threads is not None:
            from pizarra.llm import runtime as rt

            for m in chosen:
                rt.set_threads(m, threads)
        r = evaluate(chosen, lang, limit, log=lambda line: cli.err.print(f"[dim]{line}[/]", highlight=False))
        r["command"] = " ".join(
            ["pizarra chat ladder-eval", f"--lang {lang}"]
            + ([f"--limit {limit}"] if limit else [])
            + ([f"--models {','.join(chosen)}"] if models else [])
            + ([f"--threads {threads}"] if threads is not None else [])
        )
        path = write_report(r, report or reports_dir() / "chat_ladder.json")
        if as_json:
            cli.emit_json({**{k: v for k, v in r.items() if k != "questions"}, "report": str(path)})
            return
        from rich.table import Table

        pct = lambda x: "–" if x is None else f"{100 * x:.0f} %"  # noqa: E731
        table = Table(title=f"{r['cpu']} · {r['seconds']:.0f} s")
        for col in ("model", "size", *[f"accuracy {k}" for k in r["models"][0]["accuracy"]], "tokens/s"):
            table.add_column(col, justify="left" if col == "model" else "right")
        for m in r["models"]:
            table.add_row(
                m["label"],
                m["size"],
                *[pct(v) for v in m["accuracy"].values()],
                "–" if m["tokens_per_s"] is None else f"{m['tokens_per_s']:.1f}",
            )
        cli.out.print(table)
        cli.err.print(f"→ {path}")

    _run(go, as_json)


# ---------------------------------------------------------------------------- hallucination


@hallucination_app.command("check")
def hallucination_check(
    question: str = typer.Argument(..., help="The question to ask several times."),
    n: int = typer.Option(5, "--n", help="Answers to sample (2-20)."),
    temperature: float = typer.Option(1.0, help="Sampling temperature."),
    threshold: Optional[float] = typer.Option(
        None, help="Cosine to join a meaning cluster (default: the measured one)."
    ),
    flag_at: Optional[float] = typer.Option(
        None, help="Semantic entropy (nats) that raises the flag (default: the measured one)."
    ),
    model: Optional[str] = typer.Option(None, "--model", "-m", help="Chat model (default: the measured one)."),
    encoder: Optional[str] = typer.Option(None, help="use (multilingual, default) or minilm."),
    lang: str = typer.Option("es", help="Language of the short-answer system prompt: es or en."),
    as_json: bool = _json_opt(),
):
    """Sample N answers, cluster them by meaning (multilingual USE), flag high semantic entropy."""
    from .hallucination import DEFAULT_MODEL, DEFAULTS, check

    def go():
        cli = _support
        r = check(
            question,
            model or DEFAULT_MODEL,
            n,
            temperature,
            threshold=DEFAULTS["threshold"] if threshold is None else threshold,
            flag_at=DEFAULTS["flag_at"] if flag_at is None else flag_at,
            encoder=encoder or DEFAULTS["encoder"],
            lang=lang,
            on_answer=None if as_json else lambda i, a: cli.err.print(f"[dim]{i + 1}. {a}[/]", highlight=False),
        )
        if as_json:
            cli.emit_json(
                {
                    k: r[k]
                    for k in (
                        "question",
                        "model",
                        "answers",
                        "clusters",
                        "labels",
                        "semantic_entropy",
                        "max_entropy",
                        "flag",
                        "threshold",
                        "flag_at",
                        "encoder",
                        "mean_similarity",
                    )
                }
            )
            return
        for c in r["clusters"]:
            cli.out.print(f"[bold]C{c['id'] + 1}[/] ×{c['size']}: {c['representative']}", highlight=False)
        verdict = "[red]likely hallucination[/]" if r["flag"] else "[green]consistent[/]"
        cli.out.print(f"semantic entropy {r['semantic_entropy']:.3f} / {r['max_entropy']:.3f} nats → {verdict}")

    _run(go, as_json)


@hallucination_app.command("eval")
def hallucination_eval(
    dataset: str = typer.Option("halueval", help="halueval or truthfulqa."),
    questions: int = typer.Option(150, help="Questions to ask (at most)."),
    samples: int = typer.Option(5, help="Answers sampled per question."),
    model: Optional[str] = typer.Option(None, "--model", "-m", help="Chat model (default: the detector's)."),
    minutes: float = typer.Option(60.0, help="Time budget: stops early, says how many were done."),
    threads: int = typer.Option(1, help="llama.cpp threads (1 on a shared machine)."),
    report: Optional[Path] = typer.Option(
        None, help="Write the report here (e.g. reports/chat_halueval.json), every 10 questions too."
    ),
    resume: bool = typer.Option(False, help="Go on after the questions already in --report (same model and sampling)."),
    as_json: bool = _json_opt(),
):
    """AUROC of the detector for the model's wrong answers (needs PIZARRA_DATA).

    The report keeps the one it replaces as ``previous`` (its summary) when that measured another
    model or encoder, so old and new numbers sit side by side."""
    import os
    import platform

    from .evaluate import default_config, eval_hallucination, previous_summary, write_report
    from .hallucination import DEFAULT_MODEL

    chosen = model or DEFAULT_MODEL

    def go():
        cli = _support
        old = None
        if report and report.is_file():
            try:
                old = json.loads(report.read_text())
            except ValueError:
                old = None
        rows = None
        if resume and old and old.get("model") == chosen and old.get("n_samples") == samples:
            rows = old.get("rows") or None
        keep = previous_summary(old, chosen)
        command = "pizarra hallucination eval " + " ".join(sys.argv[3:])
        machine = {"machine": platform.machine(), "processor": _cpu_name(), "cpus": os.cpu_count(), "threads": threads}

        # the commands that made the rows: the earlier sittings' when resuming, then this one
        commands = [*(old.get("commands") or [old.get("command")] if rows else []), command]

        def finish(r: dict) -> dict:
            r.update(machine=machine, command=command, commands=[c for c in commands if c])
            if keep:
                r["previous"] = keep
            return r

        r = eval_hallucination(
            dataset,
            questions,
            samples,
            chosen,
            max_minutes=minutes,
            threads=threads,
            previous=rows,
            checkpoint=(lambda part: write_report(finish(part), report)) if report else None,
            progress=lambda i, t, row: cli.err.print(
                f"[dim]{i}/{t} wrong={row['wrong']} score={row['scores'][default_config()]:.3f} "
                f"({row['seconds']} s)[/]",
                highlight=False,
            ),
        )
        finish(r)
        if report:
            write_report(r, report)
        if as_json:
            cli.emit_json({k: v for k, v in r.items() if k != "rows"})
            return
        was = f" (before: {keep['model']}, AUROC {keep.get('auroc')})" if keep else ""
        cli.out.print(
            f"{dataset}: {r['questions_done']} questions, wrong {r['wrong_rate']}, AUROC {r['auroc']} on "
            f"{r['n_test']} held-out questions{was}, flag accuracy {r['flag_accuracy']} "
            f"(majority {r['majority_baseline_accuracy']})"
        )

    _run(go, as_json)


def _cpu_name() -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


# ------------------------------------------------------------------------------------- code


@code_app.command("run")
def code_run(
    file: Path = typer.Argument(..., help="A Python file ('-' reads stdin)."),
    stdin: str = typer.Option("70\\n1.75\\n", "--stdin", help="What the program reads (\\n for new lines)."),
    as_json: bool = _json_opt(),
):
    """Run a Python file in the sandbox: no network, temp folder, CPU/memory/output/time limits."""
    from .sandbox import run_python

    def go():
        from pizarra.errors import BadInput

        try:
            code = sys.stdin.read() if str(file) == "-" else file.read_text(encoding="utf-8")
        except OSError as e:
            raise BadInput(f"Cannot read {file}: {e.strerror}.") from None
        r = run_python(code, _unescape(stdin)).to_dict()
        cli = _support
        if as_json:
            cli.emit_json(r)
            return
        sys.stdout.write(r["stdout"])
        if r["stderr"]:
            cli.err.print(r["stderr"], highlight=False, markup=False)
        cli.err.print(
            f"[{'green' if r['ok'] else 'red'}]{r['status']}[/]: {r['message']} ({r['seconds']:.2f} s)", highlight=False
        )
        if not r["ok"]:
            raise SystemExit(1)

    _run(go, as_json)


@code_app.command("eval")
def code_eval(
    samples: int = typer.Option(20, help="Programs to generate."),
    lang: str = typer.Option("es", help="es (the slide's request) or en."),
    task: str = typer.Option(
        "bmi",
        help="bmi (the slide's program), one of our own tasks "
        "(sum-es, max-es, celsius-es, vowels-en, reverse-en), or 'tasks' (all of ours).",
    ),
    model: str = typer.Option(CODE_MODEL, "--model", "-m"),
    threads: int = typer.Option(1, help="llama.cpp threads (1 on a shared machine)."),
    report: Optional[Path] = typer.Option(None, help="Write the report here (e.g. reports/chat_bmi_es.json)."),
    as_json: bool = _json_opt(),
):
    """How often the model's BMI program runs and prints 22.86 (70 kg, 1.75 m), or how often it solves
    our own small stdin -> stdout tasks."""
    from .code import TASKS, eval_bmi, eval_task
    from .evaluate import pin_threads, write_report

    def go():
        cli = _support
        from pizarra.errors import BadInput

        if lang not in ("es", "en"):
            raise BadInput("--lang must be es or en.")
        if task != "bmi" and task != "tasks" and task not in TASKS:
            raise BadInput(f"Unknown task '{task}': choose bmi, tasks, {', '.join(TASKS)}.")
        if model == "smollm2":
            pin_threads(model, threads)
        if task != "bmi":
            rows = [
                eval_task(
                    TASKS[name],
                    samples,
                    model,
                    progress=lambda i, row, name=name: cli.err.print(
                        f"[dim]{name} {i}/{samples} {row['status']} passed={row['passed']}[/]", highlight=False
                    ),
                )
                for name in (TASKS if task == "tasks" else [task])
            ]
            r = {
                "model": model,
                "n_per_task": samples,
                "tasks": rows,
                "success_rate": round(sum(x["passed"] for x in rows) / max(1, sum(x["n"] for x in rows)), 3),
                "tasks_solved_by_majority": sum(1 for x in rows if x["success_rate"] > 0.5),
            }
            if report:
                write_report(r, report)
            if as_json:
                cli.emit_json({**r, "tasks": [{k: v for k, v in x.items() if k != "samples"} for x in rows]})
                return
            for x in rows:
                cli.out.print(f"{x['task']}: {x['passed']}/{x['n']} pass", highlight=False)
            return
        r = eval_bmi(
            samples,
            model,
            lang,
            progress=lambda i, row: cli.err.print(
                f"[dim]{i}/{samples} {row['status']} 22.86={row['right_value']}[/]", highlight=False
            ),
        )
        if report:
            write_report(r, report)
        if as_json:
            cli.emit_json({k: v for k, v in r.items() if k != "samples"})
            return
        cli.out.print(
            f"{r['right_value']}/{r['n']} programs print {r['expected_value']} "
            f"({r['runs']} run without error, {r['code_found']} contain code): {r['statuses']}"
        )

    _run(go, as_json)
