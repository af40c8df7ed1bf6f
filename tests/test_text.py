"""Chapter 2: tokenizers (words, n-grams, byte-level BPE) and one-hot / BoW / TF-IDF vectors."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pizarra.errors import BadInput
from pizarra.text.bpe import train_bpe, truncate
from pizarra.text.tokenizers import char_ngrams, ngrams, tokenize
from pizarra.text.vectorize import EXAMPLES, vectorize
from pizarra.text.words import letter_words, words


def test_spanish_words():
    assert words("¿Qué hora es? Son las 10:30, ¡ya!") == [
        "¿",
        "Qué",
        "hora",
        "es",
        "?",
        "Son",
        "las",
        "10:30",
        ",",
        "¡",
        "ya",
        "!",
    ]
    assert words("Pagó 1.500 pesos a d'Artagnan, el franco-belga «Niño»…") == [
        "Pagó",
        "1.500",
        "pesos",
        "a",
        "d'Artagnan",
        ",",
        "el",
        "franco-belga",
        "«",
        "Niño",
        "»",
        "…",
    ]
    assert words("ÑANDÚ pingüino", lower=True) == ["ñandú", "pingüino"]
    assert letter_words("¡El Niño, 3 veces!") == ["el", "niño", "veces"]


def test_ngrams():
    assert ngrams(["el", "gato", "come"], 2) == ["el gato", "gato come"]
    assert ngrams(["a"], 2) == []
    assert char_ngrams("gato sí", 3) == ["gat", "ato", "sí"]


def test_tokenize_kinds_and_counts():
    r = tokenize("¿Qué hora es?", "chars")
    assert r["tokens"][:3] == ["¿", "Q", "u"] and r["n_tokens"] == 13 and r["n_words"] == 3
    r = tokenize("el gato come pescado", "word-ngrams", n=3)
    assert r["tokens"] == ["el gato come", "gato come pescado"] and r["n"] == 3
    assert tokenize("Hola Mundo", "words", lower=True)["tokens"] == ["hola", "mundo"]
    assert tokenize("el gato", "words")["tokens_per_word"] == 1.0
    for bad in [dict(text=""), dict(text="x" * 5001), dict(text="a", kind="nope"), dict(text="a", n=9)]:
        with pytest.raises(BadInput):
            tokenize(**{"kind": "words", **bad})


@pytest.fixture(scope="module")
def tiny_bpe():
    texts = ["el gato come pescado. el perro come carne. la gata y el gato duermen."] * 50
    return train_bpe(texts, vocab_size=320, min_frequency=2)


def test_bpe_round_trip_and_merges(tiny_bpe):
    text = "el gato come ñandú"  # ñ/ú are not in the training text: bytes still cover them
    enc = tiny_bpe.encode(text)
    assert tiny_bpe.decode(enc.ids) == text
    # frequent words became single tokens (a leading space is part of the token)
    assert len(tiny_bpe.encode(" gato").ids) == 1
    assert len(enc.ids) < len(text.encode("utf-8"))


def test_bpe_truncation_equals_fewer_merges(tiny_bpe):
    assert tiny_bpe.get_vocab_size() > 280
    small = truncate(tiny_bpe.to_str(), 270)
    assert small.get_vocab_size() == 270
    text = "el gato come pescado"
    assert small.decode(small.encode(text).ids) == text
    assert len(small.encode(text).ids) >= len(tiny_bpe.encode(text).ids)
    # the smaller tokenizer's vocabulary is exactly the first 270 ids of the bigger one
    big = tiny_bpe.get_vocab()
    assert small.get_vocab() == {t: i for t, i in big.items() if i < 270}
    with pytest.raises(BadInput):
        truncate(tiny_bpe.to_str(), 100)


def test_one_hot_like_the_slide():
    r = vectorize(["the cat sat on the mat"], "onehot")
    assert r["vocabulary"] == ["cat", "mat", "on", "sat", "the"]
    assert r["rows"] == ["the", "cat", "sat", "on", "the", "mat"]
    m = np.array(r["vectors"])
    assert m.shape == (6, 5) and (m.sum(1) == 1).all()
    assert m[0].tolist() == m[4].tolist() == [0, 0, 0, 0, 1]  # both "the" are the same vector
    assert r["sparsity"] == pytest.approx(1 - 6 / 30, abs=1e-4) and r["dimension"] == 5


def test_bag_of_words_and_tfidf():
    r = vectorize(EXAMPLES["en"], "bow")
    v = dict(zip(r["vocabulary"], r["vectors"][0], strict=False))
    assert v["the"] == 2 and v["cat"] == 1 and v["dog"] == 0
    t = vectorize(EXAMPLES["en"], "tfidf")
    idf = dict(zip(t["vocabulary"], t["idf"], strict=False))
    assert idf["the"] == pytest.approx(1.0)  # in all 3 documents: ln(4/4) + 1
    assert idf["mat"] == pytest.approx(math.log(4 / 2) + 1, rel=1e-3)
    rows = np.array(t["vectors"])
    assert np.linalg.norm(rows, axis=1) == pytest.approx([1, 1, 1], abs=1e-3)
    es = vectorize(EXAMPLES["es"], "bow")
    assert "sentó" in es["vocabulary"] and es["dimension"] == len(es["vocabulary"])


def test_vectorize_bad_input():
    for docs, method in [([], "bow"), (["  "], "bow"), (["¡¿!?"], "bow"), (["a"], "word2vec"), (["a"] * 21, "bow")]:
        with pytest.raises(BadInput):
            vectorize(docs, method)
