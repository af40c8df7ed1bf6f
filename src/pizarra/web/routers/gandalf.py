"""Chapter 9 over HTTP: "Seguridad y alineamiento" — the password game (Gandalf) and its numbers.

    GET  /capitulo/seguridad-alineamiento   the page (sets the player cookie)
    POST /api/gandalf/ask                   a question at a level → the answer, or which defense stopped it
    POST /api/gandalf/ask/stream            the same as server-sent events (see ask_stream: what streams when)
    POST /api/gandalf/guess                 try the level's password (5 tries per player, level and 60 s; then 429)
    POST /api/gandalf/new                   a new game: new passwords for every level
    GET  /api/gandalf/info                  levels, defenses, limits, measured eval and classifier

Each player is a random id in the ``gandalf_player`` cookie; their passwords live in the server's
memory (``pizarra.gandalf.game.GameStore``), their progress also in the browser (localStorage).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Iterator

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from pizarra import i18n
from pizarra.chapters import reports as chapter_reports
from pizarra.gandalf.game import MAX_GUESS_CHARS
from pizarra.gandalf.levels import LEVELS, MAX_PROMPT_CHARS
from pizarra.web import security
from pizarra.web.templating import chapter_page

router = APIRouter()
SLUG = "seguridad-alineamiento"
COOKIE = "gandalf_player"
MAX_PROMPT_INPUT = 4 * MAX_PROMPT_CHARS  # accepted; the game cuts to MAX_PROMPT_CHARS with a notice
N_LEVELS = len(LEVELS)  # the game's levels, declared once in pizarra.gandalf.levels

_store = None


def store():
    global _store
    if _store is None:
        from pizarra.gandalf.game import GameStore

        _store = GameStore()
    return _store


def player_id(request: Request, response: Response) -> str:
    """The player's id from the cookie; a new one (set on the response) when missing or malformed."""
    from pizarra.gandalf.game import new_player_id

    pid = request.cookies.get(COOKIE, "")
    if not (16 <= len(pid) <= 64 and pid.replace("-", "").replace("_", "").isalnum()):
        pid = new_player_id()
        response.set_cookie(COOKIE, pid, max_age=30 * 24 * 3600, httponly=True, samesite="lax")
    return pid


class AskIn(BaseModel):
    level: int = Field(ge=1, le=N_LEVELS, description="Level 1-8.")
    prompt: str = Field(
        min_length=1,
        max_length=MAX_PROMPT_INPUT,
        description="The question (longer than 1000 characters: cut, with a notice).",
    )


class AskOut(BaseModel):
    level: int
    answer: str  # what Gandalf says (a refusal when blocked)
    blocked: bool
    defense: str | None  # input_blocklist | input_judge | output_exact | output_judge
    detail: dict
    explanation: str | None  # how that defense works, in the page's language
    notices: list[str]
    seconds: float


class GuessIn(BaseModel):
    level: int = Field(ge=1, le=N_LEVELS)
    guess: str = Field(min_length=1, max_length=MAX_GUESS_CHARS, description="The password you want to try.")


class Lesson(BaseModel):
    """After a win: which kind of attack it was, and why each defense of the level let it through."""

    title: str
    techniques: list[str]  # pizarra.gandalf.techniques families of the questions that got answers
    used: str
    defenses: list[str]  # one sentence per defense of the level


class GuessOut(BaseModel):
    level: int
    correct: bool
    next_level: int | None
    finished: bool
    solved: list[int]
    message: str
    lesson: Lesson | None = None


# The families of the last answered questions per (player, level): what the lesson after a win is about.
_answered: OrderedDict[tuple[str, int], list[str]] = OrderedDict()
MAX_REMEMBERED = 5000


def _remember(pid: str, level: int, techniques: list[str]) -> None:
    key = (pid, level)
    seen = [t for t in _answered.pop(key, []) if t not in techniques]
    _answered[key] = (techniques + seen)[:6]
    while len(_answered) > MAX_REMEMBERED:
        _answered.popitem(last=False)


