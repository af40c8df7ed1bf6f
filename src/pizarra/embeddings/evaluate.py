"""Evaluate word vectors: analogy accuracy (overall, by section, with coverage) on gensim-format
question files, and Spearman correlation with human word-similarity judgements.

Analogy files (gensim / Mikolov format): ``: section`` lines, then ``a b c d`` lines meaning
a : b :: c : d. A question is *covered* when its four words are in the vocabulary; accuracy is
counted on covered questions (as gensim does), and ``coverage`` = covered / all, so a model with a
small vocabulary cannot look good by skipping the hard questions silently. The answer is the
3CosAdd argmax over the whole vocabulary, a, b and c excluded.

FastText vectors (``emb.subwords``) are also scored *with pieces*: a question word outside the
vocabulary gets its vector from its character n-grams, so every question is answered (coverage
100 %); the answer is still searched among the vocabulary's words, so a question whose answer is
not in the vocabulary counts as wrong.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from pizarra.embeddings.vectors import Embeddings, analogy_from_rows, analogy_scores
from pizarra.errors import AssetMissing, BadInput

ES_ANALOGIES = "word_eval_es/questions-words_es_udelar.txt"
EN_ANALOGIES = "word_eval_en/questions-words.txt"


def read_analogies(path: str | Path) -> list[tuple[str, list[tuple[str, str, str, str]]]]:
    """[(section, [(a, b, c, d), ...]), ...] from a gensim-format file (lowercased)."""
    path = Path(path)
    if not path.is_file():
        raise AssetMissing(path.name, f"Analogy file {path} does not exist.", key="err.no_file", path=str(path))
    sections: list[tuple[str, list]] = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith(":"):
            sections.append((line[1:].strip(), []))
            continue
        parts = line.lower().split()
        if len(parts) != 4:
            raise BadInput(f"{path}:{n}: an analogy line needs 4 words, got {len(parts)}: {line!r}")
        if not sections:
            sections.append(("default", []))
        sections[-1][1].append(tuple(parts))
    if not any(qs for _, qs in sections):
        raise BadInput(f"{path} holds no analogy questions.")
    return sections


def _tally(method: str, sections, answer) -> dict:
    """Per-section and overall counts; ``answer(questions)`` -> (correct, covered) for one section."""
    out: dict = {"method": method, "sections": {}}
    total_correct = total_covered = total = 0
    for name, questions in sections:
        correct, covered = answer(questions)
        out["sections"][name] = {
            "accuracy": correct / covered if covered else None,
            "coverage": covered / len(questions),
            "correct": correct,
            "covered": covered,
            "total": len(questions),
        }
        total_correct += correct
        total_covered += covered
        total += len(questions)
    out.update(
        accuracy=total_correct / total_covered if total_covered else None,
        coverage=total_covered / total if total else 0.0,
        correct=total_correct,
        covered=total_covered,
        total=total,
    )
    return out


def eval_analogies(
    emb: Embeddings, sections, method: str = "3cosadd", batch: int = 256, restrict: int | None = None
) -> dict:
    """``{"accuracy", "coverage", "correct", "covered", "total", "sections": {name: {...}}}``.
    ``restrict``: search answers only among the ``restrict`` most frequent words (rows first)."""
    unit = emb.unit if restrict is None else emb.unit[:restrict]
    index = emb.index if restrict is None else {w: i for w, i in emb.index.items() if i < restrict}

    def answer(questions) -> tuple[int, int]:
        q = [tuple(index.get(w) for w in quad) for quad in questions]
        q = np.array([x for x in q if None not in x], dtype=np.int64).reshape(-1, 4)
        correct = 0
        for s in range(0, len(q), batch):
            a, b, c, d = q[s : s + batch].T
            scores = analogy_scores(unit, a, b, c, method)  # (B, V)
            rows = np.arange(len(a))
            scores[rows, a] = scores[rows, b] = scores[rows, c] = -np.inf
            correct += int((scores.argmax(1) == d).sum())
        return correct, len(q)

    return _tally(method, sections, answer)


def eval_analogies_pieces(emb: Embeddings, sections, method: str = "3cosadd", batch: int = 256) -> dict:
    """``eval_analogies`` where a, b and c may be built from their pieces (FastText)."""

    def answer(questions) -> tuple[int, int]:
        q = [quad for quad in questions if all(emb.known(w) or emb.from_pieces(w) for w in quad[:3])]
        correct = 0
        for s in range(0, len(q), batch):
            chunk = q[s : s + batch]
            ra, rb, rc = (emb.rows([quad[j] for quad in chunk]) for j in range(3))
            scores = analogy_from_rows(emb.unit, ra, rb, rc, method)  # (B, V)
            for r, quad in enumerate(chunk):
                scores[r, [emb.index[w] for w in quad[:3] if w in emb.index]] = -np.inf
            answer_ids = np.array([emb.index.get(quad[3], -1) for quad in chunk])
            correct += int((scores.argmax(1) == answer_ids).sum())
        return correct, len(q)

    return _tally(method, sections, answer)


def read_similarity(path: str | Path) -> list[tuple[str, str, float]]:
    """Word pairs with a human score. Formats: ``w1<TAB>w2<TAB>score`` (``#`` comments), or the
    UdelaR ``;``-separated CSVs with ``ES.1``/``ES.2`` and ``score`` (SimLex: ``SimLex999``)."""
    path = Path(path)
    if not path.is_file():
        raise AssetMissing(path.name, f"Word-similarity file {path} does not exist.", key="err.no_file", path=str(path))
    text = path.read_text(encoding="utf-8")
    pairs = []
    if path.suffix == ".csv":
        rows = csv.DictReader(text.splitlines(), delimiter=";")
        col = "SimLex999" if "SimLex999" in (rows.fieldnames or []) else "score"
        for r in rows:
            pairs.append((r["ES.1"].strip().lower(), r["ES.2"].strip().lower(), float(r[col])))
    else:
        for line in text.splitlines():
            if not line.strip() or line.startswith("#"):
                continue
            w1, w2, score = line.split("\t")[:3]
            pairs.append((w1.strip().lower(), w2.strip().lower(), float(score)))
    return pairs


def eval_similarity(emb: Embeddings, pairs, pieces: bool = False) -> dict:
    """Spearman's ρ between human scores and cosine similarity, on covered pairs (``pieces``: a word
    outside the vocabulary built from its pieces counts as covered, FastText)."""
    from scipy.stats import spearmanr

    def ok(w: str) -> bool:
        return emb.known(w) or (pieces and emb.from_pieces(w))

    covered = [(a, b, s) for a, b, s in pairs if ok(a) and ok(b)]
    if len(covered) < 3:
        return {"spearman": None, "coverage": len(covered) / max(len(pairs), 1), "pairs": len(pairs)}
    a, b, human = zip(*covered, strict=True)
    cos = (emb.rows(list(a)) * emb.rows(list(b))).sum(1)
    rho = spearmanr(np.array(human), cos).statistic
    return {"spearman": float(rho), "coverage": len(covered) / len(pairs), "covered": len(covered), "pairs": len(pairs)}


def default_files(lang: str, data: Path) -> tuple[Path, dict[str, Path]]:
    if lang == "es":
        sim = data / "word_eval_es" / "pln_udelar" / "similarity"
        return data / ES_ANALOGIES, {
            "mc30": sim / "MC30_v2.csv",
            "ws353": sim / "WS353_v2.csv",
            "simlex999": sim / "SimLex-999_v1.csv",
        }
    return data / EN_ANALOGIES, {
        "ws353": data / "word_eval_en" / "wordsim353.tsv",
        "simlex999": data / "word_eval_en" / "simlex999.txt",
    }


def evaluate(
    emb: Embeddings,
    analogies: str | Path | None = None,
    similarity: dict | None = None,
    data: str | Path | None = None,
    method: str = "3cosadd",
) -> dict:
    """The ``pizarra embeddings eval`` result: ``{"vectors", "analogies", "similarity"}``.
    Default files come from ``PIZARRA_DATA`` (Spanish sets for Spanish vectors, English for GloVe)."""
    from pizarra.config import data_dir

    root = Path(data) if data is not None else data_dir()
    if analogies is None and root is None:
        raise AssetMissing(
            "word_eval",
            "The evaluation sets live in the data folder: set PIZARRA_DATA (or pass --analogies FILE).",
            key="err.embeddings.eval_data",
        )
    if root is not None:
        default_a, default_s = default_files(emb.lang, root)
        analogies = analogies if analogies is not None else default_a
        similarity = similarity if similarity is not None else ({} if analogies != default_a else default_s)
    result = {
        "vectors": emb.name,
        "words": len(emb),
        "dim": emb.dim,
        "analogies": {"file": str(analogies), **eval_analogies(emb, read_analogies(analogies), method)},
        "similarity": {},
    }
    for name, path in (similarity or {}).items():
        if Path(path).is_file():
            result["similarity"][name] = eval_similarity(emb, read_similarity(path))
    if emb.subwords is not None:
        result["with_pieces"] = {
            "analogies": eval_analogies_pieces(emb, read_analogies(analogies), method),
            "similarity": {
                name: eval_similarity(emb, read_similarity(path), pieces=True)
                for name, path in (similarity or {}).items()
                if Path(path).is_file()
            },
        }
    return result
