"""Byte-level BPE (Sennrich et al. 2016; GPT-2's byte-level variant) trained with HF ``tokenizers``.

Training starts from the 256 byte values and repeatedly merges the most frequent adjacent pair
into a new token, until the vocabulary has ``vocab_size`` tokens. The merges are learned in order,
so a tokenizer with a smaller vocabulary is simply the first merges of a bigger one:
``load_bpe(vocab_size=1000)`` truncates the shipped 16k tokenizer instead of training again.

    python -m pizarra.text.bpe --vocab-size 16000        # train on the Spanish corpus, save artifact bpe-es
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from functools import lru_cache

from pizarra.errors import BadInput

ARTIFACT = "bpe-es"
MIN_VOCAB = 260  # 256 bytes + the special token + a few merges
SPECIALS = ["<|endoftext|>"]


def train_bpe(texts, vocab_size: int = 16000, min_frequency: int = 2):
    """A byte-level BPE ``tokenizers.Tokenizer`` trained on an iterator of strings."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=SPECIALS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=True,
    )
    tok.train_from_iterator(texts, trainer=trainer)
    return tok


def truncate(tokenizer_json: str, vocab_size: int):
    """The same tokenizer with only its first ``vocab_size`` tokens (and the merges that made them)."""
    from tokenizers import Tokenizer

    spec = json.loads(tokenizer_json)
    vocab = spec["model"]["vocab"]
    if not MIN_VOCAB <= vocab_size <= len(vocab):
        raise BadInput(
            f"BPE vocabulary size must be between {MIN_VOCAB} and {len(vocab)} (got {vocab_size}).",
            key="err.text.bpe_vocab",
            lo=MIN_VOCAB,
            hi=len(vocab),
            value=str(vocab_size),
        )
    spec["model"]["vocab"] = {t: i for t, i in vocab.items() if i < vocab_size}
    n_base = len(vocab) - len(spec["model"]["merges"])  # specials + byte alphabet
    spec["model"]["merges"] = spec["model"]["merges"][: vocab_size - n_base]
    return Tokenizer.from_str(json.dumps(spec))


_lock = threading.Lock()


@lru_cache(maxsize=16)
def _load(vocab_size: int | None):
    from pizarra.assets.artifacts import load_artifact

    art = load_artifact(ARTIFACT)
    text = art.file("tokenizer.json").read_text(encoding="utf-8")
    if vocab_size is None:
        from tokenizers import Tokenizer

        return Tokenizer.from_str(text)
    return truncate(text, vocab_size)


def load_bpe(vocab_size: int | None = None):
    """The shipped Spanish byte-level BPE (16k tokens), or its first ``vocab_size`` tokens."""
    with _lock:
        return _load(vocab_size)


def bpe_bytes(text: str, vocab_size: int | None = None) -> tuple[list[bytes], list[int]]:
    """(each token's raw bytes, ids). A token may hold only part of a character's UTF-8 bytes."""
    from pizarra.text.pieces import token_bytes

    tok = load_bpe(vocab_size)
    enc = tok.encode(text)
    return [token_bytes(t) for t in enc.tokens], list(enc.ids)


def bpe_tokens(text: str, vocab_size: int | None = None) -> tuple[list[str], list[int]]:
    """(readable token strings, ids). Byte-level tokens show a space as 'Ġ'; we show it as '▁', and a
    byte that is only part of a character as ``‹C3›`` (see :mod:`pizarra.text.pieces`)."""
    from pizarra.text.pieces import readable

    raw, ids = bpe_bytes(text, vocab_size)
    return [readable(b) for b in raw], ids


def add_comparison(name: str = ARTIFACT) -> None:
    """Rewrite the card of the shipped tokenizer with the tokens-per-word table
    (``pizarra.text.tokenizers.compare``: ours at 16k/4k/1k, Gemma 3, SmolLM2, chars, words)."""
    from pizarra.assets.artifacts import load_artifact, save_artifact
    from pizarra.text.tokenizers import compare

    art = load_artifact(name)
    card = art.card
    table = compare()
    metrics = {
        **(card.get("metrics") or {}),
        "tokens_per_word": table["rows"],
        "compare_words": table["words"],
        "compare_samples": table["samples"],
    }
    save_artifact(
        name,
        files={"tokenizer.json": art.file("tokenizer.json").read_bytes()},
        config=card["config"],
        data=card["data"],
        metrics=metrics,
        command=card["command"],
    )
    print(json.dumps(metrics, indent=1, ensure_ascii=False))


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description="Train the Spanish byte-level BPE (needs PIZARRA_DATA).")
    p.add_argument("--vocab-size", type=int, default=16000)
    p.add_argument("--name", default=ARTIFACT)
    p.add_argument(
        "--compare-only",
        action="store_true",
        help="Keep the trained tokenizer; add the tokens-per-word table to its card.",
    )
    a = p.parse_args(argv)
    if a.compare_only:
        return add_comparison(a.name)
    from pizarra.assets.artifacts import save_artifact
    from pizarra.assets.datasets import spanish_corpus_texts

    stats = {"docs": 0, "chars": 0}

    def texts():
        for _, _, text in spanish_corpus_texts():
            stats["docs"] += 1
            stats["chars"] += len(text)
            for i in range(0, len(text), 100_000):
                yield text[i : i + 100_000]

    t0 = time.time()
    tok = train_bpe(texts(), a.vocab_size)
    seconds = time.time() - t0
    sample = "El ingenioso hidalgo don Quijote de la Mancha vivía en un lugar de cuyo nombre no quiero acordarme."
    art = save_artifact(
        a.name,
        files={"tokenizer.json": tok.to_str().encode("utf-8")},
        config={
            "kind": "byte-level BPE",
            "vocab_size": tok.get_vocab_size(),
            "min_frequency": 2,
            "special_tokens": SPECIALS,
            "library": "tokenizers",
        },
        data={"corpus": "pizarra.assets.datasets.spanish_corpus_texts(): quijote + conha19 + cligs + news", **stats},
        metrics={
            "train_seconds": round(seconds, 1),
            "sample": sample,
            "sample_tokens": len(tok.encode(sample).ids),
            "sample_words": len(sample.split()),
        },
        command=f"python -m pizarra.text.bpe --vocab-size {a.vocab_size} --name {a.name}",
    )
    print(json.dumps(art.card, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