def lesson(pid: str, level: int, lang: str) -> dict:
    from pizarra.gandalf.techniques import defenses

    found = _answered.get((pid, level)) or ["other"]
    names = ", ".join(i18n.t(f"lesson.technique.{t}", lang) for t in found)
    return {
        "title": i18n.t("lesson.title", lang),
        "techniques": found,
        "used": i18n.t("lesson.used", lang, techniques=names),
        "defenses": [i18n.t("lesson.defenses", lang, level=level)]
        + [i18n.t(f"lesson.defense.{d}", lang) for d in defenses(level)],
    }


def reports() -> dict:
    """``reports/gandalf_eval.json`` and the classifier's card, if present."""
    return chapter_reports(SLUG, "eval", "classifier")


def level_views(lang: str) -> list[dict]:
    return [
        {
            "number": n,
            "title": i18n.t(f"gandalf.level.{n}.title", lang),
            "intro": i18n.t(f"gandalf.level.{n}.intro", lang),
        }
        for n in range(1, N_LEVELS + 1)
    ]


@router.get(f"/capitulo/{SLUG}", response_class=HTMLResponse, tags=["pages"], summary="Chapter 9 page")
def page(request: Request) -> HTMLResponse:
    lang = i18n.request_lang(request)
    response = chapter_page(
        request,
        SLUG,
        levels=level_views(lang),
        reports=reports(),
        limits={"prompt": MAX_PROMPT_CHARS, "guess": MAX_GUESS_CHARS},
    )
    player_id(request, response)
    return response


@router.post("/api/gandalf/ask", response_model=AskOut, tags=["gandalf"])
def ask(req: AskIn, request: Request, response: Response) -> dict:
    """Ask Gandalf at ``level``. The answer is checked by the level's defenses before you see it."""
    from pizarra.gandalf.levels import ask as run
    from pizarra.web.routers.classroom import check_level

    lang = i18n.request_lang(request)
    check_level(request, req.level)  # a class: the teacher may have closed the level
    pid = player_id(request, response)
    password = store().password(pid, req.level, lang)
    return _played(request, req, pid, run(req.level, password, req.prompt, lang=lang), lang)


@router.post("/api/gandalf/ask/stream", tags=["gandalf"])
def ask_stream(req: AskIn, request: Request):
    """``/api/gandalf/ask`` as server-sent events, so that the page never sits still while the model writes.

    Levels without an output guard (1, 2, 5, 6): ``token`` events carry the answer as it is written,
    after the input guards let the question through. Levels with one (3, 4, 7, 8): the guard must read
    the whole answer before anyone does (a leak may be spread over all of it; half a password shown
    and then withdrawn is still half a password), so ``progress`` events carry only how much is
    written, then ``checking`` (and ``retry`` when the guard threw an answer away). Last: ``turn``,
    the same object ``/api/gandalf/ask`` returns."""
    from pizarra.gandalf.levels import ask_events, guarded
    from pizarra.web.routers.classroom import check_level
    from pizarra.web.sse import sse_response

    lang = i18n.request_lang(request)
    check_level(request, req.level)
    cookie = Response()
    pid = player_id(request, cookie)
    password = store().password(pid, req.level, lang)
    checked = guarded(req.level)

    def events(cancel) -> Iterator[dict]:
        yield {"type": "start", "guarded": checked}
        for event in ask_events(req.level, password, req.prompt, lang=lang):
            if event["type"] == "turn":
                yield {"type": "turn", **_played(request, req, pid, event["turn"], lang)}
            else:
                yield event

    streamed = sse_response(request, events)
    for value in cookie.headers.getlist("set-cookie"):  # a new player: the cookie goes with the stream
        streamed.headers.append("set-cookie", value)
    return streamed


