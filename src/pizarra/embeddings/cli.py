"""CLI of chapter 3 (word embeddings). Two Typer apps:

    app  ->  pizarra embeddings eval|neighbors|analogy|formula
    top  ->  pizarra neighbors|analogy|formula   (the same commands at the top level)

Heavy imports (numpy, the vectors) happen inside the commands, so ``pizarra info`` stays instant.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from pizarra import cli_support

app = typer.Typer(help="Word embeddings: evaluate, nearest words, analogies, formulas.", no_args_is_help=True)
top = typer.Typer()

VectorsOpt = typer.Option("es", "--vectors", help="es (word2vec trained here) or glove (English).")
JsonOpt = cli_support.JsonOpt


_friendly = cli_support.friendly
_emit = cli_support.emit_json


def _say_pieces(res: dict) -> None:
    """The page's note under the table, in the CLI's language ($PIZARRA_LANG, else the locale)."""
    from pizarra import i18n

    if not res.get("oov"):
        return
    lang = i18n.env_lang()
    words = ", ".join(f"«{w}»" for w in res["oov"])
    key = "embeddings.pieces_one" if len(res["oov"]) == 1 else "embeddings.pieces_many"
    lines = [i18n.t(key, lang, words=words)]
    for w, close in res["close"].items():
        if close:
            lines.append(i18n.t("embeddings.pieces_close", lang, word=w, close=", ".join(f"«{c}»" for c in close)))
    print(" ".join(lines))


def _table(title: str, rows: list[dict], cols: list[str]) -> None:
    from rich.console import Console
    from rich.table import Table

    t = Table(title=title)
    for c in cols:
        t.add_column(c)
    for r in rows:
        t.add_row(*[f"{r[c]:.4f}" if isinstance(r[c], float) else str(r[c]) for c in cols])
    Console().print(t)


def neighbors(
    word: str = typer.Argument(..., help="A word."),
    k: int = typer.Option(10, "--k", min=1, max=100),
    metric: str = typer.Option("cosine", "--metric", help="cosine | euclidean"),
    vectors: str = VectorsOpt,
    as_json: bool = JsonOpt,
):
    """The k nearest words to WORD (cosine similarity or euclidean distance)."""

    @_friendly
    def run(as_json: bool):
        from pizarra.embeddings.vectors import load_vectors

        emb = load_vectors(vectors)
        res = {
            "word": word,
            "vectors": vectors,
            "metric": metric,
            "neighbors": [{"word": w, "score": s} for w, s in emb.neighbors(word, k, metric)],
            **emb.pieces([word]),
        }
        if as_json:
            return _emit(res)
        _table(f"{word} · {metric} · {vectors}", res["neighbors"], ["word", "score"])
        _say_pieces(res)

    run(as_json=as_json)


def analogy(
    a: str = typer.Argument(..., help="A (e.g. hombre)"),
    b: str = typer.Argument(..., help="B (mujer)"),
    c: str = typer.Argument(..., help="C (rey)"),
    k: int = typer.Option(5, "--k", min=1, max=100),
    method: str = typer.Option("3cosadd", "--method", help="3cosadd | 3cosmul"),
    vectors: str = VectorsOpt,
    as_json: bool = JsonOpt,
):
    """A is to B as C is to ?   (hombre mujer rey → reina)"""

    @_friendly
    def run(as_json: bool):
        from pizarra.embeddings.vectors import load_vectors

        emb = load_vectors(vectors)
        res = {
            "a": a,
            "b": b,
            "c": c,
            "vectors": vectors,
            "method": method,
            "results": [{"word": w, "score": s} for w, s in emb.analogy(a, b, c, k, method)],
            **emb.pieces([a, b, c]),
        }
        if as_json:
            return _emit(res)
        _table(f"{a} : {b} :: {c} : ? · {method}", res["results"], ["word", "score"])
        _say_pieces(res)

    run(as_json=as_json)


def formula(
    expression: str = typer.Argument(..., help='e.g. "LERP(mañana, noche, 0.5)"'),
    k: int = typer.Option(10, "--k", min=1, max=100),
    metric: str = typer.Option("cosine", "--metric", help="cosine | euclidean"),
    vectors: str = VectorsOpt,
    as_json: bool = JsonOpt,
):
    """Evaluate a vector formula (AVERAGE, LERP, MINUS, SUM, MUL, SLERP, DIST, DOT, SLIDER, + - * /)."""

    @_friendly
    def run(as_json: bool):
        from pizarra.embeddings.formula import run_formula
        from pizarra.embeddings.vectors import load_vectors

        emb = load_vectors(vectors)
        res = run_formula(expression, emb, k, metric)
        res.update(vectors=vectors, **emb.pieces(res["words"]))
        if as_json:
            return _emit(res)
        if res["kind"] == "number":
            print(f"{expression} = {res['value']:.6g}")
        else:
            _table(f"{expression} · {vectors}", res["results"], ["word", "score"])
        _say_pieces(res)

    run(as_json=as_json)


def eval_cmd(
    vectors: str = VectorsOpt,
    analogies: Optional[Path] = typer.Option(None, "--analogies", help="gensim-format analogy file."),
    method: str = typer.Option("3cosadd", "--method", help="3cosadd | 3cosmul"),
    as_json: bool = JsonOpt,
):
    """Analogy accuracy (overall, by section, coverage) and Spearman on word-similarity sets."""

    @_friendly
    def run(as_json: bool):
        from pizarra.embeddings.evaluate import evaluate
        from pizarra.embeddings.vectors import load_vectors

        res = evaluate(load_vectors(vectors), analogies=analogies, method=method)
        res["vectors"] = vectors
        if as_json:
            return _emit(res)
        an = res["analogies"]
        rows = [
            {
                "section": n,
                "accuracy": s["accuracy"] if s["accuracy"] is not None else "-",
                "coverage": s["coverage"],
                "questions": s["total"],
            }
            for n, s in an["sections"].items()
        ]
        rows.append(
            {"section": "ALL", "accuracy": an["accuracy"], "coverage": an["coverage"], "questions": an["total"]}
        )
        pieces = res.get("with_pieces")  # FastText: words outside the vocabulary built from their pieces
        if pieces:
            p = pieces["analogies"]
            rows.append(
                {
                    "section": "ALL + pieces",
                    "accuracy": p["accuracy"],
                    "coverage": p["coverage"],
                    "questions": p["total"],
                }
            )
        _table(
            f"{vectors}: analogies ({method}) · {an['file']}", rows, ["section", "accuracy", "coverage", "questions"]
        )
        rows = [
            {
                "set": n,
                "spearman": s["spearman"] if s["spearman"] is not None else "-",
                "coverage": s["coverage"],
                "pairs": s["pairs"],
            }
            for n, s in [
                *res["similarity"].items(),
                *((f"{k} + pieces", v) for k, v in (pieces or {}).get("similarity", {}).items()),
            ]
        ]
        if rows:
            _table(f"{vectors}: word similarity", rows, ["set", "spearman", "coverage", "pairs"])

    run(as_json=as_json)


for _app in (app, top):
    _app.command("neighbors")(neighbors)
    _app.command("analogy")(analogy)
    _app.command("formula")(formula)
app.command("eval")(eval_cmd)
