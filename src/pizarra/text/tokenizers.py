"""Text → tokens, five ways, and how many tokens per word each one needs.

    tokenize("¿Qué hora es?", "chars")        -> ['¿', 'Q', 'u', 'é', ' ', 'h', ...]
    tokenize("¿Qué hora es?", "words")        -> ['¿', 'Qué', 'hora', 'es', '?']
    tokenize("el gato", "word-ngrams", n=2)   -> ['el gato']
    tokenize("gato", "char-ngrams", n=3)      -> ['gat', 'ato']
    tokenize("¿Qué hora es?", "bpe")          -> ['¿', 'Qué', '▁hora', '▁es', '?']   (ours, trained here)
    tokenize("¿Qué hora es?", "gemma")        -> Gemma 3's tokenizer (262k tokens), via llama.cpp
    compare(SAMPLES)                          -> tokens per word of every tokenizer on Spanish and English

Every result: ``{"kind", "tokens": [...], "ids": [...] | None, "n_tokens", "n_words", "tokens_per_word",
"pieces"}``. ``pieces`` (subword tokenizers only, else None): each token's bytes, and the characters
it cuts when it holds only part of one (``‹C3›`` + ``‹A9›`` = "é"; see :mod:`pizarra.text.pieces`).
"""

from __future__ import annotations

import atexit
import threading

from pizarra.errors import BadInput
from pizarra.text.bpe import bpe_bytes
from pizarra.text.pieces import pieces, readable
from pizarra.text.words import words

KINDS = ("chars", "words", "word-ngrams", "char-ngrams", "bpe", "gemma", "smollm2")
LLM_TOKENIZERS = {"gemma": "gemma-base", "smollm2": "smollm2"}
MAX_CHARS = 5000
MAX_N = 6

SAMPLES = {
    "es": "En un lugar de la Mancha, de cuyo nombre no quiero acordarme, no ha mucho tiempo que vivía un "
    "hidalgo de los de lanza en astillero, adarga antigua, rocín flaco y galgo corredor. ¿Qué hora es? "
    "¡Son las 10:30 y el pingüino todavía no desayunó!",
    "en": "It was the best of times, it was the worst of times, it was the age of wisdom, it was the age of "
    "foolishness. What time is it? It's 10:30 and the penguin still hasn't had breakfast!",
}


