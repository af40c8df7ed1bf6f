"""The shipped Spanish vectors (artifact fasttext-es) keep the lecture's answers, know the words a
class tries, reproduce their card, and give chapter 10 a meaning for the words its captions lack."""

from __future__ import annotations

import pytest

from pizarra.assets.artifacts import load_artifact
from pizarra.embeddings.formula import run_formula
from pizarra.embeddings.vectors import VECTORS, load_vectors


@pytest.fixture(scope="module")
def es():
    return load_vectors("es")


def test_the_lectures_prompts_answer_as_on_the_slides(es):
    assert VECTORS["es"] == "fasttext-es" and es.subwords is not None
    assert es.analogy("hombre", "mujer", "rey", 1)[0][0] == "reina"
    assert run_formula("LERP(mañana, noche, 0.5)", es, k=1)["results"][0]["word"] == "tarde"
    assert run_formula("rey - hombre + mujer", es, k=1)["results"][0]["word"] == "reina"


# A word the class will try -> words at least one of which must be among its ten nearest
SENSIBLE = {
    "fútbol": {"futbol", "béisbol", "futbolista", "jugador", "balón", "deporte", "partido", "voleibol"},
    "perro": {"perros", "perrito", "gato", "cachorro", "perra"},
    "madrid": {"barcelona", "sevilla", "parís", "méxico", "coruña", "madrileño", "capital"},
    "internet": {"smartphone", "google", "telefonía", "whatsapp", "internautas", "digitales", "red", "web"},
    "computadora": {"computadoras", "computación", "computador", "computer", "ordenador", "software"},
    "reina": {"rey", "emperatriz", "soberana", "princesa", "reinas", "virreina"},
    "teléfono": {"móvil", "celular", "teléfonos", "telefónico", "telefonía"},
}


@pytest.mark.parametrize("word", sorted(SENSIBLE))
def test_words_a_class_tries_have_sensible_neighbours(es, word):
    near = [w for w, _ in es.neighbors(word, 10)]
    assert SENSIBLE[word] & set(near), near


@pytest.mark.parametrize("word", ["baloncesto", "ordenador", "videojuego", "smartphone", "baloncestista"])
def test_modern_words_have_a_vector(es, word):
    """In the vocabulary since the news and STS sentences joined the corpus, or built from pieces."""
    assert es.known(word) or es.from_pieces(word)
    assert len(es.neighbors(word, 5)) == 5


def test_the_card_is_what_the_vectors_score():
    """MC30 (30 pairs: instant) recomputed on the artifact as shipped equals the card's."""
    from pizarra.config import data_dir
    from pizarra.embeddings.evaluate import default_files, eval_similarity, read_similarity

    root = data_dir()
    if root is None or not (root / "word_eval_es").is_dir():
        pytest.skip("PIZARRA_DATA is not set: the word-similarity sets live there")
    card = load_artifact(VECTORS["es"]).card
    _, sims = default_files("es", root)
    got = eval_similarity(load_vectors("es"), read_similarity(sims["mc30"]))
    assert got["spearman"] == pytest.approx(card["metrics"]["eval"]["similarity"]["mc30"]["spearman"], abs=1e-6)
    assert card["metrics"]["eval"]["analogies"]["total"] == 17056


# Chapter 10's captions know ten garments and ten digits: an unknown word is replaced by meaning only
# when a garment is really near it, never by spelling alone («perro» was «zero», «gato» was «zapato»)
@pytest.mark.parametrize("word", ["perro", "gato", "coche", "casa", "mesa", "dog", "house", "diez"])
def test_chapter_10_drops_words_far_from_every_garment(word):
    from pizarra.images.data import Vocab

    assert Vocab.from_captions().closest(word) is None


@pytest.mark.parametrize("word", ["gorra", "corbata", "calcetines", "wallet", "socks", "skirt"])
def test_chapter_10_replaces_a_garment_it_lacks_by_one_it_knows(word):
    from pizarra.images.data import Vocab, class_words

    got = Vocab.from_captions().closest(word)
    assert got in class_words()["es"] or got in class_words()["en"], got


def test_chapter_10_still_fixes_typos_and_plurals_by_spelling():
    from pizarra.images.data import Vocab

    vocab = Vocab.from_captions()
    assert vocab.closest("zapatila") == "zapatilla" and vocab.closest("bolsos") == "bolso"


def test_chapter_10_says_what_it_did_with_each_word():
    from pizarra.images.core import read_caption
    from pizarra.images.data import class_words

    r = read_caption("un perro")
    assert r["unknown"] == {"perro": None} and r["words"] == ["un"]
    assert "«perro» (ignorada)" in r["notice"] and "Solo aprendió diez prendas" in r["notice"], r["notice"]
    assert "ignored" in r["notice_en"] and "zero" not in r["notice"] + r["notice_en"]
    r = read_caption("una gorra")
    assert r["unknown"]["gorra"] in class_words()["es"] and "Solo aprendió" not in r["notice"]
