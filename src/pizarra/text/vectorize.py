"""Words → vectors the simple way: one-hot, bag of words and TF-IDF (scikit-learn), as the slide shows.

    vectorize(["the cat sat on the mat"], "onehot")   one row per token: a 1 in its word's column
    vectorize(EXAMPLES["en"], "bow")                  one row per document: how often each word occurs
    vectorize(EXAMPLES["en"], "tfidf")                counts × idf, each row scaled to length 1

    idf(w) = ln((1 + N) / (1 + df(w))) + 1      (scikit-learn's smooth idf; N documents, df = documents with w)
    tfidf(w, d) = count(w, d) · idf(w), then the row is divided by its euclidean norm

Every result: ``{"method", "vocabulary", "rows", "vectors", "dimension", "sparsity", "nonzero", "idf"?}``;
``sparsity`` is the share of zeros in the matrix: with a real vocabulary (tens of thousands of
words) almost every entry is zero, which is why these vectors are stored sparse.
"""

from __future__ import annotations

import numpy as np

from pizarra.errors import BadInput
from pizarra.text.words import words

METHODS = ("onehot", "bow", "tfidf")
MAX_DOCS = 20
MAX_CHARS = 2000
MAX_VOCAB = 300

EXAMPLES = {
    "en": ["the cat sat on the mat", "the dog sat on the log", "the cat saw the dog"],
    "es": ["el gato se sentó en la alfombra", "el perro se sentó en el tronco", "el gato vio al perro"],
}


def analyzer(text: str) -> list[str]:
    """Lowercased words and numbers (punctuation dropped): what the vectorizers count."""
    return [w for w in words(text.lower()) if any(ch.isalnum() for ch in w)]


def vectorize(docs: list[str], method: str = "bow") -> dict:
    if method not in METHODS:
        raise BadInput(
            f"Unknown method '{method}': choose {', '.join(METHODS)}.",
            key="err.unknown_method",
            value=method,
            allowed=METHODS,
        )
    docs = [d for d in (docs or []) if isinstance(d, str) and d.strip()]
    if not docs:
        raise BadInput("Give at least one non-empty sentence.", key="err.text.no_sentences")
    if len(docs) > MAX_DOCS or any(len(d) > MAX_CHARS for d in docs):
        raise BadInput(
            f"At most {MAX_DOCS} sentences of at most {MAX_CHARS} characters each.",
            key="err.text.too_many_sentences",
            docs=MAX_DOCS,
            chars=MAX_CHARS,
        )
    tokens = [analyzer(d) for d in docs]
    if not any(tokens):
        raise BadInput("The sentences hold no words (only punctuation or spaces).", key="err.text.no_words")
    from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

    out: dict = {"method": method}
    if method == "onehot":
        vocab = sorted({t for ts in tokens for t in ts})
        col = {w: j for j, w in enumerate(vocab)}
        flat = [t for ts in tokens for t in ts]
        m = np.zeros((len(flat), len(vocab)), dtype=np.float64)  # (tokens, V)
        m[np.arange(len(flat)), [col[t] for t in flat]] = 1
        rows = flat
    else:
        cls = CountVectorizer if method == "bow" else TfidfVectorizer
        vec = cls(analyzer=analyzer)
        m = vec.fit_transform(docs).toarray()  # (docs, V)
        vocab = list(vec.get_feature_names_out())
        rows = docs
        if method == "tfidf":
            out["idf"] = [round(float(x), 4) for x in vec.idf_]
    if len(vocab) > MAX_VOCAB:
        raise BadInput(
            f"The vocabulary has {len(vocab)} words; this view shows at most {MAX_VOCAB}.",
            key="err.text.vocab_too_big",
            n=len(vocab),
            limit=MAX_VOCAB,
        )
    out.update(
        vocabulary=vocab,
        rows=rows,
        vectors=np.round(m, 4).tolist(),
        dimension=len(vocab),
        nonzero=int((m != 0).sum()),
        sparsity=round(float((m == 0).mean()), 4),
    )
    return out
