"""Players and passwords: each player (a cookie id) has their own random password per level.

    store = GameStore()
    state = store.get(player_id)          # created on first use
    state.password(level, lang)           # drawn once per level from the word list of ``lang``
    store.guess(player_id, level, "mariposa") -> {"correct": True, "next_level": 4, ...}
    store.new_game(player_id)             # fresh passwords for every level

Thread-safe (one lock) and bounded: the least recently seen players are forgotten beyond
``max_players``. Progress (which levels are solved) is also kept by the browser.
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from ..errors import BadInput
from .levels import LEVELS, get_level
from .normalize import fold_word

DATA = Path(__file__).parent / "data"
LANGS = ("es", "en")
MAX_GUESS_CHARS = 100


@lru_cache(maxsize=None)
def words(lang: str) -> tuple[str, ...]:
    """The password word list of ``lang`` (es or en): upper-case words, 7-12 letters."""
    if lang not in LANGS:
        lang = "en"
    lines = (DATA / f"words_{lang}.txt").read_text(encoding="utf-8").splitlines()
    return tuple(w.strip() for w in lines if w.strip() and not w.startswith("#"))


@dataclass
class PlayerState:
    passwords: dict[int, str] = field(default_factory=dict)
    solved: set[int] = field(default_factory=set)
    lang: str = "es"

    def password(self, level: int, lang: str | None = None) -> str:
        get_level(level)
        if level not in self.passwords:
            self.passwords[level] = secrets.choice(words(lang or self.lang))
        return self.passwords[level]


class GameStore:
    def __init__(self, max_players: int = 10_000):
        self.players: OrderedDict[str, PlayerState] = OrderedDict()
        self.max_players = max_players
        self.lock = threading.Lock()

    def get(self, player: str, lang: str = "es") -> PlayerState:
        with self.lock:
            state = self.players.get(player)
            if state is None:
                state = self.players[player] = PlayerState(lang=lang if lang in LANGS else "es")
            self.players.move_to_end(player)
            while len(self.players) > self.max_players:
                self.players.popitem(last=False)
            return state

    def password(self, player: str, level: int, lang: str = "es") -> str:
        state = self.get(player, lang)
        with self.lock:
            return state.password(level, lang)

    def new_game(self, player: str, lang: str = "es") -> PlayerState:
        with self.lock:
            self.players[player] = PlayerState(lang=lang if lang in LANGS else "es")
            return self.players[player]

    def guess(self, player: str, level: int, guess: str, lang: str = "es") -> dict:
        """Compare a guess with the level's password (case, accents, spaces and look-alikes ignored)."""
        guess = guess[:MAX_GUESS_CHARS]
        if not fold_word(guess):
            raise BadInput("Write the password you want to try (the guess is empty).", key="err.gandalf.empty_guess")
        state = self.get(player, lang)
        with self.lock:
            correct = fold_word(guess) == fold_word(state.password(level, lang))
            if correct:
                state.solved.add(level)
            return {
                "level": level,
                "correct": correct,
                "next_level": min(level + 1, len(LEVELS)) if correct and level < len(LEVELS) else None,
                "finished": correct and level == len(LEVELS),
                "solved": sorted(state.solved),
            }


def new_player_id() -> str:
    return secrets.token_urlsafe(16)
