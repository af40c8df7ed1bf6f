"""The images of chapter 10 and their captions: Fashion-MNIST + MNIST as 20 classes, in Spanish and English.

    classes 0-9   Fashion-MNIST: camiseta, pantalón, jersey, vestido, abrigo, sandalia, camisa,
                  zapatilla, bolso, botín
    classes 10-19 MNIST digits 0-9: "un siete escrito a mano", "the digit seven", "un 7"...

Every image gets a caption drawn at random from its class's templates, in either language, so the
tiny CLIP learns that "una zapatilla" and "a sneaker" mean the same. The caption vocabulary is closed
(a few hundred words): ``Vocab`` turns a caption into word ids, and a word it does not know is
replaced, with a notice, never an error: by the known word spelled almost like it (a typo, a
plural: «zapatila» → zapatilla), else by the garment or digit nearest to it *in meaning* (the
Spanish FastText vectors of chapter 3, GloVe for English: «chaqueta» → abrigo, «sneakers» → sneaker)
when one is near enough, else it is dropped («perro»: this model knows clothes and digits only).
"""

from __future__ import annotations

import difflib
import random
import re
import unicodedata
from dataclasses import dataclass

import numpy as np
import torch

N_CLASSES = 20
MAX_TOKENS = 12  # words per caption the text encoder reads (longer captions are cut)

# (Spanish with article, more Spanish names, English with article, more English names)
FASHION = [
    (
        "una camiseta",
        ["una camiseta de manga corta", "un top", "una camiseta blanca"],
        "a t-shirt",
        ["a top", "a tee", "a short sleeve t-shirt"],
    ),
    (
        "un pantalón",
        ["unos pantalones", "unos vaqueros", "un pantalón largo"],
        "a pair of trousers",
        ["trousers", "pants", "jeans"],
    ),
    (
        "un jersey",
        ["un suéter", "una sudadera", "un jersey de lana"],
        "a pullover",
        ["a sweater", "a jumper", "a wool sweater"],
    ),
    ("un vestido", ["un vestido largo", "un traje de mujer"], "a dress", ["a long dress", "a summer dress"]),
    (
        "un abrigo",
        ["una chaqueta", "un abrigo largo", "una cazadora"],
        "a coat",
        ["a jacket", "a long coat", "a winter coat"],
    ),
    (
        "una sandalia",
        ["unas sandalias", "una chancla", "un zapato abierto"],
        "a sandal",
        ["sandals", "a flip flop", "an open shoe"],
    ),
    ("una camisa", ["una camisa de botones", "una blusa"], "a shirt", ["a button shirt", "a blouse"]),
    (
        "una zapatilla",
        ["unas zapatillas", "una zapatilla deportiva", "una deportiva"],
        "a sneaker",
        ["sneakers", "a trainer", "a running shoe"],
    ),
    ("un bolso", ["una bolsa", "un bolso de mano", "una mochila"], "a bag", ["a handbag", "a purse", "a backpack"]),
    (
        "un botín",
        ["una bota", "unas botas", "un botín de tobillo"],
        "an ankle boot",
        ["a boot", "boots", "a leather boot"],
    ),
]
DIGITS_ES = ["cero", "uno", "dos", "tres", "cuatro", "cinco", "seis", "siete", "ocho", "nueve"]
DIGITS_EN = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]

ES_TEMPLATES = ["{a}", "una foto de {a}", "una imagen de {a}", "{a} en blanco y negro", "dibuja {a}"]
EN_TEMPLATES = ["{a}", "a photo of {a}", "an image of {a}", "{a} in black and white", "draw {a}"]
DIGIT_ES = [
    "un {w} escrito a mano",
    "el número {w}",
    "el número {d}",
    "un {d}",
    "un {d} escrito a mano",
    "el dígito {w}",
    "un {w}",
    "una imagen de un {w}",
    "dibuja un {d}",
]
DIGIT_EN = [
    "a handwritten {w}",
    "the number {w}",
    "the number {d}",
    "a {d}",
    "a handwritten {d}",
    "the digit {w}",
    "a {w}",
    "an image of a {w}",
    "draw a {d}",
]


def class_name(c: int, lang: str = "es") -> str:
    """The short name of class ``c``: "una zapatilla" / "a sneaker", "un siete" / "a seven"."""
    if c < 10:
        return FASHION[c][0] if lang == "es" else FASHION[c][2]
    d = c - 10
    return f"un {DIGITS_ES[d]}" if lang == "es" else _an(f"a {DIGITS_EN[d]}")


