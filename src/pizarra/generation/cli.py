"""CLI of chapter 7 (generating text). Mounted without a group name:

    pizarra next-token "PREFIX" [--model gemma-base] [--k 10] [--json]
    pizarra generate "PREFIX" [--model gemma-base] [--max-tokens 64] [--temperature 0.8] [--top-k 40]
                     [--top-p 0.95] [--seed S] [--json]            (streams to the terminal)
    pizarra lm score TEXT [--model gpt] [--json]                   perplexity per token / word, bits per char
    pizarra lm eval [--json]                                       the perplexity table on held-out text
    pizarra lm train ngram|lstm|gpt [--minutes M | --steps N]      train and save an artifact gen-*

Models: gemma-base, smollm2 (GGUF, or a path to any .gguf file), gpt, lstm, ngram (trained here).
Heavy imports happen inside the commands.
"""

from __future__ import annotations

import sys
from typing import Optional

import typer

from pizarra import cli_support
from pizarra.cli_support import JsonOpt

app = typer.Typer()
lm_app = typer.Typer(help="Language models trained here: perplexity, evaluation, training.", no_args_is_help=True)
app.add_typer(lm_app, name="lm")
ModelOpt = typer.Option("gemma-base", "--model", "-m", help="gemma-base | smollm2 | gpt | lstm | ngram | path.gguf")


def _sampling(max_tokens, temperature, top_k, top_p, seed, repeat_penalty=1.1):
    from pizarra.llm.runtime import Sampling

    return Sampling(
        max_tokens=max_tokens,
        temperature=temperature,
        top_k=top_k,
        top_p=top_p,
        seed=seed,
        repeat_penalty=repeat_penalty,
    ).validated()


@app.command("next-token")
def next_token(
    prefix: str = typer.Argument(..., help="Text to continue ('' = start of a text)."),
    model: str = ModelOpt,
    k: int = typer.Option(10, "--k", "-k", help="How many tokens to show (1-50)."),
    as_json: bool = JsonOpt,
):
    """The k most likely next tokens after PREFIX, with full-softmax probabilities."""
    cli = cli_support

    @cli.friendly
    def run(as_json: bool):
        from pizarra.generation.generate import next_tokens

        r = next_tokens(model, prefix, k)
        if as_json:
            return cli.emit_json(
                {
                    "model": r["model"],
                    "prefix": r["prefix"],
                    "entropy_bits": r["entropy_bits"],
                    "tokens": [{"token": t["token"], "prob": t["prob"], "id": t["id"]} for t in r["tokens"]],
                }
            )
        cli.out.print(
            f"{r['label']} · «{prefix}» → ({r['context_tokens']} tokens, entropy {r['entropy_bits']:.2f} bits)",
            highlight=False,
        )
        for t in r["tokens"]:
            bar = "█" * max(1, round(t["prob"] * 40))
            cli.out.print(f"  {t['token']!r:>18} {100 * t['prob']:6.2f} % {bar}", highlight=False)

    run(as_json=as_json)


@app.command("generate")
def generate(
    prefix: str = typer.Argument(..., help="Text to continue ('' = start of a text)."),
    model: str = ModelOpt,
    max_tokens: int = typer.Option(64, "--max-tokens", help="1-1024."),
    temperature: float = typer.Option(0.8, "--temperature", "-t", help="0 (greedy) to 2."),
    top_k: int = typer.Option(40, "--top-k", help="0 = off, up to 1000."),
    top_p: float = typer.Option(0.95, "--top-p", help="(0, 1]."),
    seed: Optional[int] = typer.Option(None, "--seed", help="Same seed, same text."),
    as_json: bool = JsonOpt,
):
    """Continue PREFIX; the text streams to the terminal as it is generated."""
    cli = cli_support

    @cli.friendly
    def run(as_json: bool):
        from pizarra.generation.generate import generate as gen_all
        from pizarra.generation.generate import stream

        s = _sampling(max_tokens, temperature, top_k, top_p, seed)
        if as_json:
            return cli.emit_json(gen_all(model, prefix, s))
        stats: dict = {}
        sys.stdout.write(prefix)
        sys.stdout.flush()
        for piece in stream(model, prefix, s, stats=stats):
            sys.stdout.write(piece["text"])
            sys.stdout.flush()
        sys.stdout.write("\n")
        cli.err.print(
            f"{stats.get('n_tokens', 0)} tokens · {stats.get('tokens_per_s', 0):.1f} tokens/s · "
            f"{stats.get('finish_reason')}",
            highlight=False,
        )

    run(as_json=as_json)


