"""Classroom mode over HTTP: students join with a code and a nickname, the teacher runs the class.

    GET  /unirse                          the join page (code + nickname; the QR code fills the code)
    POST /api/classroom/join              {"code", "nickname"} → 200 + session cookie (403 wrong code,
                                          409 nickname taken, 422 bad or rude nickname, 429 too many tries)
    GET  /api/classroom/me                who I am, the class's switches (goto, paused...), my place in
                                          the model queues (the pages poll it: "send everyone to")
    GET  /api/classroom/leaderboard       the password game's table: nickname, levels passed, attempts, time
    teacher only (cookie from the private link, or ``Authorization: Bearer <teacher_token>``):
    GET  /profesor                        the dashboard: address + QR, code, students, queue, game, switches
    GET  /api/classroom/students          who is connected, where, what they wait for
    GET  /api/classroom/queue             every model's queue (running, waiting, service time, declined)
    GET  /api/classroom/attacks?level=N   the attack techniques students try, per level, and the latest
    POST /api/classroom/teacher/goto      {"path"} send every student page there
    POST /api/classroom/teacher/gandalf   {"level", "locked"} lock or unlock a level of the game
    POST /api/classroom/teacher/sandbox   {"allowed"} may students run code in the sandbox
    POST /api/classroom/teacher/pause     {"paused"} pause text generation for students
    POST /api/classroom/teacher/remove    {"nickname"} remove a student (their cookie stops working)
    POST /api/classroom/teacher/model     {"chat_model"} the model that answers the class's chat

Outside classroom mode every one of these answers 404. Access rules: ``pizarra.web.classroom_gate``.
"""

from __future__ import annotations

import time
from typing import Literal

from fastapi import APIRouter, HTTPException, Query, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from pizarra import i18n
from pizarra.chapters import CHAPTERS
from pizarra.classroom.room import Room, Student
from pizarra.llm import fair
from pizarra.web.classroom_gate import STUDENT_COOKIE
from pizarra.web.templating import render

router = APIRouter()
SESSION_MAX_AGE = 12 * 3600  # a school day
ChatModelName = Literal["qwen-coder-0.5b", "qwen-coder-1.5b", "smollm2"]


def room_of(request: Request) -> Room:
    room = getattr(request.app.state.settings, "classroom", None)
    if room is None:
        raise HTTPException(404)
    return room


def role_of(request: Request) -> tuple[str | None, Student | None]:
    state = request.scope.get("state", {})
    return state.get("classroom_role"), state.get("classroom_student")


def require_teacher(request: Request) -> Room:
    room = room_of(request)
    if role_of(request)[0] != "teacher":  # the gate already refuses students; belt and braces
        raise HTTPException(403, i18n.t("classroom.teacher_only", i18n.request_lang(request)))
    return room


def safe_next(path: str | None) -> str:
    """Only a path of this lab (no other site, no scheme): the join page must not be an open redirect."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path or "\n" in path:
        return "/"
    return path[:500]


def student_urls(request: Request) -> list[str]:
    return list(room_of(request).student_urls) or [str(request.base_url).rstrip("/") + "/unirse"]


# ------------------------------------------------------------------------------------- students


class JoinIn(BaseModel):
    code: str = Field(min_length=1, max_length=32, description="The class code the teacher shows.")
    nickname: str = Field(min_length=1, max_length=40, description="2-20 letters, digits or spaces.")


class JoinOut(BaseModel):
    nickname: str
    message: str


@router.get("/unirse", response_class=HTMLResponse, tags=["classroom"])
def join_page(
    request: Request, code: str = Query("", max_length=32), next: str = Query("/", max_length=500)
) -> HTMLResponse:  # noqa: A002 - the query's name
    room_of(request)
    role, student = role_of(request)
    return render(
        request,
        "classroom_join.html",
        code=code,
        next_url=safe_next(next),
        nickname=student.nickname if student else None,
        role=role,
    )


@router.post("/api/classroom/join", response_model=JoinOut, tags=["classroom"])
def join(req: JoinIn, request: Request, response: Response) -> dict:
    """Join the class: no account, a nickname. Sets the session cookie the other calls need."""
    room = room_of(request)
    client = request.client.host if request.client else ""
    student = room.join(req.code, req.nickname, client)
    response.set_cookie(STUDENT_COOKIE, student.id, max_age=SESSION_MAX_AGE, httponly=True, samesite="lax")
    lang = i18n.request_lang(request)
    return {"nickname": student.nickname, "message": i18n.t("classroom.welcome", lang, nickname=student.nickname)}


@router.get("/api/classroom/me", tags=["classroom"])
def me(request: Request, path: str | None = Query(None, max_length=200)) -> dict:
    """Who I am, the class's switches, and where my model requests stand (position 0: running)."""
    room = room_of(request)
    role, student = role_of(request)
    if student is not None and path:
        room.seen(student, path)
    who = student.id if student is not None else fair.TEACHER
    return {
        "role": role,
        "nickname": student.nickname if student else None,
        "controls": room.controls.public(),
        "queue": fair.in_flight(who),
    }


@router.get("/api/classroom/leaderboard", tags=["classroom"])
def leaderboard(request: Request) -> dict:
    """The password game of the class: levels passed, guesses, time from the first try to the last level."""
    return {"rows": room_of(request).leaderboard(), "levels": 8}


# -------------------------------------------------------------------------------------- teacher


