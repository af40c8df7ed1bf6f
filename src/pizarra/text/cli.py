"""CLI of chapter 2 (text to numbers): ``pizarra tokenize`` and ``pizarra vectorize``.
Mounted without a group name, so both are top-level commands. Heavy imports happen inside."""

from __future__ import annotations

from typing import Optional

import typer

app = typer.Typer()
from pizarra.cli_support import JsonOpt, emit_json, friendly  # noqa: E402


def _table(title, header, rows):
    from rich.console import Console
    from rich.table import Table

    t = Table(title=title)
    for h in header:
        t.add_column(str(h))
    for r in rows:
        t.add_row(*[str(x) for x in r])
    Console().print(t)


@app.command()
def tokenize(
    text: Optional[str] = typer.Argument(None, help="Text to tokenize (default: a Quijote sample)."),
    kind: str = typer.Option(
        "words", "--kind", help="chars | words | word-ngrams | char-ngrams | bpe | gemma | smollm2"
    ),
    n: int = typer.Option(2, "--n", min=1, max=6, help="n for n-grams."),
    vocab_size: Optional[int] = typer.Option(
        None, "--vocab-size", help="BPE: use only the first N tokens (300-16000)."
    ),
    compare: bool = typer.Option(False, "--compare", help="Tokens per word of every tokenizer, Spanish and English."),
    as_json: bool = JsonOpt,
):
    """Split text into tokens; --compare shows tokens per word for ours, Gemma's and SmolLM2's."""

    @friendly
    def run(as_json: bool):
        from pizarra.text import tokenizers as tk

        if compare:
            res = tk.compare({"es": text, "en": text} if text else None)
            if as_json:
                return emit_json(res)
            _table(
                "tokens / word",
                ["tokenizer", "vocab", "es", "en"],
                [[r["tokenizer"], r["vocab_size"] or "-", r["es"], r["en"]] for r in res["rows"]],
            )
            return
        res = tk.tokenize(text or tk.SAMPLES["es"], kind, n=n, vocab_size=vocab_size)
        if as_json:
            return emit_json(res)
        print(" | ".join(res["tokens"]))
        print(f"{res['n_tokens']} tokens, {res['n_words']} words, {res['tokens_per_word']} tokens/word")

    run(as_json=as_json)


@app.command()
def vectorize(
    sentences: Optional[list[str]] = typer.Argument(None, help="Sentences (default: the cat sat on the mat…)."),
    method: str = typer.Option("bow", "--method", help="onehot | bow | tfidf"),
    lang: str = typer.Option("en", "--lang", help="Built-in example when no sentence is given: en | es"),
    as_json: bool = JsonOpt,
):
    """One-hot, bag of words or TF-IDF vectors of a few sentences: vocabulary, vectors, sparsity."""

    @friendly
    def run(as_json: bool):
        from pizarra.errors import BadInput
        from pizarra.text.vectorize import EXAMPLES
        from pizarra.text.vectorize import vectorize as vec

        if not sentences and lang not in EXAMPLES:
            raise BadInput(f"--lang must be one of {', '.join(EXAMPLES)}.", key="err.cli.lang", allowed=list(EXAMPLES))
        res = vec(list(sentences or EXAMPLES[lang]), method)
        if as_json:
            return emit_json(res)
        fmt = (lambda x: f"{x:.2f}") if method == "tfidf" else (lambda x: f"{x:.0f}")
        _table(
            f"{method}: dimension {res['dimension']}, sparsity {res['sparsity']:.0%}",
            ["", *res["vocabulary"]],
            [[row[:40], *map(fmt, v)] for row, v in zip(res["rows"], res["vectors"], strict=False)],
        )

    run(as_json=as_json)