@lm_app.command("score")
def score(
    text: str = typer.Argument(..., help="The text to score."),
    model: str = typer.Option("gpt", "--model", "-m", help="gpt | lstm | ngram | gemma-base | smollm2 | path.gguf"),
    as_json: bool = JsonOpt,
):
    """Perplexity of TEXT: per token, per word (comparable across tokenizers), bits per character."""
    cli = cli_support

    @cli.friendly
    def run(as_json: bool):
        from pizarra.generation.generate import score as run_score

        r = run_score(model, text)
        if as_json:
            return cli.emit_json(r)
        cli.out.print(
            f"{r['label']}: perplexity/word {r['ppl_word']:.2f} · bits/char {r['bits_per_char']:.3f} · "
            f"perplexity/token {r['ppl_token']:.2f} ({r['tokens']} tokens, {r['words']} words)",
            highlight=False,
        )

    run(as_json=as_json)


@lm_app.command("eval")
def evaluate(
    models: Optional[list[str]] = typer.Argument(None, help="Models (default: all five)."), as_json: bool = JsonOpt
):
    """Score every model on the same held-out Spanish text; write reports/generation_perplexity.json.
    Needs PIZARRA_DATA."""
    cli = cli_support

    @cli.friendly
    def run(as_json: bool):
        from pizarra.generation.evaluate import ORDER
        from pizarra.generation.evaluate import evaluate as run_eval

        r = run_eval(tuple(models) if models else ORDER, log=None if as_json else cli.err.print)
        if as_json:
            return cli.emit_json(r)
        from rich.table import Table

        t = Table(title=f"held-out: {r['heldout_words']} words")
        for col in ("model", "ppl/word", "bits/char", "ppl/token", "tokens/word"):
            t.add_column(col)
        for row in r["rows"]:
            t.add_row(
                row["label"],
                f"{row['ppl_word']:.1f}",
                f"{row['bits_per_char']:.3f}",
                f"{row['ppl_token']:.1f}",
                f"{row['tokens_per_word']:.2f}",
            )
        cli.out.print(t)

    run(as_json=as_json)


@lm_app.command("train")
def train(
    model: str = typer.Argument(..., help="ngram | lstm | gpt"),
    minutes: float = typer.Option(12.0, "--minutes", help="Target wall time (lstm, gpt)."),
    steps: Optional[int] = typer.Option(None, "--steps", help="Exact number of steps (overrides --minutes)."),
    deadline: Optional[float] = typer.Option(None, "--deadline", help="Stop and save after this many minutes anyway."),
    min_count: int = typer.Option(2, "--min-count", help="n-gram: keep trigrams seen at least this often."),
    threads: int = typer.Option(1, "--threads", min=1, help="Torch threads (lstm, gpt)."),
    as_json: bool = JsonOpt,
):
    """Train a model on the Spanish corpus and save it as artifacts/gen-MODEL. Needs PIZARRA_DATA."""
    cli = cli_support

    @cli.friendly
    def run(as_json: bool):
        from pizarra.errors import BadInput
        from pizarra.generation import train as tr

        if model == "ngram":
            r = tr.train_ngram(min_count)
        elif model in ("lstm", "gpt"):
            r = tr.train_neural(
                model, minutes, steps, deadline_minutes=deadline, progress=None if as_json else True, threads=threads
            )
        else:
            raise BadInput(
                f"Unknown model '{model}': train ngram, lstm or gpt.",
                key="err.generation.train_model",
                value=model,
                allowed=("ngram", "lstm", "gpt"),
            )
        r = {k: v for k, v in r.items() if k != "history"}
        cli.emit_json(r) if as_json else cli.out.print(r)

    run(as_json=as_json)
