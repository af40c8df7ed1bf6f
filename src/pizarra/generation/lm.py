"""One small interface for every language model of the chapter, trained here or pretrained.

    lm = get_model("gpt")                 # "ngram" | "lstm" | "gpt" | "gemma-base" | "smollm2" | path.gguf
    ids = lm.start() + lm.encode("Me voy a la")
    p = lm.probs(ids)                     # (V,) float64: p(next token | ids), the FULL softmax
    lm.logprobs(ids)                      # [log p(ids[i] | ids[:i]) for i = 1..n-1], for perplexity

The generative factorisation p(x_1..x_T) = Π_t p(x_t | x_<t) is all a language model is: the
table of next tokens, sampling, the one-word-per-key mode, the tree of samples and perplexity
(``generate.py``) are written once, against this interface.

Our models read the chapter-2 Spanish BPE (4,096 tokens) and start every text after
``<|endoftext|>``; the GGUF models (through ``pizarra.llm.runtime``) use their own tokenizer and
start after BOS.
"""

from __future__ import annotations

import threading

import numpy as np

from pizarra.errors import BadInput

TRAINED = ("ngram", "lstm", "gpt")
LABELS = {
    "ngram": "n-grama KN (3)",
    "lstm": "LSTM",
    "gpt": "mini-GPT",
    "gemma-base": "Gemma 3 270M",
    "smollm2": "SmolLM2 135M",
}


def model_names() -> tuple[str, ...]:
    from pizarra.llm.runtime import LLM_NAMES

    return (*LLM_NAMES, *TRAINED)


class LanguageModel:
    """Base class: ``probs`` is the one thing a model must provide."""

    name: str
    label: str
    kind: str
    vocab_size: int

    def encode(self, text: str) -> list[int]:
        raise NotImplementedError

    def start(self) -> list[int]:
        """The context before the first token of a text (end-of-text or BOS)."""
        raise NotImplementedError

    def token_text(self, token_id: int) -> str:
        raise NotImplementedError

    def decode(self, ids: list[int]) -> str:
        return "".join(self.token_text(i) for i in ids)

    def is_end(self, token_id: int) -> bool:
        return False

    def probs(self, ids: list[int], fresh: bool = False) -> np.ndarray:
        """p(next | ids) over the vocabulary. ``fresh``: compute it from nothing, never from a cache
        left by an earlier text (a number the class compares across page and CLI must not depend on
        what was asked before)."""
        raise NotImplementedError

    def logprobs(self, ids: list[int]) -> list[float]:
        """log p(ids[i] | ids[:i]) for every i ≥ 1 (the default asks ``probs`` once per token)."""
        return [float(np.log(max(self.probs(ids[:i])[ids[i]], 1e-300))) for i in range(1, len(ids))]

    def describe(self) -> dict:
        return {"name": self.name, "label": self.label, "kind": self.kind, "vocab_size": self.vocab_size}


# ---------------------------------------------------------------------------------------- ours


class _BPEModel(LanguageModel):
    """Shared by the n-gram, LSTM and mini-GPT: the Spanish BPE cut to 4,096 tokens."""

    def __init__(self, name: str, card: dict):
        from pizarra.generation.neural import VOCAB_SIZE
        from pizarra.text.bpe import load_bpe

        self.name, self.label, self.kind, self.card = name, LABELS[name], name, card
        self.tok = load_bpe(VOCAB_SIZE)
        self.vocab_size = VOCAB_SIZE
        self.eot = self.tok.token_to_id("<|endoftext|>")
        self._texts: dict[int, str] = {}

    def encode(self, text: str) -> list[int]:
        return list(self.tok.encode(text).ids)

    def start(self) -> list[int]:
        return [self.eot]

    def token_text(self, token_id: int) -> str:
        t = self._texts.get(token_id)
        if t is None:
            t = self._texts[token_id] = self.tok.decode([int(token_id)], skip_special_tokens=False)
        return t

    def decode(self, ids: list[int]) -> str:
        return self.tok.decode([int(i) for i in ids], skip_special_tokens=False)

    def is_end(self, token_id: int) -> bool:
        return token_id == self.eot

    def describe(self) -> dict:
        return {
            **super().describe(),
            "metrics": {k: v for k, v in (self.card.get("metrics") or {}).items() if k != "history"},
        }


class NgramLM(_BPEModel):
    def __init__(self, card: dict, model):
        super().__init__("ngram", card)
        self.model = model

    def probs(self, ids: list[int], fresh: bool = False) -> np.ndarray:
        return self.model.probs(ids[-2:])


