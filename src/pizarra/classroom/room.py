"""One class: its code, the teacher's token, the students, and what the teacher has switched on or off.

    room = Room.create()                      # a fresh class code and teacher token
    sid = room.join(code, "Lucía", client)    # → session token for the cookie (or ClassroomError)
    room.student(sid)                         # the Student, or None (unknown or removed)
    room.record_guess(...), room.record_ask(...), room.leaderboard(), room.attack_feed()

Everything lives in the server's memory: a class lasts one lesson. ``save(path)`` writes what scripts
need to find the class (``{"code", "teacher_token", "student_url", "teacher_url"}``, readable by the
owner only); ``load_or_create(path)`` reuses that code and token, so a restarted server keeps its
class code and the teacher's link (students join again with the same code).

No accounts: a student is a nickname and a random session id in a cookie. Nicknames are 2-20
letters, digits, spaces, ``-``, ``_`` or ``.``; unique in the class (ignoring case and accents); and
not rude (a short Spanish and English list, compared after folding accents, case and l33t).
"""

from __future__ import annotations

import hmac
import json
import os
import re
import secrets
import threading
import time
import unicodedata
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pizarra.errors import PizarraError
from pizarra.gandalf.normalize import fold, normalize_text

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud from a projector
CODE_LENGTH = 6
MAX_STUDENTS = 200
JOIN_LIMIT = (10, 60.0)  # wrong codes per client address and window (guessing the code)
NICK_RE = re.compile(r"[^\W_]|[ ._-]")  # letters and digits of any script, space, . _ -
RUDE = (  # folded, l33t undone; a word containing one of these is refused
    "puta",
    "puto",
    "mierda",
    "cabron",
    "gilipollas",
    "imbecil",
    "idiota",
    "subnormal",
    "maricon",
    "polla",
    "cono",
    "follar",
    "zorra",
    "pendejo",
    "verga",
    "culero",
    "chinga",
    "hijoputa",
    "joder",
    "fuck",
    "shit",
    "bitch",
    "cunt",
    "dick",
    "asshole",
    "bastard",
    "nigg",
    "fag",
    "whore",
    "slut",
    "nazi",
    "hitler",
    "penis",
    "sexo",
    "porn",
    "caca",
    "culo",
    "pedo",
)
LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "8": "b"})
FEED_SIZE = 300


class ClassroomError(PizarraError):
    """A join the class refuses: wrong code (403), nickname taken (409), bad or rude nickname (422),
    too many attempts (429)."""

    def __init__(self, status: int, key: str, message: str, retry_after: int | None = None):
        super().__init__(message)
        self.status_code, self.i18n_key, self.retry_after = status, key, retry_after
        self.i18n_params = {"retry_after": retry_after} if retry_after else {}

    @property
    def headers(self) -> dict[str, str] | None:
        return {"Retry-After": str(self.retry_after)} if self.retry_after else None


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalize_code(code: str) -> str:
    """What a student typed, as the code reads: case, spaces and dashes do not count."""
    return re.sub(r"[\s-]", "", str(code)).upper()[:32]


def clean_nickname(text: str) -> str:
    """The nickname as shown: NFC, invisible characters out, spaces collapsed, trimmed."""
    return normalize_text(unicodedata.normalize("NFC", str(text))).strip()


def nickname_key(nickname: str) -> str:
    """What makes two nicknames the same: case, accents and spaces do not count."""
    return re.sub(r"[\s._-]+", "", fold(nickname))


def is_rude(nickname: str) -> bool:
    squeezed = re.sub(r"[^a-z]", "", fold(nickname).translate(LEET))
    return any(word in squeezed for word in RUDE)


def check_nickname(text: str) -> str:
    nick = clean_nickname(text)
    if not 2 <= len(nick) <= 20 or not all(NICK_RE.fullmatch(ch) for ch in nick) or not nickname_key(nick):
        raise ClassroomError(422, "classroom.nickname_invalid", "A nickname has 2-20 letters, digits or spaces.")
    if is_rude(nick):
        raise ClassroomError(422, "classroom.nickname_rude", "Choose another nickname, please.")
    return nick