def _an(text: str) -> str:
    """English article: "a eight" -> "an eight"."""
    return re.sub(r"\ba (?=eight\b|8\b)", "an ", text)


def captions_for(c: int, lang: str | None = None) -> list[str]:
    """Every caption of class ``c`` (both languages unless ``lang`` is "es" or "en")."""
    out = []
    if c < 10:
        es_main, es_more, en_main, en_more = FASHION[c]
        if lang in (None, "es"):
            out += [t.format(a=a) for a in [es_main, *es_more] for t in ES_TEMPLATES]
        if lang in (None, "en"):
            out += [t.format(a=a) for a in [en_main, *en_more] for t in EN_TEMPLATES]
    else:
        d = c - 10
        if lang in (None, "es"):
            out += [t.format(w=DIGITS_ES[d], d=d) for t in DIGIT_ES]
        if lang in (None, "en"):
            out += [_an(t.format(w=DIGITS_EN[d], d=d)) for t in DIGIT_EN]
    return out


def all_captions() -> list[tuple[str, int]]:
    """(caption, class) for every caption of every class, in a fixed order."""
    return [(cap, c) for c in range(N_CLASSES) for cap in captions_for(c)]


# -----------------------------------------------------------------------------------------------
# Words -> ids


def normalize(text: str) -> list[str]:
    """Lower case, accents removed, split into words and digits: "el Número 7" -> [el, numero, 7]."""
    text = unicodedata.normalize("NFKD", text.lower())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return re.findall(r"[a-z]+|\d", text)


PAD, UNK = 0, 1
SPELLING_CUTOFF = 0.85  # difflib ratio: «zapatila» (0.94), «bolsos» (0.91) are typos; «corbata»/«corta» (0.83) is not
# A class name stands in for an unknown word by meaning when it is among the word's MEANING_RANK
# nearest words of the whole vocabulary and its cosine reaches MEANING_MIN (per vector set: FastText's
# cosines run higher than GloVe's). Measured on the shipped vectors (tests/test_shipped_values.py):
# «gorra», «corbata», «wallet», «socks» find a garment or a bag; «perro» (rank 320), «coche», «dog» do not.
MEANING_RANK = 20
MEANING_MIN = {"es": 0.6, "en": 0.7}


def class_words() -> dict[str, dict[str, str]]:
    """The garments' names, by language: {"es": {"zapatilla": "zapatilla", "botin": "botín", ...},
    "en": {...}} (caption spelling -> the word as written, for the word vectors): each name's head
    noun (the word after the article in Spanish, the last word in English). Not the digits: in word
    vectors every number is near every other («diez» would become «ocho»)."""
    out: dict[str, dict[str, str]] = {"es": {}, "en": {}}
    for es_main, es_more, en_main, en_more in FASHION:
        for name in (es_main, *es_more):
            word = name.split()[1]
            out["es"][normalize(word)[0]] = word
        for name in (en_main, *en_more):
            word = name.split()[-1].split("-")[-1]
            out["en"][normalize(word)[0]] = word
    return out


def closest_in_meaning(word: str) -> str | None:
    """The garment name nearest to ``word`` by cosine in the word vectors (Spanish FastText, which
    builds a vector for any word from its pieces; English GloVe when it knows the word), if it is
    near enough (``MEANING_RANK``, ``MEANING_MIN``); None when nothing is, or the vectors cannot be
    loaded."""
    from pizarra.embeddings.vectors import load_vectors

    best: tuple[int, float, str | None] = (MEANING_RANK + 1, 0.0, None)
    for lang, name in (("es", "es"), ("en", "glove")):
        try:
            emb = load_vectors(name)
        except Exception:  # noqa: BLE001  (no vectors: spelling only, as before)
            continue
        names = class_words()[lang]
        ok = [k for k, w in names.items() if emb.known(w) or emb.from_pieces(w)]
        if not ok or not (emb.known(word) or emb.from_pieces(word)):
            continue
        query = emb.rows([word])[0]
        cos = emb.rows([names[k] for k in ok]) @ query
        i = int(np.argmax(cos))
        rank = int((emb.unit @ query > cos[i]).sum()) - int(emb.known(word))  # the word itself is no rival
        if cos[i] >= MEANING_MIN[lang] and (rank, -cos[i]) < (best[0], -best[1]):
            best = (rank, float(cos[i]), ok[i])
    return best[2]


