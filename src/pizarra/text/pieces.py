"""Byte-level tokens made readable: a token can hold half a character.

Byte-level BPE (ours, SmolLM2's) and SentencePiece's byte fallback (Gemma's) work on the UTF-8 bytes
of the text, not on its characters. "é" is 2 bytes (C3 A9), "🐧" is 4 (F0 9F 90 A7): when no merge
covers them, the tokenizer cuts the character between tokens, and each piece alone is not text
(``bytes.decode`` would print "�"). Here a piece's whole characters stay text and its lone bytes are
named: ``‹C3›``; the tokens that share a cut character form a group, and the group knows which
characters it cut.

    pieces([b"caf", b"\\xc3", b"\\xa9"])
    -> [{"text": "caf", "parts": [{"text": "caf"}], "hex": "63 61 66", "partial": False, "group": 0, "cut": []},
        {"text": "‹C3›", "parts": [{"byte": "C3"}], "hex": "C3", "partial": True, "group": 1,
         "cut": [{"char": "é", "hex": "C3 A9", "tokens": 2}]},
        {"text": "‹A9›", "parts": [{"byte": "A9"}], "hex": "A9", "partial": True, "group": 1, "cut": [...]}]
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from functools import lru_cache

SPACE = "▁"  # how a space inside a token is shown (as SentencePiece writes it)


@lru_cache(maxsize=1)
def byte_of_char() -> dict[str, int]:
    """GPT-2's byte-level alphabet, reversed: the printable character a byte-level BPE vocabulary uses
    for each byte (``Ġ`` for a space, ``Ã`` for C3) -> that byte. (Radford et al. 2019, ``bytes_to_unicode``.)"""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
    printable += list(range(ord("®"), ord("ÿ") + 1))
    chars, extra = {}, 0
    for b in range(256):
        if b in printable:
            chars[chr(b)] = b
        else:  # control bytes, space, 0x7F-0xA0, 0xAD: moved past 255 so that every byte is printable
            chars[chr(256 + extra)] = b
            extra += 1
    return chars


def token_bytes(vocab_token: str) -> bytes:
    """The raw bytes of one byte-level BPE vocabulary entry (``"ĠpelÃ"`` -> ``b" pel\\xc3"``)."""
    table = byte_of_char()
    return bytes(table[c] for c in vocab_token)


def parts(b: bytes) -> list[dict]:
    """``b`` as runs of whole characters ``{"text"}`` and lone bytes ``{"byte": "C3"}`` (never "�")."""
    out: list[dict] = []
    i = 0
    while i < len(b):
        for n in (1, 2, 3, 4):  # the shortest valid UTF-8 character starting at i
            try:
                ch = b[i : i + n].decode("utf-8")
            except UnicodeDecodeError:
                continue
            if out and "text" in out[-1]:
                out[-1]["text"] += ch
            else:
                out.append({"text": ch})
            i += n
            break
        else:
            out.append({"byte": f"{b[i]:02X}"})
            i += 1
    for p in out:
        if "text" in p:
            p["text"] = p["text"].replace(" ", SPACE)
    return out


def readable(b: bytes) -> str:
    """One line for a token: its characters, and ``‹C3›`` for each byte that is not a whole character."""
    return "".join(p.get("text") or f"‹{p['byte']}›" for p in parts(b))


def _hex(b: bytes) -> str:
    return " ".join(f"{x:02X}" for x in b)


def _is_continuation(byte: int) -> bool:
    return 0x80 <= byte <= 0xBF  # 10xxxxxx: the 2nd, 3rd or 4th byte of a character


def _lone(ch: str) -> bool:
    return "\udc80" <= ch <= "\udcff"  # a byte that is no character (surrogateescape)


def pieces(tokens: list[bytes]) -> list[dict]:
    """Each token: ``text`` (readable), ``parts``, ``hex`` (its bytes), ``partial`` (it holds part of a
    character), ``group`` (tokens that share a cut character share it) and ``cut`` (those characters,
    with their bytes and how many tokens each was cut into)."""
    groups: list[int] = []
    for i, b in enumerate(tokens):
        joins = i > 0 and bool(b) and _is_continuation(b[0])  # starts in the middle of a character
        groups.append(groups[-1] if joins else (groups[-1] + 1 if groups else 0))
    # where each token starts in the concatenated bytes, and where each character starts
    starts, pos = [], 0
    for b in tokens:
        starts.append(pos)
        pos += len(b)
    chars, char_starts, pos = [], [], 0
    for ch in b"".join(tokens).decode("utf-8", errors="surrogateescape"):
        n = 1 if _lone(ch) else len(ch.encode("utf-8"))
        chars.append((ch, pos, pos + n))
        char_starts.append(pos)
        pos += n

    def n_tokens(a: int, z: int) -> int:  # how many tokens hold a byte of [a, z)
        return bisect_left(starts, z) - max(0, bisect_right(starts, a) - 1)

    out = []
    for i, b in enumerate(tokens):
        lo, hi = starts[i], starts[i] + len(b)
        cut = []
        for ch, a, z in chars[max(0, bisect_right(char_starts, lo) - 1) : bisect_left(char_starts, hi)]:
            if z > lo and not (lo <= a and z <= hi) and not _lone(ch):  # overlaps, not inside: cut
                cut.append({"char": ch, "hex": _hex(ch.encode("utf-8")), "tokens": n_tokens(a, z)})
        ps = parts(b)
        out.append(
            {
                "text": "".join(p.get("text") or f"‹{p['byte']}›" for p in ps),
                "parts": ps,
                "hex": _hex(b),
                "partial": any("byte" in p for p in ps),
                "group": groups[i],
                "cut": cut,
            }
        )
    return out