@dataclass
class Student:
    id: str  # the session id (cookie value): never shown to other students
    nickname: str
    joined: float = field(default_factory=time.time)
    last_seen: float = field(default_factory=time.time)
    path: str = "/"
    removed: bool = False
    solved: dict[int, float] = field(default_factory=dict)  # level → when passed
    guesses: int = 0
    asks: int = 0
    first_play: float | None = None

    def public(self) -> dict:
        return {
            "nickname": self.nickname,
            "joined": self.joined,
            "last_seen": self.last_seen,
            "path": self.path,
            "levels_passed": len(self.solved),
            "asks": self.asks,
            "guesses": self.guesses,
        }


@dataclass
class Controls:
    """What the teacher switches for the whole class."""

    goto: str | None = None  # a path every student page opens (the teacher's "send everyone to")
    goto_seq: int = 0  # grows each time; a page follows each order once
    locked_levels: set[int] = field(default_factory=set)  # Gandalf levels students may not play
    sandbox: bool = False  # may students run code in the sandbox?
    paused: bool = False  # text generation paused for students
    chat_model: str = "qwen-coder-0.5b"  # the model that answers the class's chat (smallest capable)

    def public(self) -> dict:
        return {
            "goto": self.goto,
            "goto_seq": self.goto_seq,
            "locked_levels": sorted(self.locked_levels),
            "sandbox": self.sandbox,
            "paused": self.paused,
            "chat_model": self.chat_model,
        }


