"""Chapter 3: word vectors, analogies, formulas, evaluation, projector — on tiny hand-made vectors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from pizarra.embeddings.evaluate import eval_analogies, eval_similarity, read_analogies, read_similarity
from pizarra.embeddings.formula import run_formula
from pizarra.embeddings.projector import neighborhood, pca, project, quiz_map
from pizarra.embeddings.vectors import Embeddings, from_artifact
from pizarra.errors import BadInput

# axes: royalty, female, young, size, animal, time-of-day, person, part-of-the-day
WORDS = {
    "rey": [1, 0, 0, 0, 0, 0, 1, 0],
    "reina": [1, 1, 0, 0, 0, 0, 1, 0],
    "hombre": [0, 0, 0, 0, 0, 0, 1, 0],
    "mujer": [0, 1, 0, 0, 0, 0, 1, 0],
    "príncipe": [1, 0, 1, 0, 0, 0, 1, 0],
    "princesa": [1, 1, 1, 0, 0, 0, 1, 0],
    "niño": [0, 0, 1, 0, 0, 0, 1, 0],
    "niña": [0, 1, 1, 0, 0, 0, 1, 0],
    "perro": [0, 0, 0, 0.5, 1, 0, 0, 0],
    "cachorro": [0, 0, 1, 0.2, 1, 0, 0, 0],
    "vaca": [0, 1, 0, 1.0, 1, 0, 0, 0],
    "ternero": [0, 0, 1, 0.6, 1, 0, 0, 0],
    "grande": [0, 0, 0, 1.5, 0, 0, 0, 0],
    "pequeño": [0, 0, 0, -1.5, 0, 0, 0, 0],
    "joven": [0, 0, 1.5, 0, 0, 0, 0, 0],
    "adulto": [0, 0, -1.5, 0, 0, 0, 0, 0],
    "mañana": [0, 0, 0, 0, 0, 1, 0, 1],
    "noche": [0, 0, 0, 0, 0, -1, 0, 1],
    "tarde": [0, 0, 0, 0, 0, 0.1, 0, 1],
}
for extra in ("gato", "gatito", "caballo", "potro", "oveja", "cordero", "ratón", "elefante", "gallina", "pollito"):
    WORDS[extra] = [0, 0, 0.5, 0.4, 1, 0.1, 0, 0]


@pytest.fixture(scope="module")
def emb():
    rng = np.random.default_rng(0)
    vecs = np.array(list(WORDS.values()), dtype=np.float32) + rng.normal(0, 0.01, (len(WORDS), 8)).astype(np.float32)
    return Embeddings("toy", list(WORDS), vecs)


def test_neighbors_cosine_and_euclidean(emb):
    cos = emb.neighbors("rey", k=3)
    assert cos[0][0] == "príncipe" or cos[0][0] == "reina"
    assert "rey" not in [w for w, _ in cos]
    assert all(cos[i][1] >= cos[i + 1][1] for i in range(len(cos) - 1))  # best first
    euc = emb.neighbors("rey", k=3, metric="euclidean")
    assert all(euc[i][1] <= euc[i + 1][1] for i in range(len(euc) - 1))
    # euclidean distance equals the plain formula
    w, d = euc[0]
    assert d == pytest.approx(float(np.linalg.norm(emb.vector("rey") - emb.vector(w))), rel=1e-4)
    rows = emb.neighbors_both("rey", k=5)
    assert [r["word"] for r in rows] == [w for w, _ in emb.neighbors("rey", 5)]
    assert all(r["euclidean_rank"] >= 1 for r in rows)


def test_cosine_vs_euclidean_disagree_on_length():
    # b points the same way as a but is far away: cosine says identical, euclidean says far
    e = Embeddings("t", ["a", "b", "c"], np.array([[1, 0], [10, 0], [1, 1]], dtype=np.float32))
    assert e.neighbors("a", 1)[0][0] == "b"
    assert e.neighbors("a", 1, "euclidean")[0][0] == "c"


def test_analogy_both_methods(emb):
    for method in ("3cosadd", "3cosmul"):
        res = emb.analogy("hombre", "mujer", "rey", k=3, method=method)
        assert res[0][0] == "reina"
        assert not {"hombre", "mujer", "rey"} & {w for w, _ in res}
    assert emb.analogy("hombre", "mujer", "niño", k=1)[0][0] == "niña"


def test_unknown_words_are_listed_with_suggestions(emb):
    with pytest.raises(BadInput) as e:
        emb.analogy("hombre", "mujr", "reyy")
    msg = str(e.value)
    assert "'mujr'" in msg and "'reyy'" in msg and "mujer" in msg and "rey" in msg
    with pytest.raises(BadInput):
        emb.neighbors("rey", k=0)
    with pytest.raises(BadInput):
        emb.neighbors("rey", metric="manhattan")


def test_formula_lerp_and_arithmetic(emb):
    res = run_formula("LERP(mañana, noche, 0.5)", emb, k=3)
    assert res["kind"] == "vector" and res["results"][0]["word"] == "tarde"
    assert run_formula("rey - hombre + mujer", emb, k=1)["results"][0]["word"] == "reina"
    assert run_formula("SUM(rey, MINUS(mujer, hombre))", emb, k=1)["results"][0]["word"] == "reina"
    assert run_formula("AVERAGE(rey, reina) * 2", emb, k=1)["kind"] == "vector"
    # SLERP at t=0 and t=1 gives the end points back
    lo = run_formula("SLERP(rey, perro, 0)", emb, k=1, exclude_inputs=False)["results"][0]["word"]
    hi = run_formula("SLERP(rey, perro, 1)", emb, k=1, exclude_inputs=False)["results"][0]["word"]
    assert (lo, hi) == ("rey", "perro")


def test_formula_scalars(emb):
    d = run_formula("DIST(rey, reina)", emb)
    assert d["kind"] == "number" and d["results"] == []
    assert d["value"] == pytest.approx(float(np.linalg.norm(emb.vector("rey") - emb.vector("reina"))), rel=1e-5)
    dot = run_formula("DOT(rey, MUL(reina, 2))", emb)["value"]
    assert dot == pytest.approx(2 * float(emb.vector("rey") @ emb.vector("reina")), rel=1e-5)
    s = run_formula("LERP(mañana, noche, SLIDER(2, 0, 1))", emb)
    assert s["sliders"][0]["value"] == 2 and s["kind"] == "vector"
    assert run_formula("SLIDER(2, 0, 1)", emb)["value"] == 1.0  # clamped
    assert run_formula("(1 + 2) * 3 - 4 / 2", emb)["value"] == 7.0
    assert run_formula('"rey" - hombre', emb)["words"] == ["rey", "hombre"]


@pytest.mark.parametrize(
    "src, pos",
    [
        ("LERP(mañana, noche", 19),
        ("rey +", 6),
        ("FOO(rey)", 1),
        ("rey * reina", 5),
        ("LERP(mañana, noche)", 1),
        ("MUL(rey, reina)", 10),
        ("rey reina", 5),
        ("rey + 2", 5),
        ("1 / 0", 3),
        ("rey $ reina", 5),
    ],
)
def test_formula_syntax_errors_point_at_position(emb, src, pos):
    with pytest.raises(BadInput) as e:
        run_formula(src, emb)
    assert f"position {pos}:" in str(e.value), str(e.value)


def test_formula_unknown_words_all_listed(emb):
    with pytest.raises(BadInput) as e:
        run_formula("LERP(manana, nochee, 0.5)", emb)
    assert "'manana'" in str(e.value) and "'nochee'" in str(e.value) and "mañana" in str(e.value)
    with pytest.raises(BadInput):
        run_formula("   ", emb)
    with pytest.raises(BadInput):
        run_formula("rey + " * 200 + "rey", emb)
    for deep in ["(" * 240 + "rey" + ")" * 240, "-" * 499 + "1", "SUM(" * 100 + "rey" + ")" * 100]:
        with pytest.raises(BadInput, match="nested"):
            run_formula(deep[:500], emb)


def test_eval_analogies_and_similarity(emb, tmp_path):
    f = tmp_path / "q.txt"
    f.write_text(
        ": family\nhombre mujer rey reina\nhombre mujer niño niña\nhombre mujer zzz yyy\n"
        ": other\nrey reina hombre perro\n",
        encoding="utf-8",
    )
    sections = read_analogies(f)
    assert [n for n, _ in sections] == ["family", "other"]
    res = eval_analogies(emb, sections)
    fam = res["sections"]["family"]
    assert (fam["correct"], fam["covered"], fam["total"]) == (2, 2, 3)
    assert fam["accuracy"] == 1.0 and fam["coverage"] == pytest.approx(2 / 3)
    assert res["sections"]["other"]["accuracy"] == 0.0
    assert res["accuracy"] == pytest.approx(2 / 3) and res["coverage"] == pytest.approx(3 / 4)
    assert eval_analogies(emb, sections, "3cosmul")["sections"]["family"]["correct"] == 2

    s = tmp_path / "sim.tsv"
    s.write_text("# header\nrey\treina\t9\nrey\tperro\t1\nniño\tniña\t8\nrey\tzzz\t5\n", encoding="utf-8")
    pairs = read_similarity(s)
    out = eval_similarity(emb, pairs)
    assert out["pairs"] == 4 and out["covered"] == 3
    assert -1 <= out["spearman"] <= 1
    csv = tmp_path / "WS.csv"
    csv.write_text('"EN.1";"EN.2";"ES.1";"ES.2";"score"\n"king";"queen";"rey";"reina";"9"\n', encoding="utf-8")
    assert read_similarity(csv) == [("rey", "reina", 9.0)]


def test_projector_pca_and_tsne(emb):
    x = np.random.default_rng(1).normal(size=(20, 5))
    coords, explained = pca(x, 2)
    assert coords.shape == (20, 2) and explained[0] >= explained[1]
    # PCA coordinates keep the variance along the first axis: it equals the largest eigenvalue
    ev = np.linalg.eigvalsh(np.cov((x - x.mean(0)).T, bias=True))[-1]
    assert coords[:, 0].var() == pytest.approx(ev, rel=1e-6)
    words = ["rey", "reina", "perro", "vaca", "mañana", "noche"]
    p = project(emb, words, "pca", 3)
    assert [q["word"] for q in p["points"]] == words and "z" in p["points"][0]
    t = project(emb, words, "tsne", 2)
    assert len(t["points"]) == 6 and t["explained_variance"] is None
    with pytest.raises(BadInput):
        project(emb, ["rey", "reina"], "pca", 2)
    u = project(emb, words, "umap", 3)
    assert [q["word"] for q in u["points"]] == words and "z" in u["points"][0]
    assert u == project(emb, words, "umap", 3)  # seeded: the same picture every time
    with pytest.raises(BadInput, match="pca, tsne, umap"):
        project(emb, words, "isomap", 2)
    assert neighborhood(emb, "rey", 5)[0] == "rey" and len(neighborhood(emb, "rey", 5)) == 6
    with pytest.raises(BadInput):
        neighborhood(emb, "rey", 101)


def test_quiz_map_uses_directions(emb):
    q = quiz_map(emb, x_axis=("pequeño", "grande"), y_axis=("joven", "adulto"))
    pts = {p["word"]: p for p in q["points"]}
    assert pts["vaca"]["x"] > pts["cachorro"]["x"]  # bigger
    assert pts["cachorro"]["y"] < pts["perro"]["y"]  # younger


def test_artifact_round_trip(emb, tmp_path):
    import torch

    from pizarra.assets.artifacts import save_artifact

    save_artifact(
        "w2v-toy",
        {"vectors": torch.from_numpy(emb.vectors.astype(np.float16))},
        files={"vocab.txt": ("\n".join(emb.words) + "\n").encode()},
        config={"lang": "es"},
        root=tmp_path,
    )
    back = from_artifact("w2v-toy", root=tmp_path)
    assert back.words == emb.words and back.dim == 8
    assert back.analogy("hombre", "mujer", "rey", 1)[0][0] == "reina"
    card = json.loads((tmp_path / "w2v-toy" / "card.json").read_text())
    assert "vocab.txt" in card["files"]