def ngrams(tokens: list[str], n: int, sep: str = " ") -> list[str]:
    """Consecutive groups of ``n`` tokens: ngrams(['a','b','c'], 2) -> ['a b', 'b c']."""
    return [sep.join(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]


def char_ngrams(text: str, n: int) -> list[str]:
    """Character n-grams of each word (fastText-style, without the < > marks)."""
    out = []
    for w in words(text):
        out += [w] if len(w) <= n else ngrams(list(w), n, sep="")
    return out


_llm_lock = threading.Lock()


_vocab_cache: dict = {}


def _vocab_only(name: str):
    """Only the tokenizer of a GGUF model (llama.cpp ``vocab_only``: no weights in memory).
    Call with ``_llm_lock`` held."""
    if name not in _vocab_cache:
        from pizarra.assets.models import gguf_path
        from pizarra.llm import native

        # vocab_only: the tokenizer alone, no weights and no forward pass, so it may live in this process
        _vocab_cache[name] = native.llama(gguf_path(LLM_TOKENIZERS[name]), vocab_only=True)
    return _vocab_cache[name]


@atexit.register
def _close_vocab_only() -> None:
    """Free llama.cpp's tokenizers before interpreter teardown (their __del__ fails once the
    C library's bindings are gone, printing a harmless but alarming traceback)."""
    while _vocab_cache:
        _, llm = _vocab_cache.popitem()
        try:
            llm.close()
        except Exception:  # noqa: BLE001 - best effort at exit
            pass


def llm_bytes(name: str, text: str) -> tuple[list[bytes], list[int]]:
    """(each token's raw bytes, ids) of ``text`` with Gemma's or SmolLM2's own tokenizer (no BOS).
    A token can be part of a multi-byte character (Gemma's byte fallback, SmolLM2's byte-level BPE)."""
    with _llm_lock:
        llm = _vocab_only(name)
        ids = llm.tokenize(text.encode("utf-8"), add_bos=False, special=False)
        raw = [llm.detokenize([i]) for i in ids]
    return raw, list(ids)


def llm_tokens(name: str, text: str) -> tuple[list[str], list[int]]:
    """(readable token strings, ids): a byte that is only part of a character shows as ``‹C3›``."""
    raw, ids = llm_bytes(name, text)
    return [readable(b) for b in raw], ids


def tokenize(text: str, kind: str = "words", n: int = 2, vocab_size: int | None = None, lower: bool = False) -> dict:
    """Tokens of ``text`` for one tokenizer ``kind`` (see ``KINDS``)."""
    if not isinstance(text, str) or not text.strip():
        raise BadInput("The text is empty: write a sentence to tokenize.", key="err.text.empty_tokenize")
    if len(text) > MAX_CHARS:
        raise BadInput(
            f"The text is too long ({len(text)} characters; at most {MAX_CHARS}).",
            key="err.text.too_long",
            n=len(text),
            limit=MAX_CHARS,
        )
    if kind not in KINDS:
        raise BadInput(
            f"Unknown tokenizer '{kind}': choose {', '.join(KINDS)}.",
            key="err.text.unknown_tokenizer",
            kind=kind,
            allowed=KINDS,
        )
    if not 1 <= n <= MAX_N:
        raise BadInput(
            f"n must be between 1 and {MAX_N} (got {n}).", key="err.range", name="n", lo=1, hi=MAX_N, value=str(n)
        )
    if lower:
        text = text.lower()
    ids, shown = None, None
    if kind == "chars":
        tokens = list(text)
    elif kind == "words":
        tokens = words(text)
    elif kind == "word-ngrams":
        tokens = ngrams(words(text), n)
    elif kind == "char-ngrams":
        tokens = char_ngrams(text, n)
    else:  # subword tokenizers work on bytes: a token may hold part of a character
        raw, ids = bpe_bytes(text, vocab_size) if kind == "bpe" else llm_bytes(kind, text)
        shown = pieces(raw)
        tokens = [p["text"] for p in shown]
    n_words = len([w for w in words(text) if any(ch.isalnum() for ch in w)])
    return {
        "kind": kind,
        "tokens": tokens,
        "ids": ids,
        "n_tokens": len(tokens),
        "n_words": n_words,
        "tokens_per_word": round(len(tokens) / n_words, 3) if n_words else None,
        "pieces": shown,
        **({"n": n} if kind.endswith("ngrams") else {}),
        **({"vocab_size": vocab_size or load_vocab_size()} if kind == "bpe" else {}),
    }


def load_vocab_size() -> int:
    from pizarra.text.bpe import load_bpe

    return load_bpe().get_vocab_size()


def vocab_sizes() -> dict[str, int | None]:
    """Vocabulary size of each subword tokenizer (None for the open-ended ones)."""
    out = {"chars": None, "words": None, "word-ngrams": None, "char-ngrams": None, "bpe": load_vocab_size()}
    for name in LLM_TOKENIZERS:
        with _llm_lock:
            out[name] = _vocab_only(name).n_vocab()
    return out


def compare(
    samples: dict[str, str] | None = None, kinds=("chars", "words", "bpe", "gemma", "smollm2"), bpe_sizes=(1000, 4000)
) -> dict:
    """``{"rows": [{"tokenizer", "vocab_size", "es": tokens/word, "en": tokens/word}], "samples": {...}}``:
    how many tokens each tokenizer needs per word, on Spanish and English text."""
    samples = samples or SAMPLES
    sizes = vocab_sizes()
    rows = []
    variants = [(k, None) for k in kinds]
    if "bpe" in kinds:
        variants += [("bpe", s) for s in bpe_sizes]
    for kind, vs in variants:
        row = {"tokenizer": kind if vs is None else f"bpe-{vs // 1000}k", "vocab_size": vs or sizes.get(kind)}
        for lang, text in samples.items():
            r = tokenize(text, kind, vocab_size=vs)
            row[lang] = r["tokens_per_word"]
            row[f"{lang}_tokens"] = r["n_tokens"]
        rows.append(row)
    return {
        "rows": rows,
        "samples": samples,
        "words": {lang: tokenize(text, "words")["n_words"] for lang, text in samples.items()},
    }