class Room:
    def __init__(self, code: str | None = None, teacher_token: str | None = None):
        self.code = code or new_code()
        self.teacher_token = teacher_token or secrets.token_urlsafe(24)
        self.students: dict[str, Student] = {}
        self.controls = Controls()
        self.created = time.time()
        self.feed: deque[dict] = deque(maxlen=FEED_SIZE)
        self._joins: dict[str, deque[float]] = {}
        self._lock = threading.Lock()
        self.student_urls: list[str] = []  # where students join (from classroom.json), or [] : ask the request

    @classmethod
    def create(cls) -> "Room":
        return cls()

    # -- who is who

    def is_teacher(self, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(str(token).encode(), self.teacher_token.encode())

    def student(self, sid: str | None) -> Student | None:
        if not sid:
            return None
        s = self.students.get(sid)
        return s if s is not None and not s.removed else None

    def join(self, code: str, nickname: str, client: str = "") -> Student:
        self._limit_joins(client)
        if not hmac.compare_digest(normalize_code(code).encode(), self.code.encode()):
            self._failed_join(client)
            raise ClassroomError(403, "classroom.wrong_code", "That is not this class's code.")
        nick = check_nickname(nickname)
        key = nickname_key(nick)
        with self._lock:
            if any(nickname_key(s.nickname) == key for s in self.students.values() if not s.removed):
                raise ClassroomError(409, "classroom.nickname_taken", "That nickname is taken.")
            if sum(not s.removed for s in self.students.values()) >= MAX_STUDENTS:
                raise ClassroomError(503, "classroom.full", "The class is full.", retry_after=60)
            student = Student(secrets.token_urlsafe(24), nick)
            self.students[student.id] = student
        return student

    def _limit_joins(self, client: str) -> None:
        """Too many wrong codes from one address in the window → 429 (guessing the code is slow)."""
        n, window = JOIN_LIMIT
        now = time.monotonic()
        with self._lock:
            hits = self._joins.get(client)
            while hits and now - hits[0] > window:
                hits.popleft()
            if hits is not None and len(hits) >= n:
                raise ClassroomError(
                    429,
                    "classroom.too_many_joins",
                    "Too many attempts: wait a minute.",
                    retry_after=int(window - (now - hits[0])) + 1,
                )

    def _failed_join(self, client: str) -> None:
        with self._lock:
            if len(self._joins) > 2000:
                self._joins.clear()
            self._joins.setdefault(client, deque()).append(time.monotonic())

    def remove(self, nickname: str) -> bool:
        key = nickname_key(nickname)
        with self._lock:
            for s in self.students.values():
                if not s.removed and nickname_key(s.nickname) == key:
                    s.removed = True
                    return True
        return False

    def seen(self, student: Student, path: str | None = None) -> None:
        student.last_seen = time.time()
        if path:
            student.path = path[:200]

    def roster(self) -> list[dict]:
        return sorted((s.public() for s in self.students.values() if not s.removed), key=lambda s: s["joined"])

    # -- the teacher's switches

    def send_everyone(self, path: str) -> None:
        self.controls.goto = path
        self.controls.goto_seq += 1

    # -- the password game as a class game

    def record_ask(
        self, student: Student, level: int, prompt: str, techniques: list[str], blocked: bool, defense: str | None
    ) -> None:
        now = time.time()
        student.asks += 1
        student.first_play = student.first_play or now
        self.feed.append(
            {
                "at": now,
                "nickname": student.nickname,
                "level": level,
                "techniques": techniques,
                "blocked": blocked,
                "defense": defense,
                "prompt": prompt[:200],
            }
        )

    def record_guess(self, student: Student, level: int, correct: bool) -> None:
        now = time.time()
        student.guesses += 1
        student.first_play = student.first_play or now
        if correct and level not in student.solved:
            student.solved[level] = now

    def leaderboard(self) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        for s in self.students.values():
            if s.removed or (not s.solved and not s.guesses):
                continue
            last = max(s.solved.values()) if s.solved else None
            seconds = round(last - s.first_play, 1) if last and s.first_play else None
            rows.append(
                {
                    "nickname": s.nickname,
                    "levels_passed": len(s.solved),
                    "best_level": max(s.solved, default=0),
                    "attempts": s.guesses,
                    "asks": s.asks,
                    "time_s": seconds,
                }
            )
        rows.sort(
            key=lambda r: (
                -r["levels_passed"],
                r["time_s"] if r["time_s"] is not None else 1e12,
                r["attempts"],
                r["nickname"].casefold(),
            )
        )
        for i, r in enumerate(rows, 1):
            r["rank"] = i
        return rows

    def attack_feed(self, level: int | None = None, limit: int = 50) -> dict:
        items = [f for f in self.feed if level is None or f["level"] == level]
        counts: dict[int, dict[str, dict[str, int]]] = {}
        for f in items:
            per = counts.setdefault(f["level"], {})
            for tech in f["techniques"]:
                c = per.setdefault(tech, {"tried": 0, "passed": 0})
                c["tried"] += 1
                c["passed"] += 0 if f["blocked"] else 1
        return {"recent": list(reversed(items))[:limit], "by_level": counts}

    # -- the file scripts read

    def save(self, path: Path, student_url: str, teacher_url: str, **more) -> None:
        data = {
            "code": self.code,
            "teacher_token": self.teacher_token,
            "student_url": student_url,
            "teacher_url": teacher_url,
            **more,
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(data, fh, ensure_ascii=False, indent=2)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)

    @classmethod
    def load_or_create(cls, path: Path | None) -> "Room":
        if path is not None:
            try:
                data = json.loads(path.read_text())
                code, token = data.get("code"), data.get("teacher_token")
                if (
                    isinstance(code, str)
                    and re.fullmatch(f"[{CODE_ALPHABET}]{{{CODE_LENGTH}}}", code)
                    and isinstance(token, str)
                    and len(token) >= 24
                ):
                    room = cls(code, token)
                    urls = data.get("student_urls")
                    if isinstance(urls, list):
                        room.student_urls = [u for u in urls if isinstance(u, str) and u.startswith("http")][:16]
                    return room
            except (OSError, ValueError):
                pass
        return cls()