class TorchLM(_BPEModel):
    """LSTM or mini-GPT: one forward pass scores a whole sequence."""

    def __init__(self, name: str, card: dict, model):
        super().__init__(name, card)
        from pizarra.generation.neural import context_size

        self.model, self.context = model, context_size(model)

    def _logits(self, ids: list[int]):
        import torch

        x = torch.tensor([ids], dtype=torch.long)
        with torch.no_grad():
            logits, _ = self.model(x)
        return logits[0].double()  # (T, V)

    def probs(self, ids: list[int], fresh: bool = False) -> np.ndarray:
        ids = ids[-self.context :] if self.context else ids
        return self._logits(ids)[-1].softmax(-1).numpy()

    def logprobs(self, ids: list[int]) -> list[float]:
        import torch

        if not self.context or len(ids) <= self.context:
            lp = self._logits(ids).log_softmax(-1)  # (T, V)
            tgt = torch.tensor(ids[1:])
            return lp[:-1].gather(1, tgt[:, None])[:, 0].tolist()
        out: list[float] = []  # sliding windows: each new token sees at least context/2 tokens
        half = self.context // 2
        done = 1  # ids[0] is the start token, never scored
        while done < len(ids):
            lo = max(0, done - half) if done > 1 else 0
            hi = min(len(ids), lo + self.context)
            window = ids[lo:hi]
            lp = self._logits(window).log_softmax(-1)
            for j in range(done, hi):
                out.append(float(lp[j - lo - 1, ids[j]]))
            done = hi
        return out


# ---------------------------------------------------------------------------------------- GGUF


class GGUFLM(LanguageModel):
    """A llama.cpp model through the shared runtime (in its worker process); the worker reuses its KV
    cache for a growing prefix."""

    def __init__(self, name: str):
        from pizarra.llm import runtime as rt

        self.ref = rt.resolve(name)
        self.name, self.kind = self.ref.name, "gguf"
        self.label = LABELS.get(self.ref.name, self.ref.label)
        facts = rt.info(self.ref)
        self.vocab_size, self.bos, self.eos = facts["n_vocab"], facts["bos"], facts["eos"]
        self.n_params = facts["n_params"]
        self._texts: dict[int, str] = {}
        self._ends: dict[int, bool] = {}

    def encode(self, text: str) -> list[int]:
        from pizarra.llm import runtime as rt

        return rt.tokenize(self.ref, text, add_bos=False) if text else []

    def start(self) -> list[int]:
        return [self.bos]

    def token_text(self, token_id: int) -> str:
        t = self._texts.get(token_id)
        if t is None:
            from pizarra.llm import runtime as rt

            t = self._texts[token_id] = rt.token_text(self.ref, token_id)
        return t

    def decode(self, ids: list[int]) -> str:
        from pizarra.llm import runtime as rt

        return rt.detokenize(self.ref, [int(i) for i in ids if i != self.bos])

    def is_end(self, token_id: int) -> bool:
        end = self._ends.get(int(token_id))
        if end is None:
            from pizarra.llm import runtime as rt

            end = self._ends[int(token_id)] = rt.is_eog(self.ref, int(token_id))
        return end

    def probs(self, ids: list[int], fresh: bool = False) -> np.ndarray:
        from pizarra.llm import runtime as rt

        return rt.prefix_probs(self.ref, ids, fresh=fresh)

    def logprobs(self, ids: list[int], window: int = 1024) -> list[float]:
        """Chunks of ``window / 2`` new tokens, each after up to ``window / 2`` tokens of context;
        one llama.cpp batch returns the logits of every position of a chunk."""
        from pizarra.llm import runtime as rt

        return rt.sequence_logprobs(self.ref, ids, window=window)


# ---------------------------------------------------------------------------------------- loading

_loaded: dict[str, LanguageModel] = {}
_load_lock = threading.Lock()


def load_trained(name: str, root=None) -> LanguageModel:
    from pizarra.assets.artifacts import load_artifact
    from pizarra.generation.neural import ARTIFACTS, from_storage

    art = load_artifact(ARTIFACTS[name], root=root)
    if name == "ngram":
        from pizarra.generation.ngram import KneserNeyTrigram

        with np.load(art.file("ngram.npz")) as z:
            return NgramLM(art.card, KneserNeyTrigram.from_arrays(dict(z)))
    return TorchLM(name, art.card, from_storage(art.config["model"], art.state_dict()))


def get_model(name: str) -> LanguageModel:
    """The model ``name`` (loaded once per process). BadInput names the choices."""
    if not isinstance(name, str) or not name.strip():
        raise BadInput(f"Choose a model: {', '.join(model_names())}.", key="err.choose_model", allowed=model_names())
    name = name.strip()
    if name in _loaded:
        return _loaded[name]
    with _load_lock:
        if name not in _loaded:
            if name in TRAINED:
                _loaded[name] = load_trained(name)
            elif name.endswith(".gguf") or name in model_names():
                _loaded[name] = GGUFLM(name)
            else:
                raise BadInput(
                    f"Unknown model '{name}': choose {', '.join(model_names())} (or a path to a .gguf file).",
                    key="err.generation.unknown_model",
                    value=name,
                    allowed=model_names(),
                )
    return _loaded[name]
