"""A small formula language over word vectors, after bryanlohjy's *spacesheet*.

    LERP(mañana, noche, 0.5)          the point halfway between two words
    rey - hombre + mujer              arithmetic on vectors (and numbers)
    AVERAGE(perro, gato, caballo)     the mean of several vectors
    SLERP(a, b, t)  MINUS(a, b)  SUM(a, b, ...)  MUL(v, s)  DIST(a, b)  DOT(a, b)  SLIDER(t, lo, hi)

Grammar (words are letters; quote a word that looks like a function: "lerp"):

    expr   := term (("+" | "-") term)*
    term   := unary (("*" | "/") unary)*
    unary  := "-" unary | atom
    atom   := NUMBER | WORD | STRING | NAME "(" [expr ("," expr)*] ")" | "(" expr ")"

A value is a vector (d,) or a number. ``evaluate`` returns the value and the words used;
``decode`` turns a vector into its nearest words. Syntax errors raise BadInput pointing at the
position (1-based column) where parsing failed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from pizarra.errors import BadInput, Phrase

MAX_LEN = 500
MAX_DEPTH = 30  # nested parentheses / calls / unary minus (keeps recursion far from Python's limit)
TOKEN_RE = re.compile(
    r"\s*(?:(?P<num>\d+(?:\.\d+)?|\.\d+)|(?P<name>[^\W\d_][\w'-]*)"
    r"|\"(?P<str>[^\"]*)\"|(?P<op>[-+*/(),]))",
    re.UNICODE,
)


def _lerp(a, b, t):
    return a + (b - a) * t


def _slerp(a, b, t):
    """Spherical interpolation: along the arc between a and b (lengths interpolated linearly)."""
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    ua, ub = a / max(na, 1e-8), b / max(nb, 1e-8)
    omega = float(np.arccos(np.clip(ua @ ub, -1, 1)))
    if omega < 1e-6:
        return _lerp(a, b, t)
    direction = (np.sin((1 - t) * omega) * ua + np.sin(t * omega) * ub) / np.sin(omega)
    return direction * ((1 - t) * na + t * nb)


# name -> (arity: (min, max) with max None = any, argument kinds "v" vector / "s" scalar / "*" any, fn)
FUNCTIONS = {
    "AVERAGE": ((1, None), "v", lambda *v: np.mean(v, axis=0)),
    "SUM": ((1, None), "v", lambda *v: np.sum(v, axis=0)),
    "MINUS": ((2, 2), "vv", lambda a, b: a - b),
    "MUL": ((2, 2), "vs", lambda v, s: v * s),
    "LERP": ((3, 3), "vvs", _lerp),
    "SLERP": ((3, 3), "vvs", _slerp),
    "DIST": ((2, 2), "vv", lambda a, b: float(np.linalg.norm(a - b))),
    "DOT": ((2, 2), "vv", lambda a, b: float(a @ b)),
    "SLIDER": ((1, 3), "sss", lambda t, lo=0.0, hi=1.0: float(min(max(t, lo), hi))),
}


@dataclass
class Tok:
    kind: str  # num | name | str | op | end
    text: str
    pos: int  # 0-based offset in the formula


def tokenize(src: str) -> list[Tok]:
    toks, i = [], 0
    while i < len(src):
        if src[i:].strip() == "":
            break
        m = TOKEN_RE.match(src, i)
        if not m:
            j = i + len(src[i:]) - len(src[i:].lstrip())
            raise syntax_error(src, j, f"unexpected character {src[j]!r}", "err.formula.unexpected_char", char=src[j])
        kind = m.lastgroup
        start = m.start(kind) - (1 if kind == "str" else 0)
        toks.append(Tok(kind, m.group(kind), start))
        i = m.end()
    toks.append(Tok("end", "", len(src)))
    return toks


def _found(tok) -> Phrase:
    """What the parser found instead, for the message: the end of the formula or a token."""
    if tok.kind == "end":
        return Phrase("err.formula.found_end")
    return Phrase("err.formula.found_token", {"token": tok.text})


def syntax_error(src: str, pos: int, what: str, key: str, **params) -> BadInput:
    """A BadInput pointing at column ``pos`` of ``src``; ``what`` in English (logs, CLI), and the
    catalogue's ``key`` with ``params`` for the reader's language."""
    return BadInput(
        f"Syntax error at position {pos + 1}: {what}.\n  {src}\n  {' ' * pos}^",
        key="err.formula.syntax",
        pos=pos + 1,
        src=src,
        caret=" " * pos + "^",
        what=Phrase(key, params),
    )


class Parser:
    """Recursive descent straight to values: ``lookup(word) -> vector`` does the word lookups."""

    def __init__(self, src: str, lookup):
        self.src, self.lookup = src, lookup
        self.toks, self.i = tokenize(src), 0
        self.words: list[str] = []
        self.sliders: list[dict] = []
        self.depth = 0

    def peek(self) -> Tok:
        return self.toks[self.i]

    def take(self, text: str | None = None) -> Tok:
        tok = self.peek()
        if text is not None and tok.text != text:
            found = "the end of the formula" if tok.kind == "end" else f"{tok.text!r}"
            raise syntax_error(
                self.src,
                tok.pos,
                f"expected {text!r} but found {found}",
                "err.formula.expected",
                expected=text,
                found=_found(tok),
            )
        self.i += 1
        return tok

    def parse(self):
        value = self.expr()
        tok = self.peek()
        if tok.kind != "end":
            raise syntax_error(
                self.src,
                tok.pos,
                f"unexpected {tok.text!r} (an operator or ',' is missing?)",
                "err.formula.unexpected",
                token=tok.text,
            )
        return value

    def expr(self):
        value = self.term()
        while self.peek().text in ("+", "-"):
            op = self.take()
            value = self.binary(op, value, self.term())
        return value

    def term(self):
        value = self.unary()
        while self.peek().text in ("*", "/"):
            op = self.take()
            value = self.binary(op, value, self.unary())
        return value

    def unary(self):
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise syntax_error(
                self.src,
                self.peek().pos,
                f"nested more than {MAX_DEPTH} levels deep",
                "err.formula.too_deep",
                limit=MAX_DEPTH,
            )
        try:
            if self.peek().text == "-":
                self.take()
                return -self.unary()
            return self.atom()
        finally:
            self.depth -= 1

    def atom(self):
        tok = self.peek()
        if tok.kind == "num":
            self.take()
            return float(tok.text)
        if tok.kind == "str":
            self.take()
            return self.word(tok.text, tok)
        if tok.kind == "name":
            self.take()
            if self.peek().text == "(":
                return self.call(tok)
            return self.word(tok.text, tok)
        if tok.text == "(":
            self.take()
            value = self.expr()
            self.take(")")
            return value
        found = "the end of the formula" if tok.kind == "end" else repr(tok.text)
        raise syntax_error(
            self.src,
            tok.pos,
            f"expected a word, a number or a function but found {found}",
            "err.formula.expected_operand",
            found=_found(tok),
        )

    def word(self, text: str, tok: Tok):
        if not text.strip():
            raise syntax_error(self.src, tok.pos, "empty word", "err.formula.empty_word")
        self.words.append(text)
        return self.lookup(text)

    def call(self, name_tok: Tok):
        name = name_tok.text.upper()
        if name not in FUNCTIONS:
            raise syntax_error(
                self.src,
                name_tok.pos,
                f"unknown function {name_tok.text!r} (known: {', '.join(FUNCTIONS)})",
                "err.formula.unknown_function",
                name=name_tok.text,
                allowed=list(FUNCTIONS),
            )
        (lo, hi), kinds, fn = FUNCTIONS[name]
        self.take("(")
        args, arg_pos = [], []
        if self.peek().text != ")":
            while True:
                arg_pos.append(self.peek().pos)
                args.append(self.expr())
                if self.peek().text != ",":
                    break
                self.take(",")
        self.take(")")
        if len(args) < lo or (hi is not None and len(args) > hi):
            want = f"{lo}" if lo == hi else (f"at least {lo}" if hi is None else f"{lo} to {hi}")
            want_phrase = (
                ("err.formula.want_exactly", {"n": lo})
                if lo == hi
                else ("err.formula.want_at_least", {"n": lo})
                if hi is None
                else ("err.formula.want_between", {"lo": lo, "hi": hi})
            )
            raise syntax_error(
                self.src,
                name_tok.pos,
                f"{name} takes {want} arguments, got {len(args)}",
                "err.formula.arg_count",
                name=name,
                want=Phrase(*want_phrase),
                n=len(args),
            )
        for j, arg in enumerate(args):
            kind = kinds[min(j, len(kinds) - 1)]
            is_vec = isinstance(arg, np.ndarray)
            if kind == "v" and not is_vec or kind == "s" and is_vec:
                want = "a word or vector" if kind == "v" else "a number"
                raise syntax_error(
                    self.src,
                    arg_pos[j],
                    f"argument {j + 1} of {name} must be {want}",
                    "err.formula.arg_kind",
                    i=j + 1,
                    name=name,
                    want=Phrase("err.formula.want_vector" if kind == "v" else "err.formula.want_number"),
                )
        if name == "SLIDER":
            self.sliders.append(
                {
                    "pos": name_tok.pos,
                    "value": args[0],
                    "min": args[1] if len(args) > 1 else 0.0,
                    "max": args[2] if len(args) > 2 else 1.0,
                }
            )
        return fn(*args)

    def binary(self, op: Tok, a, b):
        va, vb = isinstance(a, np.ndarray), isinstance(b, np.ndarray)
        if op.text in "+-" and va != vb:
            verb = "add" if op.text == "+" else "subtract"
            raise syntax_error(self.src, op.pos, f"cannot {verb} a number and a vector", f"err.formula.{verb}_mixed")
        if op.text == "*" and va and vb:
            raise syntax_error(
                self.src, op.pos, "cannot multiply two vectors (use DOT(a, b))", "err.formula.multiply_vectors"
            )
        if op.text == "/" and vb:
            raise syntax_error(self.src, op.pos, "cannot divide by a vector", "err.formula.divide_vector")
        if op.text == "/" and float(b) == 0.0:
            raise syntax_error(self.src, op.pos, "division by zero", "err.formula.division_by_zero")
        return {"+": lambda: a + b, "-": lambda: a - b, "*": lambda: a * b, "/": lambda: a / b}[op.text]()


def evaluate(src: str, emb) -> dict:
    """``{"value": vector (d,) or float, "kind": "vector"|"number", "words": [...], "sliders": [...]}``.

    Unknown words are collected first, so the error lists all of them with suggestions."""
    if not isinstance(src, str) or not src.strip():
        raise BadInput("The formula is empty: write e.g. LERP(mañana, noche, 0.5).", key="err.formula.empty")
    if len(src) > MAX_LEN:
        raise BadInput(
            f"The formula is too long ({len(src)} characters; at most {MAX_LEN}).",
            key="err.formula.too_long",
            n=len(src),
            limit=MAX_LEN,
        )
    zero = np.zeros(emb.dim, dtype=np.float32)
    probe = Parser(src, lambda w: zero)  # syntax first, then the words (all of them at once)
    probe.parse()
    emb.check(probe.words) if probe.words else None
    parser = Parser(src, emb.vector)
    value = parser.parse()
    is_vec = isinstance(value, np.ndarray)
    if is_vec and not np.all(np.isfinite(value)):
        raise BadInput("The formula's result is not a finite vector.", key="err.formula.not_finite_vector")
    if not is_vec and not np.isfinite(value):
        raise BadInput("The formula's result is not a finite number.", key="err.formula.not_finite_number")
    return {"value": value, "kind": "vector" if is_vec else "number", "words": parser.words, "sliders": parser.sliders}


def run_formula(src: str, emb, k: int = 10, metric: str = "cosine", exclude_inputs: bool = True) -> dict:
    """Evaluate and decode: ``{"formula", "kind", "results": [{"word", "score"}], "value"?}``.
    A vector is decoded to its ``k`` nearest words (the formula's own words left out unless
    ``exclude_inputs`` is False); a number is returned as ``value`` with empty ``results``."""
    out = evaluate(src, emb)
    result = {"formula": src, "kind": out["kind"], "words": out["words"], "sliders": out["sliders"], "results": []}
    if out["kind"] == "number":
        result["value"] = float(out["value"])
        return result
    exclude = {emb.normalize(w) for w in out["words"]} if exclude_inputs else set()
    result["results"] = [{"word": w, "score": s} for w, s in emb.nearest(out["value"], k, metric, exclude)]
    return result