def _played(request: Request, req: AskIn, pid: str, turn_obj, lang: str) -> dict:
    """A finished turn: remembered for the lesson, told to the teacher's feed in a class, and made
    public (never the blocked answer; only the details a player may see; explanations in ``lang``)."""
    from pizarra.gandalf.techniques import classify
    from pizarra.web.routers.classroom import room_and_student

    turn = turn_obj.public()
    techniques = classify(req.prompt)
    if not turn["blocked"]:
        _remember(pid, req.level, techniques)
    room, student = room_and_student(request)
    if student is not None:  # the teacher's live feed of attack techniques
        room.record_ask(student, req.level, req.prompt, techniques, turn["blocked"], turn["defense"])
    keep = ("word", "score", "threshold", "method", "seed", "attempts", "retried", "first_block", "first_method")
    turn["detail"] = {k: v for k, v in turn["detail"].items() if k in keep}
    if turn["defense"]:
        turn["explanation"] = i18n.t(f"gandalf.defense.{turn['defense']}", lang)
        if turn["detail"].get("attempts", 1) > 1:
            turn["explanation"] += " " + i18n.t("gandalf.attempts", lang).format(n=turn["detail"]["attempts"])
    elif turn["detail"].get("retried"):  # an output guard threw answers away; this one passed
        turn["explanation"] = i18n.t("gandalf.retried", lang).format(
            n=turn["detail"]["retried"], defense=i18n.t(f"gandalf.defense_name.{turn['detail']['first_block']}", lang)
        )
    else:
        turn["explanation"] = None
    if turn["notices"]:
        turn["notices"] = [
            i18n.t("gandalf.notice.cut", lang) if "cut" in n else i18n.t("gandalf.notice.normalised", lang)
            for n in turn["notices"]
        ]
    return turn


@router.post("/api/gandalf/guess", response_model=GuessOut, tags=["gandalf"])
def guess(req: GuessIn, request: Request, response: Response) -> dict:
    """Try the password of ``level`` (case, accents and spaces do not matter)."""
    from pizarra.web.routers.classroom import check_level, room_and_student

    lang = i18n.request_lang(request)
    check_level(request, req.level)
    pid = player_id(request, response)
    security.check_guess(request, pid, req.level, lang)  # 429 past settings.guess_limit (5 per 60 s)
    result = store().guess(pid, req.level, req.guess, lang)
    room, student = room_and_student(request)
    if student is not None:  # the class's leaderboard
        room.record_guess(student, req.level, result["correct"])
    key = "finished" if result["finished"] else ("correct" if result["correct"] else "wrong")
    return {
        **result,
        "message": i18n.t(f"gandalf.guess.{key}", lang, level=req.level),
        "lesson": lesson(pid, req.level, lang) if result["correct"] else None,
    }


@router.post("/api/gandalf/new", tags=["gandalf"])
def new_game(request: Request, response: Response) -> dict:
    """A new game: every level gets a new random password."""
    store().new_game(player_id(request, response), i18n.request_lang(request))
    return {"ok": True, "levels": N_LEVELS}


@router.get("/api/gandalf/info", tags=["gandalf"])
def info(request: Request) -> dict:
    """The levels and their defenses, the limits, and the measured evaluation."""

    lang = i18n.request_lang(request)
    levels = []
    for v in level_views(lang):
        lv = LEVELS[v["number"]]
        levels.append(
            {
                **v,
                "system_prompt": lv.prompt,
                "blocklist": lv.blocklist,
                "input_judge": lv.input_judge,
                "output_exact": lv.output_exact,
                "output_judge": lv.output_judge,
            }
        )
    rep = reports()
    table = None
    if rep["eval"]:
        table = {
            k: {
                f: v.get(f)
                for f in (
                    "leak_rate",
                    "false_refusal_rate",
                    "false_refusal_rate_topic",
                    "n_attacks",
                    "n_benign",
                    "n_topic",
                )
            }
            for k, v in rep["eval"].get("levels", {}).items()
        }
    return {
        "levels": levels,
        "limits": {
            "prompt_chars": MAX_PROMPT_CHARS,
            "prompt_input_chars": MAX_PROMPT_INPUT,
            "guess_chars": MAX_GUESS_CHARS,
        },
        "eval": table,
        "classifier": rep["classifier"],
    }
