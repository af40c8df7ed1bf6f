"""FastText word vectors: a word outside the vocabulary gets its vector from its character n-grams.

A tiny gensim FastText model (seconds) is exported the way the shipped one is
(``pizarra.embeddings.export_fasttext``) and read back by ``from_artifact``: our n-grams and hashes
must be gensim's own, the int8 rows must keep the vectors, and every lab must accept a word built
from its pieces and say so.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from pizarra.embeddings.vectors import Embeddings, Subwords, from_artifact, ngram_bucket, ngrams, quantize_rows
from pizarra.errors import BadInput

gensim_ft = pytest.importorskip("gensim.models.fasttext")

TRICKY = ["gato", "baloncesto", "niño", "pingüino", "ñandú", "a", "año-nuevo", "über", "ordenadorcito", "ÁRBOL".lower()]


@pytest.mark.parametrize("word", TRICKY)
def test_pieces_and_hashes_are_gensims(word):
    assert sorted(ngrams(word)) == sorted(gensim_ft.compute_ngrams(word, 3, 6))
    for buckets in (1000, 200_000, 2_000_000):
        assert sorted(ngram_bucket(p, buckets) for p in ngrams(word)) == sorted(
            gensim_ft.ft_ngram_hashes(word, 3, 6, buckets)
        )
    assert ngrams("gato")[:4] == ["<ga", "<gat", "<gato", "<gato>"]  # the word's start is marked


def test_int8_rows_keep_the_direction():
    x = np.random.default_rng(0).normal(size=(500, 64)).astype(np.float32) * np.linspace(0.01, 10, 500)[:, None]
    q, scale = quantize_rows(x)
    assert q.dtype == np.int8 and scale.shape == (500,)
    back = q.astype(np.float32) * scale[:, None]
    cos = (back * x).sum(1) / np.linalg.norm(back, axis=1) / np.linalg.norm(x, axis=1)
    assert cos.min() > 0.999


SENTENCES = [
    "el perro come carne y el gato come pescado",
    "el gato duerme en la casa y el perro juega en el jardín",
    "juego al baloncesto con mis amigos y al fútbol con mi hermano",
    "el baloncesto y el fútbol son deportes de equipo",
    "la reina y el rey viven en el palacio",
    "el rey habla con la reina en el palacio",
    "el ordenador portátil tiene una pantalla y un teclado",
    "escribo en el ordenador con el teclado",
] * 40


@pytest.fixture(scope="module")
def shipped(tmp_path_factory):
    """A tiny FastText model exported like the shipped one, and the gensim model it came from."""
    from gensim.models import FastText

    from pizarra.embeddings.export_fasttext import export

    folder = tmp_path_factory.mktemp("ft")
    params = dict(sg=1, vector_size=16, window=3, negative=5, hs=0, min_count=2, epochs=5, sample=0.0)
    params.update(min_n=3, max_n=6, bucket=2000, workers=1, seed=1)
    model = FastText([s.split() for s in SENTENCES], **params)
    model.save(str(folder / "ft.model"))
    corpus = {"docs": 1, "words": 1, "by_source": {"toy": 1}, "modern_repeat": 3}
    info = {"corpus": corpus, "params": params, "vocab_trained": len(model.wv), "train_seconds": 0.1}
    (folder / "ft.json").write_text(json.dumps(info))
    (folder / "evals").mkdir()
    analogies = folder / "evals" / "a.txt"
    analogies.write_text(": family\nrey reina perro gato\nrey reinas perro gato\nrey reina zzq gato\n")
    import pizarra.embeddings.evaluate as ev

    real = ev.evaluate
    ev_calls = []

    def evaluate(emb, **kw):  # the eval files of the data folder are not needed here
        ev_calls.append(emb.name)
        return real(emb, analogies=analogies, similarity={})

    ev.evaluate = evaluate
    try:
        card = export(folder / "ft.model", "fasttext-toy", root=folder / "artifacts")
    finally:
        ev.evaluate = real
    return model, from_artifact("fasttext-toy", root=folder / "artifacts"), card, ev_calls


def test_export_reads_back_with_pieces(shipped):
    model, emb, card, ev_calls = shipped
    assert emb.subwords is not None and emb.subwords.buckets == 2000
    # only the rows training updated travel: the buckets of the trained words' pieces
    trained = {h for w in model.wv.index_to_key for h in gensim_ft.ft_ngram_hashes(w, 3, 6, 2000)}
    assert list(emb.subwords.ids) == sorted(trained) and card["config"]["ngram_rows_kept"] == len(trained) < 2000
    assert emb.words == model.wv.index_to_key
    assert card["config"]["min_n"] == 3 and card["config"]["bucket"] == 2000
    assert card["metrics"]["eval"]["with_pieces"]["analogies"]["total"] == 3
    assert ev_calls == ["fasttext-toy", "fasttext-toy-float32"]  # int8 and float32 both scored
    for word in ("perro", "baloncesto", "baloncestos", "ordenadores", "reinas", "perrito"):
        ref = model.wv[word]  # gensim's vector (its own, or from its pieces)
        ours = emb.vector(word)
        assert float(ours @ ref / np.linalg.norm(ours) / np.linalg.norm(ref)) > 0.995, word
    assert emb.known("perro") and not emb.known("baloncestos") and emb.from_pieces("baloncestos")


def test_a_word_outside_the_vocabulary_has_neighbours_and_analogies(shipped):
    _, emb, _, _ = shipped
    assert "ordenadores" not in emb.index
    near = emb.neighbors("ordenadores", 3)
    assert near and "ordenadores" not in [w for w, _ in near]
    rows = emb.neighbors_both("ordenadores", 3)
    assert [r["word"] for r in rows] == [w for w, _ in near]
    assert min(r["euclidean_rank"] for r in rows) >= 1  # 0 is the word itself, which is no row
    assert emb.analogy("rey", "reinas", "perro", 2)  # b built from its pieces
    assert emb.oov(["perro", "Reinas", "reinas", "rey"]) == ["reinas"]
    assert emb.rows(["perro", "reinas"]).shape == (2, emb.dim)


@pytest.mark.parametrize("word", ["rey!", "123", "r2d2", "   ", "ok?"])
def test_only_words_of_letters_are_built_from_pieces(shipped, word):
    _, emb, _, _ = shipped
    assert not emb.from_pieces(word)
    with pytest.raises(BadInput):
        emb.vector(word)


def test_vectors_without_pieces_still_refuse_unknown_words():
    emb = Embeddings("toy", ["rey", "reina", "perro"], np.eye(3, dtype=np.float32))
    assert not emb.from_pieces("reinas") and emb.oov(["reinas"]) == []
    with pytest.raises(BadInput) as e:
        emb.neighbors("reinas")
    assert e.value.i18n_key == "err.embeddings.not_in_vocabulary"
    with pytest.raises(BadInput):
        emb.rows(["rey", "reinas"])


def test_eval_with_pieces_answers_the_questions_its_pieces_can(shipped):
    _, emb, card, _ = shipped
    ev = card["metrics"]["eval"]
    assert ev["analogies"]["total"] == 3 and ev["analogies"]["covered"] == 1  # vocabulary only
    pieces = ev["with_pieces"]["analogies"]
    assert not emb.from_pieces("zzq")  # none of its pieces was ever trained
    assert pieces["covered"] == 2 and pieces["coverage"] == pytest.approx(2 / 3)  # «reinas» from its pieces


def test_formula_and_projector_take_pieces(shipped):
    from pizarra.embeddings.formula import run_formula
    from pizarra.embeddings.projector import project

    _, emb, _, _ = shipped
    res = run_formula("ordenadores - teclado", emb, k=3)
    assert res["kind"] == "vector" and len(res["results"]) == 3
    pts = project(emb, ["perro", "gato", "ordenadores", "baloncestista"], "pca", 2)["points"]
    assert [p["word"] for p in pts] == ["perro", "gato", "ordenadores", "baloncestista"]


def test_subwords_mean_of_pieces():
    table = np.arange(40, dtype=np.float32).reshape(10, 4)
    sw = Subwords(table, 3, 6)
    rows = [ngram_bucket(p, 10) for p in ngrams("sol")]
    assert np.allclose(sw.vector("sol"), table[rows].mean(0))


def test_pieces_never_trained_are_left_out():
    buckets = 10_000
    kept = sorted({ngram_bucket(p, buckets) for p in ngrams("sol")})[:3]  # three of «sol»'s pieces were trained
    table = np.random.default_rng(0).normal(size=(3, 4)).astype(np.float32)
    sw = Subwords(table, 3, 6, buckets, np.array(kept))
    assert np.allclose(
        sw.vector("sol"),
        table[[kept.index(b) for b in [ngram_bucket(p, buckets) for p in ngrams("sol")] if b in kept]].mean(0),
    )
    far = next(w for w in ("xqzw", "ñññ", "kkkkk", "wyxv") if not set(sw.rows(w)))
    assert sw.vector(far) is None  # no trained piece: no vector
    emb = Embeddings("toy", ["luna", "mar"], np.eye(2, 4, dtype=np.float32), subwords=sw)
    assert emb.from_pieces("sol") and not emb.from_pieces(far)
    with pytest.raises(BadInput):
        emb.neighbors(far)
    with pytest.raises(ValueError):
        Subwords(table, 3, 6, buckets, np.array(kept[::-1]))  # ids must be sorted


def test_a_word_from_pieces_is_flagged_as_a_typo_only_when_spelled_almost_like_a_known_one(shipped):
    _, emb, _, _ = shipped
    assert emb.pieces(["rey", "ordenadores"]) == {"oov": ["ordenadores"], "close": {"ordenadores": ["ordenador"]}}
    assert emb.pieces(["gatitos"]) == {"oov": ["gatitos"], "close": {"gatitos": []}}  # a new word: no «gato?»
    assert emb.pieces(["rey", "reina"]) == {"oov": [], "close": {}}