@dataclass
class Encoded:
    ids: list[int]  # (MAX_TOKENS,) padded with PAD
    words: list[str]  # the words read (after corrections)
    unknown: dict[str, str | None]  # unknown word -> the known word used instead (None: dropped)


class Vocab:
    """The closed vocabulary of the captions: ``encode(caption)`` -> ids, unknown words corrected."""

    def __init__(self, words: list[str]):
        self.itos = ["<pad>", "<unk>", *words]
        self.stoi = {w: i for i, w in enumerate(self.itos)}

    @classmethod
    def from_captions(cls) -> "Vocab":
        words = sorted({w for cap, _ in all_captions() for w in normalize(cap)})
        return cls(words)

    def __len__(self) -> int:
        return len(self.itos)

    def closest(self, word: str) -> str | None:
        """The known word that stands in for ``word``: spelled almost like it, else nearest in
        meaning among the names of the classes (``closest_in_meaning``), else None (dropped)."""
        hits = difflib.get_close_matches(word, self.itos[2:], n=1, cutoff=SPELLING_CUTOFF)
        if hits:
            return hits[0]
        found = closest_in_meaning(word)
        return found if found in self.stoi else None

    def encode(self, caption: str) -> Encoded:
        words, unknown = [], {}
        for w in normalize(caption):
            if w not in self.stoi:
                unknown[w] = self.closest(w)
                w = unknown[w]
                if w is None:
                    continue
            words.append(w)
        words = words[:MAX_TOKENS]
        ids = [self.stoi[w] for w in words] + [PAD] * (MAX_TOKENS - len(words))
        return Encoded(ids, words, unknown)

    def tensor(self, captions: list[str]) -> torch.Tensor:
        """(B, MAX_TOKENS) long tensor of word ids."""
        return torch.tensor([self.encode(c).ids for c in captions], dtype=torch.long)


# -----------------------------------------------------------------------------------------------
# Images


def load_images(split: str = "train", data=None) -> tuple[np.ndarray, np.ndarray]:
    """Fashion-MNIST then MNIST: images uint8 (N, 28, 28), labels int64 (N,) in 0..19
    (digits are 10 + digit). N is 120,000 for train and 20,000 for test. Needs ``PIZARRA_DATA``."""
    from pizarra.assets.datasets import load_mnist

    fx, fy = load_mnist("fashion_mnist", split, data)
    mx, my = load_mnist("mnist", split, data)
    return np.concatenate([fx, mx]), np.concatenate([fy.astype(np.int64), my.astype(np.int64) + 10])


def to_float(images: np.ndarray | torch.Tensor) -> torch.Tensor:
    """uint8 (N, 28, 28) -> float (N, 1, 28, 28) in [-1, 1] (what every model here reads)."""
    x = torch.as_tensor(np.asarray(images)).float()
    return (x / 127.5 - 1).unsqueeze(1)


def to_uint8(x: torch.Tensor) -> np.ndarray:
    """float (N, 1, 28, 28) in [-1, 1] -> uint8 (N, 28, 28)."""
    return ((x.clamp(-1, 1) + 1) * 127.5).round().squeeze(1).to(torch.uint8).cpu().numpy()


class CaptionedImages:
    """Training data for ``fit``: ``get_batch(idx)`` -> (images (B,1,28,28), caption ids (B,T)).
    Each time an image is drawn it gets a new random caption of its class (seeded by ``fit``)."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, vocab: Vocab):
        self.images = torch.from_numpy(np.ascontiguousarray(images))  # uint8 (N, 28, 28)
        self.labels = torch.from_numpy(np.asarray(labels, dtype=np.int64))
        caps = [[vocab.encode(c).ids for c in captions_for(k)] for k in range(N_CLASSES)]
        self.caption_ids = [torch.tensor(c) for c in caps]  # per class: (n_captions, T)

    def __len__(self) -> int:
        return len(self.labels)

    def get_batch(self, idx: torch.Tensor):
        labels = self.labels[idx]
        rows = [self.caption_ids[k][torch.randint(len(self.caption_ids[k]), ()).item()] for k in labels.tolist()]
        return to_float(self.images[idx]), torch.stack(rows), labels


def gallery_indices(labels: np.ndarray, per_class: int, seed: int = 0) -> np.ndarray:
    """``per_class`` indices of each class, chosen at random (the shipped search gallery)."""
    rng = random.Random(seed)
    out = []
    for c in range(N_CLASSES):
        idx = np.flatnonzero(labels == c).tolist()
        out += sorted(rng.sample(idx, min(per_class, len(idx))))
    return np.array(out, dtype=np.int64)
