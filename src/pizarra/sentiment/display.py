"""What the explanation shows: the reader's own review, with each token the model read laid on it.

The models read ``data.tokenize(text)``: lowercased English tokens made of a-z and 0-9 ("n't",
clitics, ! and ?). Shown joined by spaces, a Spanish review loses its accents ("película" -> "pel cula").
``segments`` puts the tokens back on the original text instead, so the page shows the student's own
words, and says plainly what the model did not read:

    segments("Una película", ["una", "pel", "cula"], [0.1, 0.0, -0.2], known=lambda w: w != "cula")
    -> [{"text": "Una", "token": 0, "score": 0.1}, {"text": " "},
        {"text": "pel", "token": 1, "score": 0.0}, {"text": "í", "ignored": True},
        {"text": "cula", "token": 2, "score": -0.2, "unknown": True}]

A segment is a token the model read (``token``: its index in the explanation, ``score``; ``unknown``
when the word is not in the model's vocabulary), a token it never reached (``skipped``: the middle of
a review longer than the network reads), a letter or digit its tokenizer cannot see (``ignored``), or
the text in between. Their texts, joined, are the review exactly.
"""

from __future__ import annotations

from collections.abc import Callable

from pizarra.sentiment import data


def _cleaned(text: str) -> str:
    """What ``data.tokenize`` reads, character for character: ``<br />`` blanked, lowercase, ’ as '."""
    s = data._BR.sub(lambda m: " " * len(m.group()), text)  # as data.clean, keeping every offset
    return "".join(c.lower() if len(c.lower()) == 1 else c for c in s).replace("’", "'")


def token_spans(text: str) -> list[tuple[str, int, int]] | None:
    """``data.tokenize(text)`` with each token's (start, end) in ``text``; None if they cannot be matched
    (a character whose lowercase is longer than itself, such as "İ")."""
    spans = [(m.group(), m.start(), m.end()) for m in data._TOKEN.finditer(_cleaned(text))]
    return spans if [t for t, _, _ in spans] == data.tokenize(text) else None


def _read_positions(n_all: int, read: list[str], every: list[str]) -> list[int | None] | None:
    """For each of the review's tokens, its index among the tokens the model read (None: not read).
    The neural models read the first and the last tokens of a long review (``data.head_tail``)."""
    if read == every:
        return list(range(n_all))
    n = len(read)
    if n >= n_all:
        return None
    for head in [n // 4, *range(n + 1)]:
        if read == every[:head] + every[n_all - (n - head) :]:
            return [*range(head), *[None] * (n_all - n), *range(head, n)]
    return None


def _gap(text: str, cleaned: str) -> list[dict]:
    """Text between tokens: letters and digits the tokenizer dropped are marked ``ignored``
    (``cleaned``: the same text as the tokenizer sees it, where a ``<br />`` is blank)."""
    out: list[dict] = []
    for ch, seen in zip(text, cleaned, strict=True):
        ignored = seen.isalnum()
        if out and bool(out[-1].get("ignored")) == ignored:
            out[-1]["text"] += ch
        else:
            out.append({"text": ch, **({"ignored": True} if ignored else {})})
    return out


def segments(
    text: str, tokens: list[str], scores: list[float], known: Callable[[str], bool] | None = None
) -> list[dict] | None:
    """The review ``text`` cut into segments (see the module's docstring); None if the explanation's
    ``tokens`` are not the tokens of ``text`` (then the page shows the tokens alone)."""
    spans, cleaned = token_spans(text), _cleaned(text)
    if spans is None:
        return None
    positions = _read_positions(len(spans), list(tokens), [t for t, _, _ in spans])
    if positions is None:
        return _gap(text, cleaned) if not spans and list(tokens) == ["<unk>"] else None  # nothing it could read
    out: list[dict] = []
    end = 0
    for (tok, a, z), i in zip(spans, positions, strict=True):
        out += _gap(text[end:a], cleaned[end:a])
        if i is None:
            seg: dict = {"text": text[a:z], "skipped": True}
        else:
            seg = {"text": text[a:z], "token": i, "score": scores[i] if i < len(scores) else 0.0}
            if known is not None and not known(tok):
                seg["unknown"] = True
        out.append(seg)
        end = z
    return out + _gap(text[end:], cleaned[end:])


def knows(model) -> Callable[[str], bool] | None:
    """Whether a shipped model has a word in its vocabulary: the n-gram columns of a linear model,
    the word ids of a neural one (an unknown word is read as ``<unk>``)."""
    vocab = getattr(model, "vocab", None)
    if isinstance(vocab, dict):
        return vocab.__contains__
    stoi = getattr(vocab, "stoi", None)
    return stoi.__contains__ if isinstance(stoi, dict) else None


def predict_shown(text: str, models=None, explain: bool = True, k: int = 8) -> dict:
    """``predict.predict``, each explanation with the ``segments`` of the review the models read."""
    from pizarra.sentiment import shipped
    from pizarra.sentiment.predict import predict

    out = predict(text, models, explain, k)
    read, _ = data.check_review(text)  # the text the models read (cut past data.MAX_CHARS)
    for name, r in out["models"].items():
        ex = r.get("explain")
        if ex:
            ex["segments"] = segments(read, ex["tokens"], ex["token_scores"], knows(shipped.load(name)))
    return out
