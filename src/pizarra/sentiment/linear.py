"""The two linear baselines: TF-IDF + logistic regression, and NBSVM (Wang & Manning, 2012).

    TF-IDF + LR:  x_j = (1 + log tf_j) · idf_j,  x <- x / ||x||_2        p(pos | x) = σ(w·x + b)
    NBSVM:        f_j = 1[n-gram j occurs]      r = log( (α + Σ_pos f / ||α + Σ_pos f||_1)
                                                        / (α + Σ_neg f / ||α + Σ_neg f||_1) )
                  an SVM on r ∘ f gives w;  w' = (1 - β) · mean|w| + β · w     score = w'·(r ∘ f) + b

Both read n-grams of the shared tokenizer (``data.tokenize``), so "not good" and "n't like" are
features of their own. Every weight belongs to one readable n-gram, which is the explanation: the
n-grams of a review times their weights add up (with the bias) to the model's score.
"""

from __future__ import annotations

import lzma
import time
from dataclasses import dataclass

import numpy as np

from pizarra.sentiment.data import tokenize


def _analyzer(ngram_max: int):
    """Review -> its word n-grams, 1..ngram_max, joined by spaces (sklearn's analyzer interface)."""

    def analyze(text: str) -> list[str]:
        toks = tokenize(text)
        grams = list(toks)
        for n in range(2, ngram_max + 1):
            grams += [" ".join(toks[i : i + n]) for i in range(len(toks) - n + 1)]
        return grams

    return analyze


def count_matrix(texts, vocab: dict[str, int], ngram_max: int, binary: bool):
    """(n, V) sparse counts (or 0/1) of the vocabulary's n-grams in each text."""
    from sklearn.feature_extraction.text import CountVectorizer

    vec = CountVectorizer(analyzer=_analyzer(ngram_max), vocabulary=vocab, binary=binary, dtype=np.float32)
    return vec.transform(texts)


def fit_counts(texts, ngram_max: int, min_df: int, binary: bool):
    """Learn the vocabulary (n-grams in at least ``min_df`` texts) -> (matrix, vocab)."""
    from sklearn.feature_extraction.text import CountVectorizer

    vec = CountVectorizer(analyzer=_analyzer(ngram_max), min_df=min_df, binary=binary, dtype=np.float32)
    X = vec.fit_transform(texts)
    return X.tocsr(), vec.vocabulary_


def keep_ngrams(X, vocab: dict[str, int], ngram_max: int):
    """The columns of n-grams up to ``ngram_max`` words (a (1,3) matrix -> its (1,2) part)."""
    cols = np.array(sorted(i for g, i in vocab.items() if g.count(" ") < ngram_max))
    old_to_new = {old: new for new, old in enumerate(cols)}
    return X[:, cols], {g: old_to_new[i] for g, i in vocab.items() if i in old_to_new}


def tfidf(X_counts, idf: np.ndarray):
    """Sublinear TF-IDF with L2-normalised rows: x = (1 + log tf) · idf / ||.||."""
    from sklearn.preprocessing import normalize

    X = X_counts.astype(np.float32, copy=True)
    X.data = 1.0 + np.log(X.data)
    X = X.multiply(idf[None, :]).tocsr()
    return normalize(X, norm="l2", copy=False)


def smooth_idf(X_counts) -> np.ndarray:
    """idf_j = log((1 + n) / (1 + df_j)) + 1 (scikit-learn's smooth idf)."""
    n = X_counts.shape[0]
    df = np.bincount(X_counts.indices, minlength=X_counts.shape[1])
    return (np.log((1 + n) / (1 + df)) + 1).astype(np.float32)