@router.get("/profesor", response_class=HTMLResponse, tags=["classroom"])
def teacher_page(request: Request) -> HTMLResponse:
    room = require_teacher(request)
    from pizarra.classroom.net import qr_svg

    urls = student_urls(request)
    join_url = f"{urls[0]}?code={room.code}"
    lang = i18n.request_lang(request)
    chapters = [
        {"path": f"/capitulo/{c.slug}", "title": f"{c.number}. {i18n.t(f'chapter.{c.slug}.title', lang)}"}
        for c in CHAPTERS
    ]
    from pizarra.gandalf.techniques import ORDER

    return render(
        request,
        "classroom_teacher.html",
        room=room,
        urls=urls,
        join_url=join_url,
        qr=qr_svg(join_url),
        goto_options=chapters,
        chat_models=list(ChatModelName.__args__),
        technique_names={t: i18n.t(f"lesson.technique.{t}", lang) for t in ORDER},
    )


def _names(room: Room) -> dict[str, str]:
    return {s.id: s.nickname for s in room.students.values()} | {fair.TEACHER: i18n.t("classroom.teacher_name")}


@router.get("/api/classroom/students", tags=["classroom"])
def students(request: Request) -> dict:
    room = require_teacher(request)
    now = time.time()
    rows = []
    for s in room.students.values():
        if s.removed:
            continue
        rows.append({**s.public(), "idle_s": round(now - s.last_seen, 1), "queue": fair.in_flight(s.id)})
    rows.sort(key=lambda r: r["joined"])
    return {"code": room.code, "count": len(rows), "students": rows}


@router.get("/api/classroom/queue", tags=["classroom"])
def queues(request: Request) -> dict:
    room = require_teacher(request)
    names = _names(room)
    out = []
    for q in fair.snapshot():
        if q["running"]:
            q["running"]["nickname"] = names.get(q["running"].pop("who"), "?")
        for w in q["waiting"]:
            w["nickname"] = names.get(w.pop("who"), "?")
        out.append(q)
    return {"paused": room.controls.paused, "max_wait_s": fair.MAX_WAIT_S, "models": out}


@router.get("/api/classroom/attacks", tags=["classroom"])
def attacks(request: Request, level: int | None = Query(None, ge=1, le=8)) -> dict:
    """The attack techniques tried per level (tried / got an answer past the defenses) and the latest tries."""
    return require_teacher(request).attack_feed(level)


class GotoIn(BaseModel):
    path: str = Field(min_length=1, max_length=200, description="A page of the lab, e.g. /capitulo/embeddings")


class LockIn(BaseModel):
    level: int = Field(ge=1, le=8)
    locked: bool


class SwitchIn(BaseModel):
    value: bool


class RemoveIn(BaseModel):
    nickname: str = Field(min_length=1, max_length=40)


class ModelIn(BaseModel):
    chat_model: ChatModelName


@router.post("/api/classroom/teacher/goto", tags=["classroom"])
def goto(req: GotoIn, request: Request) -> dict:
    room = require_teacher(request)
    path = safe_next(req.path)
    room.send_everyone(path)
    return room.controls.public()


@router.post("/api/classroom/teacher/gandalf", tags=["classroom"])
def lock_level(req: LockIn, request: Request) -> dict:
    room = require_teacher(request)
    (room.controls.locked_levels.add if req.locked else room.controls.locked_levels.discard)(req.level)
    return room.controls.public()


@router.post("/api/classroom/teacher/sandbox", tags=["classroom"])
def sandbox(req: SwitchIn, request: Request) -> dict:
    room = require_teacher(request)
    room.controls.sandbox = req.value
    return room.controls.public()


@router.post("/api/classroom/teacher/pause", tags=["classroom"])
def pause(req: SwitchIn, request: Request) -> dict:
    room = require_teacher(request)
    room.controls.paused = req.value
    fair.set_paused(req.value)
    return room.controls.public()


@router.post("/api/classroom/teacher/remove", tags=["classroom"])
def remove(req: RemoveIn, request: Request) -> dict:
    room = require_teacher(request)
    if not room.remove(req.nickname):
        raise HTTPException(404, i18n.t("classroom.no_such_student", i18n.request_lang(request)))
    return {"removed": req.nickname, "count": len(room.roster())}


@router.post("/api/classroom/teacher/model", tags=["classroom"])
def chat_model(req: ModelIn, request: Request) -> dict:
    room = require_teacher(request)
    room.controls.chat_model = req.chat_model
    return room.controls.public()


# ------------------------------------------------------------------ what other routers ask of the class


def room_and_student(request: Request) -> tuple[Room | None, Student | None]:
    """The class and the student making this request (None, None: not classroom mode; room, None: the teacher)."""
    room = getattr(request.app.state.settings, "classroom", None)
    return room, (role_of(request)[1] if room is not None else None)


def check_level(request: Request, level: int) -> None:
    """403 when the teacher locked Gandalf level ``level`` for students."""
    room, student = room_and_student(request)
    if room is not None and student is not None and level in room.controls.locked_levels:
        raise HTTPException(403, i18n.t("classroom.level_locked", i18n.request_lang(request), level=level))


def chat_model_for(request: Request, requested: str) -> str:
    """In a class, students' chat is answered by the model the teacher chose (one model warm, not three)."""
    room, student = room_and_student(request)
    return room.controls.chat_model if room is not None and student is not None else requested
