"""Chapter 2-3 CLI: every command's --json prints exactly one JSON object of the documented shape."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from pizarra.cli import app

runner = CliRunner()


def run_json(*args) -> tuple[int, dict]:
    r = runner.invoke(app, [*args, "--json"])
    lines = [line for line in r.stdout.splitlines() if line.strip()]
    assert len(lines) == 1, r.stdout
    return r.exit_code, json.loads(lines[0])


def test_neighbors_analogy_formula():
    code, out = run_json("neighbors", "rey", "--k", "3", "--metric", "euclidean")
    assert code == 0 and out["word"] == "rey" and len(out["neighbors"]) == 3
    assert set(out["neighbors"][0]) == {"word", "score"}
    code, out = run_json("analogy", "hombre", "mujer", "rey")
    assert code == 0 and out["results"][0]["word"] == "reina"
    code, out = run_json("formula", "LERP(mañana, noche, 0.5)")
    assert code == 0 and out["results"][0]["word"] == "tarde"
    code, out = run_json("embeddings", "neighbors", "king", "--vectors", "glove", "--k", "2")
    assert code == 0 and len(out["neighbors"]) == 2


def test_errors_are_json_with_exit_code_2():
    code, out = run_json("analogy", "hombre", "mujer2", "rey")  # not letters: no pieces to build from
    assert code == 2 and "mujer2" in out["error"]["message"]
    code, out = run_json("formula", "LERP(a,")
    assert code == 2 and "position" in out["error"]["message"]


def test_a_word_outside_the_vocabulary_is_built_from_its_pieces_and_said(monkeypatch):
    code, out = run_json("analogy", "hombre", "mujerr", "rey")
    assert code == 0 and out["oov"] == ["mujerr"] and "mujer" in out["close"]["mujerr"]
    monkeypatch.setenv("PIZARRA_LANG", "es")
    r = runner.invoke(app, ["neighbors", "baloncestistas", "--k", "3"])
    assert r.exit_code == 0 and "«baloncestistas» no está en el vocabulario" in r.stdout, r.stdout
    r = runner.invoke(app, ["neighbors", "rey", "--k", "3"])
    assert r.exit_code == 0 and "vocabulario" not in r.stdout


def test_eval_on_a_given_file(tmp_path):
    f = tmp_path / "q.txt"
    f.write_text(
        ": family\nhombre mujer rey reina\nhombre mujer padre madre\nhombre mujer zzzq yyyq\n", encoding="utf-8"
    )
    code, out = run_json("embeddings", "eval", "--analogies", str(f))
    assert code == 0 and out["vectors"] == "es"
    fam = out["analogies"]["sections"]["family"]
    assert fam["total"] == 3 and fam["covered"] == 2 and 0 <= out["analogies"]["accuracy"] <= 1
    assert out["analogies"]["coverage"] == 2 / 3


def test_tokenize_and_vectorize():
    code, out = run_json("tokenize", "¿Qué hora es?", "--kind", "words")
    assert code == 0 and out["tokens"] == ["¿", "Qué", "hora", "es", "?"]
    code, out = run_json("vectorize", "--method", "onehot", "the cat sat on the mat")
    assert code == 0 and out["dimension"] == 5 and len(out["vectors"]) == 6
    code, out = run_json("vectorize", "--lang", "es", "--method", "tfidf")
    assert code == 0 and "gato" in out["vocabulary"] and out["idf"]