def nb_ratio(F, y: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    """Naive Bayes log-count ratio r of binary features F (n, V) and labels y (1 = positive)."""
    p = alpha + np.asarray(F[y == 1].sum(0)).ravel()
    q = alpha + np.asarray(F[y == 0].sum(0)).ravel()
    return (np.log(p / p.sum()) - np.log(q / q.sum())).astype(np.float32)


@dataclass
class LinearModel:
    """A fitted linear sentiment model over named n-grams (either kind).

    kind "tfidf-lr": score = coef · tfidf(x) + bias,  p = σ(score)
    kind "nbsvm":    score = coef · 1[x] + bias (coef = r ∘ w', folded), p = σ(a · score + c) (Platt)
    """

    kind: str
    vocab: dict[str, int]
    coef: np.ndarray  # (V,)
    bias: float
    ngram_max: int
    idf: np.ndarray | None = None  # (V,), tfidf-lr only
    platt: tuple[float, float] = (1.0, 0.0)  # nbsvm: score -> probability

    def features(self, texts):
        vec = self.__dict__.get("_vectorizer")
        if vec is None:  # built once: scikit-learn checks a given vocabulary on every fresh vectorizer
            from sklearn.feature_extraction.text import CountVectorizer

            vec = CountVectorizer(
                analyzer=_analyzer(self.ngram_max), vocabulary=self.vocab, binary=self.kind == "nbsvm", dtype=np.float32
            )
            vec.vocabulary_, vec.fixed_vocabulary_ = self.vocab, True  # (its own check is slow on 10^6 n-grams)
            self.__dict__["_vectorizer"] = vec
        X = vec.transform(texts)
        return tfidf(X, self.idf) if self.kind == "tfidf-lr" else X

    def scores(self, texts) -> np.ndarray:
        return np.asarray(self.features(texts) @ self.coef.astype(np.float32)).ravel() + self.bias

    def predict_proba(self, texts) -> np.ndarray:
        """p(positive) for each text, shape (n,)."""
        a, c = self.platt
        return 1 / (1 + np.exp(-(a * self.scores(texts) + c)))

    def explain(self, text: str, k: int = 8) -> dict:
        """The n-grams of ``text`` with their contribution to the score (weight × feature value),
        the top ``k`` each way, and a score per token (each n-gram shared among its words)."""
        x = self.features([text]).tocsr()
        inv = getattr(self, "_inv", None) or {i: g for g, i in self.vocab.items()}
        self._inv = inv
        contrib = {inv[j]: float(v * self.coef[j]) for j, v in zip(x.indices, x.data, strict=False)}
        toks = tokenize(text)
        per_token = np.zeros(len(toks))
        for n in range(1, self.ngram_max + 1):
            for i in range(len(toks) - n + 1):
                g = " ".join(toks[i : i + n])
                if g in contrib:
                    # a repeated n-gram: its contribution is shared by its occurrences
                    per_token[i : i + n] += contrib[g] / n / max(1, _occurrences(toks, g, n))
        order = sorted(contrib.items(), key=lambda kv: kv[1])
        return {
            "tokens": toks,
            "token_scores": [round(float(s), 4) for s in per_token],
            "positive": [[g, round(v, 4)] for g, v in order[::-1][:k] if v > 0],
            "negative": [[g, round(v, 4)] for g, v in order[:k] if v < 0],
            "bias": round(float(self.bias), 4),
        }

    # -- storage: weights in safetensors (float16 where harmless), the vocabulary as gzip text --
    def tensors(self) -> dict:
        import torch

        t = {
            "coef": torch.from_numpy(self.coef.astype(np.float16)),
            "bias": torch.tensor([self.bias], dtype=torch.float32),
            "platt": torch.tensor(self.platt, dtype=torch.float32),
        }
        if self.idf is not None:
            t["idf"] = torch.from_numpy(self.idf.astype(np.float16))
        return t

    def vocab_bytes(self) -> bytes:
        """The n-grams in column order, one a line, xz-compressed (``vocab.txt.xz``)."""
        return pack_words(sorted(self.vocab, key=self.vocab.get))

    @classmethod
    def from_files(cls, kind: str, ngram_max: int, tensors: dict, vocab_xz: bytes) -> "LinearModel":
        words = unpack_words(vocab_xz)
        idf = tensors.get("idf")
        return cls(
            kind=kind,
            vocab={w: i for i, w in enumerate(words)},
            coef=tensors["coef"].float().numpy(),
            bias=float(tensors["bias"][0]),
            ngram_max=ngram_max,
            idf=None if idf is None else idf.float().numpy(),
            platt=tuple(float(v) for v in tensors["platt"]),
        )


def pack_words(words) -> bytes:
    return lzma.compress("\n".join(words).encode("utf-8"), preset=9 | lzma.PRESET_EXTREME)


def unpack_words(blob: bytes) -> list[str]:
    return lzma.decompress(blob).decode("utf-8").split("\n")


def _occurrences(toks: list[str], gram: str, n: int) -> int:
    return sum(" ".join(toks[i : i + n]) == gram for i in range(len(toks) - n + 1))


def accuracy(model: LinearModel, texts, labels) -> float:
    return float(((model.predict_proba(texts) >= 0.5).astype(int) == labels).mean())


# ------------------------------------------------------------------------------------------------
# Training: every choice on the validation split, then one refit on the whole official train split


def train_tfidf_lr(
    splits, ngram_grid=(2, 3), C_grid=(4.0, 8.0, 16.0, 32.0), min_df: int = 2, log=print
) -> tuple[LinearModel, dict]:
    """Choose n-gram length and C on val; refit on train+val with them. -> (model, record)."""
    from sklearn.linear_model import LogisticRegression

    t0 = time.perf_counter()
    tr, va = splits["train"], splits["val"]
    X3, vocab3 = fit_counts(tr.texts, max(ngram_grid), min_df, binary=False)
    V3 = count_matrix(va.texts, vocab3, max(ngram_grid), binary=False)
    grid = []
    for ng in ngram_grid:
        X, vocab = keep_ngrams(X3, vocab3, ng) if ng < max(ngram_grid) else (X3, vocab3)
        V = keep_ngrams(V3, vocab3, ng)[0] if ng < max(ngram_grid) else V3
        idf = smooth_idf(X)
        Xt, Vt = tfidf(X, idf), tfidf(V, idf)
        for C in C_grid:
            clf = LogisticRegression(C=C, solver="liblinear", max_iter=1000).fit(Xt, tr.labels)
            acc = float((clf.predict(Vt) == va.labels).mean())
            grid.append({"ngram_max": ng, "C": C, "val_acc": acc})
            log(f"tfidf-lr ngram 1-{ng} C={C}: val {acc:.4f}")
    best = max(grid, key=lambda g: g["val_acc"])
    full = splits["train_full"]
    X, vocab = fit_counts(full.texts, best["ngram_max"], min_df, binary=False)
    idf = smooth_idf(X)
    clf = LogisticRegression(C=best["C"], solver="liblinear", max_iter=1000).fit(tfidf(X, idf), full.labels)
    model = LinearModel(
        "tfidf-lr", vocab, clf.coef_.ravel().astype(np.float32), float(clf.intercept_[0]), best["ngram_max"], idf=idf
    )
    return model, {
        "grid": grid,
        "chosen": best,
        "min_df": min_df,
        "n_features": len(vocab),
        "train_s": round(time.perf_counter() - t0, 1),
    }


def _svm_weights(clf, beta: float) -> np.ndarray:
    w = clf.coef_.ravel()
    return (1 - beta) * np.abs(w).mean() + beta * w  # Wang & Manning's interpolation


def train_nbsvm(
    splits,
    ngram_grid=(2, 3),
    C_grid=(0.1, 0.3, 1.0),
    beta_grid=(0.25, 0.5, 0.75, 1.0),
    alpha: float = 1.0,
    min_df: int = 2,
    log=print,
) -> tuple[LinearModel, dict]:
    """NBSVM with n-grams, C and β chosen on val; refit on train+val. -> (model, record)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import LinearSVC

    t0 = time.perf_counter()
    tr, va = splits["train"], splits["val"]
    F3, vocab3 = fit_counts(tr.texts, max(ngram_grid), min_df, binary=True)
    G3 = count_matrix(va.texts, vocab3, max(ngram_grid), binary=True)
    grid = []
    for ng in ngram_grid:
        F, _ = keep_ngrams(F3, vocab3, ng) if ng < max(ngram_grid) else (F3, vocab3)
        G = keep_ngrams(G3, vocab3, ng)[0] if ng < max(ngram_grid) else G3
        r = nb_ratio(F, tr.labels, alpha)
        Fr, Gr = F.multiply(r[None, :]).tocsr(), G.multiply(r[None, :]).tocsr()
        for C in C_grid:
            clf = LinearSVC(C=C, max_iter=5000).fit(Fr, tr.labels)
            for beta in beta_grid:
                s = Gr @ _svm_weights(clf, beta) + clf.intercept_[0]
                acc = float(((s > 0).astype(int) == va.labels).mean())
                grid.append({"ngram_max": ng, "C": C, "beta": beta, "val_acc": acc})
            log(f"nbsvm ngram 1-{ng} C={C}: val {max(g['val_acc'] for g in grid[-len(beta_grid) :]):.4f}")
    best = max(grid, key=lambda g: g["val_acc"])
    # Platt scaling (score -> probability), fitted on the validation scores of the chosen setting
    ng = best["ngram_max"]
    F, _ = keep_ngrams(F3, vocab3, ng) if ng < max(ngram_grid) else (F3, vocab3)
    G = keep_ngrams(G3, vocab3, ng)[0] if ng < max(ngram_grid) else G3
    r = nb_ratio(F, tr.labels, alpha)
    clf = LinearSVC(C=best["C"], max_iter=5000).fit(F.multiply(r[None, :]).tocsr(), tr.labels)
    s_val = G.multiply(r[None, :]).tocsr() @ _svm_weights(clf, best["beta"]) + clf.intercept_[0]
    platt = LogisticRegression(C=1e4).fit(s_val[:, None], va.labels)
    # final: the whole official train split
    full = splits["train_full"]
    F, vocab = fit_counts(full.texts, ng, min_df, binary=True)
    r = nb_ratio(F, full.labels, alpha)
    clf = LinearSVC(C=best["C"], max_iter=5000).fit(F.multiply(r[None, :]).tocsr(), full.labels)
    coef = (r * _svm_weights(clf, best["beta"])).astype(np.float32)
    model = LinearModel(
        "nbsvm", vocab, coef, float(clf.intercept_[0]), ng, platt=(float(platt.coef_[0, 0]), float(platt.intercept_[0]))
    )
    return model, {
        "grid": grid,
        "chosen": best,
        "alpha": alpha,
        "min_df": min_df,
        "n_features": len(vocab),
        "train_s": round(time.perf_counter() - t0, 1),
    }
